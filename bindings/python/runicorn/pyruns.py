"""Pyruns-style helpers on the active run: record() merges into the summary, track() appends to
metric series. Both are silent no-ops without an active run (or with RUNICORN_ON=0)."""
from __future__ import annotations

import numbers
import warnings
from typing import Any, Optional

from . import _active


def record(data: Optional[dict] = None, **kwargs: Any) -> None:
    """Merges `data` and keyword values into the active run's summary (later keys win). A NaN is
    stored like any other value and never drops the other values of the call."""
    run = _active.get_active_run()
    if run is None:
        return
    values = dict(data) if data else {}
    values.update(kwargs)
    if values:
        run.summary(values)


def _is_scalar(value: Any) -> bool:
    if isinstance(value, (bool, numbers.Real)):
        return True
    return hasattr(value, "item") and getattr(value, "ndim", 0) == 0


def track(key: Optional[str] = None, value: Any = None, **kwargs: Any) -> None:
    """Appends one point to each named series at the run's next automatic step:
    track(loss=0.8), track("acc", 0.91). Values that are not numbers are skipped with a warning;
    the rest of the call is still stored (NaN included)."""
    run = _active.get_active_run()
    if run is None:
        return
    values = {}
    if key is not None:
        values[key] = value
    values.update(kwargs)
    accepted = {}
    for name, item in values.items():
        if _is_scalar(item):
            accepted[name] = item
        else:
            warnings.warn(f"runicorn.track(): '{name}' is not a number ({type(item).__name__}); "
                          f"skipped", RuntimeWarning, stacklevel=2)
    if accepted:
        run.log(accepted)


__all__ = ["record", "track"]
