"""The run returned by init() while RUNICORN_ON=0: every call is accepted and does nothing."""
from __future__ import annotations

from typing import Any, Optional


class NoOpRun:
    id = "disabled"
    project = "default"
    name = "default"
    run_dir = None
    storage_root = None

    def __init__(self, path: Optional[str] = None, alias: Optional[str] = None) -> None:
        self.path = path  # as given: a disabled run validates nothing and writes nothing
        self.alias = alias

    def __enter__(self) -> "NoOpRun":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def log(self, data: Optional[dict] = None, *, step: Optional[int] = None,
            stage: Optional[Any] = None, **kwargs: Any) -> None:
        return None

    def log_text(self, text: str) -> None:
        return None

    def log_image(self, key: str, image: Any, step: Optional[int] = None,
                  caption: Optional[str] = None, **kwargs: Any) -> str:
        return ""

    def summary(self, update: Optional[dict] = None, **kwargs: Any) -> None:
        return None

    def set_primary_metric(self, metric_name: str, mode: str = "max") -> None:
        return None

    def log_artifact(self, artifact: Any) -> int:
        return 0

    def use_artifact(self, spec: str) -> None:
        return None

    def flush(self) -> None:
        return None

    def shipping_status(self) -> None:
        return None

    def finish(self, status: str = "finished") -> None:
        return None

    # v0.6 calls: accepted and ignored (scan_outputs_once answers as Runicorn's NoOpRun does)
    def log_config(self, **kwargs: Any) -> None:
        return None

    def log_dataset(self, name: str, root_or_uri: Any = None, **kwargs: Any) -> None:
        return None

    def log_pretrained(self, name: str, **kwargs: Any) -> None:
        return None

    def scan_outputs_once(self, **kwargs: Any) -> dict:
        return {"scanned": 0, "archived": 0, "changed": 0}

    def watch_outputs(self, **kwargs: Any) -> None:
        return None

    def stop_outputs_watch(self) -> None:
        return None

    def get_logging_handler(self, *args: Any, **kwargs: Any) -> Any:
        import logging
        return logging.NullHandler()
