"""pyruns.record / track / get_task_dir / get_run_index / artifact_dir on runicorn's task runner.

record/track are runicorn.record/track (see runicorn/pyruns.py): inside a task the values go to
a runicorn run linked to the task and to task_info.json's records/tracks; outside one to the
active run, else a PyrunsWarning says they were dropped (Pyruns drops them silently).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from runicorn import _task
from runicorn import pyruns as _results


def record(data: Optional[dict] = None, **kwargs: Any) -> None:
    """Merges `data`, then the keyword values, into this run's record (last write wins):
    record({"epoch": 1, "loss": 0.5}), record(acc=92.3). TypeError when `data` is not a dict."""
    _results.record_values("pyruns.record()", data, kwargs)


def track(key: Optional[str] = None, value: Any = None, **kwargs: Any) -> None:
    """Appends each value to its series of this run: track("loss", 0.5), track(acc=0.9).
    A value that is not a number (None included) is skipped with a warning."""
    _results.track_values("pyruns.track()", key, value, kwargs)


def get_task_dir() -> Optional[str]:
    """The task folder of this run, or None outside a task."""
    task_dir = _task.task_dir_from_env()
    return str(task_dir) if task_dir is not None else None


def get_run_index() -> Optional[int]:
    """This run's number (1-based), or None outside a task. Never raises and never returns 0:
    without an exported index it is the task's run count, at least 1."""
    context = _task.current()
    return context.run_index if context is not None else None


def artifact_dir() -> str:
    """`<task>/artifacts/run<N>` (created), or `./artifacts/run1` outside a task. RuntimeError
    if a part of that path is a symlink: files written there must stay in the task."""
    context = _task.current()
    if context is not None:
        base, run = context.task_dir, context.run_index
    else:
        base, run = Path.cwd(), 1
    path = base
    for part in ("artifacts", f"run{run}"):
        path = path / part
        if path.is_symlink():
            raise RuntimeError(f"pyruns.artifact_dir(): {path} is a symlink; refusing to write "
                               f"outside {base}")
        os.makedirs(path, exist_ok=True)
    return str(path)


get_artifact_dir = artifact_dir
