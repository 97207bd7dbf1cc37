"""RunicornClient: Runicorn's documented Python client, on the endpoints our viewer serves.

Where Runicorn's own client calls routes its server never had (/api/experiments, /api/metrics/..,
POST /api/export), this one uses the documented REST routes that exist:

    list_experiments   GET  /api/v2/experiments (project, name, status; limit/offset as pages)
    get_experiment     GET  /api/runs/{id}                     (get_run is an alias)
    list_projects      GET  /api/projects
    get_metrics        GET  /api/runs/{id}/metrics             (rows -> {"metrics": {name: [...]}})
    get_config         GET  /api/config
    update_config      POST /api/config/user_root_dir          ({"user_root": path})
    export_experiment  GET  /api/export/{id}/json | /csv
    health_check       GET  /api/health
    artifacts          GET  /api/artifacts...                  (also as client.artifacts)
"""
from __future__ import annotations

import os
import urllib.parse
from typing import Any, Dict, List, Optional

from .artifacts import ArtifactsAPI
from .errors import BadRequestError, ConnectionError
from .transport import Transport

DEFAULT_URL = "http://127.0.0.1:23300"
_PAGE = 1000  # the viewer's largest per_page


def _run_path(run_id: str) -> str:
    return urllib.parse.quote(str(run_id), safe="")


