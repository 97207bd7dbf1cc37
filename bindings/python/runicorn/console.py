"""capture_console: tees sys.stdout / sys.stderr into the run's text log.

Lines reach the log when their newline is written. Progress bars that redraw with a carriage
return (tqdm) keep only their last state: within one line, everything up to the last non-empty
segment after a "\r" is dropped. Only writes made through Python's sys.stdout / sys.stderr are
seen (not output written straight to file descriptor 1/2 by C code or child processes).
"""
from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

# A pending line longer than this is cut at its last carriage return, so a progress bar that never
# ends its line cannot grow the buffer without bound.
_MAX_PENDING = 64 * 1024


def collapse_carriage_returns(line: str) -> str:
    """What a terminal would finally show for `line` (without its newline)."""
    if "\r" not in line:
        return line
    for segment in reversed(line.split("\r")):
        if segment:
            return segment
    return ""


class _Tee:
    """Stands in for sys.stdout / sys.stderr: writes through, and feeds the capture."""

    def __init__(self, stream: TextIO, capture: "ConsoleCapture") -> None:
        self._stream = stream
        self._capture = capture

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        self._capture.feed(text)
        return written if written is not None else len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno, ...
        return getattr(self._stream, name)


class ConsoleCapture:
    def __init__(self, run: Any) -> None:
        self._run = run
        self._pending = ""
        self._lock = threading.Lock()
        self._saved = None

    def start(self) -> None:
        self._saved = (sys.stdout, sys.stderr)
        sys.stdout = _Tee(sys.stdout, self)
        sys.stderr = _Tee(sys.stderr, self)

    def feed(self, text: str) -> None:
        if not text:
            return
        with self._lock:
            self._pending += text
            if "\n" not in self._pending:
                if len(self._pending) > _MAX_PENDING:
                    self._pending = collapse_carriage_returns(self._pending)[-_MAX_PENDING:]
                return
            *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._emit(collapse_carriage_returns(line))

    def _emit(self, line: str) -> None:
        try:
            self._run.log_text(line)
        except Exception:  # never let logging break the program's own output
            pass

    def stop(self) -> None:
        if self._saved is None:
            return
        out, err = self._saved
        if isinstance(sys.stdout, _Tee) and sys.stdout._capture is self:
            sys.stdout = out
        if isinstance(sys.stderr, _Tee) and sys.stderr._capture is self:
            sys.stderr = err
        self._saved = None
        with self._lock:
            rest, self._pending = self._pending, ""
        rest = collapse_carriage_returns(rest)
        if rest:
            self._emit(rest)
