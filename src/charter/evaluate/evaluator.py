"""Compiled policy x trace -> verdicts.

For each norm and each act of its scope, the norm's decision is computed once in
three-valued logic. When no condition on the decision path is unknown that is the
verdict (the common case). Otherwise the act's *atoms* (the unknown outcomes of
comparisons on unknown facts) are enumerated: the decision is recomputed under every
assignment of true/false to them, and the verdict is settled if all assignments agree
(docs/semantics-contract.md). Atoms first met under an assignment join the set and the
enumeration restarts, so exactly the atoms some resolution consults are enumerated.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import itertools
from typing import Any, Callable, Iterable

import attrs

from ..syntax import ast
from ..compile.compiler import Clause, CompiledNorm, CompiledPolicy, OutcomeNode, Unknown, Window
from .lazy import lazy
from .prefix import Prefix
from .fastpath import Decisions, MessageFn, Unsettled, message_function, run_function, trace_function
from ..text.matching import fold, matchable
from ..traces.model import Message, Trace, merge_patch
from .verdicts import OK_KINDS, Binding, Explanation, Fact, Match, Step, TraceReport, Verdict

# Past this many unknown facts at one act, enumeration (2^n decisions) is not attempted
# and the verdict is reported as uncertain.
MAX_ATOMS = 12


# --------------------------------------------------------------------------- the trace, indexed


class TraceView:
    """A trace indexed once for every norm: texts, messages by role, and the envs of
    each scope's acts."""

    def __init__(self, trace: Trace):
        self.trace = trace
        self.messages: tuple[Message, ...] = trace.messages
        self._acts: dict[str, list[Env]] = {}
        self._assistant_env: dict[int, Env] = {}
        # For a view that grows (`append`): each role's latest message and the one before
        # it, what the act of the newest message binds (`env_at` without a bisection).
        self._latest: dict[str, int | None] | None = None
        self._before: dict[str, int | None] = {}

    @lazy
    def by_role(self) -> dict[str, list[int]]:
        """Each role's message indices, in order (made when first read: the turn-scope
        pass of the fast path needs none)."""
        by_role: dict[str, list[int]] = {role: [] for role in ast.ROLES}
        for message in self.messages:
            by_role.setdefault(message.role, []).append(message.index)
        return by_role

    @lazy
    def replies(self) -> list[int]:
        """The indices of the assistant messages the user sees: those with text (not only
        tool calls), what a `within N turns` window counts."""
        return [m.index for m in self.messages if is_reply(m)]

    @lazy
    def texts(self) -> list[str]:
        """Each message's text as the matchers read it (made when a norm first reads text)."""
        return [matchable(m.content) for m in self.messages]

    @lazy
    def metas(self) -> list[dict[str, Any]] | None:
        """The trace's meta in force at each message when a message patches it (a
        `meta_patch`); None when none does, the usual case, and every act reads `trace.meta`."""
        if not any(m.meta_patch for m in self.messages):
            return None
        metas, meta = [], self.trace.meta
        for message in self.messages:
            if message.meta_patch:
                meta = merge_patch(meta, message.meta_patch)
            metas.append(meta)
        return metas

    def meta_at(self, turn: int | None) -> dict[str, Any]:
        """The trace's meta at the act of message `turn` (None: the conversation's, the last)."""
        metas = self.metas
        if not metas:  # no patch, or no message yet
            return self.trace.meta
        return metas[-1 if turn is None else turn]

    @lazy
    def folds(self) -> list[str]:
        """Each message's text as case-insensitive prefilters read it (made when a text
        test first runs, for every message: folding costs little next to one search)."""
        return [fold(text) for text in self.texts]

    def append(self, message: Message) -> None:
        """Add the next message (for incremental sessions); `message.index` must be the
        next position. The lists grow in place (a `snapshot` reads only the items it saw),
        so a message costs the same at any length of the session."""
        # The lazy indices are made before `messages` grows, or they would count it twice.
        texts, by_role, replies, metas = self.texts, self.by_role, self.replies, self.metas
        if not isinstance(self.messages, list):
            self.messages = list(self.messages)  # once: from then on it grows
        texts.append(matchable(message.content))
        if "folds" in self.__dict__:  # (only once a text test has read them)
            self.folds.append(fold(texts[-1]))
        if message.meta_patch:
            if metas is None:
                metas = self.metas = [self.trace.meta] * (len(texts) - 1)
            metas.append(merge_patch(metas[-1] if metas else self.trace.meta, message.meta_patch))
        elif metas is not None:
            metas.append(metas[-1])
        if self._latest is None:
            self._latest = {role: indices[-1] if indices else None for role, indices in by_role.items()}
            self._before = {role: indices[-2] if len(indices) > 1 else None for role, indices in by_role.items()}
        by_role.setdefault(message.role, []).append(message.index)
        self._before[message.role] = self._latest.get(message.role)
        self._latest[message.role] = message.index
        if is_reply(message):
            replies.append(message.index)
        self.messages.append(message)
        self._acts = {}

    def truncate(self, length: int) -> None:
        """Drop the messages from `length` on (a candidate reply that was not kept). A
        snapshot that saw them must `keep` them first."""
        dropped = self.messages[length:]
        for message in dropped:
            self._assistant_env.pop(message.index, None)
        del self.messages[length:], self.texts[length:]
        if "folds" in self.__dict__:
            del self.folds[length:]
        for indices in self.by_role.values():
            del indices[bisect.bisect_left(indices, length):]
        for role in {message.role for message in dropped} if self._latest is not None else ():
            indices = self.by_role[role]
            self._latest[role] = indices[-1] if indices else None
            self._before[role] = indices[-2] if len(indices) > 1 else None
        del self.replies[bisect.bisect_left(self.replies, length):]
        if self.metas is not None:
            del self.metas[length:]
        self._acts = {}

    def snapshot(self) -> "Snapshot":
        """The view as it is now, unchanged by later `append`s: what the deferred
        explanations of a session's verdicts read."""
        return Snapshot(self, len(self.messages))

    def env_at(self, position: int, turn: int | None, own: tuple[str, int] | None = None) -> "Env":
        """The env of an act whose subjects are the latest messages before `position`;
        `own` binds the act's own message to its role."""
        if self._latest is not None and own is not None and position == len(self.messages) - 1:
            return Env(turn, self._latest.copy(), self._before.copy(), earlier_end=position)  # a session's newest
        current: dict[str, int | None] = {}
        previous: dict[str, int | None] = {}
        own_role = own[0] if own is not None else None
        for role, indices in self.by_role.items():
            # One bisection per role: the latest message before `position` and the one
            # before that (the act's own message, if any, sits at `position`).
            k = bisect.bisect_left(indices, position)
            if role == own_role:
                current[role], previous[role] = own[1], indices[k - 1] if k else None
            else:
                current[role], previous[role] = indices[k - 1] if k else None, indices[k - 2] if k > 1 else None
        return Env(turn, current, previous, earlier_end=position)

    def acts(self, scope: str) -> list["Env"]:
        envs = self._acts.get(scope)
        if envs is None:
            envs = self._acts[scope] = self._make_acts(scope)
        return envs

    def _make_acts(self, scope: str) -> list["Env"]:
        if scope == "conversation":
            return [self.env_at(len(self.messages), None)]
        self.index_turns((scope,))
        return self._acts[scope]

    def index_turns(self, scopes: Iterable[str], previous: bool = True) -> None:
        """The acts of the turn scopes among `scopes`, made in one pass over the messages
        (what `env_at` gives each, without a bisection per role and act), and only for the
        messages those scopes need. Without `previous` (a policy that reads no `previous R`)
        they bind no previous messages."""
        users, turns, calls = ("user turn" in scopes), ("assistant turn" in scopes), ("tool call" in scopes)
        latest: dict[str, int | None] = dict.fromkeys(self.by_role)
        before = dict(latest)
        user_envs: list[Env] = []
        assistant_envs: list[Env] = []
        kept = self._assistant_env
        for index, message in enumerate(self.messages):
            role = message.role
            if previous:
                before[role] = latest[role]
            latest[role] = index
            if role == "user":
                if users:
                    user_envs.append(Env(index, latest.copy(), before.copy() if previous else _UNBOUND, index))
            elif role == "assistant" and (turns or calls and message.tool_calls):
                env = Env(index, latest.copy(), before.copy() if previous else _UNBOUND, index)
                assistant_envs.append(env)
                kept.setdefault(index, env)
        if users:
            self._acts["user turn"] = user_envs
        if turns:
            self._acts["assistant turn"] = assistant_envs
        if calls:
            self._acts["tool call"] = [_with_call(env, call, k) for env in assistant_envs
                                       for k, call in enumerate(self.messages[env.turn].tool_calls)]

    def act(self, scope: str, turn: int | None, call: int | None) -> "Env":
        """The act of `scope` at message `turn` (its tool call `call`), as a verdict names it."""
        if scope == "conversation":
            return self.acts(scope)[0]
        return self.acts_at(scope, turn)[call or 0]

    def acts_at(self, scope: str, index: int) -> list["Env"]:
        """The acts of a turn scope at message `index` (none if its role does not fit)."""
        role = self.messages[index].role
        if scope == "user turn":
            if role != "user":
                return []
            if self._whole():  # every user act, made in one pass
                return [self.acts(scope)[bisect.bisect_left(self.by_role["user"], index)]]
            return [self.env_at(index, index, ("user", index))]
        if role != "assistant":
            return []
        if scope == "assistant turn":
            return [self.assistant_env(index)]
        if not self.messages[index].tool_calls:
            return []
        return [_with_call(self.assistant_env(index), call, k)
                for k, call in enumerate(self.messages[index].tool_calls)]

    def _whole(self) -> bool:
        """Whether this is a whole trace's view, whose acts are made in one pass over its
        messages when first asked for: not a session's, which grows (a pass for each
        message would make a session quadratic)."""
        return self._latest is None

    def assistant_env(self, index: int) -> "Env":
        env = self._assistant_env.get(index)
        if env is None and not self._assistant_env and self._whole():
            self.index_turns(("assistant turn",))  # (a `within` window reads all those after an act)
            env = self._assistant_env.get(index)
        if env is None:
            env = self._assistant_env[index] = self.env_at(index, index, ("assistant", index))
        return env

    def window(self, after: int | None, within: Window) -> tuple[list[int], bool]:
        """The assistant messages of a `within` window after message `after`, and whether
        it is full: the next `size` of them, or (counting replies) all of them up to the
        `size`-th reply, or to the end of the trace when fewer replies follow."""
        indices = self.by_role["assistant"]
        start = 0 if after is None else bisect.bisect_right(indices, after)
        if not within.replies:
            window = indices[start:start + within.size]
            return window, len(window) == within.size
        last = (0 if after is None else bisect.bisect_right(self.replies, after)) + within.size - 1
        if last >= len(self.replies):
            return indices[start:], False
        return indices[start:bisect.bisect_right(indices, self.replies[last])], True


