"""client.artifacts: the viewer's artifact endpoints (GET /api/artifacts...)."""
from __future__ import annotations

import os
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any, Dict, List, Optional

from .transport import Transport


def _name(name: str) -> str:
    return urllib.parse.quote(name, safe="")


class ArtifactsAPI:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def list_artifacts(self, type: Optional[str] = None) -> List[Dict[str, Any]]:
        """Every name with at least one ready version: name, type, num_versions, latest_version,
        size_bytes, created_at, updated_at, aliases."""
        return self._t.json("GET", "/api/artifacts", {"type": type})

    def list_versions(self, name: str, type: Optional[str] = None) -> List[Dict[str, Any]]:
        return self._t.json("GET", f"/api/artifacts/{_name(name)}/versions", {"type": type})

    def get_artifact(self, name: str, version: int, type: Optional[str] = None) -> Dict[str, Any]:
        """Detail of one version: metadata, description, tags, aliases, manifest_digest, ..."""
        return self._t.json("GET", f"/api/artifacts/{_name(name)}/v{int(version)}", {"type": type})

    def get_files(self, name: str, version: int, type: Optional[str] = None) -> Dict[str, Any]:
        return self._t.json("GET", f"/api/artifacts/{_name(name)}/v{int(version)}/files",
                            {"type": type})

    def get_lineage(self, name: str, version: int, max_depth: int = 3,
                    type: Optional[str] = None) -> Dict[str, Any]:
        """{root_artifact, nodes, edges}: producing runs, used artifacts and consumers."""
        return self._t.json("GET", f"/api/artifacts/{_name(name)}/v{int(version)}/lineage",
                            {"type": type, "max_depth": max_depth})

    def get_stats(self) -> Dict[str, Any]:
        return self._t.json("GET", "/api/artifacts/stats")

    def download_artifact(self, name: str, version: int,
                          target_dir: Optional[os.PathLike | str] = None,
                          type: Optional[str] = None) -> Path:
        """Fetches every file of the version into `target_dir` (default: a new temporary folder)
        at its path inside the artifact, and returns the folder."""
        files = self.get_files(name, version, type)["files"]
        target = (Path(target_dir) if target_dir is not None else
                  Path(tempfile.mkdtemp(prefix=f"runicorn-{name}-v{int(version)}-")))
        for entry in files:
            rel = entry["path"]
            _, _, data = self._t.request(
                "GET", f"/api/artifacts/{_name(name)}/v{int(version)}/download",
                {"path": rel, "type": type})
            dest = target.joinpath(*rel.split("/"))
            if target.resolve() not in dest.resolve().parents:  # the server validates it too
                raise ValueError(f"runicorn: refusing artifact path outside the target: {rel}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(dest.name + ".part")
            tmp.write_bytes(data)
            tmp.replace(dest)
        return target
