"""The compiled evaluator agrees with the reference evaluator, verdict for verdict."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from charter.check.program import Program
from charter.traces.model import Trace
from oracle.reference import reference_verdicts

from .compiled import compiled_rows
from .strategies import binding_cases, cases, small_enough, window_cases

AGREEMENT = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@AGREEMENT
@given(cases)
def test_compiled_evaluator_agrees_with_the_oracle(case: tuple[Program, Trace]) -> None:
    pytest.importorskip("charter.evaluate.evaluator")
    program, trace = case
    assert compiled_rows(program, trace) == reference_verdicts(program, trace)


@AGREEMENT
@given(binding_cases)
def test_bindings_agree_with_the_oracle(case: tuple[Program, Trace]) -> None:
    """Policies that follow values between messages, on agent traces (issue 22)."""
    program, trace = case
    assert compiled_rows(program, trace) == reference_verdicts(program, trace)


@AGREEMENT
@given(window_cases().filter(small_enough))
def test_compiled_windows_agree_with_the_oracle(case: tuple[Program, Trace]) -> None:
    program, trace = case
    assert compiled_rows(program, trace) == reference_verdicts(program, trace)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_the_oracle_is_deterministic(case: tuple[Program, Trace]) -> None:
    program, trace = case
    assert reference_verdicts(program, trace) == reference_verdicts(program, trace)
