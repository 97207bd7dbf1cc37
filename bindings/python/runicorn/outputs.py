"""scan_outputs_once / watch_outputs: archive what a training run writes (checkpoints, logs).

Runicorn v0.6's rules: a file matching `patterns` below one of `output_dirs` is archived once its
size and mtime have been unchanged for `stable_required` consecutive scans and it is at least
`min_age_sec` old, so a checkpoint is never copied while it is being written; log-like files
(*.log, *.txt, *.jsonl, *.csv, *tfevents*) grow for the whole run and are instead snapshotted at
most every `log_snapshot_interval_sec`. Content whose fingerprint did not change since it was last
archived produces no new entry. Patterns ending in '/' match directories.

Where we differ from Runicorn: archived content goes into our artifact store (type "custom",
artifact name "output-<name>-<8 hex of the key>") instead of a rolling copy or a blob folder, so
every archived state is kept as an artifact version and unchanged chunks are stored once in both
modes; assets.json "outputs" holds one entry per key (the latest), whose "artifact" names the
version. The scan state is <run dir>/.outputs_state.json, written atomically.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

DEFAULT_PATTERNS = ["*.pth", "*.pt", "*.ckpt", "*.onnx", "*.log", "*.json", "*.txt", "*.csv",
                    "*.png"]
_LOG_LIKE = ["*.log", "*.txt", "*.jsonl", "*.csv", "*tfevents*"]
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
_state_lock = threading.Lock()


def _is_log_like(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in _LOG_LIKE)


def _candidates(output_dirs: Iterable[os.PathLike | str], patterns: List[str]) -> List[Path]:
    found: Dict[Path, None] = {}
    for folder in output_dirs:
        base = Path(folder)
        if not base.is_dir():
            continue
        for pattern in patterns:
            want_dir = pattern.endswith("/")
            glob = pattern.rstrip("/")
            for prefix in ("", "**/"):
                for path in sorted(base.glob(prefix + glob)):
                    if path.is_symlink() or path.is_dir() != want_dir:
                        continue
                    found[path] = None
    return list(found)


def _stat(path: Path) -> tuple[int, int]:
    """(size, newest mtime_ns) of a file or of every file below a directory."""
    if path.is_file():
        st = path.stat()
        return st.st_size, st.st_mtime_ns
    size = mtime = 0
    for folder, _, files in os.walk(path):
        for name in files:
            st = (Path(folder) / name).stat()
            size += st.st_size
            mtime = max(mtime, st.st_mtime_ns)
    return size, mtime


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _key(path: Path, workspace_root: Path) -> str:
    resolved = path.resolve()
    try:
        return resolved.relative_to(workspace_root).as_posix()
    except ValueError:
        return str(resolved)


def _load_state(path: Path) -> Dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) and isinstance(data.get("items"), dict) \
            else {"items": {}}
    except (OSError, ValueError):
        return {"items": {}}  # a damaged state only costs re-archiving once


def _save_state(path: Path, state: Dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
    os.replace(partial, path)


def scan_outputs_once(run: Any, *, output_dirs: Iterable[os.PathLike | str],
                      patterns: Optional[Iterable[str]] = None, stable_required: int = 2,
                      min_age_sec: float = 1.0, mode: str = "rolling",
                      log_snapshot_interval_sec: float = 60.0,
                      state_gc_after_sec: float = 7 * 24 * 3600,
                      workspace_root: Optional[os.PathLike | str] = None) -> Dict[str, Any]:
    from .artifacts import Artifact
    from .rnconfig import find_workspace_root
    if isinstance(output_dirs, (str, os.PathLike)):
        output_dirs = [output_dirs]
    pattern_list = list(patterns) if patterns is not None else list(DEFAULT_PATTERNS)
    root = Path(workspace_root).resolve() if workspace_root is not None else find_workspace_root()
    state_path = run.run_dir / ".outputs_state.json"
    now = time.time()
    archived: List[Dict[str, Any]] = []
    changed = 0
    with _state_lock:
        state = _load_state(state_path)
        items = state["items"]
        paths = _candidates(output_dirs, pattern_list)
        for path in paths:
            key = _key(path, root)
            size, mtime_ns = _stat(path)
            item = items.setdefault(key, {"stable_count": 0})
            if item.get("last_size") == size and item.get("last_mtime_ns") == mtime_ns:
                item["stable_count"] = item.get("stable_count", 0) + 1
            else:
                item.update(last_size=size, last_mtime_ns=mtime_ns, stable_count=1)
                changed += 1
            item["last_seen_at"] = now
            log_like = path.is_file() and _is_log_like(path.name)
            if log_like:
                if now - item.get("last_log_snapshot_at", 0) < log_snapshot_interval_sec:
                    continue
                fingerprint_kind = "stat"
                fingerprint = json.dumps({"mtime": mtime_ns, "size_bytes": size}, sort_keys=True)
            else:
                if item["stable_count"] < stable_required or now - mtime_ns / 1e9 < min_age_sec:
                    continue
                fingerprint_kind = "sha256" if path.is_file() else "stat"
                fingerprint = _sha256(path) if path.is_file() else \
                    json.dumps({"mtime": mtime_ns, "size_bytes": size}, sort_keys=True)
            if log_like:
                item["last_log_snapshot_at"] = now
            if item.get("last_archived_fingerprint") == fingerprint:
                continue
            safe = _SAFE.sub("_", path.name)[:80]
            name = f"output-{safe}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}"
            artifact = Artifact(name, type="custom", description=f"run output {key}")
            if path.is_file():
                artifact.add_file(path)
            else:
                artifact.add_dir(path)
            try:
                version = run.log_artifact(artifact)
            except Exception as e:  # the file vanished or is unreadable: retry on the next scan
                item["last_error"] = str(e)
                continue
            item.update(last_archived_fingerprint=fingerprint, last_archived_at=now,
                        last_error=None)
            try:
                shown = "./" + path.resolve().relative_to(root).as_posix()
            except ValueError:
                shown = str(path.resolve())
            entry = {"key": key, "name": path.name, "kind": "file" if path.is_file() else "dir",
                     "path": shown, "saved": True, "artifact": f"{name}:v{version}",
                     "archive_path": f"{name}:v{version}", "fingerprint_kind": fingerprint_kind,
                     "fingerprint": fingerprint, "mode": mode, "archived_at": int(now)}
            run.record_asset("outputs", entry)
            archived.append(entry)
        for key in [k for k, v in items.items()
                    if now - v.get("last_seen_at", now) > state_gc_after_sec]:
            del items[key]
        _save_state(state_path, state)
    return {"run_id": run.id, "scanned": len(paths), "archived": len(archived),
            "changed": changed, "archived_entries": archived}


class OutputsWatcher:
    """A daemon thread calling scan_outputs_once every `interval_sec` until stop()."""

    def __init__(self, run: Any, interval_sec: float, scan_kwargs: Dict[str, Any]) -> None:
        if interval_sec <= 0:
            raise ValueError("runicorn: watch_outputs() interval_sec must be > 0")
        self._run = run
        self._interval = interval_sec
        self._kwargs = scan_kwargs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="runicorn-outputs", daemon=True)
        self.last_error: Optional[str] = None

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                scan_outputs_once(self._run, **self._kwargs)
            except Exception as e:  # never let a background scan kill the training program
                self.last_error = str(e)
            self._stop.wait(self._interval)

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
