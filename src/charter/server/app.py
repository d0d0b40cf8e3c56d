"""The HTTP API: routes, the request wrapper (auth, limits, errors, metrics) and answers.

The event loop only reads bodies and writes answers; everything that grows with the
input runs in a lane (`budget.py`), within the per-request time budget: `/v1/check` in
a worker process that is killed when its budget is spent (`checking.py`), session work
in a thread that holds its lane until it ends (a session's state lives in this process;
its caps bound that work). Every answer that holds verdicts carries the content hash of
the policy that gave them and the Charter version.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import gc
import hmac
import logging
import time
from typing import Any, AsyncIterator, Awaitable, Callable

import anyio
import attrs
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import __version__
from ..escalations.queue import EscalationQueue, QueueError
from ..evaluate.session import CandidateCheck, OnUnspecified
from ..reports.questions import question_id
from ..traces import native
from ..traces.errors import TraceFormatError
from ..traces.model import Message, Trace
from ..traces.reader import ADAPTERS, trace_from_json
from ..evaluate.verdicts import TraceReport, Verdict
from .budget import Claim, Lane
from .checking import CheckJob, CheckProcess, stamp
from .errors import ApiError, decode_json, error_body, expect_object, json_bytes, json_response, read_body
from .metrics import Metrics
from .openapi import openapi_spec
from .policy_state import LoadedPolicy, PolicyHolder
from .sessions import SessionEntry, SessionStore

log = logging.getLogger("charter.server")

Handler = Callable[[Request], Awaitable[Response]]


@attrs.frozen
class ServerConfig:
    """What `charter serve` is started with; the defaults are the command's."""

    policies: tuple[str, ...]
    max_body_bytes: int = 1 << 20
    max_depth: int = 64
    time_budget: float = 5.0  # seconds per request
    session_idle_timeout: float = 900.0  # seconds
    max_sessions: int = 10_000
    token: str | None = None  # bearer token for every endpoint but /health
    watch: bool = False
    max_session_messages: int = 1_000
    max_session_bytes: int = 1 << 20  # the message bodies one session may add up to
    read_timeout: float = 10.0  # seconds for a request's headers and body to arrive
    max_connections: int = 1_000
    on_unspecified: OnUnspecified = OnUnspecified()  # what a candidate with an open question gets
    escalations: str | None = None  # the SQLite file escalated candidates are kept in


class _Server:
    """The state behind the routes: configuration, policy, sessions, lanes and metrics."""

    def __init__(self, config: ServerConfig):
        self.config = config
        self.metrics = Metrics()
        self.policy = PolicyHolder(config.policies, self.metrics, on_swap=self.prepare_checker)
        self.sessions = SessionStore(config.max_sessions, config.session_idle_timeout, self.metrics,
                                     config.max_session_messages, config.max_session_bytes)
        self.openapi = json_bytes(openapi_spec())
        self.checker = CheckProcess()
        # One lane of each kind: the GIL lets no more threads compute at once, and more
        # only take turns with the event loop, which slows every answer under load.
        self.check_lane = Lane("check", on_abandon=self.end_check)
        self.session_lane = Lane("sessions")
        # A write waits for another process's (charter review's) at most half a request's budget.
        self.escalations = EscalationQueue(config.escalations, config.time_budget / 2) \
            if config.escalations else None

    def prepare_checker(self, loaded: LoadedPolicy) -> concurrent.futures.Future:
        """Have the check worker compile `loaded` now, outside any request's budget (a
        policy slow to compile would otherwise spend every check's)."""
        return self.check_lane.submit(functools.partial(_quietly, self.checker.prepare, loaded.source))

    def end_check(self) -> None:
        """End a check past its budget: kill the worker, and start the next one at once."""
        self.checker.kill()
        self.prepare_checker(self.policy.current)

    async def in_session_lane(self, work: Callable[[], Any], claim: Claim | None = None) -> Any:
        return await self.session_lane.run(work, self.config.time_budget, claim)

    async def read(self, request: Request) -> bytes:
        return await read_body(request, self.config.max_body_bytes)

    def decode(self, request: Request, data: bytes, optional: bool = False) -> Any:
        """A body read by `read`, decoded (CPU work: call it in a lane)."""
        return decode_json(data, request.headers.get("content-type"), self.config.max_depth, optional)

    def authorize(self, request: Request) -> None:
        token = self.config.token
        if token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise ApiError(401, "unauthorized", "a valid bearer token is required (Authorization: Bearer TOKEN)",
                           "header.authorization", {"WWW-Authenticate": 'Bearer realm="charter"'})

    def close(self) -> None:
        self.check_lane.close()
        self.session_lane.close()
        self.checker.close()
        if self.escalations is not None:
            self.escalations.close()


