"""Shared fixtures: a fresh store per test, a clean active-run state, and a reader."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import runicorn as rn
from runicorn import _active

BINDINGS_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def clean_state(monkeypatch):
    monkeypatch.delenv("RUNICORN_ON", raising=False)
    rn.reset_enabled()
    yield
    run = _active.get_active_run()
    if run is not None and not isinstance(run, rn.NoOpRun) and not run.is_finished:
        run.finish()
    _active._active = None
    rn.reset_enabled()


@pytest.fixture
def store(tmp_path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def read(store):
    """read(run) -> the run as the catalog sees it (see runicorn.read_run)."""
    def _read(run_or_id, storage=None):
        run_id = run_or_id if isinstance(run_or_id, str) else run_or_id.id
        return rn.read_run(run_id, storage=storage or store)
    return _read


def python_env(**extra: str) -> dict:
    """Environment for a child interpreter that imports the same runicorn package."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.update(extra)
    return env
