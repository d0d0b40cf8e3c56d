"""Exhaustive analysis (`charter test --prove`): each norm's decision under every
combination of its atomic conditions.

A condition is cut into *atoms*, its largest parts that are not `and`, `or` or `not`.
A comparison of a fact (a label, a metadata path, a count, a call's name...) with
constants is read through the fact's *regions*: one value below, at, between and above
each numeric constant, each string constant and one other string, and missing where the
policy asks `is known`. So `x <= 30` and `x > 90` are never both true, and a label is
never both `>= 0.8` and `< 0.4`. Every other atom (what a message says or matches, a
quantifier over earlier messages, a comparison of two facts) is a free boolean.

The abstraction over-approximates the traces: every trace's act is one of the
combinations, and an unknown fact only settles a verdict its completions all give, so
what no combination reaches no trace reaches: that is a proof. A combination that does
reach a conflict, a gap or a clause may not be realisable (two free atoms can be
related), so it is only reported once a concrete trace has been found and confirmed by
the evaluator.
"""

from __future__ import annotations

import itertools
import math
from typing import Iterator

import attrs

from ..syntax import ast
from ..check.program import CheckedNorm, Program
from ..source.text import Span

# The most combinations enumerated for one norm; above it, the norm is out of range.
MAX_COMBINATIONS = 1 << 16

MISSING = object()  # a region: the fact is not in the trace
OTHER = "\x00other"  # a string no policy compares with
_ORDER = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
_FACTS = (ast.Label, ast.Meta, ast.Property, ast.Count)


@attrs.frozen
class Atom:
    """An atomic condition, keyed by the scope it is evaluated in (an overrider of
    another scope reads other messages)."""

    scope: str
    expr: ast.Expr

    def text(self, program: Program) -> str:
        return _excerpt(program, self.expr.span)


def describe(program: Program, combination: tuple[tuple[Atom, bool], ...]) -> str:
    """A combination in the policy's words: `a`, not `b`."""
    return ", ".join(f"`{atom.text(program)}`" if value else f"not `{atom.text(program)}`"
                     for atom, value in combination)


@attrs.frozen
class NormAnalysis:
    """What the combinations of one norm's atoms can reach, with a combination (each atom
    and its truth) that gives a conflict and one that gives a gap. `combinations` is None
    when there are too many to enumerate."""

    norm: str
    atoms: int
    combinations: int | None
    conflict: tuple[tuple[Atom, bool], ...] | None = None
    gap: tuple[tuple[Atom, bool], ...] | None = None
    applicable: bool = False
    reached: frozenset[Span] = frozenset()
    overrides: frozenset[str] = frozenset()  # overriders that can take effect
    solved: bool = False  # too many to enumerate, conflict and gap decided by the solver


def analyse(program: Program) -> dict[str, NormAnalysis]:
    """Every norm's reachable conflicts, gaps, clauses and overrides."""
    return {norm.name: _analyse_norm(program, norm) for norm in program.norms}


# --------------------------------------------------------------------------- atoms


def _atoms_of(expr: ast.Expr | None, scope: str, found: dict[Atom, None]) -> None:
    match expr:
        case None | ast.Literal():
            return
        case ast.And() | ast.Or():
            for operand in expr.operands:
                _atoms_of(operand, scope, found)
        case ast.Not():
            _atoms_of(expr.operand, scope, found)
        case _:
            found[Atom(scope, expr)] = None


def _conditions(norm: CheckedNorm) -> Iterator[ast.Expr]:
    """The trigger and every case and exception condition."""
    if norm.trigger is not None:
        yield norm.trigger
    if isinstance(norm.body, ast.Cases):
        outcomes = [c.outcome for c in norm.body.cases] + ([norm.body.otherwise.outcome] if norm.body.otherwise else [])
        yield from (c.condition for c in norm.body.cases)
    else:
        outcomes = [norm.body]
    while outcomes:
        outcome = outcomes.pop()
        for unless in outcome.exceptions:
            yield unless.condition
            outcomes.append(unless.outcome)


