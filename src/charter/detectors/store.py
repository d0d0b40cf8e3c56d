"""Detector answers kept on disk between runs, so that a second run over the same corpus
calls no detector.

One SQLite file (stdlib `sqlite3`) in write-ahead-log mode: any number of processes on
one machine (the --jobs workers, a local Dask cluster's) read it while one writes, and a
writer waits for another (up to BUSY_SECONDS) instead of failing. An answer is keyed by
the detector's name and version, the kind of input it judged and the SHA-256 of the
text, so a new version of a detector, or another model behind an HTTP detector, is asked
again. Only answers are kept (a `Detection`, or None where the detector could not judge
the text); failures and time-outs are not, so the next run asks again. WAL needs memory
shared between the processes: the file must be on a local disk, not a network share.

A file that cannot be used (corrupt, unwritable, in a directory that cannot be made) is
not an error: the store says why once (`problem`) and keeps nothing for the rest of the
run. Deleting the file is always safe.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
from typing import Iterable

from ..source.cache import cache_directory
from .model import Detection

# Bump when what a row holds changes meaning: the new table starts empty.
FORMAT = 1
TABLE = f"answers_v{FORMAT}"
FILE = "detections.sqlite3"
BUSY_SECONDS = 30.0  # how long a writer waits for another before giving up
CHUNK = 500  # digests per query (SQLite's limit on parameters is 999 in old builds)
TEXT = "text"  # the kind of input a detector judged: a message's text


def default_path() -> str | None:
    """`$XDG_CACHE_HOME/charter/detections.sqlite3`, or None when there is no cache directory."""
    directory = cache_directory()
    return None if directory is None else os.path.join(directory, FILE)


def digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class Store:
    """The answers in the file at `path`. The connection is opened in the process that
    first reads or writes (a connection must not cross a fork into a worker); callers
    do not share one store between threads at once (the labeller holds a lock)."""

    def __init__(self, path: str):
        self.path = path
        self.problem: str | None = None  # why the store keeps nothing, once it does not
        self._db: sqlite3.Connection | None = None
        self._pid: int | None = None

    def usable(self) -> bool:
        """Whether the file can be opened, read and written (`problem` says why not)."""
        return self._connection() is not None

    def get(self, detector: str, version: str, kind: str, texts: Iterable[str]) -> dict[str, Detection | None]:
        """The kept answers for those of `texts` that have one."""
        db = self._connection()
        wanted = {digest(text): text for text in texts}
        if db is None or not wanted:
            return {}
        found: dict[str, Detection | None] = {}
        keys = list(wanted)
        try:
            for start in range(0, len(keys), CHUNK):
                chunk = keys[start:start + CHUNK]
                rows = db.execute(f"SELECT digest, value, confidence FROM {TABLE} WHERE detector = ? AND "
                                  f"version = ? AND kind = ? AND digest IN ({','.join('?' * len(chunk))})",
                                  (detector, version, kind, *chunk))
                for key, value, confidence in rows:
                    answer = _decoded(value, confidence)
                    if answer is not False:
                        found[wanted[key]] = answer
        except sqlite3.Error as error:
            self._fail(error)
            return {}
        return found

    def put(self, detector: str, version: str, kind: str, answers: dict[str, Detection | None]) -> None:
        """Keep `answers` (text -> answer), in one transaction."""
        db = self._connection()
        if db is None or not answers:
            return
        rows = [(detector, version, kind, digest(text), *_encoded(answer)) for text, answer in answers.items()]
        try:
            with db:
                db.executemany(f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as error:
            self._fail(error)

    def close(self) -> None:
        if self._db is not None and self._pid == os.getpid():
            self._db.close()
        self._db = None

    def _connection(self) -> sqlite3.Connection | None:
        if self.problem is not None:
            return None
        if self._db is not None and self._pid == os.getpid():
            return self._db
        try:
            directory = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(directory, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, check_same_thread=False)
            try:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")  # WAL keeps the file whole without a sync per write
                with db:
                    db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (detector TEXT, version TEXT, kind TEXT, "
                               "digest BLOB, value TEXT, confidence REAL, "
                               "PRIMARY KEY (detector, version, kind, digest)) WITHOUT ROWID")
                db.execute(f"SELECT 1 FROM {TABLE} LIMIT 1").fetchall()
            except sqlite3.Error:
                db.close()
                raise
        except (OSError, sqlite3.Error) as error:
            self._fail(error)
            return None
        self._db, self._pid = db, os.getpid()
        return db

    def _fail(self, error: Exception) -> None:
        self.problem = f"the detector cache {self.path} cannot be used ({error}): detecting without it"
        self._db = None


def _encoded(answer: Detection | None) -> tuple[str | None, float | None]:
    if answer is None:
        return None, None  # the detector could not judge the text: kept too, it would say so again
    return json.dumps(answer.value), answer.confidence


def _decoded(value: str | None, confidence: float | None) -> Detection | None | bool:
    """The answer of a row; False for a row that is no answer (left alone: asked again)."""
    if value is None:
        return None
    try:
        decoded = json.loads(value)
    except ValueError:
        return False
    if not isinstance(decoded, (bool, int, float, str)) or (isinstance(decoded, float) and not math.isfinite(decoded)):
        return False
    return Detection(decoded, confidence)
