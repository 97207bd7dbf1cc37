"""Runicorn v0.6's run assets: log_config, log_dataset, log_pretrained and the code snapshot.

Each call records one entry of the run's assets.json (in Runicorn's shape, written atomically by
libruntrack's Run::RecordAsset). Content that is saved (`save=True`) goes into our artifact store
as a version of an artifact named after the asset, so saving the same files twice stores their
chunks once (content-defined chunking, docs/FORMATS-artifacts.md); the entry names the version in
"artifact" ("name:vN").
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, Dict, Iterable, Optional

_GiB = 1024 ** 3


def _plain_args(args: Any) -> Any:
    """argparse.Namespace (or any object with __dict__) -> dict; dict and None unchanged."""
    if args is None or isinstance(args, dict):
        return args
    if hasattr(args, "__dict__"):
        return dict(vars(args))
    raise TypeError(f"runicorn: log_config() args must be a dict or an argparse.Namespace, "
                    f"not {type(args).__name__}")


def log_config(run: Any, *, args: Any = None, extra: Optional[dict] = None,
               config_files: Optional[Iterable[os.PathLike | str]] = None) -> Dict[str, Any]:
    if extra is not None and not isinstance(extra, dict):
        raise TypeError(f"runicorn: log_config() extra must be a dict, not {type(extra).__name__}")
    if isinstance(config_files, (str, os.PathLike)):
        config_files = [config_files]
    entry = {"args": _plain_args(args), "extra": extra,
             "config_files": [os.fspath(p) for p in (config_files or ())]}
    run.record_asset("config", entry)
    return entry


def _local_tree(path: Path) -> tuple[int, int]:
    """(file count, total bytes) of a file or a directory tree."""
    if path.is_file():
        return 1, path.stat().st_size
    count = total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            full = Path(folder) / name
            if full.is_file() and not full.is_symlink():
                count += 1
                total += full.stat().st_size
    return count, total


def _fingerprint(files: list) -> str:
    """Runicorn's directory fingerprint: sha256 over sorted (path, sha256) pairs, each fed as
    `path \\0 sha \\0`; our file digests are the artifact store's whole-file SHA-256."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f["path"]):
        digest = str(f["digest"]).removeprefix("sha256:")
        h.update(f["path"].encode("utf-8") + b"\0" + digest.encode("ascii") + b"\0")
    return h.hexdigest()


def save_as_artifact(run: Any, name: str, source: Path, artifact_type: str,
                     description: Optional[str], force: bool, max_bytes: int,
                     max_files: int, what: str) -> Dict[str, Any]:
    """Stores `source` as the next version of artifact `name`; returns the entry's archive
    fields. A source over the limits is a ValueError unless `force`."""
    from .artifacts import Artifact
    count, total = _local_tree(source)
    if not force and (count > max_files or total > max_bytes):
        raise ValueError(f"runicorn: {what} {name!r} is too large to save: {count} files, "
                         f"{total} bytes (limits {max_files} files, {max_bytes} bytes); pass "
                         f"force_save=True to save it anyway")
    artifact = Artifact(name, type=artifact_type, description=description or "")
    if source.is_file():
        artifact.add_file(source)
    else:
        artifact.add_dir(source)
    version = run.log_artifact(artifact)
    files = run.artifact_files(name, version)
    return {"artifact": f"{name}:v{version}", "fingerprint_kind": "sha256_manifest",
            "fingerprint": _fingerprint(files), "file_count": len(files),
            "total_size_bytes": sum(f["size"] for f in files)}


def _local_source(value: Optional[os.PathLike | str], what: str, name: str) -> Path:
    if value is None:
        raise ValueError(f"runicorn: {what}(save=True) needs a local path to save ({name!r})")
    path = Path(value)
    if not path.exists():
        raise ValueError(f"runicorn: {what}(save=True): {os.fspath(value)!r} is not a local file "
                         f"or directory")
    return path


def log_dataset(run: Any, name: str, root_or_uri: os.PathLike | str, *, context: str = "train",
                save: bool = False, description: Optional[str] = None, force_save: bool = False,
                max_archive_bytes: int = 5 * _GiB,
                max_archive_files: int = 2_000_000) -> Dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise ValueError("runicorn: log_dataset() name must be a non-empty str")
    entry: Dict[str, Any] = {"name": name, "context": context, "uri": os.fspath(root_or_uri),
                             "description": description, "saved": bool(save),
                             "fingerprint": None}
    if save:
        source = _local_source(root_or_uri, "log_dataset", name)
        entry.update(save_as_artifact(run, name, source, "dataset", description, force_save,
                                      max_archive_bytes, max_archive_files, "dataset"))
    run.record_asset("datasets", entry)
    return entry


def log_pretrained(run: Any, name: str, *, path_or_uri: Optional[os.PathLike | str] = None,
                   save: bool = False, source_type: str = "unknown",
                   description: Optional[str] = None, force_save: bool = False,
                   max_archive_bytes: int = 5 * _GiB,
                   max_archive_files: int = 2_000_000) -> Dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise ValueError("runicorn: log_pretrained() name must be a non-empty str")
    entry: Dict[str, Any] = {"name": name, "source_type": source_type,
                             "path_or_uri": None if path_or_uri is None else os.fspath(path_or_uri),
                             "description": description, "saved": bool(save)}
    if save:
        source = _local_source(path_or_uri, "log_pretrained", name)
        entry.update(save_as_artifact(run, name, source, "model", description, force_save,
                                      max_archive_bytes, max_archive_files, "pretrained model"))
    run.record_asset("pretrained", entry)
    return entry


def snapshot_code(run: Any, workspace_root: Optional[os.PathLike | str],
                  snapshot_format: str, force_snapshot: bool) -> Dict[str, Any]:
    """init(snapshot_code=True): <run dir>/code_snapshot.zip plus the assets.json "code" entry."""
    from .rnconfig import find_workspace_root
    from .workspace import snapshot_workspace
    root = Path(workspace_root) if workspace_root is not None else find_workspace_root()
    result = snapshot_workspace(root, run.run_dir / "code_snapshot.zip",
                                force_snapshot=force_snapshot)
    digest = hashlib.sha256(Path(result["archive_path"]).read_bytes()).hexdigest()
    snapshot = {"saved": True, "workspace_root": result["workspace_root"], "format": "zip",
                "created_at": int(time.time()), "archive_path": result["archive_path"],
                "fingerprint_kind": "sha256", "fingerprint": digest,
                "file_count": result["file_count"], "total_bytes": result["total_bytes"]}
    run.record_asset("code", {"snapshot": snapshot})
    return snapshot
