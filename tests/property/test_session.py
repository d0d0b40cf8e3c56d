"""Incremental sessions agree with checking the finished trace."""

from __future__ import annotations

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.check.program import Program
from charter.compile.compiler import compile_program
from charter.evaluate.evaluator import evaluate
from charter.evaluate.session import Session
from charter.traces.model import Trace, merge_patch
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


# Patches of the meta the generated policies read (`age`, `vip`, `order.age`); null removes.
_VALUES = st.sampled_from((10, 45, 100, "x", True, False, None))
_patches = st.dictionaries(st.sampled_from(("age", "vip", "order")),
                           st.one_of(_VALUES, st.fixed_dictionaries({"age": _VALUES})), max_size=2)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases, st.lists(st.tuples(st.integers(0, 6), _patches), max_size=4))
def test_metadata_updates_act_as_a_trace_whose_meta_changed_there(
        case: tuple[Program, Trace], updates: list[tuple[int, dict]]) -> None:
    program, trace = case
    policy = compile_program(program)
    session = Session(policy, trace.meta, trace.id)
    settled, meta, metas = [], trace.meta, [trace.meta]  # metas[i + 1]: in force at message i
    for message in trace.messages:
        for at, patch in updates:
            if at == message.index:
                session.update_meta(patch)
                meta = merge_patch(meta, patch)
        if message.meta_patch:  # a message's own change applies after the session's
            meta = merge_patch(meta, message.meta_patch)
        metas.append(meta)
        settled.extend(verdict_row(v) for v in session.add(message))
    finished = session.trace()
    final = evaluate(policy, finished)
    assert session.finish().verdicts == final.verdicts
    rows = {_key(r): r for r in (verdict_row(v) for v in final.verdicts)}
    assert all(rows[_key(row)] == row for row in settled)
    # Each act's verdict is the one a trace with the meta in force there, throughout, gets,
    # unless an overrider `on conversation` decides it: that reads the whole conversation,
    # its final meta included (docs/semantics-contract.md, the verdict function, 1).
    plain = tuple(attrs.evolve(m, meta_patch=None) for m in finished.messages)
    scope = {norm.name: norm.scope for norm in program.norms}
    by_the_conversation = {norm.name for norm in program.norms
                           if any(scope[o] == "conversation" for o in norm.overriders)}
    for verdict in final.verdicts:
        if verdict.norm in by_the_conversation:
            continue
        at = metas[-1 if verdict.turn is None else verdict.turn + 1]
        static = evaluate(policy, Trace(trace.id, plain, at))
        (same,) = [v for v in static.verdicts if _key(verdict_row(v)) == _key(verdict_row(verdict))]
        assert verdict_row(same) == verdict_row(verdict)
