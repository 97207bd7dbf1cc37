"""capture_env: what the run ran on, stored in the run summary under "environment"."""
from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
from typing import Any, Dict, List, Optional

_TIMEOUT = 5.0


def _run(cmd: List[str], cwd: Optional[str] = None) -> Optional[str]:
    try:
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_info(cwd: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """commit, branch and dirty flag of the repository holding `cwd`; None outside git."""
    if shutil.which("git") is None:
        return None
    commit = _run(["git", "rev-parse", "HEAD"], cwd)
    if commit is None:
        return None
    branch = _run(["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd)
    status = _run(["git", "status", "--porcelain", "--untracked-files=no"], cwd)
    return {"commit": commit, "branch": branch, "dirty": bool(status)}


def gpu_info() -> Optional[List[Dict[str, Any]]]:
    """One entry per GPU from nvidia-smi, or None when nvidia-smi is missing or fails."""
    if shutil.which("nvidia-smi") is None:
        return None
    out = _run(["nvidia-smi", "--query-gpu=index,name,memory.total,driver_version",
                "--format=csv,noheader,nounits"])
    if out is None:
        return None
    gpus = []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4:
            index, name, memory, driver = parts
            gpus.append({"index": int(index) if index.isdigit() else index, "name": name,
                         "memory_total_mb": int(memory) if memory.isdigit() else memory,
                         "driver_version": driver})
    return gpus


def collect_environment() -> Dict[str, Any]:
    return {
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "argv": list(sys.argv),
        "git": git_info(),
        "gpu": gpu_info(),
    }
