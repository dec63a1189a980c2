"""A small client of the node's HTTP API, for the CLI (httpx, bearer token)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from noticenet.crypto.errors import NoticenetError

API_ENV = "NOTICENET_API"
TOKEN_ENV = "NOTICENET_TOKEN"
DEFAULT_API = "http://127.0.0.1:8101"


class ApiError(NoticenetError):
    """The node answered with an error (`status`, `error`, `detail`) or could not be reached."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail


class ApiClient:
    """Talks to one node's API as one user."""

    def __init__(self, api: str, token: str, timeout: float = 60.0) -> None:
        base = api if "://" in api else f"http://{api}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base, headers=headers, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON answer; ApiError on a 4xx/5xx or a connection failure."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, "Unreachable", f"{self.http.base_url}: {exc}") from None
        if response.status_code >= 400:
            raise _error(response)
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v})

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, json=body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, json=body)

    def stream_lines(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """JSON Lines from a streaming endpoint (export)."""
        try:
            with self.http.stream("GET", path, params=params) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _error(response)
                for line in response.iter_lines():
                    if line.strip():
                        yield json.loads(line)
        except httpx.HTTPError as exc:
            raise ApiError(0, "Unreachable", f"{self.http.base_url}: {exc}") from None


def _error(response: httpx.Response) -> ApiError:
    try:
        doc = response.json()
        return ApiError(response.status_code, str(doc["error"]), str(doc["detail"]))
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, "HTTPError", response.text[:200])
