"""Web sessions: a random id in an HttpOnly, SameSite=Strict cookie, the rest in memory.

A session is made when the sign-in page is first shown (anonymous: it carries the
CSRF token the sign-in form must send back), and becomes signed in when a known
API token is posted. The token stays in the node's memory, never in the cookie,
and is checked against the users' table on every page, so revoking a user ends
their sessions at once. Sessions end after `IDLE_S` without a request or
`MAX_AGE_S` in all, on sign-out, and (oldest first) when more than `MAX_SESSIONS`
exist. Anonymous sessions (the sign-in page's, which anyone can make) have a cap of
their own, `MAX_ANONYMOUS`, so a flood of sign-in pages cannot sign users out.
Nothing is written to disk: a restarted node signs everyone out.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE = "nn_session"
IDLE_S = 15 * 60.0
MAX_AGE_S = 8 * 3600.0
MAX_SESSIONS = 10_000
MAX_ANONYMOUS = 1_000


@dataclass
class Session:
    """One browser's session: its CSRF token and, once signed in, the API token."""

    sid: str
    csrf: str
    created: float
    seen: float
    token: str | None = None
    flash: list[str] = field(default_factory=list)

    @property
    def signed_in(self) -> bool:
        return self.token is not None


class Sessions:
    """Every live session of one node, in memory."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        idle_s: float = IDLE_S,
        max_age_s: float = MAX_AGE_S,
        max_anonymous: int = MAX_ANONYMOUS,
    ) -> None:
        self.clock, self.idle_s, self.max_age_s = clock, idle_s, max_age_s
        self.max_anonymous = max_anonymous
        self._live: OrderedDict[str, Session] = OrderedDict()
        self._anonymous: OrderedDict[str, None] = OrderedDict()  # sids not signed in

    def new(self) -> Session:
        """A fresh anonymous session (the oldest anonymous one goes when there are too
        many of them; the oldest of all when there are too many sessions)."""
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now, now)
        self._live[session.sid] = session
        self._anonymous[session.sid] = None
        while len(self._anonymous) > self.max_anonymous:
            sid, _ = self._anonymous.popitem(last=False)
            self._live.pop(sid, None)
        while len(self._live) > MAX_SESSIONS:
            sid, _ = self._live.popitem(last=False)
            self._anonymous.pop(sid, None)
        return session

    def get(self, sid: str | None) -> Session | None:
        """The live session of cookie value `sid`, touched; None if unknown or expired."""
        session = self.peek(sid)
        if session is not None:
            session.seen = self.clock()
            self._live.move_to_end(session.sid)
        return session

    def peek(self, sid: str | None) -> Session | None:
        """As `get`, without counting as activity."""
        session = self._live.get(sid or "")
        if session is None:
            return None
        now = self.clock()
        if now - session.seen > self.idle_s or now - session.created > self.max_age_s:
            self.end(session)
            return None
        return session

    def sign_in(self, session: Session, token: str) -> Session:
        """A new signed-in session replacing `session` (a fresh id: no session fixation)."""
        self.end(session)
        fresh = self.new()
        fresh.token = token
        self._anonymous.pop(fresh.sid, None)
        return fresh

    def end(self, session: Session) -> None:
        self._live.pop(session.sid, None)
        self._anonymous.pop(session.sid, None)

    def end_all(self, token: str) -> None:
        """Sign out every session of one API token."""
        for session in [s for s in self._live.values() if s.token == token]:
            self.end(session)


def csrf_ok(session: Session | None, sent: str) -> bool:
    """Whether a form's CSRF field matches its session's token (constant time)."""
    return session is not None and bool(sent) and hmac.compare_digest(session.csrf, sent)


def cookie_value(headers: dict[str, bytes]) -> str | None:
    """The session cookie's value from raw ASGI headers (lower-cased names)."""
    raw = headers.get("cookie", b"").decode("latin-1")
    for part in raw.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return None
