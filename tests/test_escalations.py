"""The escalation queue on a real SQLite file: what is kept, filtering by target,
resolving, reopening the file, and writes from many threads."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from charter.escalations import Escalation, EscalationQueue, QueueError

CONVERSATION = {"id": "s1", "meta": {"user": {"verified": None}},
                "messages": [{"role": "user", "content": "What is my balance? \ud800"}]}
CANDIDATE = {"role": "assistant", "content": "Your balance is $5,000"}
VERDICTS = [{"norm": "verify_first", "verdict": "unspecified", "unknown": ["trace.meta.user.verified"]}]


def _add(queue: EscalationQueue, targets=("compliance",), question_ids=("Q-7f3a",)) -> int:
    return queue.add(CONVERSATION, CANDIDATE, VERDICTS, "sha256:abc", targets, question_ids)


def test_an_escalation_keeps_everything_a_person_needs(tmp_path: Path):
    queue = EscalationQueue(tmp_path / "q.db")
    number = _add(queue)
    kept = queue.get(number)
    assert isinstance(kept, Escalation)
    assert (kept.conversation, kept.candidate, list(kept.verdicts)) == (CONVERSATION, CANDIDATE, VERDICTS)
    assert (kept.policy_hash, kept.targets, kept.question_ids, kept.status) == \
        ("sha256:abc", ("compliance",), ("Q-7f3a",), "open")
    assert kept.created.endswith("+00:00") and kept.note is None and kept.resolved is None
    assert queue.get(number + 1) is None


def test_open_filters_by_target_and_resolve_closes(tmp_path: Path):
    queue = EscalationQueue(tmp_path / "q.db")
    first = _add(queue, ("compliance", "legal"))
    second = _add(queue, ("operator",))
    assert [e.id for e in queue.open()] == [first, second]
    assert [e.id for e in queue.open("legal")] == [first]
    assert queue.open("nobody") == []
    resolved = queue.resolve(first, "allowed after a call")
    assert (resolved.status, resolved.note) == ("resolved", "allowed after a call") and resolved.resolved
    assert [e.id for e in queue.open()] == [second]
    assert queue.counts() == {"open": 1, "resolved": 1}
    with pytest.raises(KeyError):
        queue.resolve(99, "no such")


def test_the_file_is_the_state(tmp_path: Path):
    path = tmp_path / "q.db"
    first = EscalationQueue(path)
    number = _add(first)
    first.close()
    again = EscalationQueue(path)
    assert [e.id for e in again.open()] == [number]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_threads_write_at_once(tmp_path: Path):
    queue = EscalationQueue(tmp_path / "q.db")
    threads = [threading.Thread(target=lambda: [_add(queue) for _ in range(25)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({e.id for e in queue.open()}) == 200


def test_a_newer_schema_is_refused(tmp_path: Path):
    path = tmp_path / "q.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(QueueError, match="newer Charter"):
        EscalationQueue(path)


def test_a_file_that_is_no_database_is_refused(tmp_path: Path):
    path = tmp_path / "notes.txt"
    path.write_text("not a database, " * 100)
    with pytest.raises(QueueError, match="cannot be opened as an escalation queue: file is not a database"):
        EscalationQueue(path)


def test_a_write_that_cannot_happen_is_a_queue_error(tmp_path: Path):
    path = tmp_path / "q.db"
    queue = EscalationQueue(path, timeout=0.05)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
    with pytest.raises(QueueError, match="failed: database is locked"):
        _add(queue)
    other.execute("ROLLBACK")
    assert queue.get(_add(queue)) is not None
