"""Incremental checking for guardrails: one conversation, message by message.

    session = policy.session(meta={"user": {"age": 15}}, messages=history)
    session.seeded                                        # verdicts the history settled
    session.add({"role": "user", "content": "..."})      # verdicts this message settled
    session.update_meta({"user": {"verified": True}})     # from the next message on
    check = session.check_candidate("a reply")            # allow, regenerate, escalate or block?
    session.pending()                                     # open obligations
    report = session.finish()                             # == policy.check(whole trace)

A verdict is *settled* when no later message can change it. Verdicts of norms that read
the whole trace (conversation scope, `any R` / `every R`) settle only at `finish`; a
`within` obligation settles when it is met or its window is full. Every settled verdict
equals the verdict the finished trace gets at that act (a property test checks this).
A metadata update is kept in the finished trace as the `meta_patch` of the next message,
so the finished trace says where the meta changed.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Literal

import attrs

from ..compile.compiler import CompiledNorm, CompiledPolicy
from .evaluator import Context, Env, Explainer, TraceView, evaluate, prepare_session
from .prefix import Prefix
from ..traces import native
from ..traces.model import Message, Trace, merge_diff, merge_patch
from ..traces.reader import trace_from_json
from .verdicts import TraceReport, Verdict

_BLOCKING = ("violated", "conflict")

# The acts a new message of each role opens.
_SCOPES_OF_ROLE = {"assistant": ("assistant turn", "tool call"), "user": ("user turn",)}

Action = Literal["allow", "escalate", "block"]
Decision = Literal["allow", "regenerate", "escalate", "block"]
ACTIONS: tuple[Action, ...] = ("allow", "escalate", "block")
SEVERITIES = ("low", "medium", "high", "critical")


class SessionFinishedError(RuntimeError):
    """A session was used after `finish()` gave its report: open a new one."""


def _action(value: str) -> Action:
    if value not in ACTIONS:
        raise ValueError(f"{value!r} is not an action for an open question; use {', '.join(ACTIONS)}")
    return value  # type: ignore[return-value]


@attrs.frozen
class OnUnspecified:
    """What a guardrail does with a candidate that leaves a question open (a settled
    `unspecified` verdict: explicit, a gap or uncertain), by the norm's severity. The
    default escalates at every severity: an open question is never silently allowed."""

    low: Action = attrs.field(default="escalate", converter=_action)
    medium: Action = attrs.field(default="escalate", converter=_action)
    high: Action = attrs.field(default="escalate", converter=_action)
    critical: Action = attrs.field(default="escalate", converter=_action)

    def action(self, severity: str) -> Action:
        return getattr(self, severity)

    @classmethod
    def parse(cls, text: str) -> OnUnspecified:
        """`low=allow,medium=escalate,critical=block` (severities left out keep the
        default); a ValueError says what is wrong."""
        settings: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            severity, equals, action = (side.strip() for side in item.partition("="))
            if not equals or severity not in SEVERITIES:
                raise ValueError(f"{item!r} is not SEVERITY=ACTION with a severity of {', '.join(SEVERITIES)}")
            settings[severity] = action
        return cls(**settings)

    def __str__(self) -> str:
        return ",".join(f"{severity}={self.action(severity)}" for severity in SEVERITIES)


@attrs.frozen
class CandidateCheck:
    """What a candidate reply would settle, and what a guardrail should do with it:

    - `block`: a conflict (no rewording is sure to help), a critical violation, or an
      open question whose severity `OnUnspecified` blocks;
    - `regenerate`: a violation another reply may avoid;
    - `escalate`: an open question a person must answer (`targets`) before it is sent;
    - `allow`: nothing of the above.

    `deciding` are the verdicts behind the decision; `allowed` means `decision == "allow"`;
    `message` is the reply as it was judged (its index, and the metadata update it carried)."""

    verdicts: tuple[Verdict, ...]
    decision: Decision = "allow"
    deciding: tuple[Verdict, ...] = ()
    message: Message | None = attrs.field(default=None, eq=False)

    @classmethod
    def judge(cls, verdicts: Iterable[Verdict], rules: OnUnspecified = OnUnspecified(),
              message: Message | None = None) -> CandidateCheck:
        verdicts = tuple(verdicts)
        blocking = [v for v in verdicts if v.kind in _BLOCKING]
        open_questions = [v for v in verdicts if v.kind == "unspecified"]
        held = [v for v in blocking if v.kind == "conflict" or v.severity == "critical"] + \
            [v for v in open_questions if rules.action(v.severity) == "block"]
        escalated = [v for v in open_questions if rules.action(v.severity) == "escalate"]
        for decision, deciding in (("block", held), ("regenerate", blocking), ("escalate", escalated)):
            if deciding:
                return cls(verdicts, decision, tuple(deciding), message)
        return cls(verdicts, message=message)

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    @property
    def blocking(self) -> tuple[Verdict, ...]:
        """The settled verdicts that are violated or a conflict."""
        return tuple(v for v in self.verdicts if v.kind in _BLOCKING)

    @property
    def norms(self) -> tuple[str, ...]:
        """The norms behind the decision."""
        return tuple(sorted({v.norm for v in self.deciding}))

    @property
    def targets(self) -> tuple[str, ...]:
        """Who must answer the open questions behind the decision: the authority each
        names with `escalate to`, else the norm's own."""
        return tuple(dict.fromkeys(v.escalate_to or v.authority for v in self.deciding if v.kind == "unspecified"))

    @property
    def open_facts(self) -> tuple[str, ...]:
        """The unknown facts behind the decision's open questions."""
        return tuple(dict.fromkeys(fact for v in self.deciding for fact in v.unknown))


