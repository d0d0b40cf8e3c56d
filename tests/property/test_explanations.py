"""Explanations made from the check's own caches (one Context per trace, the quantifiers'
scans) are the explanations of the general way: the same whatever was explained before,
in whatever order, and an `any` quantifier's recorded witness is the first message that
holds, as the reference matcher finds it."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import charter
from charter.check.program import Program
from charter.compile.compiler import compile_program
from charter.evaluate.evaluator import Explainer, TraceView, evaluate
from charter.traces.model import Message, Trace

from oracle.reference import says
from .strategies import cases

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _alone(policy, trace: Trace, verdict) -> dict:
    """The verdict explained on its own: a fresh view and context, nothing read before
    (asked before the verdict's own explanation is read, which replaces its explainer)."""
    if not isinstance(verdict._explanation, Explainer):  # recorded while decided (general path)
        return verdict.explanation.to_json()
    return Explainer(TraceView(trace), policy.by_name)(verdict).to_json()


@SETTINGS
@given(cases, st.randoms(use_true_random=False))
def test_explanations_from_the_checks_caches_equal_each_made_alone(case: tuple[Program, Trace],
                                                                    rnd: random.Random) -> None:
    program, trace = case
    policy = compile_program(program)
    in_order = evaluate(policy, trace).verdicts
    alone = [_alone(policy, trace, v) for v in in_order]
    assert [v.explanation.to_json() for v in in_order] == alone
    again = evaluate(policy, trace).verdicts
    order = list(range(len(again)))
    rnd.shuffle(order)
    shuffled = {i: again[i].explanation.to_json() for i in order}
    assert [shuffled[i] for i in range(len(again))] == alone


WORDS = ("refund", "card", "hello", "thanks", "Refund", "cárd", "x")
PHRASES = ("refund", "card number", "thanks")
PHRASE_LIST = "[" + ", ".join(f'"{p}"' for p in PHRASES) + "]"
POLICY = charter.loads(f"""norm n:
    on assistant turn
    forbid assistant says "x"
        unless any earlier user says any of {PHRASE_LIST}: permit

norm every_earlier:
    on assistant turn
    when every earlier user says any of {PHRASE_LIST}
    require assistant says "thanks"

norm counted:
    on assistant turn
    forbid count(any earlier user says "card number") >= 2 and assistant says "card"
""")


@st.composite
def conversations(draw: st.DrawFn) -> Trace:
    size = draw(st.integers(1, 40))
    messages = []
    for i in range(size):
        role = draw(st.sampled_from(("user", "assistant")))
        text = " ".join(draw(st.lists(st.sampled_from(WORDS + ("card number",)), max_size=6)))
        messages.append(Message(i, role, text))
    return Trace("t", tuple(messages))


@settings(max_examples=300, deadline=None)
@given(conversations())
def test_an_any_quantifier_records_its_first_witness(trace: Trace) -> None:
    verdicts = POLICY.check(trace).verdicts
    alone = [_alone(POLICY.compiled, trace, v) for v in verdicts]  # (before reading them: then they are made)
    assert [v.explanation.to_json() for v in verdicts] == alone
    for verdict in verdicts:
        if verdict.norm != "n" or not says(trace.messages[verdict.turn].content, "x"):
            continue  # (the exception is not read)
        earlier = [m for m in trace.messages[:verdict.turn] if m.role == "user"]
        witness = next((m for m in earlier if any(says(m.content, p) for p in PHRASES)), None)
        turns = {m.turn for m in verdict.explanation.matches} - {verdict.turn}
        assert turns == (set() if witness is None else {witness.index})
        assert verdict.kind == ("violated" if witness is None else "complied")
