"""The incremental session API, as a guardrail uses it."""

from __future__ import annotations

from pathlib import Path

import pytest

import charter

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "acme_support.charter"


@pytest.fixture
def policy() -> charter.Policy:
    return charter.load(str(EXAMPLE))


def kinds(verdicts) -> dict[str, str]:
    return {v.norm: v.kind for v in verdicts}


def test_a_user_message_opens_an_obligation_and_the_reply_settles_it(policy):
    session = policy.session()
    assert session.add({"role": "user", "content": "I can't go on", "labels": {"self_harm": 0.95}}) == []
    assert [(v.norm, v.turn, v.kind) for v in session.pending()] == [("crisis_referral", 0, "pending")]
    settled = session.add({"role": "assistant", "content": "Please call 988 now, you are not alone."})
    assert kinds(settled)["crisis_referral"] == "complied"
    assert session.pending() == []


def test_a_candidate_reply_is_judged_without_being_kept(policy):
    session = policy.session(meta={"order": {"age_days": 120}})
    session.add({"role": "user", "content": "I want a refund"})
    bad = session.check_candidate("Sure, we will refund you, lol")
    assert not bad.allowed
    assert sorted(v.norm for v in bad.blocking) == ["formal_tone", "refund_promises"]
    good = session.check_candidate("Orders older than 90 days are outside our return window, I am sorry.")
    assert good.allowed
    assert len(session.messages) == 1


def test_settled_verdicts_equal_the_finished_trace(policy):
    messages = [
        {"role": "user", "content": "You can be casual. I want my money back", "labels": {"self_harm": 0.1}},
        {"role": "assistant", "content": "Gonna check, your refund is approved"},
        {"role": "user", "content": "thanks", "labels": {"self_harm": 0.0}},
        {"role": "assistant", "content": "Write to ann@example.org"},
    ]
    session = policy.session(meta={"order": {"age_days": 10}}, id="t")
    settled = [v for m in messages for v in session.add(m)]
    final = policy.check({"id": "t", "meta": {"order": {"age_days": 10}}, "messages": messages})
    by_act = {(v.norm, v.turn, v.call): v for v in final.verdicts}
    assert settled and all(by_act[(v.norm, v.turn, v.call)] == v for v in settled)
    assert session.finish().status == final.status == "violated"


def test_a_window_that_closes_without_the_obligation_is_violated(policy):
    session = policy.session()
    session.add({"role": "user", "content": "help", "labels": {"self_harm": 0.9}})
    settled = session.add({"role": "assistant", "content": "What is your order number?"})
    assert kinds(settled)["crisis_referral"] == "violated"


def test_a_malformed_message_is_a_value_error(policy):
    with pytest.raises(ValueError, match="role"):
        policy.session().add({"role": "bot", "content": "hi"})


def test_a_candidate_verdict_explains_itself_after_the_reply_is_withdrawn():
    policy = charter.load("examples/acme_support.charter")
    session = policy.session()
    session.add({"role": "user", "content": "Who handles billing?"})
    (blocking,) = [v for v in session.check_candidate("Mail billing@acme.com").verdicts if v.kind == "violated"]
    assert blocking.norm == "no_email_leak"
    assert any(step.clause == "outcome" for step in blocking.explanation.steps)
    assert len(session.finish().verdicts) == len(policy.check({"messages": [
        {"role": "user", "content": "Who handles billing?"}]}).verdicts)


def test_previous_binds_the_message_before_the_latest_one_when_the_session_starts_with_a_reply():
    # The view's role index is built lazily; a session whose first read comes after a
    # message was added must not count that message twice (then `previous assistant`
    # was the assistant message itself).
    policy = charter.loads(
        "charter gen by platform\n\n"
        "norm after_delete:\n"
        "    on user turn\n"
        '    when previous assistant calls "delete"\n'
        '    forbid assistant says "refund"\n'
    )
    messages = [
        {"role": "assistant", "content": "", "tool_calls": [{"name": "delete", "arguments": {"path": "x"}}]},
        {"role": "user", "content": "what now?"},
    ]
    session = policy.session()
    settled = [v for m in messages for v in session.add(m)]
    assert [(v.norm, v.turn, v.kind) for v in settled] == [("after_delete", 1, "not_applicable")]
    assert session.finish().verdicts == policy.check({"id": "session", "messages": messages}).verdicts