def is_reply(message: Message) -> bool:
    """Whether the message is a turn of a `within N turns` window: a reply the user sees."""
    return message.role == "assistant" and bool(message.content) and not message.content.isspace()


class Snapshot(TraceView):
    """The first `length` messages of a growing view, read-only: its lists are `Prefix`es
    of the view's, made when first read (most verdicts are never explained)."""

    def __init__(self, view: TraceView, length: int):  # not TraceView's: its lists are the properties below
        self.trace, self._view, self._length = view.trace, view, length
        self._acts, self._assistant_env, self._latest = {}, {}, None

    def _whole(self) -> bool:
        """Never: a snapshot is made for every message of a session, and a pass over the
        messages for each would make explaining a session quadratic."""
        return False

    @lazy
    def messages(self) -> Prefix[Message]:  # type: ignore[override]
        return Prefix(self._view.messages, self._length)

    @lazy
    def texts(self) -> Prefix[str]:  # type: ignore[override]
        return Prefix(self._view.texts, self._length)

    @lazy
    def folds(self) -> Prefix[str]:  # type: ignore[override]
        return Prefix(self._view.folds, self._length)

    @lazy
    def by_role(self) -> dict[str, Prefix[int]]:  # type: ignore[override]
        return {role: _before(indices, self._length) for role, indices in self._view.by_role.items()}

    @lazy
    def replies(self) -> Prefix[int]:  # type: ignore[override]
        return _before(self._view.replies, self._length)

    @lazy
    def metas(self) -> Prefix[dict[str, Any]] | None:  # type: ignore[override]
        metas = self._view.metas
        return None if metas is None else Prefix(metas, min(len(metas), self._length))

    def keep(self, length: int) -> None:
        """Copy what it saw from message `length` on: the view is about to drop it."""
        if self._length <= length:
            return
        for prefix in (self.messages, self.texts, self.folds, self.metas):
            if prefix is not None:
                prefix.keep(length)
        for indices in (*self.by_role.values(), self.replies):
            indices.keep(bisect.bisect_left(indices, length))


