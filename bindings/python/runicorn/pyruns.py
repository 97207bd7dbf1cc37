"""Pyruns-style results: record() merges into a summary, track() appends to metric series.

Where the values go:
- the active run (runicorn.init()): record → its summary, track → one point per key at the
  run's next automatic step;
- inside a task (`runicorn tasks`, see _task.py) also the task's task_metrics.jsonl, which the
  runner folds into task_info.json's records/tracks for Pyruns; with no active run there, the
  first call starts one (project = the workspace, name = the task, tag "pyruns") and it is
  finished when the interpreter exits ("failed" after an uncaught exception);
- nowhere: a PyrunsWarning says what was dropped. Pyruns drops such values silently; here only
  RUNICORN_ON=0 outside a task stays silent, because the user turned recording off.

Nothing here raises into the training script except a TypeError for a `data` that is not a dict
(as Pyruns). A value that cannot be stored is skipped with a warning, never the whole call; NaN
and ±Inf are stored (null in task_info.json, which has no spelling for them).
"""
from __future__ import annotations

import atexit
import numbers
import sys
import threading
import warnings
from typing import Any, Callable, Dict, Optional, Set, Tuple

from . import _active, _task
from ._enabled import is_enabled
from .run import Run


class PyrunsWarning(RuntimeWarning):
    """A record/track value was not stored (or not everywhere it should have been)."""


# Set by the `pyruns` package once a config is loaded: the config of a run started here.
config_source: Optional[Callable[[], Optional[dict]]] = None

_lock = threading.Lock()
_start_lock = threading.Lock()
_start_failed = False
_linked: Set[Tuple[str, str, int]] = set()
_reported_failures: Set[Tuple[str, str]] = set()
_failed_by_exception = threading.Event()
_hook_installed = False
_OURS = ("runicorn", "pyruns")


def _warn(message: str) -> None:
    # Points the warning at the user's line: the first frame outside runicorn and pyruns.
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] in _OURS:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, PyrunsWarning, stacklevel=level)


def _warn_failure_once(caller: str, error: BaseException, path: str) -> None:
    # Like Pyruns: one warning per (operation, error type), and the experiment goes on.
    key = (caller, type(error).__name__)
    with _lock:
        if key in _reported_failures:
            return
        _reported_failures.add(key)
    _warn(f"{caller}: could not append to {path} ({type(error).__name__}: {error}); "
          f"the values are not in task_info.json, the experiment continues")


# --- the run ---------------------------------------------------------------------------------

def link_to_task(run: Any, context: Optional[_task.TaskContext] = None) -> None:
    """Inside a task, writes which runicorn run records this task run (once per pair), so the
    task's results lead to the run's charts. A no-op outside tasks and for no-op runs."""
    context = context or _task.current()
    if context is None or not isinstance(run, Run):
        return
    key = (run.id, context.metrics_path, context.run_index)
    with _lock:
        if key in _linked:
            return
        _linked.add(key)
    try:
        _task.APPENDER.append(context, "runicorn_run", {
            "run_id": run.id, "project": run.project, "name": run.name,
            "storage": str(run.storage_root)})
    except (OSError, ValueError) as e:
        _warn_failure_once("runicorn.init()", e, context.metrics_path)


def _finish_started_run(run: Run) -> None:
    if not run.is_finished:
        run.finish("failed" if _failed_by_exception.is_set() else "finished")


def _remember_uncaught_exceptions() -> None:
    global _hook_installed
    if _hook_installed:
        return
    _hook_installed = True
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        _failed_by_exception.set()
        previous(exc_type, exc, tb)

    sys.excepthook = hook


