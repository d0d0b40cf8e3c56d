"""Verdicts do not depend on the order of norms, of an outcome's exceptions, or of cases."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.check.program import Program
from charter.traces.model import Trace
from oracle.reference import reference_verdicts

from .compiled import compiled_rows
from .strategies import cases, shuffle_program

ORDER = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
shuffles = st.randoms(use_true_random=False)


@ORDER
@given(cases, shuffles)
def test_the_oracle_ignores_order(case: tuple[Program, Trace], rnd: random.Random) -> None:
    program, trace = case
    assert reference_verdicts(shuffle_program(program, rnd), trace) == reference_verdicts(program, trace)


@ORDER
@given(cases, shuffles)
def test_the_compiled_evaluator_ignores_order(case: tuple[Program, Trace], rnd: random.Random) -> None:
    pytest.importorskip("charter.evaluate.evaluator")
    program, trace = case
    assert compiled_rows(shuffle_program(program, rnd), trace) == compiled_rows(program, trace)
