"""What the API spends on a request before it knows who sent it: bounded.

An ASGI middleware in front of the application:

- a request that carries a body is answered 401 before a byte of its body is
  read unless its bearer token is known (the role is checked by the route, as
  before): an unauthenticated 100 MB body cost a second and 400 MB of memory;
- each route has a body limit (`body_limit`): a Content-Length over it is 413
  at once, and a body that grows past it while being read (chunked, or a lying
  length) is 413 before more is buffered;
- each token runs at most `per_client` requests at once; the others wait their
  turn in arrival order (a queue, not a refusal), so one busy client cannot
  starve the rest and no request is dropped.

- a client that stops sending its body for `BODY_IDLE_S` is answered 408 and
  the connection closed (a request announcing 1,000 bytes and sending 10 held
  its connection for good). The server's own read timeout cannot do this: it
  also cuts off clients that are waiting for a long answer (an import).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import trio
from starlette.exceptions import HTTPException

from noticenet.node import logs
from noticenet.node.api.users import Unauthenticated, Users, token_hash

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# Another way in for requests with a body (the web pages' session cookie): given the path
# and the headers, the client's name for its request slots, or None to refuse (401).
Admit = Callable[[str, dict[str, bytes]], str | None]

DEFAULT_BODY = 1024 * 1024  # bytes of a request body, unless BODY_LIMITS says otherwise
BODY_LIMITS = {
    "/import/": 32 * 1024 * 1024,
    "/entries": 8 * 1024 * 1024,
    "/ui/import": 8 * 1024 * 1024,  # a file of rows from the import page
    "/ui/": 256 * 1024,  # forms, and a ceremony's small files
}
PUBLIC = frozenset({"/health"})
PER_CLIENT = 16  # requests of one token served at once
BODY_IDLE_S = 10.0  # seconds a request body may stall


logger = logging.getLogger("noticenet.api")


class BodyStalled(HTTPException):
    """A request body that stopped arriving (408)."""

    def __init__(self) -> None:
        super().__init__(408, f"the request body stalled for {BODY_IDLE_S:.0f} s")


class BodyTooLarge(HTTPException):
    """A request body over its route's limit: 413 (an HTTPException so that FastAPI's
    body reading lets it through instead of turning it into a 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over {limit} bytes")


def body_limit(path: str) -> int:
    """The largest request body `path` accepts, in bytes."""
    for prefix, limit in BODY_LIMITS.items():
        if path.startswith(prefix):
            return limit
    return DEFAULT_BODY


class RequestLimits:
    """The middleware (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, users: Users, per_client: int = PER_CLIENT, admit: Admit | None = None
    ) -> None:
        self.app = app
        self.users = users
        self.admit = admit
        self.per_client = per_client
        self._slots: dict[str, trio.Semaphore] = {}
        self._waiting: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        token = _bearer(headers.get("authorization", b""))
        has_body = scope.get("method") in ("POST", "PUT", "PATCH", "DELETE")
        client = token_hash(token) if token else _client(scope)
        if has_body and path not in PUBLIC and not self._known(token):
            admitted = self.admit(path, headers) if self.admit else None
            if admitted is None:
                await _answer(send, 401, "Unauthenticated", "missing or unknown bearer token")
                return
            client = admitted
        limit = body_limit(path)
        declared = headers.get("content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, "BodyTooLarge", f"the request body is over {limit} bytes")
            return
        async with self._slot(client):
            await self.app(scope, _bounded(receive, limit), send)

    def _known(self, token: str) -> bool:
        if not token:
            return False
        try:
            self.users.authenticate(token)
        except Unauthenticated:
            return False
        return True

    def _slot(self, client: str) -> _Slot:
        slots = self._slots.get(client)
        if slots is None:
            slots = self._slots[client] = trio.Semaphore(self.per_client)
        return _Slot(self, client, slots)


class _Slot:
    """One of a client's `per_client` places; forgets the client when it has none in use."""

    def __init__(self, limits: RequestLimits, client: str, slots: trio.Semaphore) -> None:
        self.limits, self.client, self.slots = limits, client, slots

    async def __aenter__(self) -> None:
        waiting = self.limits._waiting
        waiting[self.client] = waiting.get(self.client, 0) + 1
        try:
            await self.slots.acquire()
        finally:
            waiting[self.client] -= 1

    async def __aexit__(self, *exc: object) -> None:
        self.slots.release()
        if self.slots.value == self.limits.per_client and not self.limits._waiting[self.client]:
            self.limits._slots.pop(self.client, None)
            self.limits._waiting.pop(self.client, None)


def _bounded(receive: Receive, limit: int) -> Receive:
    """`receive` that raises BodyTooLarge once the body read so far passes `limit`, and
    BodyStalled when a part of the body takes BODY_IDLE_S to come. Once the body is
    complete, calls pass straight through (a streamed answer waits on them for the
    client's disconnect, as long as it likes)."""
    seen = 0
    complete = False

    async def bounded() -> Message:
        nonlocal seen, complete
        if complete:
            return await receive()
        with trio.move_on_after(BODY_IDLE_S) as waited:
            message = await receive()
        if waited.cancelled_caught:
            logs.event(logger, "api.body_stalled")
            raise BodyStalled
        if message.get("type") != "http.request":
            complete = True
            return message
        seen += len(message.get("body", b""))
        if seen > limit:
            logs.event(logger, "api.body_too_large", limit=limit)
            raise BodyTooLarge(limit)
        complete = not message.get("more_body", False)
        return message

    return bounded


def _bearer(value: bytes) -> str:
    scheme, _, token = value.decode("latin-1").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"ip:{client[0]}" if client else "ip:?"


async def _answer(send: Send, status: int, error: str, detail: str) -> None:
    body = json.dumps({"error": error, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
