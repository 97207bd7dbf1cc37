"""init()'s v0.6 keywords: argument checks and what happens right after the run is created."""
from __future__ import annotations

from typing import Any, Optional

_TQDM_MODES = ("smart", "all", "none")


def check_v06_arguments(project: str, name: Optional[str], path: Optional[str],
                        snapshot_format: str, tqdm_mode: str) -> None:
    """ValueError for combinations Runicorn would refuse, before anything is written."""
    if path is not None and (project not in (None, "default") or name is not None):
        raise ValueError("runicorn: init() takes either path= (v0.6) or project=/name= (v0.5), "
                         "not both; with path= the project and name are derived from it")
    if path is not None and not isinstance(path, str):
        raise TypeError(f"runicorn: init() path must be a str, not {type(path).__name__}")
    if snapshot_format != "zip":
        raise ValueError(f"runicorn: snapshot_format must be 'zip', got {snapshot_format!r}")
    if tqdm_mode not in _TQDM_MODES:
        raise ValueError(f"runicorn: tqdm_mode must be one of {', '.join(_TQDM_MODES)}, "
                         f"got {tqdm_mode!r}")


def start_v06(run: Any, workspace_root: Optional[str], snapshot_code: bool,
              snapshot_format: str, force_snapshot: bool) -> None:
    """Remembers the workspace root (output keys are relative to it) and takes the code
    snapshot. A snapshot that fails (too large, unreadable) fails the run it belonged to."""
    run._workspace_root = workspace_root
    if not snapshot_code:
        return
    from .assets import snapshot_code as take_snapshot
    try:
        take_snapshot(run, workspace_root, snapshot_format, force_snapshot)
    except BaseException:
        run.finish("failed")
        raise
