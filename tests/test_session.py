"""The incremental session API, as a guardrail uses it."""

from __future__ import annotations

import re
import statistics
import tracemalloc
from pathlib import Path

import pytest

import charter
from charter.traces import native

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "acme_support.charter"
BANKING = Path(__file__).resolve().parents[1] / "examples" / "banking" / "banking.charter"
BALANCE = "Your balance is $5,000."


def transfer(amount: int) -> dict:
    return {"role": "assistant", "content": "", "tool_calls": [{"name": "transfer_funds",
                                                                 "arguments": {"amount": amount}}]}


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
    session.add({"role": "user", "content": "I want a refund", "labels": {"self_harm": 0.0}})
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
    reply = {"role": "assistant", "content": "Billing is handled by our billing team."}
    session.add(reply)  # in the withdrawn reply's place
    assert blocking.norm == "no_email_leak"
    assert any(step.clause == "outcome" for step in blocking.explanation.steps)
    assert [m.text for m in blocking.explanation.matches] == ["billing@acme.com"]
    assert session.finish().verdicts == policy.check({"messages": [
        {"role": "user", "content": "Who handles billing?"}, reply]}).verdicts


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


# --------------------------------------------------------------------------- open questions


@pytest.fixture(scope="module")
def banking() -> charter.Policy:
    return charter.load(str(BANKING))


def test_a_fraud_score_inside_the_band_escalates_the_transfer(banking):
    # The first example: answered `allow` before.
    session = banking.session(messages=[{"role": "user", "content": "Send 900 to my new account",
                                         "labels": {"fraud_risk": 0.55}}])
    check = session.check_candidate(transfer(900))
    assert (check.decision, check.allowed) == ("escalate", False)
    assert (check.norms, check.targets, check.open_facts) == (("fraud_hold",), ("platform",),
                                                              ("messages[0].labels.fraud_risk",))


def test_a_balance_for_a_user_of_unknown_verification_escalates(banking):
    # The second example.
    session = banking.session(messages=[{"role": "user", "content": "What is my balance?"}])
    check = session.check_candidate(BALANCE)
    assert (check.decision, check.norms, check.targets, check.open_facts) == (
        "escalate", ("balance_only_when_verified",), ("compliance",), ("trace.meta.user.verified",))


def test_an_explicit_open_question_escalates_to_its_named_target(banking):
    session = banking.session(messages=[{"role": "user", "content": "Move 20000", "labels": {"fraud_risk": 0.1}}])
    check = session.check_candidate(transfer(20_000))
    assert (check.decision, check.norms, check.targets, check.open_facts) == (
        "escalate", ("large_transfers",), ("compliance",), ())  # the norm is the developer's


def test_what_happens_to_an_open_question_is_set_by_severity(banking):
    history = [{"role": "user", "content": "Send 900; what is my balance?", "labels": {"fraud_risk": 0.55}}]
    rules = charter.OnUnspecified.parse("high=allow, critical=block")
    session = banking.session(messages=history, on_unspecified=rules)
    assert session.check_candidate(transfer(900)).decision == "block"
    assert session.check_candidate(BALANCE).decision == "allow"
    assert banking.session(messages=history).check_candidate(BALANCE).decision == "escalate"  # the default


def test_the_default_never_allows_an_open_question_at_any_severity():
    assert {charter.OnUnspecified().action(s) for s in ("low", "medium", "high", "critical")} == {"escalate"}
    assert str(charter.OnUnspecified.parse("low=allow")) == "low=allow,medium=escalate,high=escalate,critical=escalate"


@pytest.mark.parametrize("text, message", [
    ("low=maybe", "'maybe' is not an action for an open question; use allow, escalate, block"),
    ("urgent=block", "'urgent=block' is not SEVERITY=ACTION with a severity of low, medium, high, critical"),
    ("low", "'low' is not SEVERITY=ACTION"),
])
def test_a_wrong_setting_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        charter.OnUnspecified.parse(text)


def test_a_candidate_with_no_open_question_is_decided_as_before(banking):
    session = banking.session(meta={"user": {"verified": True}},
                              messages=[{"role": "user", "content": "Balance, and send 900",
                                         "labels": {"fraud_risk": 0.9}}])
    assert session.check_candidate(BALANCE).decision == "allow"
    blocked = session.check_candidate(transfer(900))
    assert (blocked.decision, blocked.norms, blocked.targets) == ("block", ("fraud_hold",), ())


# --------------------------------------------------------------------------- metadata, history, finish


def test_a_metadata_update_takes_effect_from_the_next_message(banking):
    session = banking.session(id="s")
    session.add({"role": "user", "content": "What is my balance?"})
    assert session.check_candidate(BALANCE).decision == "escalate"
    assert session.update_meta({"user": {"verified": True, "how": "otp"}}) == \
        {"user": {"verified": True, "how": "otp"}}
    assert session.check_candidate(BALANCE).decision == "allow"
    (settled,) = session.add({"role": "assistant", "content": BALANCE})
    assert (settled.norm, settled.kind) == ("balance_only_when_verified", "complied")
    session.add({"role": "user", "content": "And now?"})
    assert session.update_meta({"user": {"verified": None}}) == {"user": {"how": "otp"}}  # null removes
    (settled,) = session.add({"role": "assistant", "content": BALANCE})
    assert settled.kind == "unspecified"
    trace = session.trace()
    assert [m.meta_patch for m in trace.messages] == [None, {"user": {"verified": True, "how": "otp"}}, None,
                                                      {"user": {"verified": None}}]
    report = session.finish()
    assert report == banking.check(trace) == banking.check(native.to_json(trace))
    assert [v.kind for v in report.for_norm("balance_only_when_verified")] == ["complied", "unspecified"]


