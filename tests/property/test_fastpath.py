"""The generated fast path (fastpath.py) agrees with the general evaluator: at every act
it settles, the same verdict and the same explanation; where it cannot settle, it says
so and the general path decides."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import charter
from charter.check.program import Program
from charter.compile.compiler import compile_program
from charter.evaluate.evaluator import Context, Explainer, TraceView, _general_verdict, evaluate
from charter.traces.model import Message, Trace

from .strategies import cases

AGREEMENT = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _general_only(program: Program, trace: Trace) -> list:
    """Every verdict decided the general way, as `evaluate` orders them."""
    policy = compile_program(program)
    view = TraceView(trace)
    ctx = Context(view)
    return [_general_verdict(norm, ctx, env, view) for norm in policy.norms for env in view.acts(norm.scope)]


def _shown(verdict) -> tuple:
    return verdict, verdict.explanation.to_json()


@AGREEMENT
@given(cases)
def test_the_fast_path_gives_the_general_verdicts_and_explanations(case: tuple[Program, Trace]) -> None:
    program, trace = case
    fast = evaluate(compile_program(program), trace).verdicts
    assert [_shown(v) for v in fast] == [_shown(v) for v in _general_only(program, trace)]


def _by_fast_path(verdict) -> bool:
    """Whether the generated code gave this verdict (the general path records its
    explanation; the fast path leaves it to the trace's explainer)."""
    return isinstance(verdict._explanation, Explainer)


def test_the_fast_path_settles_the_common_case():
    """On the shipped example's traces, most verdicts come from the generated code, and
    of the ones hanging on an unknown fact only those whose trigger compares that one
    fact (`when user.label("self_harm") >= 0.8` on a message without the score)."""
    policy = charter.load("examples/shop_support/shop_support.charter")
    verdicts = [v for trace in _traces("examples/shop_support/traces.jsonl") for v in policy.check(trace).verdicts]
    fast = [v for v in verdicts if _by_fast_path(v)]
    assert len(fast) > 0.9 * len(verdicts), (len(fast), len(verdicts))
    hanging = [v for v in verdicts if v.unknown]
    fast_hanging = {v.norm for v in hanging if _by_fast_path(v)}
    assert fast_hanging == {"crisis_referral"}, fast_hanging
    assert {v.norm for v in hanging} - fast_hanging == {"refund_promises"}  # a case on `order.age_days`


def _traces(path: str) -> list[Trace]:
    from charter.traces.reader import Skipped, read_traces

    return [t for t in read_traces(path) if not isinstance(t, Skipped)]


@settings(max_examples=200, deadline=None)
@given(cases)
def test_turns_indexed_in_one_pass_bind_what_env_at_binds(case: tuple[Program, Trace]) -> None:
    _, trace = case
    view = TraceView(trace)
    unbound = TraceView(trace)  # for a policy that reads no `previous R`
    unbound.index_turns(("user turn", "assistant turn", "tool call"), previous=False)
    for scope in ("user turn", "assistant turn", "tool call"):
        role = "user" if scope == "user turn" else "assistant"
        one_by_one = [env for i in view.by_role[role] for env in TraceView(trace).acts_at(scope, i)]
        assert view.acts(scope) == one_by_one
        assert [(e.turn, e.current, e.call_index) for e in unbound.acts(scope)] == \
            [(e.turn, e.current, e.call_index) for e in one_by_one]


def test_acts_bind_previous_messages_only_for_a_policy_that_reads_them():
    reads = charter.loads("norm n:\n    on user turn\n    forbid previous assistant says \"hi\"\n")
    plain = charter.loads("norm n:\n    on user turn\n    forbid assistant says \"hi\"\n")
    assert reads.compiled.reads_previous and not plain.compiled.reads_previous
    trace = Trace("t", (Message(0, "assistant", "hi"), Message(1, "user", "x"), Message(2, "assistant", "ok"),
                        Message(3, "user", "y")))
    assert [v.kind for v in reads.check(trace).verdicts] == ["complied", "violated"]
