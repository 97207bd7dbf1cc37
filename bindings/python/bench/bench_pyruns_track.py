"""pyruns.track() inside a task: bytes written and cost per call of our append-only sidecar
(task_metrics.jsonl, folded into task_info.json once when the run ends) against Pyruns' way,
measured in the same process: every call locks, re-reads, rewrites and fsyncs the whole
task_info.json (utils/info_io.update_task_info: O_EXCL lock file, json load, tmp + fsync +
os.replace).

    PYTHONPATH=<build>/python python3 bindings/python/bench/bench_pyruns_track.py [--calls 10000]

Bytes are exact (file sizes), times are wall clock on whatever machine runs it. "ours, task file
only" runs with RUNICORN_ON=0, so it is the task-file path alone; "ours, run + task file" also
logs each point to a runicorn run (what a task run does by default).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
import warnings
from pathlib import Path

# A task_info.json as the runner leaves it when a run starts (Pyruns' keys, one run slot).
TASK_INFO = {
    "name": "bench_1-of-1", "status": "running", "progress": 0.0,
    "created_at": "2026-12-03_12-00-00", "pinned": False, "task_kind": "python",
    "config_file": "config.yaml", "script": "/home/u/proj/train.py",
    "start_times": ["2026-12-03_12-00-01"], "finish_times": [None], "pids": [4242],
    "pid_create_times": [1.7e9], "run_statuses": ["running"], "durations": [None],
    "exit_codes": [None], "source_states": ["git none | unknown | script 4a97f4992adb"],
    "records": [{}], "tracks": [{}], "run_index": 1,
}


def make_task(root: Path) -> Path:
    task = root / "_pyruns_" / "train" / "tasks" / "bench_1-of-1"
    task.mkdir(parents=True)
    (task / "task_info.json").write_text(json.dumps(TASK_INFO, ensure_ascii=False, indent=2))
    return task


def pyruns_rewrite_per_call(task: Path, calls: int) -> tuple:
    """Pyruns' track(): the whole file rewritten per call. Returns (seconds, bytes written)."""
    info_path, lock_path = task / "task_info.json", task / ".task_info.json.lock"
    written = 0
    start = time.perf_counter()
    for i in range(calls):
        fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.write(fd, f"{os.getpid()} 0 host {time.time()}".encode())
        os.close(fd)
        try:
            with open(info_path, encoding="utf-8") as f:
                info = json.load(f)
            info["tracks"][0].setdefault("loss", []).append(1.0 / (i + 1))
            data = json.dumps(info, ensure_ascii=False, indent=2).encode("utf-8")
            tmp = info_path.with_suffix(".json.tmp")
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, info_path)
            written += len(data)
        finally:
            os.unlink(lock_path)
    return time.perf_counter() - start, written


def ours(task: Path, store: Path, calls: int, with_run: bool) -> tuple:
    """pyruns.track() here. Returns (seconds, bytes appended, bytes of the one folded rewrite)."""
    import pyruns
    import runicorn as rn
    from runicorn import _task

    os.environ.update(RUNICORN_TASK=str(task), RUNICORN_TASK_RUN="1", RUNICORN_DIR=str(store))
    rn.set_enabled(with_run)
    start = time.perf_counter()
    for i in range(calls):
        pyruns.track(loss=1.0 / (i + 1))
    seconds = time.perf_counter() - start
    run = rn.get_active_run()
    if run is not None:
        run.finish()
    _task.APPENDER.close()
    appended = (task / _task.METRICS_FILE).stat().st_size
    # The runner's fold at the end of the run: one more rewrite of task_info.json.
    info = json.loads((task / "task_info.json").read_text())
    for line in (task / _task.METRICS_FILE).read_text().splitlines():
        entry = json.loads(line)
        if entry["kind"] == "track":
            for k, v in entry["values"].items():
                info["tracks"][0].setdefault(k, []).append(v)
    folded = len(json.dumps(info, separators=(",", ":")).encode("utf-8"))
    return seconds, appended, folded


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    warnings.simplefilter("error")  # a warning here would be a bug in the measured path

    rows = []
    work = Path(tempfile.mkdtemp(prefix="pyruns-bench-"))
    try:
        seconds, written = pyruns_rewrite_per_call(make_task(work / "pyruns"), args.calls)
        rows.append(("Pyruns: rewrite + fsync per call", seconds, written, 0))
        for label, with_run in (("ours, task file only", False), ("ours, run + task file", True)):
            base = work / label.replace(" ", "_").replace(",", "").replace("+", "and")
            s, appended, folded = ours(make_task(base), base / "store", args.calls, with_run)
            rows.append((label, s, appended, folded))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"pyruns.track(loss=x) x {args.calls} in one task run "
          f"(python {platform.python_version()}, {platform.machine()})")
    print(f"{'':34} {'us/call':>9} {'bytes written':>14} {'+ fold at end':>14} {'ratio':>8}")
    baseline = rows[0][2]
    for label, seconds, written, folded in rows:
        total = written + folded
        print(f"{label:34} {seconds / args.calls * 1e6:9.1f} {written:14,} {folded:14,} "
              f"{baseline / total:7.0f}x")


if __name__ == "__main__":
    main()
