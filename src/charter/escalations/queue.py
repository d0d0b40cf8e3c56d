"""The escalation queue: an SQLite file holding each escalated candidate with what a
person needs to answer it later.

    queue = EscalationQueue("escalations.db")
    number = queue.add(conversation, candidate, verdicts, policy_hash, targets, question_ids)
    queue.open("compliance")        # the open escalations naming that authority, oldest first
    queue.resolve(number, "checked with the customer; allowed")

The file is the state: a queue opened again on it (after a server restart, or by the
review application in another process) sees every escalation. One connection is shared
under a lock, so the server's threads may call in at once; the database runs in WAL
mode, so readers in other processes never wait for a writer.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator

import attrs

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS escalations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation TEXT NOT NULL,  -- the native JSON trace before the candidate
    candidate TEXT NOT NULL,     -- the candidate message, native JSON
    verdicts TEXT NOT NULL,      -- the verdicts it settled, as the server renders them
    policy_hash TEXT NOT NULL,
    targets TEXT NOT NULL,       -- JSON array of authority names
    question_ids TEXT NOT NULL,  -- JSON array
    created TEXT NOT NULL,       -- ISO 8601, UTC
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    note TEXT,
    resolved TEXT
);
CREATE INDEX IF NOT EXISTS escalations_status ON escalations (status, id);
"""
_COLUMNS = "id, conversation, candidate, verdicts, policy_hash, targets, question_ids, created, status, note, resolved"


@attrs.frozen
class Escalation:
    """One escalated candidate. `conversation` is the native trace the candidate would
    have continued, `candidate` the reply itself; `targets` the authorities who must
    answer; `status` is "open" until `resolve` records a `note` and its time."""

    id: int
    conversation: dict[str, Any]
    candidate: dict[str, Any]
    verdicts: tuple[dict[str, Any], ...]
    policy_hash: str
    targets: tuple[str, ...]
    question_ids: tuple[str, ...]
    created: str
    status: str
    note: str | None = None
    resolved: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**attrs.asdict(self, recurse=False), "verdicts": list(self.verdicts),
                "targets": list(self.targets), "question_ids": list(self.question_ids)}


class QueueError(Exception):
    """The file cannot serve as an escalation queue (the message says why)."""


class EscalationQueue:
    """Escalations in the SQLite file at `path` (created if missing); a QueueError if the
    file is not one this version can use. A write waits up to `timeout` seconds for
    another process's write to end."""

    def __init__(self, path: str | Path, timeout: float = 10.0):
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            # The lock serialises every use, so the connection may be shared across threads.
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                       timeout=timeout)
            self._db.execute("PRAGMA journal_mode=WAL")
            # Commits survive a crash of the process, not of the machine, without an fsync
            # in every guardrail request (SQLite's advice for WAL).
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise QueueError(f"{path} holds escalations of a newer Charter (schema {version})")
            self._db.executescript(_SCHEMA + f"PRAGMA user_version = {_SCHEMA_VERSION};")
        except sqlite3.Error as error:
            raise QueueError(f"{path} cannot be opened as an escalation queue: {error}") from None

    def add(self, conversation: dict[str, Any], candidate: dict[str, Any], verdicts: Iterable[dict[str, Any]],
            policy_hash: str, targets: Iterable[str], question_ids: Iterable[str] = ()) -> int:
        """Keep one escalated candidate; its number."""
        row = (_dump(conversation), _dump(candidate), _dump(list(verdicts)), policy_hash,
               _dump(list(targets)), _dump(list(question_ids)), _now())
        with self._use() as db:
            cursor = db.execute(
                "INSERT INTO escalations (conversation, candidate, verdicts, policy_hash, targets, question_ids, "
                "created, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'open')", row)
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def open(self, target: str | None = None) -> list[Escalation]:
        """The open escalations, oldest first; with `target`, those naming that authority."""
        if target is None:
            return self._select("WHERE status = 'open' ORDER BY id")
        return self._select("WHERE status = 'open' AND EXISTS (SELECT 1 FROM json_each(targets) "
                            "WHERE value = ?) ORDER BY id", (target,))

    def all(self, status: str | None = None) -> list[Escalation]:
        """Every escalation (or those with `status`), oldest first."""
        if status is None:
            return self._select("ORDER BY id")
        return self._select("WHERE status = ? ORDER BY id", (status,))

    def get(self, number: int) -> Escalation | None:
        found = self._select("WHERE id = ?", (number,))
        return found[0] if found else None

    def resolve(self, number: int, note: str) -> Escalation:
        """Mark an escalation answered, with what was decided; a KeyError if there is none."""
        with self._use() as db:
            changed = db.execute("UPDATE escalations SET status = 'resolved', note = ?, resolved = ? "
                                       "WHERE id = ?", (note, _now(), number)).rowcount
        if not changed:
            raise KeyError(f"no escalation {number} in {self.path}")
        resolved = self.get(number)
        assert resolved is not None
        return resolved

    def counts(self) -> dict[str, int]:
        """How many escalations there are by status."""
        with self._use() as db:
            rows = db.execute("SELECT status, count(*) FROM escalations GROUP BY status").fetchall()
        return {"open": 0, "resolved": 0, **dict(rows)}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """The connection, for this thread alone; an SQLite failure (a disk full, a lock
        held past the timeout) is a QueueError."""
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as error:
                raise QueueError(f"the escalation queue {self.path} failed: {error}") from None

    def _select(self, where: str, parameters: tuple[Any, ...] = ()) -> list[Escalation]:
        with self._use() as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM escalations {where}", parameters).fetchall()
        return [_escalation(row) for row in rows]


def _escalation(row: tuple[Any, ...]) -> Escalation:
    number, conversation, candidate, verdicts, policy_hash, targets, question_ids, created, status, note, resolved = row
    return Escalation(number, json.loads(conversation), json.loads(candidate), tuple(json.loads(verdicts)),
                      policy_hash, tuple(json.loads(targets)), tuple(json.loads(question_ids)), created, status,
                      note, resolved)


def _dump(value: Any) -> str:
    # ASCII escapes: a trace may carry a lone surrogate, which SQLite's UTF-8 cannot hold.
    return json.dumps(value)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