class RunicornClient:
    """Client for a running `runicorn viewer`.

    token: bearer token for a viewer started with --token (default: $RUNICORN_TOKEN).
    max_retries: retries of 5xx answers and failed connections, with backoff_factor * 2**n
    seconds between attempts (0.5 s, 1 s, 2 s, ...). The constructor checks /api/health and
    raises ConnectionError when the viewer cannot be reached (verify=False skips that).
    """

    def __init__(self, base_url: str = DEFAULT_URL, timeout: float = 30, max_retries: int = 3,
                 token: Optional[str] = None, *, backoff_factor: float = 0.5,
                 verify: bool = True) -> None:
        if token is None:
            token = os.environ.get("RUNICORN_TOKEN") or None
        self._t = Transport(base_url, timeout, max_retries, token, backoff_factor)
        self.artifacts = ArtifactsAPI(self._t)
        if verify:
            health = self.health_check()
            if not isinstance(health, dict) or health.get("status") not in ("ok", "healthy"):
                raise ConnectionError(f"the viewer at {self.base_url} is not healthy: {health}")

    base_url = property(lambda self: self._t.base_url)
    timeout = property(lambda self: self._t.timeout)
    max_retries = property(lambda self: self._t.max_retries)

    # --- raw access -----------------------------------------------------------------------
    def get(self, endpoint: str, params: Optional[Dict[str, Any]] = None) -> Any:
        return self._t.json("GET", endpoint, params)

    def post(self, endpoint: str, json: Optional[Any] = None) -> Any:
        return self._t.json("POST", endpoint, None, json if json is not None else {})

    def put(self, endpoint: str, json: Optional[Any] = None) -> Any:
        return self._t.json("PUT", endpoint, None, json if json is not None else {})

    def delete(self, endpoint: str, params: Optional[Dict[str, Any]] = None) -> Any:
        return self._t.json("DELETE", endpoint, params)

    # --- experiments ----------------------------------------------------------------------
    def list_experiments(self, project: Optional[str] = None, name: Optional[str] = None,
                         status: Optional[str] = None, limit: Optional[int] = None,
                         offset: Optional[int] = None) -> List[Dict[str, Any]]:
        """Experiments (runs) newest first, filtered; `offset`/`limit` slice the whole listing."""
        start = max(0, int(offset or 0))
        if limit is not None and int(limit) <= 0:
            return []
        end = start + int(limit) if limit is not None else None
        size = min(_PAGE, int(limit)) if limit is not None else _PAGE
        filters = {"project": project or None, "name": name or None, "status": status or None}
        out: List[Dict[str, Any]] = []
        page = start // size + 1
        skip = start - (page - 1) * size
        while True:
            data = self._t.json("GET", "/api/v2/experiments",
                                dict(filters, page=page, per_page=size))
            rows = data.get("experiments", [])
            out.extend(rows[skip:])
            skip = 0
            if not data.get("has_next") or (end is not None and start + len(out) >= end):
                break
            page += 1
        return out[: end - start] if end is not None else out

    def get_experiment(self, run_id: str) -> Dict[str, Any]:
        """One run: id, project, name, status, created_at, summary, config, metrics, ..."""
        return self._t.json("GET", f"/api/runs/{_run_path(run_id)}")

    get_run = get_experiment

    def list_projects(self) -> List[Dict[str, Any]]:
        """[{"name": project, "experiment_count": n}] over the runs the viewer lists."""
        projects = self._t.json("GET", "/api/projects").get("projects", [])
        counts = {p: 0 for p in projects}
        for run in self.list_experiments():
            if run.get("project") in counts:
                counts[run["project"]] += 1
        return [{"name": p, "experiment_count": counts[p]} for p in projects]

    # --- metrics --------------------------------------------------------------------------
    def get_metrics(self, run_id: str, metric_names: Optional[List[str]] = None,
                    limit: Optional[int] = None) -> Dict[str, Any]:
        """{"run_id", "metrics": {name: [{"step", "value", "timestamp"}]}}, points by step.

        timestamp is seconds since the run's first point (the viewer's time axis). `limit` asks
        the viewer to downsample each metric to about that many points (LTTB). Without it every
        point is fetched, following the viewer's pages (at most 100,000 rows per response)."""
        params: Dict[str, Any] = {}
        if metric_names:
            params["metrics"] = ",".join(metric_names)
        if limit:
            params["downsample"] = int(limit)
            params["x_axis"] = "relative_time"  # downsampling geometry of a time axis
        names: Optional[List[str]] = None
        metrics: Dict[str, List[Dict[str, Any]]] = {}
        missing: List[str] = []
        t0: Optional[float] = None  # rows carry wall-clock time; timestamps count from the first
        while True:
            data = self._t.json("GET", f"/api/runs/{_run_path(run_id)}/metrics", params)
            rows = data.get("rows", [])
            if names is None:
                names = [c for c in data.get("columns", []) if c not in ("time", "global_step", "stage")]
                metrics = {n: [] for n in names}
                missing = data.get("missing_metrics", [])
                times = [r["time"] for r in rows if isinstance(r.get("time"), (int, float))]
                t0 = min(times) if times else None
            for row in rows:
                t = row.get("time")
                timestamp = t - t0 if isinstance(t, (int, float)) and t0 is not None else t
                for n in names:
                    # Every row carries every column; null is no point there (or a non-finite one).
                    value = row.get(n)
                    if value is not None:
                        metrics[n].append({"step": row.get("global_step"), "value": value,
                                           "timestamp": timestamp})
            # Without downsampling the viewer answers in pages of at most 100,000 rows.
            if not data.get("truncated") or data.get("next_step") is None:
                break
            params["step_range"] = f"{data['next_step']},"
        return {"run_id": run_id, "metrics": metrics, "missing_metrics": missing}

    # --- config ---------------------------------------------------------------------------
    def get_config(self) -> Dict[str, Any]:
        """The viewer's configuration; user_root is the storage root it serves."""
        config = self._t.json("GET", "/api/config")
        if isinstance(config, dict):
            config.setdefault("user_root", config.get("storage"))
        return config

    def update_config(self, config: Dict[str, Any]) -> Dict[str, Any]:
        """Saves a new storage root ({"user_root": "/abs/path"}; "user_root_dir" and "path" are
        accepted too). The viewer applies it on its next start (restart_required)."""
        path = None
        for key in ("user_root", "user_root_dir", "path"):
            if config.get(key):
                path = config[key]
                break
        unknown = set(config) - {"user_root", "user_root_dir", "path"}
        if path is None or unknown:
            raise BadRequestError("update_config: only 'user_root' can be changed"
                                  + (f" (unknown keys: {sorted(unknown)})" if unknown else ""))
        return self._t.json("POST", "/api/config/user_root_dir", None, {"path": os.fspath(path)})

    # --- export ---------------------------------------------------------------------------
    def export_experiment(self, run_id: str, format: str = "json",
                          include_media: bool = False) -> bytes:
        """The run exported by the viewer: JSON (run detail + metric rows) or CSV (metric rows).
        Media files are not part of either export."""
        if format not in ("json", "csv"):
            raise BadRequestError(f"export_experiment: format must be 'json' or 'csv', not {format!r}")
        _, _, data = self._t.request("GET", f"/api/export/{_run_path(run_id)}/{format}")
        return data

    # --- system ---------------------------------------------------------------------------
    def health_check(self) -> Dict[str, Any]:
        return self._t.json("GET", "/api/health")

    # --- artifacts (also under client.artifacts) -----------------------------------------
    def list_artifacts(self, type: Optional[str] = None) -> List[Dict[str, Any]]:
        return self.artifacts.list_artifacts(type)

    def list_versions(self, name: str, type: Optional[str] = None) -> List[Dict[str, Any]]:
        return self.artifacts.list_versions(name, type)

    def get_artifact(self, name: str, version: int, type: Optional[str] = None) -> Dict[str, Any]:
        return self.artifacts.get_artifact(name, version, type)

    def get_lineage(self, name: str, version: int, max_depth: int = 3,
                    type: Optional[str] = None) -> Dict[str, Any]:
        return self.artifacts.get_lineage(name, version, max_depth, type)

    def download_artifact(self, name: str, version: int, target_dir=None,
                          type: Optional[str] = None):
        return self.artifacts.download_artifact(name, version, target_dir, type)

    # --- lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Nothing is pooled (urllib opens a connection per request); kept for Runicorn's API."""

    def __enter__(self) -> "RunicornClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<runicorn.api.RunicornClient {self.base_url}>"


def connect(base_url: str = DEFAULT_URL, timeout: float = 30, max_retries: int = 3,
            token: Optional[str] = None, **kwargs: Any) -> RunicornClient:
    """RunicornClient(base_url, timeout, max_retries, token); checks /api/health first."""
    return RunicornClient(base_url, timeout=timeout, max_retries=max_retries, token=token,
                          **kwargs)
