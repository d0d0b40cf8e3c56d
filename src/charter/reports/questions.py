"""Open questions with identities: a short ID for every `unspecified` verdict's question.

An open question is what `charter gaps` files one item under: a norm, the clause that
left it open, what kind of opening it is (`explicit`, `gap`, `uncertain`) and the
author's reason or the unknown facts. Its ID (`Q` and 7 hex digits) is a hash of exactly
those, read from the policy's syntax tree (spans and layout ignored), so it is the same
on every run and every corpus, survives reformatting and edits elsewhere in the policy,
and changes when the clause itself changes.

    questions = Questions(policy)
    questions.id(verdict)                 # "Q3f9a0c1"
    question_id(verdict, policy)          # the same, with a per-policy index kept for you
"""

from __future__ import annotations

import hashlib
import re
import weakref
from typing import Iterator, Union

import attrs

from ..check.program import CheckedNorm, Program
from ..evaluate.policy import Policy
from ..evaluate.verdicts import Verdict
from ..syntax import ast

_INDEX = re.compile(r"\[\d+\]")

# A node that holds an open outcome: the norm's own outcome, an `unless`, or a `case` /
# `otherwise` line. Its syntax (condition included) is the question's clause.
Holder = Union[ast.Outcome, ast.Unless, ast.Case]


def fact_pattern(fact: str) -> str:
    """A fact name with message and call indices normalised:
    `messages[3].labels.self_harm` -> `messages[*].labels.self_harm`."""
    return _INDEX.sub("[*]", fact)


def reason_kind(verdict: Verdict) -> str:
    """`gap`, `uncertain` (depends on unknown facts) or `explicit`, for an unspecified verdict."""
    if verdict.gap:
        return "gap"
    if verdict.reason == "uncertain" and verdict.escalate_to is None and verdict.unknown:
        return "uncertain"
    return "explicit"


def open_holders(body: ast.Body) -> Iterator[tuple[Holder, ast.Outcome]]:
    """Every clause of a norm body whose outcome is `unspecified`, with that outcome, in
    source order."""
    def outcome(holder: Holder, node: ast.Outcome) -> Iterator[tuple[Holder, ast.Outcome]]:
        if node.modality == "unspecified":
            yield holder, node
        for exception in node.exceptions:
            yield from outcome(exception, exception.outcome)

    if isinstance(body, ast.Outcome):
        yield from outcome(body, body)
        return
    for case in (*body.cases, *((body.otherwise,) if body.otherwise else ())):
        yield from outcome(case, case.outcome)


def clause_key(holder: Holder) -> str:
    """The clause as the syntax tree has it (layout, comments and places left out; the
    exceptions under its outcome are questions of their own)."""
    if isinstance(holder, ast.Outcome):
        return repr(attrs.evolve(holder, exceptions=()))
    return repr((holder.condition, attrs.evolve(holder.outcome, exceptions=())))


def make_id(*parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return "Q" + digest[:7]


class Questions:
    """The question IDs of one policy. Built once; `id` is a dictionary look-up for every
    verdict but the rare explicit one whose reason two clauses of a norm share."""

    def __init__(self, policy: Policy | Program):
        program = policy.program if isinstance(policy, Policy) else policy
        self.norms: dict[str, CheckedNorm] = {n.name: n for n in program.norms}
        self._cache: dict[tuple, str] = {}

    def id(self, verdict: Verdict) -> str:
        """The ID of the question an `unspecified` verdict raises."""
        kind = reason_kind(verdict)
        key = (verdict.norm, kind, verdict.reason, verdict.escalate_to,
               tuple(sorted({fact_pattern(f) for f in verdict.unknown})) if kind == "uncertain" else ())
        found = self._cache.get(key)
        if found is None:
            found, unique = self._compute(verdict, kind, key[4])
            if not unique:
                return found  # which clause depends on the verdict: not cached
            self._cache[key] = found
        return found

    def _compute(self, verdict: Verdict, kind: str, facts: tuple[str, ...]) -> tuple[str, bool]:
        norm = self.norms.get(verdict.norm)
        charter = norm.charter if norm else ""
        name = norm.source.name if norm else verdict.norm
        if kind == "gap":
            return make_id(charter, name, kind), True
        if kind == "uncertain":
            return make_id(charter, name, kind, *facts), True
        holder, unique = self.holder(verdict)
        clause = clause_key(holder) if holder is not None else ""
        return make_id(charter, name, kind, clause, verdict.reason or "", verdict.escalate_to or ""), unique

    def holder(self, verdict: Verdict) -> tuple[Holder | None, bool]:
        """The clause an explicit `unspecified` verdict came from, and whether the norm has
        only that one clause with its reason and target (else the verdict's explanation
        says which)."""
        norm = self.norms.get(verdict.norm)
        if norm is None:
            return None, True
        candidates = [(h, o) for h, o in open_holders(norm.source.body)
                      if o.reason == verdict.reason and o.escalate_to == verdict.escalate_to]
        if len(candidates) <= 1:
            return (candidates[0][0] if candidates else None), True
        lines = {s.span.line for s in verdict.explanation.steps if s.value == "unspecified"}
        chosen = next((h for h, o in candidates if o.span.line in lines), candidates[0][0])
        return chosen, False

    def clause_id(self, norm: CheckedNorm, holder: Holder, outcome: ast.Outcome) -> str:
        """The ID of the explicit question a clause asks, read from the policy alone (the
        same as `id` gives its verdicts)."""
        return make_id(norm.charter, norm.source.name, "explicit", clause_key(holder),
                       outcome.reason or "", outcome.escalate_to or "")

    def declared(self) -> dict[str, tuple[CheckedNorm, Holder, ast.Outcome]]:
        """Every explicit question the policy's text asks, by ID (gaps and uncertain
        questions exist only where a trace raises them)."""
        return {self.clause_id(norm, holder, outcome): (norm, holder, outcome)
                for norm in self.norms.values() for holder, outcome in open_holders(norm.source.body)}


_INDEXES: "weakref.WeakKeyDictionary[object, Questions]" = weakref.WeakKeyDictionary()


def question_id(verdict: Verdict, policy: Policy | Program) -> str:
    """The ID of the question an `unspecified` verdict raises, under `policy` (the index
    of the policy's clauses is built on first use and kept while the policy lives)."""
    index = _INDEXES.get(policy)
    if index is None:
        index = _INDEXES[policy] = Questions(policy)
    return index.id(verdict)