def create_app(config: ServerConfig) -> Starlette:
    """The ASGI app; loading the policy raises PolicyError before any request is served."""
    server = _Server(config)

    def endpoint(route: str, handler: Callable[[_Server, Request], Awaitable[Response]],
                 public: bool = False) -> Handler:
        @functools.wraps(handler)
        async def answer(request: Request) -> Response:
            started = time.perf_counter()
            try:
                if not public:
                    server.authorize(request)
                response = await handler(server, request)
            except ApiError as error:
                response = error.response()
            except Exception:  # a bug of ours: logged with its traceback, answered in the error shape
                log.exception("internal error answering %s %s", request.method, request.url.path)
                response = json_response(error_body("internal_error", "internal error (see the server log)", None),
                                         500)
            server.metrics.latency.labels(route).observe(time.perf_counter() - started)
            server.metrics.requests.labels(route, request.method, str(response.status_code)).inc()
            return response

        return answer

    async def unmatched(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "bad_request")
        message = f"no endpoint {request.method} {request.url.path}" if error.status_code in (404, 405) \
            else str(error.detail)
        server.metrics.requests.labels("unmatched", request.method, str(error.status_code)).inc()
        return json_response(error_body(code, message, "path"), error.status_code, error.headers)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            await asyncio.wrap_future(server.prepare_checker(server.policy.current))  # serve when it can check
            # A full collection walks every tracked object and stops every thread meanwhile (about
            # 400 ms over 3 million): what start-up made lives as long as the server, so no
            # collection walks it again.
            gc.freeze()
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_expire_sessions, server)
                if config.watch:
                    tasks.start_soon(server.policy.watch)
                yield
                tasks.cancel_scope.cancel()
        finally:
            server.close()
            gc.unfreeze()

    def route(path: str, method: str, handler: Callable[[_Server, Request], Awaitable[Response]],
              public: bool = False) -> Route:
        return Route(path, endpoint(path, handler, public), methods=[method])

    routes = [
        route("/health", "GET", _health, public=True),
        route("/metrics", "GET", _metrics),
        route("/openapi.json", "GET", _openapi),
        route("/v1/check", "POST", _check),
        route("/v1/policy", "GET", _policy),
        route("/v1/policy/reload", "POST", _reload),
        route("/v1/sessions", "POST", _open_session),
        route("/v1/sessions/{id}", "GET", _session_state),
        route("/v1/sessions/{id}", "DELETE", _close_session),
        route("/v1/sessions/{id}", "PATCH", _update_meta),
        route("/v1/sessions/{id}/messages", "POST", _add_message),
        route("/v1/sessions/{id}/candidate", "POST", _candidate),
        route("/v1/escalations", "GET", _escalations),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: unmatched}, lifespan=lifespan)
    app.router.redirect_slashes = False  # `/v1/sessions/` is no endpoint: a 404 in the error shape, not a 307
    return app


def _quietly(work: Callable[..., None], *args: Any) -> None:
    """Upkeep whose failure a later request meets again and reports (a dead worker is
    restarted by the next check)."""
    try:
        work(*args)
    except ApiError:
        pass
    except Exception:  # noqa: BLE001 -- a bug of ours, with no request to answer
        log.exception("check worker upkeep failed")


async def _expire_sessions(server: _Server) -> None:
    """Close idle sessions in the background too, not only when sessions are touched."""
    while True:
        await anyio.sleep(min(30.0, max(0.05, server.config.session_idle_timeout / 4)))
        server.sessions.expire()


# --------------------------------------------------------------------------- answers


def _report(report: TraceReport, loaded: LoadedPolicy, show_all: bool) -> dict[str, Any]:
    return stamp(report.to_json(show_all), loaded.content_hash)


def _verdicts(verdicts: list[Verdict] | tuple[Verdict, ...], show_all: bool) -> list[dict[str, Any]]:
    return [v.to_json() for v in verdicts if show_all or v.kind != "not_applicable"]


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ApiError(400, "invalid_query", f"{name} must be true or false, not {value!r}", f"query.{name}")
    return value in ("true", "1")


# --------------------------------------------------------------------------- handlers


async def _health(server: _Server, request: Request) -> Response:
    return json_response({"status": "ok"})


async def _metrics(server: _Server, request: Request) -> Response:
    return Response(server.metrics.render(), media_type=server.metrics.content_type)


async def _openapi(server: _Server, request: Request) -> Response:
    return Response(server.openapi, media_type="application/json")


