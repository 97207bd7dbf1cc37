"""rn.Artifact (what a run logs) and LoadedArtifact (what use_artifact returns).

Both wrap libruntrack's artifact store (include/runtrack/artifacts.h): versions are numbered per
name, files are chunked and deduplicated, and lineage is recorded in the run journal.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Optional

from . import _core


class Artifact:
    """A new artifact version to log: Artifact(name, type="model", description="", metadata=None).

    type is one of model, dataset, config, code, custom. Adding files records paths only; the
    bytes are read by run.log_artifact().
    """

    def __init__(self, name: str, type: str = "model", description: str = "",
                 metadata: Optional[dict] = None) -> None:
        self._core = _core.Artifact(name, type)
        if description:
            self._core.description = description
        if metadata:
            self._core.add_metadata(metadata)
        self._version: Optional[int] = None

    name = property(lambda self: self._core.name)
    type = property(lambda self: self._core.type)
    metadata = property(lambda self: self._core.metadata)
    tags = property(lambda self: list(self._core.tags))

    @property
    def description(self) -> str:
        return self._core.description

    @description.setter
    def description(self, value: str) -> None:
        self._core.description = value

    @property
    def version(self) -> Optional[int]:
        """The version number once logged, else None."""
        return self._version

    @property
    def full_name(self) -> str:
        """"name:vN" once logged, else the bare name."""
        return f"{self.name}:v{self._version}" if self._version else self.name

    def add_file(self, path: os.PathLike | str, name: Optional[str] = None) -> "Artifact":
        self._core.add_file(os.fspath(path), name)
        return self

    def add_dir(self, path: os.PathLike | str, name: Optional[str] = None,
                exclude_patterns: Optional[Iterable[str]] = None) -> "Artifact":
        self._core.add_dir(os.fspath(path), name, list(exclude_patterns or ()))
        return self

    def add_reference(self, uri: str, checksum: Optional[str] = None,
                      size: Optional[int] = None) -> "Artifact":
        self._core.add_reference(uri, checksum, size)
        return self

    def add_metadata(self, metadata: Optional[dict] = None, **kwargs: Any) -> "Artifact":
        values = dict(metadata or {})
        values.update(kwargs)
        self._core.add_metadata(values)
        return self

    def add_tags(self, *tags: str) -> "Artifact":
        for tag in tags:
            if isinstance(tag, (list, tuple, set)):
                self.add_tags(*tag)
            else:
                self._core.add_tag(tag)
        return self

    def _logged(self, version: int) -> None:
        self._version = version

    def __repr__(self) -> str:
        return f"<runicorn.Artifact {self.full_name} type={self.type}>"


class LoadedArtifact:
    """A stored version resolved by run.use_artifact(); its files are read on download()."""

    def __init__(self, handle: "_core.ArtifactHandle") -> None:
        self._handle = handle
        self._info = handle.info

    name = property(lambda self: self._info["name"])
    type = property(lambda self: self._info["type"])
    version = property(lambda self: self._info["version"])
    description = property(lambda self: self._info["description"])
    tags = property(lambda self: list(self._info["tags"]))
    aliases = property(lambda self: list(self._info["aliases"]))
    size_bytes = property(lambda self: self._info["size_bytes"])
    created_by_run = property(lambda self: self._info["created_by_run"])

    @property
    def full_name(self) -> str:
        return f"{self.name}:v{self.version}"

    def get_metadata(self) -> dict:
        return dict(self._info["metadata"])

    def get_info(self) -> dict:
        return dict(self._info)

    def get_manifest(self) -> dict:
        files = self._handle.files
        return {"artifact": self.full_name, "files": files,
                "references": self._handle.references,
                "total_size": sum(f["size"] for f in files), "total_files": len(files)}

    def download(self, target_dir: Optional[os.PathLike | str] = None) -> Path:
        """Writes every file (each chunk verified against its SHA-256) below `target_dir`,
        default a new temporary folder, and returns that folder."""
        if target_dir is None:
            target = Path(tempfile.mkdtemp(prefix=f"runicorn-{self.name}-v{self.version}-"))
        else:
            target = Path(target_dir)
        self._handle.download(os.fspath(target))
        return target

    def read_file(self, path: str) -> bytes:
        return self._handle.read_file(path)

    def __repr__(self) -> str:
        return f"<runicorn.LoadedArtifact {self.full_name} type={self.type}>"