def _target_run(caller: str, context: Optional[_task.TaskContext]) -> Any:
    """The run to write to: the active one, or inside a task a new one; None when recording
    is off or the run could not be started (said in a warning)."""
    global _start_failed
    run = _active.get_active_run()
    if run is not None or context is None or not is_enabled():
        return run
    with _start_lock:  # not _lock: init() links the run, which takes _lock
        run = _active.get_active_run()
        if run is not None or _start_failed:
            return run
        config = config_source() if config_source is not None else None
        error: Optional[Exception] = None
        try:
            run = _active.init(project=context.workspace or "default", name=context.name,
                               config=config, tags=["pyruns"])
        except Exception as e:  # noqa: BLE001 - never into the user's script
            run, error, _start_failed = None, e, True  # said once, not retried per call
        if run is not None:
            atexit.register(_finish_started_run, run)
            _remember_uncaught_exceptions()
    if run is None:
        _warn(f"{caller}: could not start a runicorn run for task '{context.name}' "
              f"({type(error).__name__}: {error}); the values go to task_info.json only")
    return run


def _deliver(caller: str, kind: str, values: Dict[str, Any],
             to_run: Callable[[Any, Dict[str, Any]], None]) -> None:
    context = _task.current()
    run = _target_run(caller, context)
    if run is None and context is None:
        if is_enabled():
            _warn(f"{caller}: no active run and not inside a task; {sorted(values)} dropped "
                  f"(call runicorn.init() first)")
        return
    if run is not None:
        link_to_task(run, context)
        to_run(run, values)
    if context is not None:
        try:
            _task.APPENDER.append(context, kind, values)
        except (OSError, ValueError) as e:
            _warn_failure_once(caller, e, context.metrics_path)


# --- record / track ----------------------------------------------------------------------------

def _merge_arguments(caller: str, data: Optional[dict], kwargs: Dict[str, Any]) -> Dict[str, Any]:
    if data is not None and not isinstance(data, dict):
        raise TypeError(f"{caller} expects a dict, got {type(data).__name__}")
    values = dict(data) if data else {}
    values.update(kwargs)
    return values


def _json_values(caller: str, values: Dict[str, Any]) -> Dict[str, Any]:
    accepted, refused = _task.split_json_values(values)
    for key, why in refused.items():
        _warn(f"{caller}: '{key}' cannot be stored ({why}); skipped")
    return accepted


def record_values(caller: str, data: Optional[dict], kwargs: Dict[str, Any]) -> None:
    values = _json_values(caller, _merge_arguments(caller, data, kwargs))
    if values:
        _deliver(caller, "record", values, lambda run, v: run.summary(v))


def _is_scalar(value: Any) -> bool:
    if type(value) in (float, int, bool) or isinstance(value, (bool, numbers.Real)):
        return True
    return hasattr(value, "item") and getattr(value, "ndim", 0) == 0


def track_values(caller: str, key: Optional[str], value: Any, kwargs: Dict[str, Any]) -> None:
    values: Dict[str, Any] = {}
    if key is not None:
        values[key] = value
    values.update(kwargs)
    accepted: Dict[str, Any] = {}
    for name, item in values.items():
        if not isinstance(name, str) or not name:
            _warn(f"{caller}: a metric name must be a non-empty string, got {name!r}; skipped")
        elif _is_scalar(item):
            accepted[name] = item
        else:
            _warn(f"{caller}: '{name}' is not a number ({type(item).__name__}); skipped")
    if accepted:
        # The run keeps NaN as a value; the task file stores null (see module docstring).
        _deliver(caller, "track", {k: _task.to_json(v) for k, v in accepted.items()},
                 lambda run, _: run.log(accepted))


def record(data: Optional[dict] = None, **kwargs: Any) -> None:
    """Merges `data` and keyword values into the run's summary and, inside a task, into
    records[run] of task_info.json (later keys win): record({"acc": 91.2}, loss=0.31)."""
    record_values("runicorn.record()", data, kwargs)


def track(key: Optional[str] = None, value: Any = None, **kwargs: Any) -> None:
    """Appends one point to each named series at the run's next automatic step and, inside a
    task, to tracks[run][key] of task_info.json: track(loss=0.8), track("acc", 0.91). Values
    that are not numbers (None included) are skipped with a warning; the rest is stored."""
    track_values("runicorn.track()", key, value, kwargs)


__all__ = ["record", "track", "PyrunsWarning"]
