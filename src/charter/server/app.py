"""The HTTP API: routes, the request wrapper (auth, limits, errors, metrics) and answers.

Checks are CPU work: they run in worker threads, within the per-request time budget, so
the event loop keeps accepting requests. Every answer that holds verdicts carries the
content hash of the policy that gave them and the Charter version.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import logging
import time
from typing import Any, AsyncIterator, Awaitable, Callable

import anyio
import anyio.to_thread
import attrs
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import __version__
from ..reports.render import CheckSummary
from ..evaluate.session import CandidateCheck
from ..traces.errors import TraceFormatError
from ..traces.model import Message
from ..traces.reader import ADAPTERS, trace_from_json
from ..evaluate.verdicts import TraceReport, Verdict
from .errors import ApiError, error_body, expect_object, json_response, read_json
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


class _Server:
    """The state behind the routes: configuration, policy, sessions and metrics."""

    def __init__(self, config: ServerConfig):
        self.config = config
        self.metrics = Metrics()
        self.policy = PolicyHolder(config.policies, self.metrics)
        self.sessions = SessionStore(config.max_sessions, config.session_idle_timeout, self.metrics)
        self.openapi = openapi_spec()
        # One thread checks at a time: the GIL lets no more run at once, and more threads
        # only take turns with the event loop, which slows every answer under load.
        self.checker = anyio.CapacityLimiter(1)

    async def run_budgeted(self, work: Callable[[], Any]) -> Any:
        """`work` in a worker thread, answered with a 503 once the time budget is spent
        (the thread finishes on its own; its result is dropped)."""
        try:
            with anyio.fail_after(self.config.time_budget):
                return await anyio.to_thread.run_sync(work, abandon_on_cancel=True, limiter=self.checker)
        except TimeoutError:
            raise ApiError(503, "time_budget_exceeded",
                           f"the check took longer than the budget of {self.config.time_budget:g} s", "body") from None

    async def body(self, request: Request, optional: bool = False) -> Any:
        return await read_json(request, self.config.max_body_bytes, self.config.max_depth, optional)

    def authorize(self, request: Request) -> None:
        token = self.config.token
        if token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise ApiError(401, "unauthorized", "a valid bearer token is required (Authorization: Bearer TOKEN)",
                           "header.authorization", {"WWW-Authenticate": 'Bearer realm="charter"'})


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
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_expire_sessions, server)
            if config.watch:
                tasks.start_soon(server.policy.watch)
            yield
            tasks.cancel_scope.cancel()

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
        route("/v1/sessions/{id}/messages", "POST", _add_message),
        route("/v1/sessions/{id}/candidate", "POST", _candidate),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: unmatched}, lifespan=lifespan)
    app.router.redirect_slashes = False  # `/v1/sessions/` is no endpoint: a 404 in the error shape, not a 307
    return app


async def _expire_sessions(server: _Server) -> None:
    """Close idle sessions in the background too, not only when sessions are touched."""
    while True:
        await anyio.sleep(min(30.0, max(0.05, server.config.session_idle_timeout / 4)))
        server.sessions.expire()


# --------------------------------------------------------------------------- answers


def _stamp(data: dict[str, Any], loaded: LoadedPolicy) -> dict[str, Any]:
    data["policy_hash"] = loaded.content_hash
    data["charter_version"] = __version__
    return data


def _report(report: TraceReport, loaded: LoadedPolicy, show_all: bool) -> dict[str, Any]:
    return _stamp(report.to_json(show_all), loaded)


def _verdicts(verdicts: list[Verdict] | tuple[Verdict, ...], show_all: bool) -> list[dict[str, Any]]:
    return [v.to_json() for v in verdicts if show_all or v.kind != "not_applicable"]


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ApiError(400, "invalid_query", f"{name} must be true or false, not {value!r}", f"query.{name}")
    return value in ("true", "1")


def _decision(check: CandidateCheck) -> str:
    """allow: nothing blocks. block: a conflict (the norms disagree, so no rewording is
    sure to help) or a critical violation. regenerate: a violation another reply may avoid."""
    blocking = check.blocking
    if not blocking:
        return "allow"
    if any(v.kind == "conflict" or v.severity == "critical" for v in blocking):
        return "block"
    return "regenerate"


# --------------------------------------------------------------------------- handlers


async def _health(server: _Server, request: Request) -> Response:
    return json_response({"status": "ok"})


async def _metrics(server: _Server, request: Request) -> Response:
    return Response(server.metrics.render(), media_type=server.metrics.content_type)


async def _openapi(server: _Server, request: Request) -> Response:
    return json_response(server.openapi)


async def _check(server: _Server, request: Request) -> Response:
    input_format = request.query_params.get("format")
    if input_format is not None and input_format not in ADAPTERS:
        raise ApiError(400, "unknown_format",
                       f"unknown trace format {input_format!r}; known formats: {', '.join(ADAPTERS)}",
                       "query.format")
    show_all = _flag(request, "all")
    body = await server.body(request)
    records, locations = (body, [f"body[{i}]" for i in range(len(body))]) if isinstance(body, list) \
        else ([body], ["body"])
    loaded = server.policy.current

    def check() -> list[TraceReport]:
        reports = []
        for record, location in zip(records, locations):
            try:
                trace = trace_from_json(record) if input_format is None \
                    else ADAPTERS[input_format].convert(record, None, "trace")
            except TraceFormatError as error:
                raise ApiError(422, "invalid_trace", error.reason, location) from None
            reports.append(loaded.policy.check(trace))
        return reports

    reports = await server.run_budgeted(check)
    summary = CheckSummary()
    for report in reports:
        summary.add(report)
        server.metrics.count_verdicts(report.verdicts, "check")
    return json_response(_stamp({"traces": [_report(r, loaded, show_all) for r in reports],
                                 "summary": summary.to_json(), "provenance": loaded.provenance}, loaded))


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
    await server.body(request, optional=True)  # no body is needed; one that is sent must be sound
    error = await server.policy.reload()
    if error is not None:
        raise ApiError(422, "policy_error", error.message, error.location)
    return json_response({"reloaded": True, "policy": _policy_info(server.policy)})


async def _open_session(server: _Server, request: Request) -> Response:
    body = await server.body(request, optional=True)
    fields = expect_object({} if body is None else body, "body", frozenset({"meta"}))
    meta = fields.get("meta") or {}
    if not isinstance(meta, dict):
        raise ApiError(422, "invalid_body", "meta must be a JSON object (the trace's meta data)", "body.meta")
    entry = server.sessions.open(server.policy.current, meta)
    return json_response(_session_json(server, entry), 201)


def _session_json(server: _Server, entry: SessionEntry, pending: list[Verdict] | None = None) -> dict[str, Any]:
    data = {"id": entry.id, "messages": len(entry.session.messages),
            "expires_in": round(server.sessions.expires_in(entry), 3),
            "pending": _verdicts(pending or [], False)}
    return _stamp(data, entry.policy)


async def _session_state(server: _Server, request: Request) -> Response:
    entry = server.sessions.get(request.path_params["id"])
    pending = await server.run_budgeted(lambda: _locked(entry, entry.session.pending))
    return json_response(_session_json(server, entry, pending))


async def _close_session(server: _Server, request: Request) -> Response:
    show_all = _flag(request, "all")
    entry = server.sessions.close(request.path_params["id"])
    report = await server.run_budgeted(lambda: _locked(entry, entry.session.finish))
    server.metrics.count_verdicts(report.verdicts, "session")
    return json_response(_report(report, entry.policy, show_all))


async def _add_message(server: _Server, request: Request) -> Response:
    entry = server.sessions.get(request.path_params["id"])
    show_all = _flag(request, "all")
    message = _message(await server.body(request), None)
    settled, pending = await server.run_budgeted(
        lambda: _locked(entry, lambda: (entry.session.add(message), entry.session.pending())))
    server.metrics.count_verdicts(settled, "session")
    data = _session_json(server, entry, pending)
    data["settled"] = _verdicts(settled, show_all)
    return json_response(data)


async def _candidate(server: _Server, request: Request) -> Response:
    entry = server.sessions.get(request.path_params["id"])
    show_all = _flag(request, "all")
    reply = _message(await server.body(request), "assistant")
    check = await server.run_budgeted(lambda: _locked(entry, lambda: entry.session.check_candidate(reply)))
    server.metrics.count_verdicts(check.verdicts, "candidate")
    decision = _decision(check)
    return json_response(_stamp({
        "decision": decision, "allowed": check.allowed,
        "deciding_norms": sorted({v.norm for v in check.blocking}),
        "blocking": _verdicts(check.blocking, True),
        "verdicts": _verdicts(check.verdicts, show_all),
    }, entry.policy))


def _message(body: Any, default_role: str | None) -> Message:
    """A message in the native trace form, converted here so a malformed one is a 422."""
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_message", "expected a message: a JSON object with role and content", "body")
    try:
        (message,) = trace_from_json({"messages": [{"role": default_role, **body} if default_role else body]}).messages
    except TraceFormatError as error:
        raise ApiError(422, "invalid_message", error.reason, "body") from None
    return message


def _locked(entry: SessionEntry, work: Callable[[], Any]) -> Any:
    with entry.lock:
        return work()