def _before(indices: list[int], end: int) -> Prefix[int]:
    """The message indices below `end`, of an ordered list."""
    return Prefix(indices, bisect.bisect_left(indices, end))


@attrs.define(slots=True)
class Env:
    """The binding of subjects at one act: `current[role]` and `previous[role]` are
    message indices (None when absent); `bound` is the message a quantifier ranges over."""

    turn: int | None
    current: dict[str, int | None]
    previous: dict[str, int | None]
    earlier_end: int
    call: Any = None
    call_index: int | None = None
    bound: int | None = None

    def bind(self, index: int) -> "Env":
        return Env(self.turn, self.current, self.previous, self.earlier_end,
                   self.call, self.call_index, index)


# The `previous` of acts made for a policy that reads no previous message.
_UNBOUND: dict[str, int | None] = {}


def _with_call(env: Env, call: Any, index: int) -> Env:
    """The act of an assistant message's tool call number `index`."""
    return Env(env.turn, env.current, env.previous, env.earlier_end, call, index)


# --------------------------------------------------------------------------- evaluation context


class Context:
    """Per-trace state the compiled closures read and write."""

    def __init__(self, view: TraceView):
        self.view = view
        # What is read off a message once for every norm: text tests (keyed by the test),
        # word counts, numbers, tool calls' texts.
        self.text_cache: dict[tuple, Any] = {}
        self.scans: dict[tuple, Any] = {}  # compile._TextScan per (text test, role)
        self.assignment: dict[tuple, bool] = {}
        self.pending: dict[tuple, tuple[str, ...]] = {}  # unassigned atoms met
        self.consulted: dict[tuple, tuple[str, ...]] = {}
        # Steps, facts and matches are recorded only by the general path; the fast path
        # records nothing (an explanation decides its act again, recording).
        self.recording = False
        self.steps: list[tuple] = []
        self.facts: list[tuple] = []
        self.matches: list[tuple[int, list]] = []
        self.bindings: list[tuple] = []  # (value, source, found: (turn, start, end) | None)
        self.why: dict[str, str] = {}  # fact name -> why it is unknown
        self.deciders: dict[str, str] = {}  # fact name -> who decides it while unknown
        self._atoms_off = 0

    def start_act(self) -> None:
        self.assignment = {}
        self.pending = {}
        self.consulted = {}
        self.recording = True
        self.steps, self.facts, self.matches, self.bindings = [], [], [], []
        self.why, self.deciders = {}, {}

    def end_act(self) -> None:
        """Back to the fast path's state: nothing recorded, no atom assigned or met."""
        self.recording = False
        self.assignment, self.pending, self.consulted = {}, {}, {}

    def checkpoint(self) -> int:
        """Where `forget` rolls the text tests' cache back to."""
        return len(self.text_cache)

    def forget(self, checkpoint: int, length: int) -> None:
        """Forget the text tests cached since `checkpoint` and the scans that read message
        `length` or later: a candidate reply the view is about to drop (call it first).
        The scans that stopped before it are kept, so a rollback costs what the reply did."""
        cache = self.text_cache
        while len(cache) > checkpoint:
            cache.popitem()  # the latest first
        for key in [key for key, scan in self.scans.items() if _read_from(scan, self.view, length)]:
            del self.scans[key]

    def atom(self, key: tuple, facts: tuple[str, ...]) -> bool | None:
        if self._atoms_off:
            return None
        self.consulted[key] = facts
        value = self.assignment.get(key)
        if value is None:
            self.pending[key] = facts
        return value

    def unknown(self, value: Unknown) -> None:
        """Note why an unknown fact met is unknown, and who decides it (the general path)."""
        self.why.setdefault(value.fact, value.why)
        if value.escalate_to is not None:
            self.deciders.setdefault(value.fact, value.escalate_to)

    @contextlib.contextmanager
    def no_atoms(self):
        """`is known` looks at the actual trace: no atom is consulted inside it."""
        self._atoms_off += 1
        try:
            yield
        finally:
            self._atoms_off -= 1

    @contextlib.contextmanager
    def apart(self):
        """Decide apart from the act: no atom assigned or switched off, nothing recorded,
        and the act's own state as it was after (an index read once serves every act)."""
        saved = self.recording, self.assignment, self.pending, self.consulted, self._atoms_off
        self.recording, self.assignment, self.pending, self.consulted, self._atoms_off = False, {}, {}, {}, 0
        try:
            yield
        finally:
            self.recording, self.assignment, self.pending, self.consulted, self._atoms_off = saved

    def record_fact(self, namer, env: Env, value: Any) -> None:
        """A fact read on the way (the reader checks `recording` first: it runs per act)."""
        self.facts.append((namer, env, value))

    def step(self, clause, value: str) -> None:
        if self.recording:
            self.steps.append((clause, value))


