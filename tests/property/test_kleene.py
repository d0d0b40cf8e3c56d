"""Logical laws: equivalent forms of a condition give the same verdicts.

Under a resolution conditions are two-valued, so any Boolean identity gives the same verdict
kind; where both forms also consult atoms in the same order (De Morgan, double negation,
associativity) the `unknown` lists agree too. Inside `is known` the Kleene value is what
counts, so there the Kleene identities must give identical rows. The laws are checked on the
oracle and on the compiled evaluator, and on the oracle's three-valued helpers directly.
"""

from __future__ import annotations

import itertools
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.syntax import ast
from charter.traces.model import Trace
from oracle.build import checked_norm, program
from oracle.reference import UNKNOWN, Row, Truth, k_and, k_not, k_or, reference_verdicts

from .compiled import compiled_rows
from .strategies import traces

Expr = ast.Expr
Law = Callable[[Expr, Expr, Expr], tuple[Expr, Expr]]

USER_A = ast.Label(ast.Subject("user"), "a")
AGE = ast.Meta(ast.Subject("trace", "trace"), "meta", ("age",))
# Conditions that are unknown on many generated traces (and some that never are).
OPERANDS = (
    ast.Compare(">", USER_A, ast.Literal(0.5)),
    ast.Compare("<", AGE, ast.Literal(18)),
    ast.Meta(ast.Subject("trace", "trace"), "meta", ("vip",)),
    ast.Label(ast.Subject("assistant"), "b"),
    ast.In(AGE, ast.ListLiteral((ast.Literal(10), ast.Literal("x")))),
    ast.Quantified("any", "earlier", "user",
                   ast.Compare(">=", ast.Label(ast.Subject("user", "bound"), "a"), ast.Literal(0.6))),
    ast.Says(ast.Subject("assistant"), "one", ast.Literal("yes")),
    ast.Literal(True),
)


def And(*operands: Expr) -> ast.And:
    return ast.And(operands)


def Or(*operands: Expr) -> ast.Or:
    return ast.Or(operands)


Not = ast.Not

# Both forms consult the same atoms in the same order: identical rows.
SAME_ORDER: dict[str, Law] = {
    "double negation": lambda x, y, z: (Not(Not(x)), x),
    "de morgan or": lambda x, y, z: (Not(Or(x, y)), And(Not(x), Not(y))),
    "de morgan and": lambda x, y, z: (Not(And(x, y)), Or(Not(x), Not(y))),
    "and associative": lambda x, y, z: (And(And(x, y), z), And(x, And(y, z))),
    "or associative": lambda x, y, z: (Or(Or(x, y), z), Or(x, y, z)),
}
# Equal under every resolution, but laziness may consult other atoms: same verdict.
SAME_VALUE: dict[str, Law] = {
    "and commutative": lambda x, y, z: (And(x, y), And(y, x)),
    "or commutative": lambda x, y, z: (Or(x, y), Or(y, x)),
    "distributive": lambda x, y, z: (And(x, Or(y, z)), Or(And(x, y), And(x, z))),
    "absorption": lambda x, y, z: (Or(x, And(x, y)), x),
    "idempotent": lambda x, y, z: (And(x, x), x),
}
ALL_LAWS = {**SAME_ORDER, **SAME_VALUE}

LAWS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
operands = st.sampled_from(OPERANDS)


def rows(which: str, behaviour: Expr, trace: Trace) -> list[Row]:
    """The verdicts of `forbid behaviour` (assistant turn) by the named evaluator."""
    prog = program(checked_norm("law", ast.Outcome("forbid", behaviour)), bands={"a": (0.4, 0.8)})
    if which == "compiled":
        return compiled_rows(prog, trace)
    return reference_verdicts(prog, trace)


def decision(row: Row) -> tuple:
    """A row without its `unknown` list."""
    return row[:7] + row[8:]


def skip_if_missing(which: str) -> None:
    if which == "compiled":
        pytest.importorskip("charter.evaluate.evaluator")


@pytest.mark.parametrize("which", ["oracle", "compiled"])
@pytest.mark.parametrize("law", sorted(SAME_ORDER))
@LAWS
@given(x=operands, y=operands, z=operands, trace=traces())
def test_laws_with_the_same_evaluation_order(which: str, law: str, x: Expr, y: Expr, z: Expr,
                                             trace: Trace) -> None:
    skip_if_missing(which)
    left, right = SAME_ORDER[law](x, y, z)
    assert rows(which, left, trace) == rows(which, right, trace)


@pytest.mark.parametrize("which", ["oracle", "compiled"])
@pytest.mark.parametrize("law", sorted(SAME_VALUE))
@LAWS
@given(x=operands, y=operands, z=operands, trace=traces())
def test_boolean_laws_give_the_same_verdict(which: str, law: str, x: Expr, y: Expr, z: Expr,
                                            trace: Trace) -> None:
    skip_if_missing(which)
    left, right = SAME_VALUE[law](x, y, z)
    assert ([decision(r) for r in rows(which, left, trace)]
            == [decision(r) for r in rows(which, right, trace)])


@pytest.mark.parametrize("which", ["oracle", "compiled"])
@pytest.mark.parametrize("law", sorted(ALL_LAWS))
@LAWS
@given(x=operands, y=operands, z=operands, known=st.booleans(), trace=traces())
def test_kleene_laws_under_is_known(which: str, law: str, x: Expr, y: Expr, z: Expr, known: bool,
                                    trace: Trace) -> None:
    skip_if_missing(which)
    left, right = ALL_LAWS[law](x, y, z)
    assert (rows(which, ast.KnownTest(left, known), trace)
            == rows(which, ast.KnownTest(right, known), trace))


KLEENE = (True, False, UNKNOWN)


@pytest.mark.parametrize("x, y, z", list(itertools.product(KLEENE, repeat=3)))
def test_the_oracles_kleene_helpers_obey_the_laws(x: Truth, y: Truth, z: Truth) -> None:
    def and_(*vs: Truth) -> Truth:
        return k_and(vs)

    def or_(*vs: Truth) -> Truth:
        return k_or(vs)

    assert k_not(k_not(x)) is x
    assert k_not(or_(x, y)) is and_(k_not(x), k_not(y))
    assert k_not(and_(x, y)) is or_(k_not(x), k_not(y))
    assert and_(x, y) is and_(y, x) and or_(x, y) is or_(y, x)
    assert and_(and_(x, y), z) is and_(x, and_(y, z)) is and_(x, y, z)
    assert or_(or_(x, y), z) is or_(x, or_(y, z)) is or_(x, y, z)
    assert and_(x, or_(y, z)) is or_(and_(x, y), and_(x, z))
    assert or_(x, and_(y, z)) is and_(or_(x, y), or_(x, z))
    assert or_(x, and_(x, y)) is x and and_(x, or_(x, y)) is x
    assert and_(x, x) is x and or_(x, x) is x
    assert or_(x, k_not(x)) is (UNKNOWN if x is UNKNOWN else True)
