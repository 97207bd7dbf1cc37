"""runicorn.api: a small HTTP client for `runicorn viewer` (Runicorn's documented client).

    import runicorn.api as api
    with api.connect("http://127.0.0.1:23300") as client:
        runs = client.list_experiments(project="vision")
        metrics = client.get_metrics(runs[0]["id"])

Only the standard library is used; pandas is needed only by runicorn.api.utils.
"""
from . import utils
from .client import DEFAULT_URL, RunicornClient, connect
from .errors import (AuthenticationError, BadRequestError, ConnectionError, NotFoundError,
                     RunicornAPIError, ServerError)

__all__ = ["connect", "RunicornClient", "DEFAULT_URL", "RunicornAPIError", "ConnectionError",
           "NotFoundError", "BadRequestError", "ServerError", "AuthenticationError", "utils"]