def _read_from(scan: Any, view: TraceView, length: int) -> bool:
    """Whether a scan (its `read` messages of its `role`, None: of every role) read
    message `length` or one after it."""
    if not scan.read:
        return False
    last = scan.read - 1 if scan.role is None else view.by_role[scan.role][scan.read - 1]
    return last >= length


# --------------------------------------------------------------------------- decisions


@attrs.frozen
class Decision:
    kind: str
    reason: str | None = None
    escalate_to: str | None = None
    gap: bool = False
    overridden_by: str | None = None

    def equivalent(self, other: "Decision") -> bool:
        if self.kind in OK_KINDS and other.kind in OK_KINDS:
            return True
        return (self.kind, self.reason, self.escalate_to, self.gap) == (
            other.kind, other.reason, other.escalate_to, other.gap)


def _overridden(name: str) -> Decision:
    return Decision("overridden", overridden_by=name)


def _unspecified(node: OutcomeNode) -> Decision:
    """An outcome's own `unspecified` (its reason and who must decide)."""
    return Decision("unspecified", node.reason, node.escalate_to)


def _gap(authority: str) -> Decision:
    """No case applies: the norm's author must decide."""
    return Decision("unspecified", "no case applies", authority, gap=True)


_UNDECIDED = object()
_CONFLICT = object()
_GAP = object()
_NOT_APPLICABLE = Decision("not_applicable")
_COMPLIED = Decision("complied")
_VIOLATED = Decision("violated")
_PENDING = Decision("pending")
_CONFLICTED = Decision("conflict")


