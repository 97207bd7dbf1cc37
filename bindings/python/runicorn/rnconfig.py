"""Runicorn v0.6's per-user configuration: the `get_config` registry and `rnconfig.toml`.

Both live in the per-user config dir, $XDG_CONFIG_HOME/runicorn (else ~/.config/runicorn), the
folder the viewer keeps its own config.json in. Files are parsed with the standard library's
tomllib and cached by modification time, so edits are seen without restarting the program.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

try:
    import tomllib  # Python >= 3.11
except ImportError:  # pragma: no cover - Python < 3.11
    tomllib = None  # type: ignore[assignment]

_cache: Dict[Path, Tuple[int, Dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def user_config_dir() -> Path:
    """$XDG_CONFIG_HOME/runicorn when XDG_CONFIG_HOME is set and non-empty, else
    ~/.config/runicorn (Runicorn's Linux location)."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(xdg) if xdg else Path.home() / ".config"
    return base / "runicorn"


def registry_root() -> Path:
    return user_config_dir() / "registry"


def _load_toml(path: Path) -> Dict[str, Any]:
    """The parsed file, re-read only when its mtime changes; ValueError names a malformed file."""
    if tomllib is None:
        raise RuntimeError("runicorn: reading TOML needs Python 3.11 or newer (tomllib)")
    mtime = path.stat().st_mtime_ns
    with _cache_lock:
        hit = _cache.get(path)
        if hit is not None and hit[0] == mtime:
            return hit[1]
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"runicorn: {path} is not valid TOML: {e}") from None
    with _cache_lock:
        _cache[path] = (mtime, data)
    return data


def get_config(key: str) -> Any:
    """Looks `key` ("datasets/imagenet/root") up in the registry: the longest prefix of its
    segments that names a file registry/<prefix>.toml wins, and the remaining segments index into
    that file. A key that names a whole file returns the file's `value` field."""
    if not isinstance(key, str) or not key.strip("/"):
        raise ValueError("runicorn: get_config() key must be a non-empty str such as "
                         "'datasets/imagenet/root'")
    parts = [p for p in key.strip("/").split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise ValueError(f"runicorn: get_config() key must not contain '.' or '..' segments: "
                         f"{key!r}")
    root = registry_root()
    searched = []
    for cut in range(len(parts), 0, -1):
        candidate = root.joinpath(*parts[:cut]).with_suffix(".toml")
        searched.append(candidate)
        if not candidate.is_file():
            continue
        node: Any = _load_toml(candidate)
        rest = parts[cut:] or ["value"]
        for part in rest:
            if not isinstance(node, dict) or part not in node:
                node = None
                break
            node = node[part]
        if node is not None:
            return node
        break
    template_file = root.joinpath(*parts[:-1]).with_suffix(".toml") if len(parts) > 1 else \
        root / f"{parts[0]}.toml"
    field = parts[-1] if len(parts) > 1 else "value"
    raise KeyError(
        f"Registry key not found: {key!r}. Registry root: {root}. Searched: "
        f"{', '.join(str(p) for p in searched)}. Create: {template_file} containing\n"
        f"    {field} = \"...\"")


def _deep_merge(base: Dict[str, Any], top: Dict[str, Any]) -> Dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
            else v
    return out


def find_workspace_root(start: Optional[os.PathLike | str] = None) -> Path:
    """The nearest ancestor of `start` (default the cwd) that holds .git, else `start` itself."""
    here = Path(start if start is not None else os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def get_effective_rnconfig(workspace_root: Optional[os.PathLike | str] = None) -> Dict[str, Any]:
    """The user's rnconfig.toml deep-merged with <workspace>/rnconfig.toml (the project wins).
    workspace_root defaults to find_workspace_root()."""
    user_file = user_config_dir() / "rnconfig.toml"
    root = Path(workspace_root) if workspace_root is not None else find_workspace_root()
    project_file = root / "rnconfig.toml"
    merged: Dict[str, Any] = {}
    for path in (user_file, project_file):
        if path.is_file():
            merged = _deep_merge(merged, _load_toml(path))
    return merged