def fact_of(expr: ast.Expr) -> tuple[ast.Expr, tuple] | None:
    """(the fact, the constants it is compared with) for a comparison of a fact with
    constants, `fact in [...]` and `fact is known`."""
    if isinstance(expr, ast.Compare):
        for fact, other in ((expr.left, expr.right), (expr.right, expr.left)):
            if isinstance(fact, _FACTS) and isinstance(other, ast.Literal):
                return fact, (other.value,)
    if isinstance(expr, ast.In) and isinstance(expr.value, _FACTS) and isinstance(expr.items, ast.ListLiteral) \
            and all(isinstance(i, ast.Literal) for i in expr.items.items):
        return expr.value, tuple(i.value for i in expr.items.items)
    if isinstance(expr, ast.KnownTest) and isinstance(expr.operand, _FACTS):
        return expr.operand, ()
    return None


def representatives(constants: set, missing: bool) -> list:
    """One value per region of the constants' order (and of their equality)."""
    numbers = sorted({c for c in constants if ast.is_number(c)})
    values: list = []
    if numbers:
        values.append(numbers[0] - 1)
        for low, high in zip(numbers, numbers[1:] + [math.inf]):
            values += [low, low + 1 if high == math.inf else (low + high) / 2]
    if any(isinstance(c, bool) for c in constants):
        values += [True, False]
    values += sorted({c for c in constants if isinstance(c, str)})
    values += [c for c in constants if not isinstance(c, (str, int, float))]  # null (bools are ints)
    if not numbers:
        values.append(OTHER)  # a value equal to no constant (the numbers have theirs)
    return values + ([MISSING] if missing else [])


def region_truth(expr: ast.Expr, value: object) -> bool | None:
    """A comparison's truth when its fact has `value`; None where the evaluator would find
    it unknown (a missing fact, an order between a non-number and a number)."""
    if isinstance(expr, ast.KnownTest):
        return (value is not MISSING) == expr.known
    if value is MISSING:
        return None
    if isinstance(expr, ast.In):
        inside = any(same_value(value, i.value) for i in expr.items.items)
        return inside != expr.negated
    constant = expr.right.value if isinstance(expr.right, ast.Literal) else expr.left.value
    left, right = (value, constant) if isinstance(expr.right, ast.Literal) else (constant, value)
    if expr.op in _ORDER:
        return _ORDER[expr.op](left, right) if ast.is_number(left) and ast.is_number(right) else None
    return same_value(left, right) == (expr.op == "==")


