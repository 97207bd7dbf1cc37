"""run.log({"loss": x, "acc": y, "lr": z}, step=i): cost per call, against a baseline measured in
the same process: json.dumps of the same record plus a write to a buffered file (what a JSON-lines
logger such as Runicorn's does on the caller's thread, before its SQLite write).

    PYTHONPATH=<build>/python python3 bindings/python/bench/bench_log.py [--calls 1000000]

Prints one table; each figure is the best of --repeat timeit runs of --calls calls.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import timeit

import runicorn as rn

SETUP_VALUES = "x = 0.5; y = 0.9; z = 1e-3"


def best_per_call(stmt: str, env: dict, calls: int, repeat: int) -> float:
    """Best-of-`repeat` seconds per call; the step counter lives in `env` and keeps growing."""
    timer = timeit.Timer(stmt, setup=SETUP_VALUES, globals=env)
    return min(timer.repeat(repeat=repeat, number=calls)) / calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="runicorn-bench-")
    try:
        run = rn.init(project="bench", storage=os.path.join(work, "store"))
        counter = iter(range(1, 1 << 62)).__next__
        env = {"run": run, "next_step": counter, "rn": rn}

        results = {}
        results["run.log(dict, step=i)"] = best_per_call(
            'run.log({"loss": x, "acc": y, "lr": z}, step=next_step())', env, args.calls, args.repeat)
        results["run.log(dict)  (automatic step)"] = best_per_call(
            'run.log({"loss": x, "acc": y, "lr": z})', env, args.calls, args.repeat)
        results["rn.log(dict, step=i)  (module level)"] = best_per_call(
            'rn.log({"loss": x, "acc": y, "lr": z}, step=next_step())', env, args.calls, args.repeat)
        flush_start = timeit.default_timer()
        run.finish()
        finish_s = timeit.default_timer() - flush_start

        with open(os.path.join(work, "baseline.jsonl"), "w", buffering=1 << 20) as f:
            env_base = {"json": json, "f": f, "next_step": counter}
            results["baseline: json.dumps + buffered write"] = best_per_call(
                'f.write(json.dumps({"global_step": next_step(), "loss": x, "acc": y, "lr": z})'
                ' + "\\n")', env_base, args.calls, args.repeat)
        results["floor: building the dict + next_step()"] = best_per_call(
            '{"loss": x, "acc": y, "lr": z}; next_step()', env, args.calls, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    baseline = results["baseline: json.dumps + buffered write"]
    print(f"python {platform.python_version()} on {platform.machine()}, {args.calls:,} calls, "
          f"best of {args.repeat}")
    print(f"{'what':48} {'per call':>10} {'vs baseline':>12}")
    for name, seconds in results.items():
        print(f"{name:48} {seconds * 1e6:8.3f} µs {seconds / baseline:11.2f}x")
    print(f"finish() after {3 * args.calls * args.repeat:,} logged calls: {finish_s * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
