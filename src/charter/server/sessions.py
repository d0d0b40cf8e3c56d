"""Open sessions: bounded in number, closed after an idle timeout.

A session keeps the policy it was opened with, so a reload never changes the rules in
the middle of a conversation; its answers carry that policy's hash. Its checks run in
worker threads, one at a time (a `Session` is not thread-safe), under the entry's lock.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Any, Callable

import attrs

from ..evaluate.session import Session
from .errors import ApiError
from .metrics import Metrics
from .policy_state import LoadedPolicy


@attrs.define(eq=False)
class SessionEntry:
    id: str
    session: Session
    policy: LoadedPolicy
    last_used: float
    lock: threading.Lock = attrs.Factory(threading.Lock)


class SessionStore:
    """Sessions by id, least recently used first; `clock` is injectable for tests."""

    def __init__(self, max_sessions: int, idle_timeout: float, metrics: Metrics,
                 clock: Callable[[], float] = time.monotonic):
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self._metrics = metrics
        self._clock = clock
        self._entries: OrderedDict[str, SessionEntry] = OrderedDict()

    def open(self, policy: LoadedPolicy, meta: dict[str, Any] | None) -> SessionEntry:
        self.expire()
        if len(self._entries) >= self.max_sessions:
            raise ApiError(429, "too_many_sessions",
                           f"the server holds its limit of {self.max_sessions} open sessions; "
                           "close finished ones with DELETE /v1/sessions/{id}")
        session_id = secrets.token_urlsafe(12)
        entry = SessionEntry(session_id, policy.policy.session(meta, session_id), policy, self._clock())
        self._entries[session_id] = entry
        self._metrics.sessions.set(len(self._entries))
        return entry

    def get(self, session_id: str) -> SessionEntry:
        """The session, its idle time reset; a 404 for one that is unknown or expired."""
        self.expire()
        entry = self._entries.get(session_id)
        if entry is None:
            raise ApiError(404, "unknown_session",
                           f"no open session {session_id!r} (sessions close after {self.idle_timeout:g} s idle)",
                           "path.id")
        entry.last_used = self._clock()
        self._entries.move_to_end(session_id)
        return entry

    def close(self, session_id: str) -> SessionEntry:
        entry = self.get(session_id)
        del self._entries[session_id]
        self._metrics.sessions.set(len(self._entries))
        return entry

    def expires_in(self, entry: SessionEntry) -> float:
        return max(0.0, entry.last_used + self.idle_timeout - self._clock())

    def expire(self) -> None:
        """Close every session idle for longer than the timeout (oldest first, so stop at
        the first one still fresh)."""
        deadline = self._clock() - self.idle_timeout
        while self._entries:
            entry = next(iter(self._entries.values()))
            if entry.last_used > deadline:
                break
            del self._entries[entry.id]
        self._metrics.sessions.set(len(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
