"""`POST /v1/check` in a worker process: decode the body, check every trace and render
the answer there, so that a request which outlives the time budget can be ended (the
process is killed and started again) instead of burning CPU after its 503.

The worker compiles the served policy from the very texts the server read (a
`PolicySource`), so it checks with the policy whose hash the answer carries even when
the files have changed since.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import attrs

from .. import Policy, __version__
from ..check.loader import load
from ..check.resolve import read_file
from ..evaluate.verdicts import TraceReport
from ..reports.render import CheckSummary
from ..traces.errors import TraceFormatError
from ..traces.reader import ADAPTERS, trace_from_json
from .errors import BOM, ApiError, decode_json, error_body, is_jsonl, json_bytes

@attrs.frozen
class PolicySource:
    """What compiles the served policy again: its paths and every file's text as read."""

    paths: tuple[str, ...]
    texts: dict[str, str]  # by absolute path
    content_hash: str

    def compile(self) -> Policy:
        return Policy(load(list(self.paths), read_text=lambda path: self.texts[os.path.abspath(path)]).program)


@attrs.frozen
class CheckJob:
    """One `/v1/check` request as the worker needs it."""

    body: bytes
    content_type: str | None
    input_format: str | None
    show_all: bool
    max_depth: int
    policy_hash: str
    provenance: dict[str, Any]


@attrs.frozen
class CheckAnswer:
    status: int
    body: bytes
    verdicts: dict[str, int] = attrs.Factory(dict)  # counts by kind, for the metrics
    media_type: str = "application/json"


def stamp(data: dict[str, Any], policy_hash: str) -> dict[str, Any]:
    """Mark an answer with the policy and the Charter version that gave it."""
    data["policy_hash"] = policy_hash
    data["charter_version"] = __version__
    return data


def answer_check(job: CheckJob, policy: Policy) -> CheckAnswer:
    """The whole answer to a check: the report, or the error, rendered."""
    if is_jsonl(job.content_type):
        return _answer_lines(job, policy)
    try:
        body = decode_json(job.body, job.content_type, job.max_depth)
        records, locations = (body, [f"body[{i}]" for i in range(len(body))]) if isinstance(body, list) \
            else ([body], ["body"])
        summary, traces, counts = CheckSummary(), [], {}
        for record, location in zip(records, locations):
            report = policy.check(_trace(record, location, job.input_format))
            summary.add(report)
            traces.append(stamp(report.to_json(job.show_all), job.policy_hash))
            _count(report, counts)
    except ApiError as error:
        return CheckAnswer(error.status, json_bytes(error_body(error.code, error.message, error.location)))
    data = stamp({"traces": traces, "summary": summary.to_json(), "provenance": job.provenance}, job.policy_hash)
    return CheckAnswer(200, json_bytes(data), counts)


def _answer_lines(job: CheckJob, policy: Policy) -> CheckAnswer:
    """A JSON Lines body, one trace a line: one answer a line, in order, each with its
    `line` number: the report, or the error of a line that is not a trace (the others are
    still checked). Blank lines are skipped."""
    answers, counts = [], {}
    for number, line in enumerate(job.body.removeprefix(BOM).splitlines(), 1):
        if not line.strip():
            continue
        where = (f"line {number}", f"body:{number}")
        try:
            report = policy.check(_trace(decode_json(line, None, job.max_depth, where=where), where[1],
                                         job.input_format))
        except ApiError as error:
            answers.append({"line": number, **error_body(error.code, error.message, error.location)})
            continue
        answers.append({"line": number, **stamp(report.to_json(job.show_all), job.policy_hash)})
        _count(report, counts)
    return CheckAnswer(200, b"".join(json_bytes(answer) + b"\n" for answer in answers), counts,
                       "application/x-ndjson")


def _count(report: TraceReport, counts: dict[str, int]) -> None:
    for verdict in report.verdicts:
        counts[verdict.kind] = counts.get(verdict.kind, 0) + 1


def _trace(record: Any, location: str, input_format: str | None):
    try:
        return trace_from_json(record) if input_format is None \
            else ADAPTERS[input_format].convert(record, None, "trace")
    except TraceFormatError as error:
        raise ApiError(422, "invalid_trace", error.reason, location) from None


def _serve(connection: Connection) -> None:
    """The worker's loop: a (job, policy source or None) in, a CheckAnswer out, until the
    server closes its end. The source comes only when the policy changed; a job of None
    only compiles it."""
    policy = None
    while True:
        try:
            job, source = connection.recv()
        except EOFError:
            return
        if source is not None:
            policy = source.compile()
        connection.send(None if job is None else answer_check(job, policy))


_WORKER = "import sys; from charter.server.checking import worker_main; worker_main(int(sys.argv[1]))"


class CheckProcess:
    """The worker process, started when first needed and again after it was killed.
    `run` and `prepare` are called from one thread at a time (the check lane); `kill`
    from the event loop.

    A fresh interpreter (`_WORKER`), not a fork: the server
    runs threads whose locks a fork would copy mid-use; nor multiprocessing's spawn,
    which re-imports the caller's main module."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._connection: Connection | None = None
        self._policy_hash: str | None = None  # the policy the live worker has compiled

    def prepare(self, source: PolicySource) -> None:
        """Start the worker and compile the policy, before the first check needs them."""
        self._exchange(None, source)

    def run(self, job: CheckJob, source: PolicySource) -> CheckAnswer:
        return self._exchange(job, source)

    def _exchange(self, job: CheckJob | None, source: PolicySource) -> Any:
        if self._process is None or self._process.poll() is not None:
            self._start()
        assert self._connection is not None
        fresh = source if self._policy_hash != source.content_hash else None
        self._policy_hash = source.content_hash
        try:
            self._connection.send((job, fresh))
            return self._connection.recv()
        except (EOFError, OSError):  # killed (its request is past its budget) or crashed
            self.close()  # reaped now, so the next exchange starts a fresh worker
            raise ApiError(503, "check_ended", "the check was ended (time budget or worker failure)", "body") \
                from None

    def kill(self) -> None:
        process = self._process
        if process is not None:
            process.kill()

    def _start(self) -> None:
        self.close()
        ours, theirs = socket.socketpair()
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _WORKER, str(theirs.fileno())], pass_fds=[theirs.fileno()])
        self._connection, self._policy_hash = Connection(ours.detach()), None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        self._process = self._connection = None


def recording_reader(texts: dict[str, str]):
    """A `read_text` for the loader that keeps every text it reads, by absolute path."""

    def read(path: Path) -> str:
        text = texts[os.path.abspath(path)] = read_file(path)
        return text

    return read


def worker_main(fd: int) -> None:
    """The worker process's entry point: serve over the socket `fd`."""
    _serve(Connection(fd))
