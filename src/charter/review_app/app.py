"""The review application over HTTP (Starlette): identity, the questions waiting, one
question with its evidence, a decision's preview, and its confirmation.

It is meant for one machine: it listens on loopback by default and answers only
requests whose `Host` is the address it serves (a page elsewhere cannot reach it through
a rebound DNS name) and whose `Origin`, on a form post, is its own. Every failure is a
page that says what went wrong; no traceback ever reaches the browser.
"""

from __future__ import annotations

import logging
import threading
from typing import Awaitable, Callable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import pages
from .decide import confirm, preview
from .state import Identity, Question, Workspace, read_identity

MAX_FORM = 64 * 1024  # bytes of a form post
_LOG = logging.getLogger("charter.review")
_COOKIES = ("charter_authority", "charter_name")


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def create_app(workspace: Workspace, hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")) -> Starlette:
    """The application over a loaded workspace; `hosts` are the names it answers to."""
    lock = threading.Lock()  # one decision is written at a time

    def identity(request: Request) -> Identity | None:
        found = read_identity(*(unquote(request.cookies.get(c, "")) for c in _COOKIES), workspace.authorities)
        return found if isinstance(found, Identity) else None

    def view(handler: Callable[[Request, Identity], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """A page for someone who has said who they are (else the identity page first)."""
        async def answer(request: Request) -> Response:
            who = identity(request)
            if who is None:
                return RedirectResponse("/identity", 303)
            return await handler(request, who)
        return answer

    def html(title: str, body: str, who: Identity | None, status: int = 200) -> HTMLResponse:
        return HTMLResponse(pages.page(title, body, who, workspace), status)

    def question(request: Request) -> Question:
        found = workspace.questions.get(request.path_params["qid"])
        if found is None:
            raise _Refused(404, f"no open question {request.path_params['qid']}: it may have been decided already")
        return found

    def _confirmed(q: Question, who: Identity, form: dict[str, str]) -> str | None:
        """Write the decision and read the questions again, one decision at a time."""
        with lock:
            failure = confirm(workspace, q, who, form)
            if failure is None:
                workspace.refresh()
            return failure

    def _decider(qid: str) -> str:
        found = workspace.questions.get(qid)
        return (found.decider if found else None) or "the authority it is escalated to"

    async def root(request: Request) -> Response:
        return RedirectResponse("/questions" if identity(request) else "/identity", 303)

    async def identity_form(request: Request) -> Response:
        return html("Who is deciding?", pages.identity_page(workspace.authorities, current=identity(request)), None)

    async def identity_post(request: Request) -> Response:
        form = await _form(request)
        found = read_identity(form.get("authority"), form.get("name"), workspace.authorities)
        if isinstance(found, str):
            return html("Who is deciding?", pages.identity_page(workspace.authorities, found), None, 400)
        response = RedirectResponse("/questions", 303)
        for cookie, value in zip(_COOKIES, (found.authority, found.name)):
            response.set_cookie(cookie, quote(value), httponly=True, samesite="strict")
        return response

    async def questions(request: Request, who: Identity) -> Response:
        done, proposed = request.query_params.get("done"), request.query_params.get("proposed")
        text = (f"Decision on {done} written to the ledger and the policy." if done else
                f"Proposal on {proposed} written to the ledger; the policy is unchanged until "
                f"{_decider(proposed)} or an authority above it adopts it." if proposed else None)
        return html("Questions", pages.questions_page(workspace, who, workspace.waiting_for(who), text), who)

    async def one(request: Request, who: Identity) -> Response:
        q = question(request)
        return html(q.id, pages.question_page(workspace, who, q), who)

    async def preview_post(request: Request, who: Identity) -> Response:
        q = question(request)
        form = await _form(request)
        plan = await run_in_threadpool(preview, workspace, q, who, form)
        if isinstance(plan, str):
            return html(q.id, pages.question_page(workspace, who, q, form, error=plan), who, 400)
        return html(q.id, pages.question_page(workspace, who, q, form, pages.preview_html(q, form, plan, not workspace.may_decide(who, q))), who)

    async def confirm_post(request: Request, who: Identity) -> Response:
        q = question(request)
        form = await _form(request)
        proposal = not workspace.may_decide(who, q)  # recorded in the ledger, not applied
        failure = await run_in_threadpool(_confirmed, q, who, form)
        if failure is not None:
            return html(q.id, pages.question_page(workspace, who, q, form, error=failure), who, 409)
        return RedirectResponse(f"/questions?{'proposed' if proposal else 'done'}={quote(q.id)}", 303)

    async def refused(request: Request, error: Exception) -> Response:
        if isinstance(error, _Refused):
            status, message = error.status, error.message
        elif isinstance(error, HTTPException):
            status, message = error.status_code, error.detail or "cannot answer that"
        else:  # a bug of ours: one line in the log, a page in the browser, never a traceback
            _LOG.error("internal error: %s: %s", type(error).__name__, error)
            status, message = 500, f"internal error ({type(error).__name__}): nothing was written; please report it"
        return html(str(status), pages.error_page(status, message), identity(request), status)

    routes = [
        Route("/", root),
        Route("/identity", identity_form, methods=["GET"]),
        Route("/identity", identity_post, methods=["POST"]),
        Route("/questions", view(questions)),
        Route("/questions/{qid}", view(one)),
        Route("/questions/{qid}/preview", view(preview_post), methods=["POST"]),
        Route("/questions/{qid}/confirm", view(confirm_post), methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("charter.review_app", "static")]), name="static"),
    ]
    async def same_host(request: Request, call_next):
        host = request.headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if name not in hosts:
            return HTMLResponse(pages.error_page(421, f"this server answers to {', '.join(hosts)}, not {host}"), 421)
        origin = request.headers.get("origin")
        if request.method == "POST" and origin and urlsplit(origin).netloc != host:
            return HTMLResponse(pages.error_page(403, "a form from another site cannot post here"), 403)
        return await call_next(request)

    return Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=same_host)],
                     exception_handlers={Exception: refused, HTTPException: refused, _Refused: refused})


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded form, its first value per field."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise _Refused(413, f"a form of at most {MAX_FORM // 1024} KiB")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(400, "the form is not UTF-8") from None
    form: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        form.setdefault(key, value)
    return form
