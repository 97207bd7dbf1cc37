"""runicorn.shipping_status() / Run.shipping_status(): journal shipping's state from Python
(docs/REMOTE.md "Client behaviour", docs/SDK.md): None when shipping is off; a dict with the
backlog and quota state while the viewer is down, and after it came up."""
from __future__ import annotations

import socket
import time

import pytest

import runicorn as rn
from viewer import Viewer, find_binary

BINARY = find_binary()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_once(predicate, timeout: float = 30.0) -> dict:
    """rn.shipping_status() once `predicate` holds for it, else its last value after `timeout`
    (the shipper updates it once a second; the caller asserts on the value)."""
    deadline = time.monotonic() + timeout
    status = rn.shipping_status()
    while not predicate(status) and time.monotonic() < deadline:
        time.sleep(0.05)
        status = rn.shipping_status()
    return status


def test_shipping_status_is_none_when_shipping_is_off(store, monkeypatch):
    monkeypatch.delenv("RUNICORN_SERVER", raising=False)
    run = rn.init(storage=store)
    assert run.shipping_status() is None
    assert rn.shipping_status() is None
    rn.finish()


def test_shipping_status_of_a_disabled_run_is_none(monkeypatch):
    monkeypatch.setenv("RUNICORN_ON", "0")
    rn.init()
    assert rn.shipping_status() is None


def test_shipping_status_without_an_active_run_raises():
    with pytest.raises(RuntimeError, match=r"runicorn.shipping_status\(\): no active run"):
        rn.shipping_status()


@pytest.mark.skipif(BINARY is None, reason="no runicorn binary built (set RUNICORN_BINARY)")
def test_shipping_status_while_the_viewer_is_down_then_up(store, tmp_path, monkeypatch, capfd):
    port = free_port()  # nothing listens here until the viewer starts below
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("RUNICORN_SERVER", url)
    monkeypatch.setenv("RUNICORN_SHIP_QUOTA_MB", "1")
    monkeypatch.delenv("RUNICORN_TOKEN", raising=False)
    monkeypatch.delenv("RUNICORN_SYSTEM_METRICS", raising=False)
    run = rn.init(storage=store)
    for step in range(100_000):
        run.log({"loss": step * 0.25}, step=step)
    run.flush()
    journal = run.run_dir / "journal"
    size = journal.stat().st_size
    assert size > 1 << 20  # over the 1 MiB quota

    down = status_once(lambda s: s["unacknowledged_bytes"] == size and s["last_error"] != "")
    assert down == {
        "server": url,
        "runs": 1,
        "unacknowledged_bytes": size,
        "quota_bytes": 1 << 20,
        "over_quota": True,
        "quota_warnings": 1,
        "last_error": "cannot reach the server: Couldn't connect to server",
    }
    assert run.shipping_status() == rn.shipping_status()
    warnings = [line for line in capfd.readouterr().err.splitlines()
                if line.startswith(f"runtrack: journal shipping to {url} is behind: ")]
    assert len(warnings) == 1

    viewer = Viewer(BINARY, tmp_path / "central", port=port,
                    env={"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "RUNICORN_SERVER": ""})
    try:
        up = status_once(lambda s: s["unacknowledged_bytes"] == 0 and not s["over_quota"])
        assert up == {
            "server": url,
            "runs": 1,
            "unacknowledged_bytes": 0,
            "quota_bytes": 1 << 20,
            "over_quota": False,
            "quota_warnings": 1,
            "last_error": "",
        }
        rn.finish()  # the viewer acknowledges the final records before this returns
        central = tmp_path / "central" / "runs" / run.id / "journal"
        assert central.read_bytes() == journal.read_bytes()
    finally:
        viewer.stop()
