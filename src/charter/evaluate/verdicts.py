"""Verdicts and reports: what the evaluator produces and every renderer reads.

A `Verdict` is the outcome of one norm at one act (an assistant turn, a user turn, a
tool call, or the whole conversation), with an `Explanation`: the clauses that decided
it, the facts read and their values, the text that matched, the unknown facts.
"""

from __future__ import annotations

import json
import operator
from typing import Any, Callable, Iterable

import attrs
import msgspec

from ..source.text import Span

# Trace status precedence: the first kind present among a trace's verdicts wins.
STATUS_ORDER = ("violated", "conflict", "unspecified", "pending")
# Verdicts that say "nothing wrong here"; a settled verdict may mix these across resolutions.
OK_KINDS = frozenset({"complied", "not_applicable", "overridden"})
# Which verdicts a report explains (`charter check --explain`): `violations`, those of a
# kind that is not OK (violated, conflict, unspecified, pending); `all`; `none`.
EXPLAIN = ("violations", "all", "none")
# How one norm's verdicts over a trace are summed up (an `expect` without `at turn`).
AGGREGATE_ORDER = (
    "violated", "conflict", "unspecified", "pending", "complied", "overridden", "not_applicable",
)


@attrs.frozen(cache_hash=True)  # (a report's memo of paths hashes the same steps again and again)
class Step:
    """One clause on the path that decided a verdict: `clause` is "when", "case",
    "otherwise", "unless", "outcome", "behaviour", "window", "overridden by" or "gap";
    `value` is what it evaluated to ("true", "false", "unknown") or what it decided."""

    clause: str
    text: str
    span: Span
    value: str

    def to_json(self) -> dict[str, Any]:
        return {
            "clause": self.clause,
            "text": self.text,
            "line": self.span.line,
            "column": self.span.column,
            "file": self.span.source,
            "value": self.value,
        }


@attrs.frozen
class Fact:
    """A fact the verdict read: `name` locates it in the trace (`trace.meta.order.age_days`,
    `messages[3].labels.self_harm`); `value` is None with `known` False when unknown;
    `detected` says where a detected label came from."""

    name: str
    value: Any
    known: bool = True
    why_unknown: str | None = None
    # For a label a run detects, where its value came from (`detectors.model.Source`:
    # the detector, its version, trace/cache/call, what it said); None otherwise.
    detected: Any = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"fact": self.name, "value": self.value, "known": self.known}
        if self.why_unknown:
            data["why_unknown"] = self.why_unknown
        if self.detected is not None:
            data["detected"] = self.detected.to_json()
        return data


@attrs.frozen
class Match:
    """Text that matched a condition: message `turn`, character offsets and the text."""

    turn: int
    start: int
    end: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"turn": self.turn, "start": self.start, "end": self.end, "text": self.text}


@attrs.frozen
class Binding:
    """Both ends of a value a binding followed (`appears in`, `shares`, `.number`):
    the `value`, where the act's side read it (`source`: a fact such as
    `messages[3].tool_calls[0].arguments.to`, or a message's text), and where it stands
    in the other message (`found`; None when no message of the range holds it)."""

    value: Any
    source: str
    found: Match | None = None

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source,
                "found": self.found.to_json() if self.found is not None else None}

    def __str__(self) -> str:
        found = (f"turn {self.found.turn} [{self.found.start}:{self.found.end}]" if self.found is not None
                 else "no message of the range")
        return f"{json.dumps(self.value, ensure_ascii=False)} from {self.source} -> {found}"


@attrs.frozen
class Explanation:
    steps: tuple[Step, ...] = ()
    facts: tuple[Fact, ...] = ()
    matches: tuple[Match, ...] = ()
    bindings: tuple[Binding, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "path": [s.to_json() for s in self.steps],
            "facts": [f.to_json() for f in self.facts],
            "matches": [m.to_json() for m in self.matches],
            "bindings": [b.to_json() for b in self.bindings],
        }


_NOT_EXPLAINED = Explanation()
# The fields a verdict is compared, hashed and shown by.
_COMPARED = ("norm", "kind", "turn", "authority", "severity", "call", "reason", "gap", "escalate_to",
             "unknown", "overridden_by")
# A verdict's value: those fields as a tuple, read in C.
verdict_key: Callable[["Verdict"], tuple] = operator.attrgetter(*_COMPARED)
# Its value but where it stands (turn and call), which the verdicts of one norm and kind
# along a trace share: reports key their memos of a verdict's JSON by it.
placeless_key: Callable[["Verdict"], tuple] = operator.attrgetter(
    *(field for field in _COMPARED if field not in ("turn", "call")))