def _truth(value: bool | None) -> str:
    return "unknown" if value is None else "true" if value else "false"


def decide(norm: CompiledNorm, ctx: Context, env: Env) -> Decision | object:
    """The norm's decision at one act, or _UNDECIDED if an unknown condition decides it."""
    for overrider in norm.overriders:
        own = ctx.view.acts("conversation")[0] if overrider.scope == "conversation" else env
        applies = True if overrider.trigger is None else overrider.trigger(ctx, own)
        ctx.step(overrider.clause, _truth(applies))
        if applies is None:
            return _UNDECIDED
        if applies:
            return _overridden(overrider.name)
    if norm.trigger is not None:
        holds = norm.trigger(ctx, env)
        ctx.step(norm.trigger_clause, _truth(holds))
        if holds is None:
            return _UNDECIDED
        if not holds:
            return _NOT_APPLICABLE
    standing = _standing_body(norm, ctx, env)
    if standing is _UNDECIDED:
        return _UNDECIDED
    if standing is _CONFLICT:
        return _CONFLICTED
    if standing is _GAP:
        ctx.step(norm.gap_clause, "no case applies")
        return _gap(norm.authority)
    return _outcome_decision(standing, ctx, env)


def _standing_body(norm: CompiledNorm, ctx: Context, env: Env):
    if norm.tree is not None:
        return _standing(norm.tree, ctx, env)
    applicable = _applicable(norm.cases, ctx, env)
    if applicable is _UNDECIDED:
        return _UNDECIDED
    if not applicable:
        return _GAP if norm.otherwise is None else _standing(norm.otherwise, ctx, env)
    return _agree([_standing(node, ctx, env) for node in applicable])


def _standing(node: OutcomeNode, ctx: Context, env: Env):
    """The outcome that stands after the exceptions: Catala's default calculus."""
    if not node.exceptions:
        return node
    applicable = _applicable(node.exceptions, ctx, env)
    if applicable is _UNDECIDED:
        return _UNDECIDED
    if not applicable:
        return node
    return _agree([_standing(child, ctx, env) for child in applicable])