class Session:
    """A conversation checked as it happens. Not thread-safe: one session per conversation."""

    def __init__(self, policy: CompiledPolicy, meta: dict[str, Any] | None = None, id: str = "session",
                 messages: Iterable[Message | dict[str, Any]] = (), on_unspecified: OnUnspecified = OnUnspecified(),
                 detect: Callable[[Message], Message] | None = None):
        self._run_message = prepare_session(policy, _SCOPES_OF_ROLE)  # per role: its norms at a new message
        self._policy = policy
        self._detect = detect  # the message with its detected labels (the policy's detectors)
        self._view = TraceView(Trace(id, (), dict(meta or {})))
        self._ctx = Context(self._view)
        self._waiting: list[tuple[CompiledNorm, Env]] = []
        self.on_unspecified = on_unspecified
        self._next_meta: dict[str, Any] | None = None  # set by `update_meta` until the next message
        self._finished = False
        # The verdicts the history given at opening settled.
        self.seeded: tuple[Verdict, ...] = tuple(v for m in messages for v in self.add(m))

    @property
    def messages(self) -> Prefix[Message]:
        """The messages so far, a read-only sequence (later messages do not change it)."""
        return Prefix(self._view.messages)

    @property
    def meta(self) -> dict[str, Any]:
        """The trace's meta as the next message will see it."""
        if self._next_meta is not None:
            return self._next_meta
        return self._view.meta_at(None)

    def add(self, message: Message | dict[str, Any]) -> list[Verdict]:
        """Add the next message; return the verdicts it settled (not_applicable included)."""
        self._check_open()
        settled = self._add(self._message(message))
        self._next_meta = None
        return settled

    def update_meta(self, patch: dict[str, Any]) -> dict[str, Any]:
        """Change the trace's meta from the next message on, by a JSON merge patch (RFC
        7396: keys merge, null removes); the meta that message will see. Verdicts already
        settled keep the meta they were given with."""
        self._check_open()
        if not isinstance(patch, dict):
            raise ValueError(f"a metadata patch is a JSON object, not {type(patch).__name__}")
        self._next_meta = merge_patch(self.meta, patch)
        return self._next_meta

    def check_candidate(self, reply: str | Message | dict[str, Any]) -> CandidateCheck:
        """The verdicts an assistant reply would settle, without adding it, and what a
        guardrail should do with it."""
        self._check_open()
        if isinstance(reply, str):
            reply = {"role": "assistant", "content": reply}
        length, waiting, cached = len(self._view.messages), list(self._waiting), self._ctx.checkpoint()
        message = self._message(reply)
        self._view.append(message)
        snapshot = self._view.snapshot()
        try:
            settled = self._settle(message, Explainer(snapshot, self._policy.by_name))
            return CandidateCheck.judge(settled, self.on_unspecified, message)
        finally:
            # The verdicts' explanations read the snapshot: it keeps the reply the view drops.
            snapshot.keep(length)
            self._ctx.forget(cached, length)
            self._view.truncate(length)
            self._waiting = waiting

    def pending(self) -> list[Verdict]:
        """The obligations still open (their `within` window is not full yet)."""
        explainer = self._explainer()
        verdicts = [self._verdict(norm, env, explainer) for norm, env in self._waiting]
        return [v for v in verdicts if v.kind == "pending"]

    def finish(self) -> TraceReport:
        """The report of the whole conversation, as `policy.check` gives it for `trace()`.
        The session is finished: adding to it afterwards raises SessionFinishedError."""
        self._finished = True
        return self.report()

    def report(self) -> TraceReport:
        """The report of the conversation so far, as if it ended here (not finishing it)."""
        return evaluate(self._policy, self.trace())

    def trace(self) -> Trace:
        """The conversation so far as a trace; a metadata update stands as the `meta_patch`
        of the message that followed it (one not followed by a message is not in it)."""
        return Trace(self._view.trace.id, tuple(self._view.messages), self._view.trace.meta)

    def _check_open(self) -> None:
        if self._finished:
            raise SessionFinishedError(f"session {self._view.trace.id!r} is finished; open a new one")

    def _message(self, message: Message | dict[str, Any]) -> Message:
        index = len(self._view.messages)
        if isinstance(message, Message):
            message = attrs.evolve(message, index=index)
        elif isinstance(message, dict) and not isinstance(message.get("content"), list):
            # Only content blocks tell the other formats from the native one, so a
            # message without them skips format detection (this runs per message).
            message = native.message(message, index, "messages[0]")
        else:
            (converted,) = trace_from_json({"messages": [message]}).messages
            message = attrs.evolve(converted, index=index)
        if self._detect is not None:
            message = self._detect(message)
        return message if self._next_meta is None else self._patched(message)

    def _patched(self, message: Message) -> Message:
        """`message` carrying the metadata update made since the last one (on top of its own)."""
        before = self._view.meta_at(None)
        after = self._next_meta if message.meta_patch is None else merge_patch(self._next_meta, message.meta_patch)
        return attrs.evolve(message, meta_patch=merge_diff(before, after) or None)

    def _add(self, message: Message) -> list[Verdict]:
        self._view.append(message)
        return self._settle(message, self._explainer())

    def _settle(self, message: Message, explainer: Explainer) -> list[Verdict]:
        """The verdicts the view's latest message settles, explained by `explainer`."""
        settled: list[Verdict] = []
        if message.role == "assistant":  # (what alone can meet or fill a `within` window)
            waiting, self._waiting = self._waiting, []
            for norm, env in waiting:
                self._hold(norm, env, self._verdict(norm, env, explainer), settled)
        run = self._run_message.get(message.role)
        if run is not None:
            acts = {scope: self._view.acts_at(scope, message.index) for scope in _SCOPES_OF_ROLE[message.role]}
            run(self._ctx, acts, explainer, settled, self._hold)
        return settled

    def _hold(self, norm: CompiledNorm, env: Env, verdict: Verdict, settled: list[Verdict]) -> None:
        """A verdict of a norm with a `within` window: settled, or its act waits."""
        if _settled(verdict, norm, self._view, env):
            settled.append(verdict)
        else:
            self._waiting.append((norm, env))

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