async def _check(server: _Server, request: Request) -> Response:
    input_format = request.query_params.get("format")
    if input_format is not None and input_format not in ADAPTERS:
        raise ApiError(400, "unknown_format",
                       f"unknown trace format {input_format!r}; known formats: {', '.join(ADAPTERS)}",
                       "query.format")
    show_all = _flag(request, "all")
    data = await server.read(request)
    loaded = server.policy.current
    job = CheckJob(data, request.headers.get("content-type"), input_format, show_all, server.config.max_depth,
                   loaded.content_hash, loaded.provenance)
    answer = await server.check_lane.run(lambda: server.checker.run(job, loaded.source), server.config.time_budget)
    server.metrics.count_kinds(answer.verdicts, "check")
    return Response(answer.body, answer.status, media_type=answer.media_type)


async def _policy(server: _Server, request: Request) -> Response:
    return json_response(_policy_info(server.policy))


def _policy_info(holder: PolicyHolder) -> dict[str, Any]:
    loaded = holder.current
    norms = [{"name": n.name, "charter": n.charter, "authority": n.authority, "severity": n.severity,
              "scope": n.scope, "default": n.is_default, "description": n.description}
             for n in loaded.policy.program.norms]
    return {
        "policies": list(holder.paths),
        "sources": [s.name for s in loaded.policy.program.sources],
        "content_hash": loaded.content_hash,
        "loaded_at": loaded.loaded_at,
        "charter_version": __version__,
        "norms": norms,
        "last_reload": holder.last_reload,
        "last_reload_error": holder.last_error.to_json() if holder.last_error else None,
    }


async def _reload(server: _Server, request: Request) -> Response:
    if server.config.token is None:  # else anyone who reaches the port could swap the policy
        raise ApiError(403, "reload_disabled",
                       "reloading over HTTP needs a token: start the server with --token-file, or use --watch",
                       "path")
    force = _flag(request, "force")
    data = await server.read(request)
    await server.in_session_lane(lambda: server.decode(request, data, optional=True))  # none needed; sound if sent
    error = await server.policy.reload(force)
    if error is not None and error.dropped_norms:
        raise ApiError(409, "norms_dropped", error.message, error.location)
    if error is not None:
        raise ApiError(422, "policy_error", error.message, error.location)
    return json_response({"reloaded": True, "policy": _policy_info(server.policy)})


async def _open_session(server: _Server, request: Request) -> Response:
    show_all = _flag(request, "all")
    data = await server.read(request)
    loaded, session_id = server.policy.current, server.sessions.new_id()

    def start():
        body = server.decode(request, data, optional=True)
        fields = expect_object({} if body is None else body, "body", frozenset({"meta", "messages"}))
        meta = fields.get("meta") or {}
        if not isinstance(meta, dict):
            raise ApiError(422, "invalid_body", "meta must be a JSON object (the trace's meta data)", "body.meta")
        history = _history(server, fields.get("messages") or [], len(data))
        return loaded.policy.session(meta, session_id, history, server.config.on_unspecified)

    session = await server.in_session_lane(start)
    entry = server.sessions.open(session_id, session, loaded)
    entry.bytes = len(data) if session.messages else 0
    server.metrics.count_verdicts(session.seeded, "session")
    return json_response({**_session_json(server, entry, session.pending()),
                          "settled": _verdicts(session.seeded, show_all)}, 201)


def _history(server: _Server, messages: Any, size: int) -> list[Message]:
    """The earlier messages a session is opened with, read, within the session's caps."""
    if not isinstance(messages, list):
        raise ApiError(422, "invalid_body", "messages must be an array of messages", "body.messages")
    if len(messages) > server.config.max_session_messages or (messages and size > server.config.max_session_bytes):
        raise ApiError(413, "session_full", f"a session holds at most {server.config.max_session_messages} "
                       f"messages and {server.config.max_session_bytes} bytes; this history has {len(messages)} "
                       f"messages in {size} bytes", "body.messages")
    return [_message(m, None, f"body.messages[{i}]") for i, m in enumerate(messages)]


def _session_json(server: _Server, entry: SessionEntry, pending: list[Verdict] | None = None) -> dict[str, Any]:
    data = {"id": entry.id, "messages": len(entry.session.messages),
            "expires_in": round(server.sessions.expires_in(entry), 3),
            "pending": _verdicts(pending or [], False)}
    return stamp(data, entry.policy.content_hash)


async def _session_state(server: _Server, request: Request) -> Response:
    entry = server.sessions.get(request.path_params["id"])

    def state():
        with entry.lock:
            server.sessions.check_open(entry)
            return json_response(_session_json(server, entry, entry.session.pending()))

    return await server.in_session_lane(state)


async def _close_session(server: _Server, request: Request) -> Response:
    show_all = _flag(request, "all")
    entry = server.sessions.get(request.path_params["id"])
    claim = Claim()

    def close() -> Response | None:
        with entry.lock:
            server.sessions.check_open(entry)
            report = entry.session.report()  # not finished yet: that is for a close answered in time
            response = json_response(_report(report, entry.policy, show_all))
            if not claim.take():  # the request is past its budget: the session stays open
                return None
            entry.closed = entry.finished = True
        server.metrics.count_verdicts(report.verdicts, "session")
        return response

    response = await server.in_session_lane(close, claim)
    server.sessions.remove(entry)
    return response


