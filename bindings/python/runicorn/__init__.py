"""runicorn: Runicorn-compatible experiment tracking on libruntrack.

    import runicorn as rn
    run = rn.init(project="vision", name="resnet", config={"lr": 1e-3})
    for i in range(steps):
        run.log({"loss": loss, "acc": acc}, step=i)
    rn.finish()

Logging appends to an in-memory buffer that a C++ thread writes to the run's journal, so
run.log() costs well under a microsecond of the training loop's time (docs/PERFORMANCE-python.md).
"""
from __future__ import annotations

from . import _core
from ._active import (finish, get_active_run, init, log, log_artifact, log_image, log_text,
                      set_primary_metric, shipping_status, summary, use_artifact)
from ._core import (AlreadyExistsError, BusyError, CorruptionError, FailedPreconditionError,
                    InternalError, InvalidArgumentError, NotFoundError, RunicornError,
                    StorageIOError)
from ._enabled import enabled, is_enabled, reset_enabled, set_enabled
from ._noop import NoOpRun
from .artifacts import Artifact, LoadedArtifact
from .pyruns import record, track
from .reader import list_runs, read_run
from .run import Run
from .rnconfig import get_config, get_effective_rnconfig  # v0.6
from .workspace import snapshot_workspace  # v0.6

__version__ = "0.1.0"

__all__ = [
    "init", "log", "log_text", "log_image", "summary", "finish", "get_active_run",
    "set_primary_metric", "log_artifact", "use_artifact", "record", "track", "Run", "NoOpRun",
    "Artifact", "LoadedArtifact", "read_run", "list_runs", "enabled", "is_enabled",
    "set_enabled", "reset_enabled", "RunicornError", "InvalidArgumentError", "NotFoundError",
    "AlreadyExistsError", "FailedPreconditionError", "StorageIOError", "CorruptionError",
    "BusyError", "InternalError", "__version__",
    "get_config", "get_effective_rnconfig", "snapshot_workspace",
    "shipping_status",  # journal shipping (docs/REMOTE.md)
]