def test_two_updates_before_a_message_both_hold(banking):
    session = banking.session(meta={"user": {"verified": False, "tier": {"a": 1}}})
    session.update_meta({"user": {"tier": None}})
    session.update_meta({"user": {"tier": {"b": 2}, "verified": True}})
    session.add({"role": "user", "content": "hi"})
    assert session.meta == {"user": {"verified": True, "tier": {"b": 2}}}
    assert banking.check(session.trace()).verdicts == session.finish().verdicts


def test_a_metadata_patch_is_an_object(banking):
    with pytest.raises(ValueError, match="a metadata patch is a JSON object, not list"):
        banking.session().update_meta([1])  # type: ignore[arg-type]


def test_a_session_opened_with_history_settles_what_adding_it_would(policy):
    history = [{"role": "user", "content": "help", "labels": {"self_harm": 0.9}},
               {"role": "assistant", "content": "What is your order number?"}]
    seeded = policy.session(messages=history)
    added = policy.session()
    assert seeded.seeded == tuple(v for m in history for v in added.add(m))
    assert kinds(seeded.seeded)["crisis_referral"] == "violated"
    assert seeded.finish() == added.finish()


def test_a_finished_session_refuses_more(policy):
    session = policy.session(id="done")
    session.add({"role": "user", "content": "hi"})
    report = session.finish()
    for use in (lambda: session.add({"role": "assistant", "content": "hello"}),
                lambda: session.check_candidate("hello"), lambda: session.update_meta({})):
        with pytest.raises(charter.SessionFinishedError, match="session 'done' is finished; open a new one"):
            use()
    assert session.finish() == report and len(session.messages) == 1


def _allocated_per_message(session, messages: list[dict]) -> float:
    """The median of the memory allocated at once while adding each message (its peak)."""
    peaks = []
    for message in messages:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        session.add(message)
        peaks.append(tracemalloc.get_traced_memory()[1] - before)
    return statistics.median(peaks)


def test_a_message_costs_the_same_at_any_length_of_the_session(policy):
    """Linear sessions: adding a message (and judging a candidate reply) allocates as
    much at message 3,000 as at message 100 — no list of the session copied per message."""
    turn = [{"role": "user", "content": "I want a refund for my order", "labels": {"self_harm": 0.0}},
            {"role": "assistant", "content": "I am sorry; orders older than 90 days are outside our window."}]
    session = policy.session(meta={"order": {"age_days": 120}})
    tracemalloc.start()
    try:
        for _ in range(50):
            session.add(turn[0]), session.add(turn[1])
        early = _allocated_per_message(session, turn * 50)
        for _ in range(1_400):
            session.add(turn[0]), session.add(turn[1])
            session.check_candidate(turn[1]["content"])
        late = _allocated_per_message(session, turn * 50)
    finally:
        tracemalloc.stop()
    assert late <= 1.25 * early, (early, late)
    assert len(session.messages) == 3_100


def test_the_messages_so_far_are_a_sequence_later_messages_leave_alone(policy):
    session = policy.session()
    session.add({"role": "user", "content": "Hello"})
    so_far = session.messages
    session.add({"role": "assistant", "content": "Hello, how can I help?"})
    session.check_candidate("Sure, lol")
    assert len(so_far) == 1 and so_far[0].content == "Hello" and so_far[-1] is so_far[0]
    assert so_far == (session.trace().messages[0],) and tuple(session.messages) == session.trace().messages
    assert [m.content for m in session.messages[1:]] == ["Hello, how can I help?"]
    with pytest.raises(IndexError):
        so_far[1]


def test_explaining_every_verdict_of_a_session_makes_no_pass_over_it(policy, monkeypatch):
    """A verdict's explanation finds its act (and a window's replies) by bisection in the
    snapshot it was decided on: a pass over the messages so far for each explanation
    would make explaining a session quadratic in its length."""
    from charter.evaluate.evaluator import TraceView

    passes: list[int] = []
    made = TraceView.index_turns

    def counting(self, *args, **kwargs):
        passes.append(len(self.messages))
        return made(self, *args, **kwargs)

    monkeypatch.setattr(TraceView, "index_turns", counting)
    session = policy.session(meta={"order": {"age_days": 10}})
    explained = 0
    for _ in range(60):
        settled = session.add({"role": "user", "content": "I can't go on", "labels": {"self_harm": 0.95}})
        settled += session.add({"role": "assistant", "content": "Please call 988 now, you are not alone."})
        explained += sum(1 for v in settled if v.explanation.steps)
    assert explained >= 120 and kinds(settled)["crisis_referral"] == "complied"
    assert sum(passes) <= 10, passes
