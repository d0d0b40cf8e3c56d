"""Incremental checking for guardrails: one conversation, message by message.

    session = policy.session(meta={"user": {"age": 15}})
    session.add({"role": "user", "content": "..."})      # verdicts this message settled
    verdict = session.check_candidate("a reply")          # would this reply be allowed?
    session.pending()                                     # open obligations
    report = session.finish()                             # == policy.check(whole trace)

A verdict is *settled* when no later message can change it. Verdicts of norms that read
the whole trace (conversation scope, `any R` / `every R`) settle only at `finish`; a
`within` obligation settles when it is met or its window is full. Every settled verdict
equals the verdict the finished trace gets at that act (a property test checks this).
"""

from __future__ import annotations

from typing import Any

import attrs

from ..compile.compiler import CompiledNorm, CompiledPolicy
from .evaluator import Context, Env, Explainer, TraceView, evaluate, prepare
from ..traces import native
from ..traces.model import Message, Trace
from ..traces.reader import trace_from_json
from .verdicts import TraceReport, Verdict

_BLOCKING = ("violated", "conflict")

# The acts a new message of each role opens.
_SCOPES_OF_ROLE = {"assistant": ("assistant turn", "tool call"), "user": ("user turn",)}


@attrs.frozen
class CandidateCheck:
    """What a candidate reply would settle, and whether a guardrail should let it through:
    `allowed` is False when a settled verdict is violated or a conflict."""

    verdicts: tuple[Verdict, ...]

    @property
    def blocking(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.kind in _BLOCKING)

    @property
    def allowed(self) -> bool:
        return not self.blocking


class Session:
    """A conversation checked as it happens. Not thread-safe: one session per conversation."""

    def __init__(self, policy: CompiledPolicy, meta: dict[str, Any] | None = None, id: str = "session"):
        prepare(policy)
        self._policy = policy
        self._view = TraceView(Trace(id, (), dict(meta or {})))
        self._ctx = Context(self._view)
        self._waiting: list[tuple[CompiledNorm, Env]] = []
        # The norms a new message of each role is checked against, chosen once.
        self._norms_of_role = {
            role: [n for n in policy.norms if n.scope in scopes and not n.whole_trace]
            for role, scopes in _SCOPES_OF_ROLE.items()
        }

    @property
    def messages(self) -> tuple[Message, ...]:
        return self._view.messages

    def add(self, message: Message | dict[str, Any]) -> list[Verdict]:
        """Add the next message; return the verdicts it settled (not_applicable included)."""
        return self._add(self._message(message))

    def check_candidate(self, reply: str | Message | dict[str, Any]) -> CandidateCheck:
        """The verdicts an assistant reply would settle, without adding it."""
        if isinstance(reply, str):
            reply = {"role": "assistant", "content": reply}
        length, waiting = len(self._view.messages), list(self._waiting)
        try:
            # Explanations read a snapshot of the view: they stay right after the truncate.
            return CandidateCheck(tuple(self._add(self._message(reply))))
        finally:
            self._view.truncate(length, self._ctx)
            self._waiting = waiting

    def pending(self) -> list[Verdict]:
        """The obligations still open (their `within` window is not full yet)."""
        explainer = self._explainer()
        verdicts = [self._verdict(norm, env, explainer) for norm, env in self._waiting]
        return [v for v in verdicts if v.kind == "pending"]

    def finish(self) -> TraceReport:
        """The report of the whole conversation, as `policy.check` gives it."""
        return evaluate(self._policy, Trace(self._view.trace.id, self._view.messages, self._view.trace.meta))

    def _message(self, message: Message | dict[str, Any]) -> Message:
        index = len(self._view.messages)
        if isinstance(message, Message):
            return attrs.evolve(message, index=index)
        if isinstance(message, dict) and not isinstance(message.get("content"), list):
            # Only content blocks tell the other formats from the native one, so a
            # message without them skips format detection (this runs per message).
            return native.message(message, index, "messages[0]")
        (converted,) = trace_from_json({"messages": [message]}).messages
        return attrs.evolve(converted, index=index)

    def _add(self, message: Message) -> list[Verdict]:
        self._view.append(message)
        explainer = self._explainer()
        settled: list[Verdict] = []
        still_waiting = []
        for norm, env in self._waiting:
            verdict = self._verdict(norm, env, explainer)
            if _settled(verdict, norm, self._view, env):
                settled.append(verdict)
            else:
                still_waiting.append((norm, env))
        self._waiting = still_waiting
        acts = {scope: self._view.acts_at(scope, message.index) for scope in _SCOPES_OF_ROLE.get(message.role, ())}
        for norm in self._norms_of_role.get(message.role, ()):
            envs = acts[norm.scope]
            for env, verdict in zip(envs, norm.fast(self._ctx, envs, explainer)):
                if _settled(verdict, norm, self._view, env):
                    settled.append(verdict)
                else:
                    self._waiting.append((norm, env))
        return settled

    def _explainer(self) -> Explainer:
        """What explains the verdicts given now: a snapshot of the view, kept unchanged."""
        return Explainer(self._view.snapshot(), self._policy.by_name)

    def _verdict(self, norm: CompiledNorm, env: Env, explainer: Explainer) -> Verdict:
        (verdict,) = norm.fast(self._ctx, (env,), explainer)
        return verdict


def _settled(verdict: Verdict, norm: CompiledNorm, view: TraceView, env: Env) -> bool:
    """Whether later messages can no longer change this verdict: only an open obligation
    (pending, or uncertain until its window is full) can still change."""
    if not norm.windows or not (
        verdict.kind == "pending" or (verdict.kind == "unspecified" and verdict.reason == "uncertain")
    ):
        return True
    return all(view.window(env.turn, window)[1] for window in norm.windows)
