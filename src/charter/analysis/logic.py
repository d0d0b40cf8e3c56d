"""Just enough propositional reasoning over conditions to prove two of them exclusive.

A condition is read as a conjunction of literals: an atom (any condition the reasoning
does not look inside) with a polarity, or a comparison of a value with a numeric or
string constant. Two conditions are *exclusive* when their conjunctions together contain
an atom and its negation, or bound one value to an empty set (`x <= 30` and `x > 90`;
`x == "a"` and `x == "b"`). The reasoning is sound, not complete: "exclusive" is a proof,
"not exclusive" only means none was found.
"""

from __future__ import annotations

import math

from ..syntax import ast

_FLIP = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def literals(condition: ast.Expr, positive: bool = True) -> list[tuple[ast.Expr, bool]] | None:
    """The conjunction of literals a condition amounts to, or None for a disjunction
    (whose conjuncts cannot be read off)."""
    match condition:
        case ast.And() if positive:
            found = []
            for operand in condition.operands:
                inner = literals(operand, True)
                if inner is None:
                    return None
                found += inner
            return found
        case ast.Or() if not positive:
            found = []
            for operand in condition.operands:
                inner = literals(operand, False)
                if inner is None:
                    return None
                found += inner
            return found
        case ast.Not():
            return literals(condition.operand, not positive)
        case ast.Compare() if not positive:
            return [(ast.Compare(_FLIP[condition.op], condition.left, condition.right), True)]
        case ast.KnownTest(known=False):  # `x is unknown` is `not (x is known)`
            return [(ast.KnownTest(condition.operand, True), not positive)]
        case ast.And() | ast.Or():
            return None
    return [(condition, positive)]


def exclusive(*conditions: ast.Expr | None) -> bool:
    """Whether the conditions can never all hold at once (None stands for true)."""
    found: list[tuple[ast.Expr, bool]] = []
    for condition in conditions:
        if condition is None:
            continue
        inner = literals(condition)
        if inner is None:
            continue  # a disjunction: assume nothing about it
        found += inner
    return _contradictory(found)


def _contradictory(found: list[tuple[ast.Expr, bool]]) -> bool:
    polarity: dict[ast.Expr, bool] = {}
    bounds: dict[ast.Expr, list[tuple[str, object]]] = {}
    for atom, positive in found:
        if isinstance(atom, ast.Literal) and atom.value is (not positive):
            return True  # `false`, or `not true`
        if polarity.get(atom, positive) != positive:
            return True
        polarity[atom] = positive
        comparison = _comparison(atom) if positive else None
        if comparison is not None:
            bounds.setdefault(comparison[0], []).append(comparison[1:])
    return any(_empty(constraints) for constraints in bounds.values())


def _comparison(atom: ast.Expr) -> tuple[ast.Expr, str, object] | None:
    """(value, op, constant) for a comparison of a value with a constant."""
    if not isinstance(atom, ast.Compare):
        return None
    if isinstance(atom.right, ast.Literal) and not isinstance(atom.left, ast.Literal):
        return atom.left, atom.op, atom.right.value
    if isinstance(atom.left, ast.Literal) and not isinstance(atom.right, ast.Literal):
        return atom.right, _MIRROR[atom.op], atom.left.value
    return None


def _empty(constraints: list[tuple[str, object]]) -> bool:
    """Whether no value satisfies all of (op, constant)."""
    equal = {_key(c) for op, c in constraints if op == "=="}
    if len(equal) > 1:
        return True
    unequal = {_key(c) for op, c in constraints if op == "!="}
    if equal & unequal:
        return True
    low, high, low_open, high_open = -math.inf, math.inf, False, False
    for op, constant in constraints:
        if isinstance(constant, bool) or not isinstance(constant, (int, float)):
            continue
        if op in (">", ">=") and (constant > low or (constant == low and op == ">")):
            low, low_open = constant, op == ">"
        if op in ("<", "<=") and (constant < high or (constant == high and op == "<")):
            high, high_open = constant, op == "<"
        if op == "==":
            low, high, low_open, high_open = _tighten(low, high, low_open, high_open, constant)
    return low > high or (low == high and (low_open or high_open))


def _tighten(low, high, low_open, high_open, value):
    if value < low or value > high or (value == low and low_open) or (value == high and high_open):
        return math.inf, -math.inf, False, False
    return value, value, False, False


def _key(value: object) -> tuple[str, object]:
    return (type(value).__name__ if isinstance(value, bool) else "value", value)
