"""Exceptions of runicorn.api, as in Runicorn's client:

    RunicornAPIError
    +-- ConnectionError       the viewer cannot be reached (refused, reset, timed out)
    +-- NotFoundError         404
    +-- BadRequestError       400 and 422 (invalid parameters)
    +-- ServerError           500 and above, after the retries
    +-- AuthenticationError   401 / 403 (missing or wrong token)

Every instance carries `status_code` (None for ConnectionError) and `detail` (the server's
"detail" text when it sent one).
"""
from __future__ import annotations

import builtins
from typing import Optional


class RunicornAPIError(Exception):
    def __init__(self, message: str, status_code: Optional[int] = None,
                 detail: Optional[str] = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail


class ConnectionError(RunicornAPIError, builtins.ConnectionError):  # noqa: A001 (Runicorn's name)
    pass


class NotFoundError(RunicornAPIError):
    pass


class BadRequestError(RunicornAPIError):
    pass


class ServerError(RunicornAPIError):
    pass


class AuthenticationError(RunicornAPIError):
    pass


def error_for_status(status: int, message: str, detail: Optional[str]) -> RunicornAPIError:
    if status == 404:
        return NotFoundError(message, status, detail)
    if status in (400, 422):
        return BadRequestError(message, status, detail)
    if status in (401, 403):
        return AuthenticationError(message, status, detail)
    if status >= 500:
        return ServerError(message, status, detail)
    return RunicornAPIError(message, status, detail)
