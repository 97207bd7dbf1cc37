"""RUNICORN_ON=0: every call is a no-op and nothing is written anywhere."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import runicorn as rn
from conftest import python_env

SCRIPT = textwrap.dedent("""
    import numpy as np
    import runicorn as rn
    rn.log({"before": 1.0})            # no error before init either
    rn.record(a=1); rn.track(a=1.0)
    run = rn.init(project="p", name="n", config={"lr": 0.1}, capture_env=True,
                  capture_console=True)
    assert isinstance(run, rn.NoOpRun), run
    run.log({"loss": 0.5}, step=1)
    rn.log(loss=0.4)
    run.log_text("text"); rn.log_text("text")
    assert run.log_image("img", np.zeros((2, 2, 3), dtype=np.uint8)) == ""
    run.summary({"best": 1}); rn.summary({"best": 2})
    run.set_primary_metric("loss", "min"); rn.set_primary_metric("loss")
    rn.record(a=1); rn.track(a=1.0)
    art = rn.Artifact("model")
    assert run.log_artifact(art) == 0
    assert run.use_artifact("model:latest") is None
    run.flush()
    with rn.init() as other:
        other.log(x=1.0)
    rn.finish()
    print("ok")
""")


@pytest.mark.parametrize("value", ["0", "false", "off", "No"])
def test_script_under_runicorn_on_0_writes_nothing(tmp_path, value):
    work = tmp_path / "work"
    work.mkdir()
    storage = tmp_path / "storage"
    env = python_env(RUNICORN_ON=value, RUNICORN_DIR=str(storage))
    out = subprocess.run([sys.executable, "-c", SCRIPT], cwd=work, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    assert not storage.exists()
    assert list(work.iterdir()) == []


def test_set_enabled_overrides_the_environment(store, monkeypatch):
    monkeypatch.setenv("RUNICORN_ON", "0")
    assert not rn.is_enabled()
    rn.set_enabled(True)
    assert rn.is_enabled()
    with rn.enabled(False):
        assert isinstance(rn.init(storage=store), rn.NoOpRun)
    rn.reset_enabled()
    monkeypatch.setenv("RUNICORN_ON", "1")
    assert rn.is_enabled()
    assert not store.exists()
