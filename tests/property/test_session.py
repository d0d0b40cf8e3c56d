"""Incremental sessions agree with checking the finished trace."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from charter.check.program import Program
from charter.compile.compiler import compile_program
from charter.evaluate.evaluator import evaluate
from charter.evaluate.session import Session
from charter.traces.model import Trace
from oracle.reference import verdict_row

from .strategies import cases


def _key(row) -> tuple:
    return row[:3]  # norm, turn, call


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_settled_verdicts_are_final_and_nothing_is_lost(case: tuple[Program, Trace]) -> None:
    program, trace = case
    policy = compile_program(program)
    session = Session(policy, trace.meta, trace.id)
    settled = []
    for message in trace.messages:
        settled.extend(verdict_row(v) for v in session.add(message))
    final = {_key(r): r for r in (verdict_row(v) for v in evaluate(policy, trace).verdicts)}
    # Every settled verdict is the one the finished trace gets, and none is settled twice.
    assert len({_key(r) for r in settled}) == len(settled)
    for row in settled:
        assert final[_key(row)] == row
    # What was never settled is exactly: whole-trace norms, and obligations still open.
    whole_trace = {n.name for n in policy.norms if n.whole_trace}
    open_keys = {_key(verdict_row(v)) for v in session.pending()}
    unsettled = set(final) - {_key(r) for r in settled}
    assert {k for k in unsettled if k[0] not in whole_trace} <= open_keys | {
        k for k in unsettled if final[k][3] == "unspecified"}
    assert session.finish().verdicts == evaluate(policy, trace).verdicts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases)
def test_a_candidate_reply_leaves_the_session_as_it_was(case: tuple[Program, Trace]) -> None:
    program, trace = case
    policy = compile_program(program)
    session = Session(policy, trace.meta, trace.id)
    for message in trace.messages:
        before = [verdict_row(v) for v in session.pending()]
        session.check_candidate("a candidate reply lol 988")
        assert [verdict_row(v) for v in session.pending()] == before
        session.add(message)
    assert session.finish().verdicts == evaluate(policy, trace).verdicts
