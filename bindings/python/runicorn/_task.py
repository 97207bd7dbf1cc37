"""The task a process runs in, when `runicorn tasks` (or the viewer's task runner) started it.

The runner exports RUNICORN_TASK (the task folder) and RUNICORN_TASK_RUN (the 1-based run number)
to every task kind, plus Pyruns' __PYRUNS_CONFIG__ (python tasks) and PYRUNS_RUN_INDEX. Results
go to `<task>/task_metrics.jsonl`, one JSON line per call appended with one O_APPEND write: no
lock and no rewrite of task_info.json per call (Pyruns rewrites and fsyncs the whole file each
time). The runner folds the lines into task_info.json's records/tracks when the run ends; the
line format is lib/tasks' (docs/TASKS.md, "Records and tracks"):

    {"run": N, "kind": "record" | "track" | "runicorn_run", "values": {...}, "time": t}
"""
from __future__ import annotations

import json
import math
import numbers
import os
import threading
import time
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

METRICS_FILE = "task_metrics.jsonl"
# One line stays well below what Pyruns would accept in a whole task_info.json (16 MiB).
MAX_LINE_BYTES = 1 << 20


class TaskContext:
    """Where this process's task lives and which run of it this is."""

    def __init__(self, task_dir: Path, run_index: int) -> None:
        self.task_dir = task_dir
        self.run_index = run_index
        self.metrics_path = os.fspath(task_dir / METRICS_FILE)

    @property
    def name(self) -> str:
        return self.task_dir.name

    @property
    def workspace(self) -> str:
        """The workspace folder's name: the script's stem, or "_shell_"."""
        return self.task_dir.parent.parent.name


def _positive_int(text: Optional[str]) -> Optional[int]:
    try:
        value = int(text or "")
    except ValueError:
        return None
    return value if value > 0 else None


def task_dir_from_env() -> Optional[Path]:
    """RUNICORN_TASK, else the folder of __PYRUNS_CONFIG__ (a task Pyruns itself launched)."""
    task = os.environ.get("RUNICORN_TASK", "")
    if task:
        return Path(task)
    config = os.environ.get("__PYRUNS_CONFIG__", "")
    return Path(config).parent if config else None


def _run_index_from_task_info(task_dir: Path) -> int:
    # Pyruns' fallback when no index is exported: the runs the task has had, at least 1.
    try:
        with open(task_dir / "task_info.json", encoding="utf-8") as f:
            info = json.load(f)
        value = int(info.get("run_index", 0)) if isinstance(info, dict) else 0
    except (OSError, ValueError, TypeError):
        value = 0
    return max(1, value)


_ENV_KEYS = ("RUNICORN_TASK", "RUNICORN_TASK_RUN", "__PYRUNS_CONFIG__", "PYRUNS_RUN_INDEX")
# (the env values it was made from, the context): track() asks on every call, and building
# paths costs more than the write itself.
_cached: Tuple[Optional[tuple], Optional[TaskContext]] = (None, None)


def current() -> Optional[TaskContext]:
    """The task of this process, or None outside any task. Never raises."""
    global _cached
    key = tuple(os.environ.get(k, "") for k in _ENV_KEYS)
    cached_key, context = _cached
    if key == cached_key:
        return context
    task_dir = task_dir_from_env()
    if task_dir is None:
        context = None
    else:
        run = (_positive_int(os.environ.get("RUNICORN_TASK_RUN"))
               or _positive_int(os.environ.get("PYRUNS_RUN_INDEX")))
        if run is None:  # from the file, which may change: asked again next time
            return TaskContext(task_dir, _run_index_from_task_info(task_dir))
        context = TaskContext(task_dir, run)
    _cached = (key, context)
    return context


# --- values --------------------------------------------------------------------------------

class _Unsupported(Exception):
    pass


def to_json(value: Any) -> Any:
    """`value` as plain JSON data. NaN and ±Inf become None (JSON has no spelling for them, and
    dropping them would drop the whole line); numpy scalars and arrays become numbers and lists.
    Raises _Unsupported for anything else (a tensor, an object)."""
    kind = type(value)
    if kind is float:  # the common case first: ABC checks below cost more than the write
        return value if math.isfinite(value) else None
    if value is None or kind is int or kind is bool or kind is str:
        return value
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise _Unsupported(f"key {k!r} is not a string")
            out[k] = to_json(v)
        return out
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy scalar or array
        return to_json(value.tolist())
    raise _Unsupported(f"{type(value).__name__} is not JSON data")


# --- the sidecar ---------------------------------------------------------------------------

class MetricsAppender:
    """Appends lines to one task's task_metrics.jsonl. Thread-safe: each line is a single
    write(2) on an O_APPEND descriptor, so lines of concurrent writers (threads, processes)
    never interleave."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fds: Dict[str, int] = {}

    def append(self, context: TaskContext, kind: str, values: Dict[str, Any]) -> None:
        """Raises OSError when the file cannot be written, ValueError when the line is too big."""
        line = json.dumps({"run": context.run_index, "kind": kind, "values": values,
                           "time": time.time()}, allow_nan=False, separators=(",", ":"))
        data = (line + "\n").encode("utf-8")
        if len(data) > MAX_LINE_BYTES:
            raise ValueError(f"one call's values take {len(data)} bytes; the limit is "
                             f"{MAX_LINE_BYTES}")
        fd = self._fd(context.metrics_path)
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write to {context.metrics_path} ({written} of {len(data)} bytes)")

    def _fd(self, path: str) -> int:
        with self._lock:
            fd = self._fds.get(path)
            if fd is None:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
                self._fds[path] = fd
            return fd

    def close(self) -> None:
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()


APPENDER = MetricsAppender()


def split_json_values(values: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """(values as JSON, {key: why it was refused})."""
    accepted, refused = {}, {}
    for key, value in values.items():
        try:
            accepted[key] = to_json(value)
        except (_Unsupported, RecursionError) as e:
            refused[key] = str(e)
    return accepted, refused
