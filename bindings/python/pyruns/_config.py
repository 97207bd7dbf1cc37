"""pyruns.read / pyruns.load and ConfigNode, as Pyruns' script API defines them.

Where the config comes from (Pyruns' precedence): the task's config (__PYRUNS_CONFIG__, set by
the runner for python tasks), else the `file_path` given to read(), else
`<_pyruns_ root>/<stem of sys.argv[0]>/config_default.yaml` with the root $__PYRUNS_ROOT__ or
`./_pyruns_`. YAML is read like Pyruns reads it: PyYAML's safe_load with `5e-3` typed as a float
and `30:40:1` kept as a string (no sexagesimal numbers), so a script sees the same values as the
batch expansion in lib/tasks wrote. `.json` files are read as JSON.

Where we differ, on purpose: read(file_path) inside a task warns that the argument is ignored
(Pyruns ignores it silently); ConfigNode also has item access, get(), keys/items/values, and
to_dict() keeps keys starting with `_` (Pyruns drops them).
"""
from __future__ import annotations

import copy
import json
import os
import re
import sys
import threading
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Union

from runicorn import pyruns as _results

_HINT = ("create it with `runicorn tasks init <script.py> --config your_config.yaml` "
         "(Pyruns: `pyr init <script> --config your_config.yaml`)")


# --- YAML as Pyruns reads it ---------------------------------------------------------------

def _yaml_loader():
    try:
        import yaml
    except ImportError as e:  # pragma: no cover - Debian's python3-yaml is a dependency
        raise RuntimeError("pyruns needs PyYAML to read YAML configs (Debian: python3-yaml)") from e

    class Loader(yaml.SafeLoader):
        pass

    # Rebuild the int and float resolvers: YAML 1.1's sexagesimal forms go (so `30:40:1`, a
    # batch range, stays a string) and a float may have an exponent without a dot (`5e-3`).
    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers
                if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"""^(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+)$""", re.X),
        list("-+0123456789"))
    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?(?:[0-9][0-9_]*)[eE][-+]?[0-9]+
                    |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X),
        list("-+0123456789."))
    return yaml, Loader


def parse_config_text(text: str, suffix: str) -> Any:
    """The config in `text`; RuntimeError("Failed to parse config: ...") when it does not
    parse or the format is neither YAML nor JSON."""
    suffix = suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            yaml, loader = _yaml_loader()
            data = yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader subclass
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise ValueError("Unsupported format")
    except RuntimeError:
        raise
    except Exception as e:  # noqa: BLE001 - yaml.YAMLError, JSONDecodeError, ValueError
        raise RuntimeError(f"Failed to parse config: {e}") from e
    return {} if data is None else data


# --- ConfigNode ----------------------------------------------------------------------------

def _wrap(value: Any) -> Any:
    if isinstance(value, ConfigNode):
        return value
    if isinstance(value, dict):
        return ConfigNode(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, ConfigNode):
        return value.to_dict()
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return copy.deepcopy(value)