# The evaluator makes a verdict for every norm at every act (186 a trace of the benchmark),
# so it is a msgspec struct, made in C: 0.09 µs against 0.21 µs for an attrs slotted
# class (and 1.1 µs for a frozen one). Verdicts are values all the same: hashable and
# compared by value (the explanation and the norm's span left out); treat them as
# read-only, and use `msgspec.structs.replace` for a changed copy.
class Verdict(msgspec.Struct):
    """The verdict of `norm` at one act.

    `turn` is the 0-based message index of the act (the assistant message that carries
    the call, for tool-call scope; None for conversation scope); `call` the index of the
    tool call in that message. For `unspecified`: `reason`, `escalate_to`, and `gap`
    (a case nobody covered) — or `unknown` facts when the verdict is uncertain.
    """

    norm: str
    kind: str
    turn: int | None
    authority: str
    severity: str
    call: int | None = None
    reason: str | None = None
    gap: bool = False
    escalate_to: str | None = None
    unknown: tuple[str, ...] = ()
    overridden_by: str | None = None
    # An Explanation, or a function that builds it from this verdict: most verdicts of a
    # large run are never explained, so the evaluator defers the work until someone asks.
    _explanation: Explanation | Callable[["Verdict"], Explanation] = _NOT_EXPLAINED
    norm_span: Span | None = None

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return verdict_key(self) == verdict_key(other)

    def __hash__(self) -> int:
        return hash(verdict_key(self))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in zip(_COMPARED, verdict_key(self)))
        return f"Verdict({fields})"

    @property
    def explanation(self) -> Explanation:
        explanation = self._explanation
        if not isinstance(explanation, Explanation):
            explanation = self._explanation = explanation(self)
        return explanation

    def explained(self, explain: str) -> bool:
        """Whether a report made with `--explain explain` (EXPLAIN) explains this verdict."""
        return self.kind in explained_kinds(explain)

    def to_json(self, explain: str = "all") -> dict[str, Any]:
        """The verdict as reports write it; `explanation` is null where `explain` does
        not ask for it."""
        return {
            "norm": self.norm,
            "turn": self.turn,
            "verdict": self.kind,
            "authority": self.authority,
            "severity": self.severity,
            "reason": self.reason,
            "gap": self.gap,
            "escalate_to": self.escalate_to,
            "unknown": list(self.unknown),
            "overridden_by": self.overridden_by,
            "call": self.call,
            "explanation": self.explanation.to_json() if self.explained(explain) else None,
        }


def explained_kinds(explain: str) -> frozenset[str]:
    """The kinds of verdict a report made with `--explain explain` (EXPLAIN) explains."""
    kinds = _EXPLAINED.get(explain)
    if kinds is None:
        raise ValueError(f"explain must be one of {', '.join(EXPLAIN)}, not {explain!r}")
    return kinds


_EXPLAINED = {"all": frozenset(AGGREGATE_ORDER), "violations": frozenset(AGGREGATE_ORDER) - OK_KINDS,
              "none": frozenset()}


def trace_status(verdicts: Iterable[Verdict]) -> str:
    """`violated` if any verdict is; else `conflict`; else `unspecified`; else `pending`;
    else `complied`."""
    kinds = {v.kind for v in verdicts}
    return next((k for k in STATUS_ORDER if k in kinds), "complied")


def aggregate(kinds: Iterable[str]) -> str:
    """One norm's verdicts over a trace summed up: the most severe present, by
    `AGGREGATE_ORDER`; `not_applicable` when there is none."""
    present = set(kinds)
    return next((k for k in AGGREGATE_ORDER if k in present), "not_applicable")


@attrs.define(slots=True, unsafe_hash=True)  # a plain record too (one per trace)
class TraceReport:
    """Every verdict of every norm on one trace, and the trace's status."""

    trace_id: str
    verdicts: tuple[Verdict, ...]
    locator: str | None = None

    @property
    def status(self) -> str:
        return trace_status(self.verdicts)

    def applicable(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.kind != "not_applicable"]

    def for_norm(self, norm: str) -> list[Verdict]:
        return [v for v in self.verdicts if v.norm == norm]

    def to_json(self, include_not_applicable: bool = False, explain: str = "all") -> dict[str, Any]:
        shown = self.verdicts if include_not_applicable else self.applicable()
        data: dict[str, Any] = {"id": self.trace_id, "status": self.status}
        if self.locator:
            data["source"] = self.locator
        data["verdicts"] = [v.to_json(explain) for v in shown]
        return data
