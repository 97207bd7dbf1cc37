"""HTTP for runicorn.api on the standard library (urllib): JSON in and out, a bearer token,
and retries with exponential backoff on 5xx answers and on failed connections."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Optional, Tuple

from .errors import ConnectionError, RunicornAPIError, error_for_status

RETRY_STATUSES = (500, 502, 503, 504)


class Transport:
    def __init__(self, base_url: str, timeout: float, max_retries: int,
                 token: Optional[str], backoff_factor: float = 0.5) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.backoff_factor = backoff_factor
        self.token = token
        self._opener = urllib.request.build_opener()
        self.attempts = 0  # requests sent, retries included (for diagnostics and tests)

    def url(self, path: str, params: Optional[Dict[str, Any]] = None) -> str:
        url = self.base_url + path
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if query:
            url += "?" + urllib.parse.urlencode(
                {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in query.items()})
        return url

    def request(self, method: str, path: str, params: Optional[Dict[str, Any]] = None,
                body: Optional[Any] = None) -> Tuple[int, Dict[str, str], bytes]:
        """Sends one request, retrying 500/502/503/504 and connection failures up to max_retries
        times with sleeps of backoff_factor * 2**n (0.5 s, 1 s, 2 s, ... by default). Raises the
        mapped RunicornAPIError for any other non-2xx answer."""
        url = self.url(path, params)
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        attempt = 0
        while True:
            self.attempts += 1
            request = urllib.request.Request(url, data=data, headers=headers, method=method)
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    return response.status, dict(response.headers), response.read()
            except urllib.error.HTTPError as error:
                payload = error.read()
                if error.code in RETRY_STATUSES and attempt < self.max_retries:
                    self._sleep(attempt)
                    attempt += 1
                    continue
                detail = _detail(payload)
                message = f"{method} {path}: HTTP {error.code}" + (f": {detail}" if detail else "")
                raise error_for_status(error.code, message, detail) from None
            except (urllib.error.URLError, OSError) as error:
                if attempt < self.max_retries:
                    self._sleep(attempt)
                    attempt += 1
                    continue
                reason = getattr(error, "reason", error)
                raise ConnectionError(
                    f"cannot reach the Runicorn viewer at {self.base_url} ({reason}); is "
                    f"`runicorn viewer` running?") from None

    def json(self, method: str, path: str, params: Optional[Dict[str, Any]] = None,
             body: Optional[Any] = None) -> Any:
        _, _, payload = self.request(method, path, params, body)
        try:
            return json.loads(payload.decode("utf-8")) if payload else None
        except ValueError as error:
            raise RunicornAPIError(f"{method} {path}: the answer is not JSON ({error})") from None

    def _sleep(self, attempt: int) -> None:
        time.sleep(self.backoff_factor * (2 ** attempt))


def _detail(payload: bytes) -> Optional[str]:
    try:
        value = json.loads(payload.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        text = payload.decode("utf-8", "replace").strip()
        return text[:500] or None
    if isinstance(value, dict) and "detail" in value:
        return str(value["detail"])
    return None
