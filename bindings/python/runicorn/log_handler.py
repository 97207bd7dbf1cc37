"""get_logging_handler(): a logging.Handler that writes records into the run's text log."""
from __future__ import annotations

import logging
from typing import Any, Optional

DEFAULT_FORMAT = "%(asctime)s | %(levelname)s | %(name)s | %(message)s"
DEFAULT_DATEFMT = "%H:%M:%S"


class RunicornLoggingHandler(logging.Handler):
    """Each record becomes one line of the run's log (multi-line messages stay one entry).
    Errors are reported through logging's handleError, never raised into the caller."""

    def __init__(self, run: Any, level: int = logging.INFO, fmt: Optional[str] = None) -> None:
        super().__init__(level)
        self._run = run
        self.setFormatter(logging.Formatter(fmt or DEFAULT_FORMAT, DEFAULT_DATEFMT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._run.log_text(self.format(record))
        except Exception:
            self.handleError(record)
