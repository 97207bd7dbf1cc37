"""init() and the module-level functions that act on the active run (Runicorn's globals)."""
from __future__ import annotations

import threading
from typing import Any, Iterable, Optional, Union

from ._enabled import is_enabled
from ._noop import NoOpRun
from .run import Run

_lock = threading.Lock()
_active: Optional[Union[Run, NoOpRun]] = None


def init(project: str = "default", name: Optional[str] = None, run_id: Optional[str] = None,
         storage: Optional[str] = None, config: Optional[dict] = None,
         tags: Optional[Iterable[str]] = None, capture_env: bool = False,
         capture_console: bool = False, *, path: Optional[str] = None,
         alias: Optional[str] = None, snapshot_code: bool = False,
         workspace_root: Optional[str] = None, snapshot_format: str = "zip",
         force_snapshot: bool = False, tqdm_mode: str = "smart",
         system_metrics: Optional[bool] = None) -> Union[Run, NoOpRun]:
    """Starts a run and makes it the active one.

    storage: the store root; default $RUNICORN_DIR, else ./.runicorn. With RUNICORN_ON=0 a
    no-op run is returned and nothing is written. v0.6 keywords (docs/SDK.md): path (project
    and name are derived from it), alias, snapshot_code (workspace zip, .rnignore rules).
    system_metrics: sample this host (CPU, memory, disk, network, GPUs) every second into the
    run's "system:<host>" stream, one sampler per host (docs/SYSTEM.md); None:
    $RUNICORN_SYSTEM_METRICS.
    """
    global _active
    from ._v06_init import check_v06_arguments, start_v06
    check_v06_arguments(project, name, path, snapshot_format, tqdm_mode)
    if not is_enabled():
        run: Union[Run, NoOpRun] = NoOpRun(path=path, alias=alias)
        with _lock:
            _active = run
        return run
    run = Run(project=project, name=name, run_id=run_id, storage=storage, config=config,
              tags=tags, path=path, alias=alias, system_metrics=system_metrics)
    run._on_finish.append(_clear_if_active)
    from .pyruns import link_to_task  # inside a task (runicorn tasks): the run is recorded against it
    link_to_task(run)
    start_v06(run, workspace_root, snapshot_code, snapshot_format, force_snapshot)
    if capture_env:
        from .environment import collect_environment
        run.summary({"environment": collect_environment()})
    if capture_console:
        from .console import ConsoleCapture
        run._console = ConsoleCapture(run)
        run._console.start()
    with _lock:
        _active = run
    return run


def _clear_if_active(run: Run) -> None:
    global _active
    with _lock:
        if _active is run:
            _active = None


def get_active_run() -> Optional[Union[Run, NoOpRun]]:
    """The run started by the last init() and not finished yet, or None."""
    return _active


def _require(what: str) -> Union[Run, NoOpRun]:
    run = _active
    if run is None:
        if not is_enabled():
            return NoOpRun()
        raise RuntimeError(f"runicorn.{what}(): no active run; call runicorn.init() first")
    return run


def log(data: Optional[dict] = None, *, step: Optional[int] = None, stage: Optional[Any] = None,
        **kwargs: Any) -> None:
    _require("log").log(data, step=step, stage=stage, **kwargs)


def log_text(text: str) -> None:
    _require("log_text").log_text(text)


def log_image(key: str, image: Any, step: Optional[int] = None,
              caption: Optional[str] = None) -> str:
    return _require("log_image").log_image(key, image, step=step, caption=caption)


def summary(update: Optional[dict] = None, **kwargs: Any) -> None:
    _require("summary").summary(update, **kwargs)


def set_primary_metric(metric_name: str, mode: str = "max") -> None:
    _require("set_primary_metric").set_primary_metric(metric_name, mode)


def log_artifact(artifact: Any) -> int:
    return _require("log_artifact").log_artifact(artifact)


def use_artifact(spec: str) -> Any:
    return _require("use_artifact").use_artifact(spec)


def shipping_status() -> Optional[dict]:
    """Journal shipping's state for the active run's store (RUNICORN_SERVER, docs/REMOTE.md):
    {"server", "runs", "unacknowledged_bytes", "quota_bytes", "over_quota", "quota_warnings",
    "last_error"}, or None when shipping is off. Never waits on the network."""
    return _require("shipping_status").shipping_status()


def finish(status: str = "finished") -> None:
    """Finishes the active run (RuntimeError when there is none, as for the other calls)."""
    run = _require("finish")
    run.finish(status)
    _clear_if_active(run)  # type: ignore[arg-type]
