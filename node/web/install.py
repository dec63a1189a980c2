"""Wiring the pages into the node's app: their routers, sessions, and the body admission hook."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from noticenet.node.web import admin, bureau, commission, pages
from noticenet.node.web.sessions import Sessions, cookie_value


def admit_session(path: str, headers: dict[str, bytes], sessions: Sessions) -> str | None:
    """For the API's request limits: a web POST with a live session may send its body.

    Only `/ui/` paths; only `/ui/signin` and `/ui/signout` for a session not signed in.
    The answer names the session for its request slots.
    """
    if not path.startswith("/ui/"):
        return None
    session = sessions.peek(cookie_value(headers))
    if session is None:
        return None
    if not session.signed_in and path not in ("/ui/signin", "/ui/signout"):
        return None
    return "session:" + session.sid[:16]


def install(app: FastAPI) -> Callable[[str, dict[str, bytes]], str | None]:
    """Add the pages to the node's app; returns the admission hook for `RequestLimits`."""
    sessions = Sessions()
    app.state.web_sessions = sessions
    for module in (pages, bureau, commission, admin):
        app.include_router(module.router)
    app.add_exception_handler(pages.WebDenied, pages.denied)

    def admit_hook(path: str, headers: dict[str, bytes]) -> str | None:
        return admit_session(path, headers, sessions)

    return admit_hook
