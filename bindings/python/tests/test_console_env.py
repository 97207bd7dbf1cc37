"""capture_console tees stdout/stderr into the run log; capture_env records the environment."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import runicorn as rn
from runicorn.console import collapse_carriage_returns


def test_collapse_keeps_what_a_terminal_would_show():
    assert collapse_carriage_returns("plain") == "plain"
    assert collapse_carriage_returns("\r 10%|#\r 50%|###\r100%|#####") == "100%|#####"
    assert collapse_carriage_returns("done\r") == "done"
    assert collapse_carriage_returns("\r\r") == ""


def test_console_lines_reach_the_log_and_streams_are_restored(store, read):
    out, err = sys.stdout, sys.stderr
    run = rn.init(storage=store, capture_console=True)
    print("epoch 1 loss 0.5")
    sys.stdout.write("\r  0%|          | 0/3")
    sys.stdout.write("\r 33%|###       | 1/3")
    sys.stdout.write("\r100%|##########| 3/3\n")
    print("warning: slow", file=sys.stderr)
    sys.stdout.write("no newline at the end")
    run.finish()
    assert sys.stdout is out and sys.stderr is err
    assert read(run)["log"] == ("epoch 1 loss 0.5\n100%|##########| 3/3\nwarning: slow\n"
                                "no newline at the end\n")


def test_capture_env_records_python_platform_host_and_git(store, read, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "trunk", str(repo)], check=True)
    (repo / "f.txt").write_text("one")
    subprocess.run(git + ["-C", str(repo), "add", "f.txt"], check=True)
    subprocess.run(git + ["-C", str(repo), "commit", "-q", "-m", "c"], check=True)
    (repo / "f.txt").write_text("two")  # dirty
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_smi = bin_dir / "nvidia-smi"
    fake_smi.write_text("#!/bin/sh\necho '0, NVIDIA A100-SXM4-40GB, 40960, 535.54'\n")
    fake_smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(repo)

    run = rn.init(storage=store, capture_env=True)
    run.finish()
    env = read(run)["summary"]["environment"]
    assert env["python_version"] == ".".join(map(str, sys.version_info[:3]))
    assert env["hostname"] and env["platform"] and env["pid"] == os.getpid()
    assert env["git"] == {"commit": commit, "branch": "trunk", "dirty": True}
    assert env["gpu"] == [{"index": 0, "name": "NVIDIA A100-SXM4-40GB", "memory_total_mb": 40960,
                           "driver_version": "535.54"}]


def test_capture_env_outside_git_and_without_gpu(store, read, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    run = rn.init(storage=store, capture_env=True)
    run.finish()
    env = read(run)["summary"]["environment"]
    assert env["git"] is None
    if not os.path.exists("/usr/bin/nvidia-smi"):
        assert env["gpu"] is None
