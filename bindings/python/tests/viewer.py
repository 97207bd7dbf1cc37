"""Starts a real `runicorn viewer` on a loopback port for the client tests.

The binary comes from $RUNICORN_BINARY (ctest sets it when the runicorn target is built) or from
a build*/apps/runicorn of this checkout. Tests needing it are skipped, saying so, when neither
exists.
"""
from __future__ import annotations

import glob
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[3]


def find_binary() -> Optional[str]:
    env = os.environ.get("RUNICORN_BINARY")
    if env and os.access(env, os.X_OK):
        return env
    candidates = glob.glob(str(REPO / "build*" / "apps" / "runicorn")) + \
        glob.glob(str(REPO / "build*" / "apps" / "runicorn" / "runicorn"))
    candidates = [c for c in candidates if os.path.isfile(c) and os.access(c, os.X_OK)]
    return max(candidates, key=os.path.getmtime) if candidates else None


class Viewer:
    def __init__(self, binary: str, storage: Path, *extra: str, env: Optional[dict] = None,
                 port: int = 0):
        # port 0: one the viewer picks (self.port tells which)
        self.storage = storage
        self.proc = subprocess.Popen(
            [binary, "viewer", "--storage", str(storage), "--host", "127.0.0.1", "--port", str(port),
             "--threads", "2", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, **(env or {})))
        line = self.proc.stdout.readline()
        while line.startswith("runicorn viewer: warning:"):  # e.g. --token is visible in ps
            line = self.proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"runicorn viewer did not start: {line!r}")
        self.port = int(match.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


def wait_until(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)
