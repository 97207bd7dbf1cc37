"""init(system_metrics=...) / RUNICORN_SYSTEM_METRICS: the host's system metrics as the run's
"system:<host>" stream (docs/SYSTEM.md "Per-node system metrics"). Behaviour is tested in C++
(tests/system/node_stream_test.cpp); this checks the Python surface reaches it."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

import runicorn as rn


def system_stream_file(run) -> Path:
    host = "".join(c if c.isalnum() or c in "_.-" else "-" for c in socket.gethostname())[:57] or "unknown"
    return run.run_dir / f"journal.system:{host}"


def test_init_system_metrics_writes_the_host_stream(store, read):
    run = rn.init(project="p", name="n", storage=str(store), system_metrics=True)
    run.log({"loss": 0.5}, step=1)
    # Until the first sample (1 s after the start) is in the file; the bound only stops a hang.
    deadline = time.monotonic() + 60
    while system_stream_file(run).stat().st_size <= 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    run.finish()
    assert system_stream_file(run).is_file()
    r = read(run)
    cpu = r["series"]["system/cpu_percent"]
    assert len(cpu) >= 1
    assert [step for step, _, _ in cpu] == list(range(1, len(cpu) + 1))
    assert all(0.0 <= value <= 100.0 for _, value, _ in cpu)
    assert all(stage == "" for _, _, stage in cpu)
    assert r["series"]["loss"] == [(1, 0.5, "")]  # the run's own metrics stay apart


def test_environment_turns_it_on_and_the_keyword_wins(store, monkeypatch):
    monkeypatch.setenv("RUNICORN_SYSTEM_METRICS", "1")
    on = rn.Run(storage=store)
    off = rn.Run(storage=store, system_metrics=False)
    on.finish()
    off.finish()
    assert system_stream_file(on).is_file()
    assert not system_stream_file(off).exists()


def test_a_bad_environment_value_is_a_value_error(store, monkeypatch):
    monkeypatch.setenv("RUNICORN_SYSTEM_METRICS", "maybe")
    with pytest.raises(ValueError) as e:
        rn.init(storage=str(store))
    assert str(e.value) == "RUNICORN_SYSTEM_METRICS must be 1/true/yes/on or 0/false/no/off, got 'maybe'"
    assert not any((store / "runs").iterdir())