async def _add_message(server: _Server, request: Request) -> Response:
    entry = server.sessions.get(request.path_params["id"])
    show_all = _flag(request, "all")
    data = await server.read(request)

    def add():
        message = _message(server.decode(request, data), None)
        with entry.lock:
            server.sessions.check_open(entry)
            server.sessions.admit(entry, len(data))
            settled = entry.session.add(message)
            answer = _session_json(server, entry, entry.session.pending())
        server.metrics.count_verdicts(settled, "session")
        answer["settled"] = _verdicts(settled, show_all)
        return json_response(answer)

    return await server.in_session_lane(add)


async def _update_meta(server: _Server, request: Request) -> Response:
    entry = server.sessions.get(request.path_params["id"])
    data = await server.read(request)

    def update():
        patch = server.decode(request, data)
        if not isinstance(patch, dict):
            raise ApiError(422, "invalid_body", "expected a JSON merge patch of the trace's meta: a JSON object",
                           "body")
        with entry.lock:
            server.sessions.check_open(entry)
            server.sessions.admit(entry, len(data), message=False)
            meta = entry.session.update_meta(patch)
            return json_response({**_session_json(server, entry, entry.session.pending()), "meta": meta})

    return await server.in_session_lane(update)


async def _candidate(server: _Server, request: Request) -> Response:
    entry = server.sessions.get(request.path_params["id"])
    show_all = _flag(request, "all")
    data = await server.read(request)

    def judge():
        reply = _message(server.decode(request, data), "assistant")
        with entry.lock:
            server.sessions.check_open(entry)
            check = entry.session.check_candidate(reply)
            conversation = entry.session.trace() if check.decision == "escalate" else None
        server.metrics.count_verdicts(check.verdicts, "candidate")
        server.metrics.decisions.labels(check.decision).inc()
        questions = list(dict.fromkeys(question_id(v, entry.policy.policy) for v in check.deciding
                                       if v.kind == "unspecified"))
        answer = stamp({
            "decision": check.decision, "allowed": check.allowed, "deciding_norms": list(check.norms),
            "targets": list(check.targets), "open_facts": list(check.open_facts), "question_ids": questions,
            "escalation": None, "blocking": _verdicts(check.blocking, True),
            "verdicts": _verdicts(check.verdicts, show_all),
        }, entry.policy.content_hash)
        if conversation is not None and server.escalations is not None:
            answer["escalation"] = _escalate(server, entry, check, conversation, questions)
        return json_response(answer)

    return await server.in_session_lane(judge)


def _escalate(server: _Server, entry: SessionEntry, check: CandidateCheck, conversation: Trace,
              questions: list[str]) -> int | None:
    """Keep an escalated candidate in the queue, with what a person needs to answer it.
    A queue that fails does not change the decision: the loss is logged and counted."""
    assert server.escalations is not None and check.message is not None
    try:
        number = server.escalations.add(native.to_json(conversation), native.message_json(check.message),
                                        _verdicts(check.verdicts, True), entry.policy.content_hash,
                                        check.targets, questions)
    except QueueError as error:
        log.error("an escalation of session %s was not kept: %s", entry.id, error)
        server.metrics.escalations_lost.inc()
        return None
    server.metrics.escalations.inc()
    return number


async def _escalations(server: _Server, request: Request) -> Response:
    queue = server.escalations
    if queue is None:
        raise ApiError(404, "no_escalation_queue", "the server keeps no escalations: start it with --escalations FILE",
                       "path")
    status = request.query_params.get("status", "open")
    if status not in ("open", "resolved", "all"):
        raise ApiError(400, "invalid_query", f"status must be open, resolved or all, not {status!r}", "query.status")
    target = request.query_params.get("target")

    def listed():
        try:
            found, counts = queue.all(None if status == "all" else status), queue.counts()
        except QueueError as error:
            raise ApiError(503, "escalation_queue_failed", str(error), "path") from None
        shown = [e.to_json() for e in found if target is None or target in e.targets]
        return json_response({"escalations": shown, "counts": counts})

    return await server.in_session_lane(listed)


def _message(body: Any, default_role: str | None, location: str = "body") -> Message:
    """A message in the native trace form, converted here so a malformed one is a 422."""
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_message", "expected a message: a JSON object with role and content", location)
    try:
        (message,) = trace_from_json({"messages": [{"role": default_role, **body} if default_role else body]}).messages
    except TraceFormatError as error:
        raise ApiError(422, "invalid_message", error.reason, location) from None
    return message
