"""Run: Runicorn's run object, a thin subclass of the C++ runicorn._core.Run.

`log`, `log_text`, `flush` and `set_primary_metric` are the C++ methods themselves (no Python
frame on the hot path); this class only adds what is naturally Python: keyword forms, images,
artifacts, console capture, the context manager and the active-run bookkeeping.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Optional

from . import _core
from ._v06 import RunV06Methods

_FINAL_STATUSES = ("finished", "failed", "interrupted")


class Run(_core.Run, RunV06Methods):
    """One experiment run. Create it with runicorn.init(); every method is thread-safe."""

    def __init__(self, project: str = "default", name: Optional[str] = None,
                 run_id: Optional[str] = None, storage: Optional[os.PathLike | str] = None,
                 config: Optional[dict] = None, tags: Optional[Iterable[str]] = None,
                 flush_interval: float = 0.0, path: Optional[str] = None,
                 alias: Optional[str] = None, system_metrics: Optional[bool] = None) -> None:
        # path: Runicorn v0.6's run path (project and name are then derived from it in C++).
        # system_metrics: this host's CPU/memory/disk/network/GPU every second into the run's
        # "system:<host>" stream (docs/SYSTEM.md); None: $RUNICORN_SYSTEM_METRICS.
        if isinstance(tags, str):
            tags = [tags]
        super().__init__(os.fspath(storage) if storage is not None else "",
                         project if project is not None else "default",
                         name if name is not None else "default", run_id or "",
                         config, list(tags or ()), flush_interval, path, alias or "",
                         system_metrics)
        self._finished = False
        self._console = None
        self._on_finish = []

    # --- identity -------------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        """<storage>/runs/<id>: the journal, the lock and media/ live here."""
        return Path(self.dir)

    @property
    def storage_root(self) -> Path:
        return Path(self.root)

    @property
    def is_finished(self) -> bool:
        return self._finished

    def __repr__(self) -> str:
        state = "finished" if self._finished else "running"
        return f"<runicorn.Run {self.id} project={self.project!r} name={self.name!r} {state}>"

    # --- logging --------------------------------------------------------------------------
    # log(data=None, *, step=None, stage=None, **metrics) is inherited from C++ unchanged.

    def summary(self, update: Optional[dict] = None, **kwargs: Any) -> None:
        """Merges `update` (and keyword values) into the run summary; later keys win."""
        values = dict(update) if update else {}
        values.update(kwargs)
        if values:
            super().summary(values)

    def log_image(self, key: str, image: Any, step: Optional[int] = None,
                  caption: Optional[str] = None, format: str = "png", quality: int = 90) -> str:
        """Stores an image under <run_dir>/media and returns its path relative to the run dir.

        `image` may be encoded bytes, a file path, a PIL image or an HxW / HxWxC uint8 array.
        """
        from .media import save_image
        return save_image(self, key, image, step=step, caption=caption)

    # --- artifacts ------------------------------------------------------------------------
    def log_artifact(self, artifact: "Artifact") -> int:  # noqa: F821
        """Stores `artifact` as its next version, records that this run produced it, and
        returns the version number. Blocks while files are chunked and hashed."""
        from .artifacts import Artifact
        if not isinstance(artifact, Artifact):
            raise TypeError("log_artifact() expects a runicorn.Artifact")
        version = super().log_artifact(artifact._core)
        artifact._logged(version)
        return version

    def use_artifact(self, spec: str) -> "LoadedArtifact":  # noqa: F821
        """Resolves "name", "name:latest", "name:vN" or "name:<alias>" and records the use."""
        from .artifacts import LoadedArtifact
        return LoadedArtifact(super().use_artifact(spec))

    # --- lifecycle ------------------------------------------------------------------------
    def finish(self, status: str = "finished") -> None:
        """Records the final status ("finished", "failed" or "interrupted"), flushes and fsyncs.
        A second call does nothing."""
        if self._finished:
            return
        if status not in _FINAL_STATUSES:
            raise ValueError(f"runicorn: status must be one of {', '.join(_FINAL_STATUSES)}, "
                             f"got {status!r}")
        if self._console is not None:
            self._console.stop()
            self._console = None
        self.stop_outputs_watch()
        super().finish(status)
        self._finished = True
        for callback in self._on_finish:
            callback(self)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.finish("failed" if exc_type is not None else "finished")
