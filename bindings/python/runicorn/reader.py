"""Reading a store back: read_run() opens the catalog, ingests the journals and returns one run.

The catalog admits one process at a time (RocksDB), so this is for scripts and tests, not for the
training process while `runicorn viewer` owns the same store.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional

from . import _core


def default_storage() -> Path:
    """$RUNICORN_DIR when set and non-empty, else ./.runicorn (as the library decides)."""
    value = os.environ.get("RUNICORN_DIR", "")
    return Path(value) if value else Path(".runicorn")


def read_run(run_id: str, storage: Optional[os.PathLike | str] = None) -> Dict[str, Any]:
    """The run's row, config, summary and metric stats, plus "series" ({metric: [(step, value,
    stage)]}) and "log" (its text log). Raises runicorn.NotFoundError for an unknown id and
    BusyError while another process holds the catalog."""
    root = Path(storage) if storage is not None else default_storage()
    catalog = _core.Catalog.open(os.fspath(root))
    try:
        catalog.refresh()
        run = catalog.get_run(run_id)
        run["series"] = {
            name: [(step, value, stage) for step, value, stage, _ in catalog.read_metric(run_id, name)]
            for name in run["metrics"]
        }
        run["log"] = catalog.read_log(run_id)
        return run
    finally:
        del catalog


def list_runs(storage: Optional[os.PathLike | str] = None, project: str = "") -> list:
    root = Path(storage) if storage is not None else default_storage()
    catalog = _core.Catalog.open(os.fspath(root))
    try:
        catalog.refresh()
        return catalog.list_runs(project)
    finally:
        del catalog