def _applicable(branches: list, ctx: Context, env: Env):
    """The outcomes of the branches (cases or exceptions) whose condition holds; every
    condition is consulted, in order. _UNDECIDED if one of them is unknown."""
    applicable, undecided = [], False
    for condition, node, clause in branches:
        holds = condition(ctx, env)
        ctx.step(clause, _truth(holds))
        if holds is None:
            undecided = True
        elif holds:
            applicable.append(node)
    return _UNDECIDED if undecided else applicable


def _agree(results: list):
    if _UNDECIDED in results:
        return _UNDECIDED
    if _CONFLICT in results:
        return _CONFLICT
    first = results[0]
    return first if all(r.key == first.key for r in results[1:]) else _CONFLICT


def _outcome_decision(node: OutcomeNode, ctx: Context, env: Env):
    modality = node.modality
    if modality in ("permit", "unspecified") or node.within is not None:
        ctx.step(node.clause, modality)
    if modality == "permit":
        return _COMPLIED
    if modality == "unspecified":
        return _unspecified(node)
    if node.within is not None:
        return _window(node, ctx, env)
    holds = node.behaviour(ctx, env)
    ctx.step(node.clause, (modality, holds))  # worded only if the explanation is read: _step_text
    if holds is None:
        return _UNDECIDED
    if modality == "forbid":
        return _VIOLATED if holds else _COMPLIED
    return _COMPLIED if holds else _VIOLATED


def _window(node: OutcomeNode, ctx: Context, env: Env):
    window, full = ctx.view.window(env.turn, node.within)
    undecided = False
    for index in window:
        holds = node.behaviour(ctx, ctx.view.assistant_env(index))
        ctx.step(node.clause, (index, holds))
        if holds is True:  # complied here, or earlier under some resolution: complied
            return _COMPLIED
        if holds is None:
            undecided = True
    if undecided:
        return _UNDECIDED
    return _VIOLATED if full else _PENDING


# --------------------------------------------------------------------------- settling unknowns


def _settle(norm: CompiledNorm, ctx: Context, env: Env) -> tuple[Decision, tuple[str, ...]]:
    """Decide under every resolution of the act's atoms (restarting when a new one is
    met); return the settled decision, or `unspecified` "uncertain"."""
    atoms = dict(ctx.pending)
    ctx.recording = False
    while len(atoms) <= MAX_ATOMS:
        keys = list(atoms)
        results: list[Decision] = []
        consulted: dict[tuple, tuple[str, ...]] = {}
        restart = False
        for values in itertools.product((False, True), repeat=len(keys)):
            ctx.assignment = dict(zip(keys, values))
            ctx.pending, ctx.consulted = {}, {}
            decision = decide(norm, ctx, env)
            if ctx.pending:
                atoms.update(ctx.pending)
                restart = True
                break
            results.append(decision)
            consulted.update(ctx.consulted)
        if not restart:
            return _classify(results), _fact_names(consulted)
    return Decision("unspecified", "uncertain"), _fact_names(atoms)


def _classify(results: list[Decision]) -> Decision:
    first = results[0]
    if not all(first.equivalent(r) for r in results[1:]):
        return Decision("unspecified", "uncertain")
    if first.kind not in OK_KINDS:
        return first
    if any(r.kind == "complied" for r in results):
        return _COMPLIED
    overridden = sorted(r.overridden_by for r in results if r.kind == "overridden")
    return _overridden(overridden[0]) if overridden else _NOT_APPLICABLE


def _beside_not_applicable(verdict: Verdict, unknown: Unknown) -> Decision:
    """A body's verdict and not_applicable, the two values of a trigger that compares the
    one unknown fact `unknown`, settled as `_settle` settles them (for generated code)."""
    return _settled_beside(verdict.kind, verdict.reason, verdict.escalate_to, verdict.gap, verdict.overridden_by,
                           unknown.escalate_to)


@functools.lru_cache(maxsize=1024)
def _settled_beside(kind: str, reason: str | None, escalate_to: str | None, gap: bool, overridden_by: str | None,
                    decider: str | None) -> Decision:
    """`_beside_not_applicable` of a body's decision: it depends on the unknown fact only
    through who decides it, so it is made once per outcome of the policy, not per act."""
    body = Decision(kind, reason, escalate_to, gap, overridden_by)
    return _escalated_to(_classify([body, _NOT_APPLICABLE]), decider)


def _escalated(decision: Decision, unknown: tuple[str, ...], deciders: dict[str, str]) -> Decision:
    """An uncertain verdict that hinges on a label inside its declared uncertainty goes to
    whom the label's declaration names (the first such fact's, by name)."""
    return _escalated_to(decision, next((deciders[fact] for fact in unknown if fact in deciders), None))