class ConfigNode:
    """A config mapping with attribute access (cfg.model.depth, as Pyruns) and item access
    (cfg["model"]["depth"], for keys that are not identifiers). Nested mappings are ConfigNodes,
    lists keep their items (mappings in them too). Keys keep the file's order.

    A key named like a method (`items`, `get`, ...) wins on attribute access, as in Pyruns where
    keys are plain attributes; the method stays reachable as ConfigNode.items(cfg). Item access
    always means the data. Not thread-safe for writes (a config is read, not shared and edited).
    """

    __slots__ = ("_data",)

    def __init__(self, data: Optional[dict] = None, **kwargs: Any) -> None:
        values = dict(data or {})
        values.update(kwargs)
        for key in values:
            if not isinstance(key, str):
                raise TypeError(f"ConfigNode keys must be strings, got {key!r}")
        object.__setattr__(self, "_data", {k: _wrap(v) for k, v in values.items()})

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("__"):
            data = object.__getattribute__(self, "_data")
            if name in data:
                return data[name]
        return object.__getattribute__(self, name)

    def __getattr__(self, name: str) -> Any:
        # Only reached when neither a key nor a method has this name.
        raise AttributeError(f"config has no key '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        object.__getattribute__(self, "_data")[name] = _wrap(value)

    def __delattr__(self, name: str) -> None:
        try:
            del object.__getattribute__(self, "_data")[name]
        except KeyError:
            raise AttributeError(f"config has no key '{name}'") from None

    def __getitem__(self, key: str) -> Any:
        return object.__getattribute__(self, "_data")[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ConfigNode keys must be strings, got {key!r}")
        object.__getattribute__(self, "_data")[key] = _wrap(value)

    def __delitem__(self, key: str) -> None:
        del object.__getattribute__(self, "_data")[key]

    def __contains__(self, key: object) -> bool:
        return key in object.__getattribute__(self, "_data")

    def __iter__(self) -> Iterator[str]:
        return iter(object.__getattribute__(self, "_data"))

    def __len__(self) -> int:
        return len(object.__getattribute__(self, "_data"))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ConfigNode):
            return ConfigNode.to_dict(self) == ConfigNode.to_dict(other)
        if isinstance(other, dict):
            return ConfigNode.to_dict(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment] - mutable

    def __dir__(self):
        return sorted(set(object.__dir__(self)) | {k for k in self if k.isidentifier()})

    def __repr__(self) -> str:
        # argparse.Namespace's style: identifiers as key=value, other keys in a **{...} tail.
        data = object.__getattribute__(self, "_data")
        plain = [f"{k}={v!r}" for k, v in data.items() if k.isidentifier()]
        other = {k: v for k, v in data.items() if not k.isidentifier()}
        if other:
            plain.append(f"**{other!r}")
        return f"ConfigNode({', '.join(plain)})"

    def __getstate__(self) -> Dict[str, Any]:
        return ConfigNode.to_dict(self)

    def __setstate__(self, state: Dict[str, Any]) -> None:
        object.__setattr__(self, "_data", {k: _wrap(v) for k, v in state.items()})

    def __copy__(self) -> "ConfigNode":
        return ConfigNode(ConfigNode.to_dict(self))

    def __deepcopy__(self, memo: dict) -> "ConfigNode":
        return ConfigNode(ConfigNode.to_dict(self))

    def to_dict(self) -> Dict[str, Any]:
        """A plain, independent copy: dicts and lists all the way down, every key kept."""
        return {k: _unwrap(v) for k, v in object.__getattribute__(self, "_data").items()}

    def get(self, key: str, default: Any = None) -> Any:
        return object.__getattribute__(self, "_data").get(key, default)

    def keys(self):
        return object.__getattribute__(self, "_data").keys()

    def items(self):
        return object.__getattribute__(self, "_data").items()

    def values(self):
        return object.__getattribute__(self, "_data").values()


# --- read / load ---------------------------------------------------------------------------

_lock = threading.Lock()
_loaded: Optional[Union[ConfigNode, list]] = None
_loaded_from: Optional[Path] = None


def pyruns_root() -> Path:
    root = os.environ.get("__PYRUNS_ROOT__", "")
    return Path(root) if root else Path.cwd() / "_pyruns_"


def default_config_path() -> Path:
    stem = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""
    return pyruns_root() / (stem or "_pyruns_") / "config_default.yaml"


def _config_path(file_path: Optional[Union[str, os.PathLike]]) -> Path:
    task_config = os.environ.get("__PYRUNS_CONFIG__", "")
    if task_config:
        if file_path is not None and Path(file_path).resolve() != Path(task_config).resolve():
            warnings.warn(f"pyruns.read(): inside a task the task's config {task_config} is "
                          f"read; file_path {os.fspath(file_path)!r} is ignored",
                          _results.PyrunsWarning, stacklevel=3)
        return Path(task_config)
    if file_path is not None:
        return Path(file_path)
    return default_config_path()


def _as_dict() -> Optional[dict]:
    node = _loaded
    return ConfigNode.to_dict(node) if isinstance(node, ConfigNode) else None


def read(file_path: Optional[Union[str, os.PathLike]] = None) -> Union[ConfigNode, list]:
    """Reads the config (see the module docstring for which file) and keeps it for load().
    FileNotFoundError when the file does not exist; RuntimeError when it does not parse."""
    global _loaded, _loaded_from
    path = _config_path(file_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"Config not found: {path}; {_HINT}") from None
    config = _wrap(parse_config_text(text, path.suffix))
    with _lock:
        _loaded, _loaded_from = config, path
    # A run this process starts for its task records this config.
    _results.config_source = _as_dict
    return config


def load() -> Union[ConfigNode, list]:
    """The config read by read(), reading it first if nothing was read yet. RuntimeError
    ("Config not loaded. Call read() first.") when there is no config file to read."""
    with _lock:
        if _loaded is not None:
            return _loaded
    try:
        return read()
    except FileNotFoundError as e:
        raise RuntimeError(f"Config not loaded. Call read() first. ({e})") from e


def loaded_from() -> Optional[Path]:
    """The file the config was read from, or None."""
    return _loaded_from


def reset() -> None:
    """Forgets the loaded config (for tests and notebooks that switch configs)."""
    global _loaded, _loaded_from
    with _lock:
        _loaded, _loaded_from = None, None
    if _results.config_source is _as_dict:
        _results.config_source = None
