"""Open sessions: bounded in number and each in messages and bytes, closed after an
idle timeout.

A session keeps the policy it was opened with, so a reload never changes the rules in
the middle of a conversation; its answers carry that policy's hash. Its checks run in
the session lane's thread under the entry's lock (a `Session` is not thread-safe), and
each first checks that the session is still open: a close marks the entry closed under
that lock, so no message is added to a session whose report has been given. A session
closed by its client is remembered for the idle timeout, so that using it is answered
409 (finished) rather than 404 (unknown). The store itself is only touched from the
event loop.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Callable

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
    closed: bool = False  # set under `lock` by the close that reported it, or by expiry
    finished: bool = False  # closed by its client (DELETE), not expired
    bytes: int = 0  # the bodies of the messages added


class SessionStore:
    """Sessions by id, least recently used first; `clock` is injectable for tests."""

    def __init__(self, max_sessions: int, idle_timeout: float, metrics: Metrics,
                 max_messages: int, max_bytes: int, clock: Callable[[], float] = time.monotonic):
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._metrics = metrics
        self._clock = clock
        self._entries: OrderedDict[str, SessionEntry] = OrderedDict()
        self._finished: OrderedDict[str, float] = OrderedDict()  # id -> when, at most max_sessions

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(12)

    def open(self, session_id: str, session: Session, policy: LoadedPolicy) -> SessionEntry:
        self.expire()
        if len(self._entries) >= self.max_sessions:
            raise ApiError(429, "too_many_sessions",
                           f"the server holds its limit of {self.max_sessions} open sessions; "
                           "close finished ones with DELETE /v1/sessions/{id}")
        entry = SessionEntry(session_id, session, policy, self._clock())
        self._entries[session_id] = entry
        self._metrics.sessions.set(len(self._entries))
        return entry

    def get(self, session_id: str) -> SessionEntry:
        """The session, its idle time reset; a 404 for one that is unknown or expired."""
        self.expire()
        entry = self._entries.get(session_id)
        if entry is None:
            raise self._finished_error(session_id) if session_id in self._finished else self._unknown(session_id)
        entry.last_used = self._clock()
        self._entries.move_to_end(session_id)
        return entry

    def check_open(self, entry: SessionEntry) -> None:
        """A 409 for a session finished since the request found it, a 404 for one expired
        (call under its lock)."""
        if entry.closed:
            raise self._finished_error(entry.id) if entry.finished else self._unknown(entry.id)

    def admit(self, entry: SessionEntry, size: int, message: bool = True) -> None:
        """Count a body of `size` bytes (one more message, unless `message` is False: a
        metadata update) against the session's caps, or refuse it (call under its lock)."""
        if message and len(entry.session.messages) >= self.max_messages:
            full = f"its limit of {self.max_messages} messages"
        elif entry.bytes + size > self.max_bytes:
            full = f"{entry.bytes} of its {self.max_bytes} bytes, and this body has {size}"
        else:
            full = None
        if full is not None:
            raise ApiError(413, "session_full", f"the session holds {full}; close it "
                           "(DELETE /v1/sessions/{id}) and open a new one", "body")
        entry.bytes += size

    def remove(self, entry: SessionEntry) -> None:
        """Forget a session its close has reported, but for its id."""
        self._entries.pop(entry.id, None)
        self._finished[entry.id] = self._clock()
        if len(self._finished) > self.max_sessions:
            self._finished.popitem(last=False)
        self._metrics.sessions.set(len(self._entries))

    def _finished_error(self, session_id: str) -> ApiError:
        return ApiError(409, "session_finished",
                        f"session {session_id!r} is finished (its report was given); open a new one", "path.id")

    def _unknown(self, session_id: str) -> ApiError:
        return ApiError(404, "unknown_session",
                        f"no open session {session_id!r} (sessions close after {self.idle_timeout:g} s idle)",
                        "path.id")

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
            entry.closed = True
            del self._entries[entry.id]
        while self._finished and next(iter(self._finished.values())) <= deadline:
            self._finished.popitem(last=False)
        self._metrics.sessions.set(len(self._entries))

    def __len__(self) -> int:
        return len(self._entries)
