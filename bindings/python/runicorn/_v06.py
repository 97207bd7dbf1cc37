"""The Run methods of Runicorn's v0.6 SDK, mixed into runicorn.Run (run.py).

Storage is libruntrack's (Run.record_asset writes assets.json, artifacts hold saved content); the
methods here only adapt Runicorn's keyword signatures. Module docs: assets.py, outputs.py,
workspace.py, log_handler.py.
"""
from __future__ import annotations

import logging
import os
from typing import Any, Dict, Iterable, Optional

from . import assets as _assets

_GiB = 1024 ** 3


class RunV06Methods:
    """log_config, log_dataset, log_pretrained, get_logging_handler, scan_outputs_once,
    watch_outputs / stop_outputs_watch."""

    def log_config(self, *, args: Any = None, extra: Optional[dict] = None,
                   config_files: Optional[Iterable[os.PathLike | str]] = None) -> Dict[str, Any]:
        """Records assets.json "config": {"args": dict or vars(Namespace), "extra",
        "config_files": [str]} (replacing an earlier call's)."""
        return _assets.log_config(self, args=args, extra=extra, config_files=config_files)

    def log_dataset(self, name: str, root_or_uri: os.PathLike | str, *, context: str = "train",
                    save: bool = False, description: Optional[str] = None,
                    force_save: bool = False, max_archive_bytes: int = 5 * _GiB,
                    max_archive_files: int = 2_000_000) -> Dict[str, Any]:
        """Appends to assets.json "datasets"; save=True also stores the files as the next
        version of artifact `name` (type dataset)."""
        return _assets.log_dataset(self, name, root_or_uri, context=context, save=save,
                                   description=description, force_save=force_save,
                                   max_archive_bytes=max_archive_bytes,
                                   max_archive_files=max_archive_files)

    def log_pretrained(self, name: str, *, path_or_uri: Optional[os.PathLike | str] = None,
                       save: bool = False, source_type: str = "unknown",
                       description: Optional[str] = None, force_save: bool = False,
                       max_archive_bytes: int = 5 * _GiB,
                       max_archive_files: int = 2_000_000) -> Dict[str, Any]:
        """Appends to assets.json "pretrained"; save=True also stores the weights as the next
        version of artifact `name` (type model), deduplicated by the artifact store."""
        return _assets.log_pretrained(self, name, path_or_uri=path_or_uri, save=save,
                                      source_type=source_type, description=description,
                                      force_save=force_save, max_archive_bytes=max_archive_bytes,
                                      max_archive_files=max_archive_files)

    def get_logging_handler(self, level: int = logging.INFO,
                            fmt: Optional[str] = None) -> logging.Handler:
        from .log_handler import RunicornLoggingHandler
        return RunicornLoggingHandler(self, level=level, fmt=fmt)

    def scan_outputs_once(self, *, output_dirs: Iterable[os.PathLike | str],
                          **kwargs: Any) -> Dict[str, Any]:
        from .outputs import scan_outputs_once
        kwargs.setdefault("workspace_root", getattr(self, "_workspace_root", None))
        return scan_outputs_once(self, output_dirs=output_dirs, **kwargs)

    def watch_outputs(self, *, output_dirs: Iterable[os.PathLike | str],
                      interval_sec: float = 10.0, **kwargs: Any) -> None:
        """Scans every `interval_sec` in a daemon thread until stop_outputs_watch() or finish()."""
        from .outputs import OutputsWatcher
        self.stop_outputs_watch()
        kwargs.setdefault("workspace_root", getattr(self, "_workspace_root", None))
        watcher = OutputsWatcher(self, interval_sec, dict(kwargs, output_dirs=output_dirs))
        self._outputs_watcher = watcher
        watcher.start()

    def stop_outputs_watch(self) -> None:
        watcher = getattr(self, "_outputs_watcher", None)
        if watcher is not None:
            watcher.stop()
            self._outputs_watcher = None
