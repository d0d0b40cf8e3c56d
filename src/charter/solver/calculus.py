"""Which outcome of a norm stands, as formulas: Catala's default calculus.

A branch (a case, an exception) applies where its condition holds; where several apply,
they must decide alike, or none stands (a conflict); a `Cases` body where none applies
falls to its `otherwise`, or none stands (a gap). `cond` turns a condition into a
formula, so the same calculus serves a bounded trace (contradictions) and one act's
atoms (`norms.py`).
"""

from __future__ import annotations

from typing import Callable

import attrs
import z3

from ..syntax import ast

Cond = Callable[[ast.Expr], z3.BoolRef]


def decide_body(body: ast.Body, cond: Cond) -> dict:
    """decision -> (the outcome, the formula saying it stands)."""
    if isinstance(body, ast.Outcome):
        return _decide(body, cond)
    fallback = _decide(body.otherwise.outcome, cond) if body.otherwise else {}
    return _agree([(cond(c.condition), _decide(c.outcome, cond)) for c in body.cases], fallback)


def gap(body: ast.Body, cond: Cond) -> z3.BoolRef:
    """No case applies and there is no `otherwise`."""
    if isinstance(body, ast.Outcome) or body.otherwise is not None:
        return z3.BoolVal(False)
    return z3.And([z3.Not(cond(c.condition)) for c in body.cases] + [True])


def _decide(outcome: ast.Outcome, cond: Cond) -> dict:
    own = {attrs.evolve(outcome, exceptions=()): (outcome, z3.BoolVal(True))}
    return _agree([(cond(u.condition), _decide(u.outcome, cond)) for u in outcome.exceptions], own)


def _agree(branches: list[tuple[z3.BoolRef, dict]], fallback: dict) -> dict:
    none = z3.And([z3.Not(c) for c, _ in branches] + [True])
    keys = dict.fromkeys([k for _, d in branches for k in d] + list(fallback))
    result = {}
    for key in keys:
        leaf = fallback[key][0] if key in fallback else next(d[key][0] for _, d in branches if key in d)
        alone = z3.And(none, fallback[key][1]) if key in fallback else z3.BoolVal(False)
        every = z3.And([z3.Not(none)] + [z3.Implies(c, d[key][1] if key in d else z3.BoolVal(False))
                                         for c, d in branches])
        result[key] = (leaf, z3.Or(alone, every) if branches else alone)
    return result


def connective(expr: ast.Expr | None, recurse: Callable[[ast.Expr], z3.BoolRef]) -> z3.BoolRef | None:
    """A condition's formula when it is a constant, `and`, `or` or `not` (None for an atom)."""
    match expr:
        case None:
            return z3.BoolVal(True)
        case ast.Literal():
            return z3.BoolVal(bool(expr.value))
        case ast.And():
            return z3.And([recurse(o) for o in expr.operands])
        case ast.Or():
            return z3.Or([recurse(o) for o in expr.operands])
        case ast.Not():
            return z3.Not(recurse(expr.operand))
    return None