def same_value(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b or (ast.is_number(a) and ast.is_number(b) and a == b)


# --------------------------------------------------------------------------- combinations


def _combinations(atoms: list[Atom]) -> tuple[int, Iterator[dict[Atom, bool]]]:
    """How many combinations there are, and each as atom -> truth (the regions of every
    fact, and each free or unknown atom both ways), without repeats."""
    facts: dict[tuple[str, ast.Expr], list[Atom]] = {}
    constants: dict[tuple[str, ast.Expr], set] = {}
    free: list[Atom] = []
    for atom in atoms:
        found = fact_of(atom.expr)
        if found is None:
            free.append(atom)
            continue
        key = (atom.scope, found[0])
        facts.setdefault(key, []).append(atom)
        constants.setdefault(key, set()).update(found[1])
    regions = {key: representatives(constants[key], any(isinstance(a.expr, ast.KnownTest) for a in group))
               for key, group in facts.items()}
    count = math.prod(len(r) for r in regions.values()) * (1 << len(free))

    def each() -> Iterator[dict[Atom, bool]]:
        seen: set[tuple] = set()
        keys = list(facts)
        for choice in itertools.product(*(regions[k] for k in keys)):
            partial: dict[Atom, bool | None] = {}
            for key, value in zip(keys, choice):
                partial.update((a, region_truth(a.expr, value)) for a in facts[key])
            open_atoms = free + [a for a, v in partial.items() if v is None]
            for values in itertools.product((False, True), repeat=len(open_atoms)):
                truth = {**partial, **dict(zip(open_atoms, values))}
                signature = tuple(truth[a] for a in atoms)
                if signature not in seen:
                    seen.add(signature)
                    yield truth
    return count, each()


def _holds(expr: ast.Expr | None, scope: str, truth: dict[Atom, bool]) -> bool:
    match expr:
        case None:
            return True
        case ast.Literal():
            return bool(expr.value)
        case ast.And():
            return all(_holds(o, scope, truth) for o in expr.operands)
        case ast.Or():
            return any(_holds(o, scope, truth) for o in expr.operands)
        case ast.Not():
            return not _holds(expr.operand, scope, truth)
    return truth[Atom(scope, expr)]


# --------------------------------------------------------------------------- one norm


_CONFLICT = object()


def atoms_of_norm(program: Program, norm: CheckedNorm) -> list[Atom]:
    """The atoms of the norm's conditions and of its overriders' triggers."""
    found: dict[Atom, None] = {}
    for overrider in norm.overriders:
        _atoms_of(program.norm(overrider).trigger, scope_of(program.norm(overrider), norm), found)
    for condition in _conditions(norm):
        _atoms_of(condition, norm.scope, found)
    return list(found)


def _analyse_norm(program: Program, norm: CheckedNorm) -> NormAnalysis:
    overriders = [program.norm(name) for name in norm.overriders]
    atoms = atoms_of_norm(program, norm)
    count, combinations = _combinations(atoms)
    if count > MAX_COMBINATIONS:
        return NormAnalysis(norm.name, len(atoms), None)
    conflict = gap = None
    applicable = False
    reached: set[Span] = set()
    overrides: set[str] = set()
    for truth in combinations:
        overridden = next((o for o in overriders if _holds(o.trigger, scope_of(o, norm), truth)), None)
        triggered = _holds(norm.trigger, norm.scope, truth)
        applicable = applicable or triggered or overridden is not None
        if overridden is not None:
            if triggered:
                overrides.add(overridden.name)
            continue
        if not triggered:
            continue
        standing = _standing_body(norm, truth, reached)
        witness = tuple((a, truth[a]) for a in atoms)
        if standing is _CONFLICT and conflict is None:
            conflict = witness
        if standing is None and gap is None:
            gap = witness
    return NormAnalysis(norm.name, len(atoms), count, conflict, gap, applicable, frozenset(reached),
                        frozenset(overrides))


def scope_of(overrider: CheckedNorm, norm: CheckedNorm) -> str:
    """An overrider is evaluated at the overridden norm's act, except a conversation-scope
    one, which reads the whole conversation: its atoms are its own."""
    return "conversation" if overrider.scope == "conversation" else norm.scope


def _standing_body(norm: CheckedNorm, truth: dict[Atom, bool], reached: set[Span]):
    """The standing outcome's key, _CONFLICT, or None for a gap; records the clauses
    whose condition held (and `otherwise` where reached)."""
    if isinstance(norm.body, ast.Outcome):
        return _standing(norm.body, norm.scope, truth, reached)
    applicable = [case for case in norm.body.cases if _holds(case.condition, norm.scope, truth)]
    reached.update(case.span for case in applicable)
    if not applicable:
        if norm.body.otherwise is None:
            return None
        reached.add(norm.body.otherwise.outcome.span)
        return _standing(norm.body.otherwise.outcome, norm.scope, truth, reached)
    return _agree([_standing(case.outcome, norm.scope, truth, reached) for case in applicable])


def _standing(outcome: ast.Outcome, scope: str, truth: dict[Atom, bool], reached: set[Span]):
    applicable = [u for u in outcome.exceptions if _holds(u.condition, scope, truth)]
    reached.update(u.span for u in applicable)
    if not applicable:
        return attrs.evolve(outcome, exceptions=())
    return _agree([_standing(u.outcome, scope, truth, reached) for u in applicable])


def _agree(results: list):
    if _CONFLICT in results:
        return _CONFLICT
    return results[0] if all(r == results[0] for r in results[1:]) else _CONFLICT


def _excerpt(program: Program, span: Span) -> str:
    source = next((s for s in program.sources if s.name == span.source), None)
    if source is None:
        return "?"
    line = source.line(span.line)
    end = span.end_column if span.end_line == span.line else len(line)
    return line[span.column - 1:end].strip() or line.strip()
