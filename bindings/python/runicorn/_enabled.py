"""RUNICORN_ON: whether the SDK writes anything (Runicorn's switch, same spellings)."""
from __future__ import annotations

import contextlib
import os
from typing import Iterator, Optional

_override: Optional[bool] = None

_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"0", "false", "no", "n", "off"}


def is_enabled() -> bool:
    """False when RUNICORN_ON is 0/false/no/n/off (or set_enabled(False)); True otherwise."""
    if _override is not None:
        return _override
    value = os.environ.get("RUNICORN_ON", "").strip().lower()
    return value not in _FALSE


def set_enabled(enabled: bool) -> None:
    global _override
    _override = bool(enabled)


def reset_enabled() -> None:
    global _override
    _override = None


@contextlib.contextmanager
def enabled(value: bool) -> Iterator[None]:
    global _override
    previous = _override
    _override = bool(value)
    try:
        yield
    finally:
        _override = previous
