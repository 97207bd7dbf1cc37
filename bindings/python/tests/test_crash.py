"""A Python writer killed with SIGKILL after run.flush() loses nothing it flushed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from conftest import python_env

WRITER = textwrap.dedent("""
    import sys, time
    import runicorn as rn
    run = rn.init(project="crash", storage=sys.argv[1])
    for i in range(1, 5001):
        run.log({"loss": 1.0 / i, "acc": i * 1e-4}, step=i)
    run.summary({"phase": "flushed"})
    run.log_text("before the kill")
    run.flush()
    print(run.id, flush=True)
    for i in range(5001, 10 ** 9):   # keeps logging, unflushed, until killed
        run.log({"loss": 0.0}, step=i)
        if i % 1000 == 0:
            time.sleep(0.001)
""")


def test_sigkill_after_flush_keeps_every_flushed_value(tmp_path):
    import runicorn as rn

    store = tmp_path / "store"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(store)], env=python_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run_id = proc.stdout.readline().strip()
        assert run_id, proc.stderr.read()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    detail = rn.read_run(run_id, storage=store)
    assert detail["status"] == "failed"
    assert detail["exit_reason"] == "process_not_found"
    assert detail["summary"] == {"phase": "flushed"}
    assert detail["log"] == "before the kill\n"
    loss = detail["series"]["loss"]
    acc = dict((s, v) for s, v, _ in detail["series"]["acc"])
    assert [(s, v) for s, v, _ in loss[:5000]] == [(i, 1.0 / i) for i in range(1, 5001)]
    assert acc == {i: i * 1e-4 for i in range(1, 5001)}
    # Whatever the background flusher wrote after that is intact too: steps stay contiguous.
    assert [s for s, _, _ in loss] == list(range(1, len(loss) + 1))