def _escalated_to(decision: Decision, decider: str | None) -> Decision:
    if decider is None or decision.kind != "unspecified" or decision.reason != "uncertain":
        return decision
    return attrs.evolve(decision, escalate_to=decider)


def _fact_names(atoms: dict[tuple, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(sorted({fact for facts in atoms.values() for fact in facts}))


# --------------------------------------------------------------------------- the fast path


def _window_or_unsettled(node: OutcomeNode, ctx: Context, env: Env) -> Decision:
    decision = _window(node, ctx, env)
    if decision is _UNDECIDED:
        raise Unsettled
    return decision


_DECISIONS = Decisions(
    complied=_COMPLIED, violated=_VIOLATED, not_applicable=_NOT_APPLICABLE,
    overridden=_overridden, unspecified=_unspecified, gap=_gap,
    window=_window_or_unsettled,
    conversation=lambda ctx: ctx.view.acts("conversation")[0],
    act=lambda current, previous: Env(None, current, previous, 0),
    frozen=lambda env: Env(env.turn, env.current.copy(), env.previous.copy(), env.earlier_end, env.call,
                           env.call_index),
    beside_not_applicable=_beside_not_applicable,
)


def prepare(policy: CompiledPolicy) -> None:
    """Give every norm its generated `run`, and the policy its `run_trace` (fastpath.py),
    once per policy."""
    if policy.run_trace is not None:
        return
    made = _generated_parts(policy, policy.norms)
    for parts in made:
        parts[0].fast = run_function(*parts, policy, _DECISIONS)
    policy.run_trace = trace_function(made, policy, _DECISIONS, policy.reads_previous)


def prepare_session(policy: CompiledPolicy, scopes_of_role: dict[str, tuple[str, ...]]) -> dict[str, MessageFn]:
    """`prepare`, and the generated `run_message` of each role (fastpath.py) for the norms
    of its scopes that a session decides message by message (not those that read the
    whole trace), made once per policy."""
    prepare(policy)
    if policy.run_message is None:
        policy.run_message = {
            role: message_function(_generated_parts(policy, [
                n for n in policy.norms if n.scope in scopes and not n.whole_trace]), policy, _DECISIONS)
            for role, scopes in scopes_of_role.items()}
    return policy.run_message


def _generated_parts(policy: CompiledPolicy, norms: list[CompiledNorm]) -> list[tuple]:
    """What the fast path's generators take of each norm: the compiled norm, its checked
    form, the triggers of its overriders, and its verdict the general way."""
    checked = {n.name: n for n in policy.program.norms}
    return [(norm, checked[norm.name], [checked[o.name].trigger for o in norm.overriders], _general_way(norm))
            for norm in norms]


def _general_way(norm: CompiledNorm) -> Callable[[Context, Env, "Explainer"], Verdict]:
    return lambda ctx, env, explainer: _general_verdict(norm, ctx, env, explainer.view)


# --------------------------------------------------------------------------- the entry points


def evaluate(policy: CompiledPolicy, trace: Trace, locator: str | None = None) -> TraceReport:
    """Every verdict of every norm at every act of the trace."""
    prepare(policy)
    view = TraceView(trace)
    ctx = Context(view)
    verdicts = policy.run_trace(ctx, view, Explainer(view, policy.by_name, ctx))  # fastpath.py
    return TraceReport(trace.id, verdicts, locator)


def _general_verdict(norm: CompiledNorm, ctx: Context, env: Env, view: TraceView) -> Verdict:
    """The verdict decided in three-valued logic, unknown facts settled by enumeration,
    its explanation recorded on the way (texts read from `view`)."""
    ctx.start_act()
    decision = decide(norm, ctx, env)
    if decision is _UNDECIDED:
        decision, unknown = _settle(norm, ctx, env)
        decision = _escalated(decision, unknown, ctx.deciders)
    else:
        unknown = _fact_names(ctx.consulted) if ctx.consulted else ()
    verdict = Verdict(
        norm.name, decision.kind, env.turn, norm.authority, norm.severity, env.call_index,
        decision.reason, decision.gap, decision.escalate_to, unknown, decision.overridden_by,
        _Recorded(view, ctx.steps, ctx.facts, ctx.matches, ctx.why, ctx.bindings), norm.span,
    )
    ctx.end_act()
    return verdict


@attrs.frozen
class _Recorded:
    """What the general path recorded at one act, made into the verdict's Explanation
    when someone asks for it."""

    view: TraceView
    steps: list
    facts: list
    matches: list
    why: dict[str, str]
    bindings: list

    def __call__(self, verdict: Verdict) -> Explanation:
        return _explanation(self.view, self.steps, self.facts, self.matches, self.why, verdict.unknown,
                            verdict.kind != "not_applicable", self.bindings)


class Explainer:
    """The explanations of a trace's fast-path verdicts, made when asked for: the act
    decided again the general way, recording (no enumeration: an unknown met is the
    trigger's one fact, and the path stops there).
    One per trace (per session message), shared by its verdicts; `view` must not change.

    They share one `Context`, the check's own when given (`evaluate`): each text test
    was searched once per message, and the quantifiers' scans read each message once,
    so explaining every verdict costs about what deciding it did, on a trace of any
    length."""

    __slots__ = ("view", "norms", "ctx")

    def __init__(self, view: TraceView, norms: dict[str, CompiledNorm], ctx: Context | None = None):
        self.view, self.norms, self.ctx = view, norms, ctx

    def __call__(self, verdict: Verdict) -> Explanation:
        norm = self.norms[verdict.norm]
        env = self.view.act(norm.scope, verdict.turn, verdict.call)
        ctx = self.ctx
        if ctx is None:
            ctx = self.ctx = Context(self.view)
        ctx.start_act()
        try:
            # (A verdict whose trigger hinged on an unknown fact is undecided here, as on
            # the general path: its explanation is the path up to that trigger.)
            decide(norm, ctx, env)
            return _explanation(self.view, ctx.steps, ctx.facts, ctx.matches, ctx.why, verdict.unknown,
                                verdict.kind != "not_applicable", ctx.bindings)
        finally:
            ctx.end_act()


def _explanation(view: TraceView, steps: list, facts: list, matches: list,
                 why: dict[str, str], unknown: tuple[str, ...], full: bool, bindings: list = ()) -> Explanation:
    """The recorded path, facts and matches; for a norm that did not apply, only the
    path (its facts and matches are about a case that did not arise)."""
    path = tuple([_step(clause, value) for clause, value in steps])
    if not full and not unknown:
        return Explanation(path)
    read: dict[str, Fact] = {}
    for namer, env, value in facts:
        name = namer(None, env)
        if name not in read:
            read[name] = Fact(name, value)
    for name in unknown:
        reason = why.get(name, "unknown")
        read[name] = attrs.evolve(read[name], known=False, why_unknown=reason) if name in read \
            else Fact(name, None, known=False, why_unknown=reason)
    detected = view.trace.detected
    if detected:  # labels a run detected: where each value came from
        read = {name: attrs.evolve(fact, detected=detected[name]) if name in detected else fact
                for name, fact in read.items()}
    found, seen = [], set()
    for index, spans in matches:
        for m in spans:
            if (index, m.start(), m.end()) not in seen:
                seen.add((index, m.start(), m.end()))
                found.append(Match(index, m.start(), m.end(), view.texts[index][m.start():m.end()]))
    ends = tuple(dict.fromkeys(
        Binding(value, source, None if at is None else Match(at[0], at[1], at[2], view.texts[at[0]][at[1]:at[2]]))
        for value, source, at in bindings))
    return Explanation(path, tuple(read.values()), tuple(found), ends)


def _step(clause: Clause, value: str | tuple) -> Step:
    """The step of `clause` taking `value`, made once per clause and value (but a window
    turn's, which names its turn: there are as many as turns)."""
    if value.__class__ is tuple and value[0].__class__ is int:
        return Step(clause.kind, clause.text, clause.span, _step_text(value))
    step = clause.steps.get(value)
    if step is None:
        step = clause.steps[value] = Step(clause.kind, clause.text, clause.span, _step_text(value))
    return step


def _step_text(value: str | tuple) -> str:
    """A step's value in words: a behaviour's `(modality, holds)`, a window turn's
    `(turn, holds)`, or already words."""
    if isinstance(value, str):
        return value
    first, holds = value
    if isinstance(first, int):
        return f"at turn {first}: {_truth(holds)}"
    return f"{first}: behaviour {'holds' if holds else 'unknown' if holds is None else 'does not hold'}"
