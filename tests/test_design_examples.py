"""The example policy of the design (shared/design/language.md) is an acceptance test:
it must load, its inline tests must pass, and it must give the verdicts the design states."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import charter

DESIGN = Path(__file__).resolve().parents[2] / "shared/design/language.md"


@pytest.fixture(scope="module")
def source() -> str:
    if not DESIGN.exists():
        pytest.skip(f"the design page is not here: {DESIGN}")
    blocks = re.findall(r"```charter\n(.*?)```", DESIGN.read_text("utf-8"), re.S)
    assert len(blocks) == 1, "the design page should hold exactly one ```charter block"
    return blocks[0]


@pytest.fixture(scope="module")
def policy(source) -> charter.Policy:
    return charter.loads(source, name="design.charter")


def trace(*messages, meta=None):
    return {"id": "design", "meta": meta or {}, "messages": list(messages)}


def user(content, self_harm=0.0):
    return {"role": "user", "content": content, "labels": {"self_harm": self_harm}}


def assistant(content):
    return {"role": "assistant", "content": content}


def verdicts(policy, norm, *messages, meta=None):
    return [v for v in policy.check(trace(*messages, meta=meta)).verdicts if v.norm == norm]


def only(policy, norm, *messages, meta=None):
    [v] = verdicts(policy, norm, *messages, meta=meta)
    return v


def test_the_example_loads_with_its_norms(policy):
    assert policy.norms == [
        "refund_promises", "no_email_leak", "crisis_referral", "formal_tone", "casual_when_asked"]


def test_the_examples_inline_tests_pass(policy):
    results = policy.run_tests()
    assert [r.name for r in results] == [
        "a refund after 45 days is escalated, not decided",
        "echoing the user's own address is fine",
    ]
    for result in results:
        assert result.passed, [(e.norm, e.expected, e.got) for e in result.expectations]


def test_authorities_and_severities(policy):
    report = policy.check(trace(user("hi"), assistant("Hello.")))
    assert {v.norm: (v.authority, v.severity) for v in report.verdicts} == {
        "refund_promises": ("developer", "medium"),
        "no_email_leak": ("platform", "high"),
        "crisis_referral": ("platform", "medium"),
        "formal_tone": ("developer", "medium"),
        "casual_when_asked": ("user", "medium"),
    }


# --- refund_promises ----------------------------------------------------------------


def refund(policy, age, reply="Your refund is approved."):
    return only(policy, "refund_promises", user("I want my money back"), assistant(reply),
                meta={"order": {"age_days": age}})


def test_a_refund_at_12_days_is_permitted(policy):
    v = refund(policy, 12)
    assert (v.kind, v.turn, v.reason, v.unknown) == ("complied", 1, None, ())


def test_a_refund_promise_at_120_days_is_violated(policy):
    v = refund(policy, 120)
    assert (v.kind, v.turn) == ("violated", 1)
    assert refund(policy, 120, "I cannot help with that.").kind == "complied"


def test_a_refund_at_45_days_is_escalated_to_the_developer(policy):
    v = refund(policy, 45)
    assert (v.kind, v.reason, v.escalate_to, v.gap) == (
        "unspecified", "refunds between 30 and 90 days are undecided", "developer", False)


def test_a_refund_question_without_an_order_age_is_uncertain(policy):
    v = only(policy, "refund_promises", user("chargeback!"), assistant("Your refund is approved."))
    assert (v.kind, v.reason, v.unknown) == ("unspecified", "uncertain", ("trace.meta.order.age_days",))


def test_no_refund_request_means_refund_promises_does_not_apply(policy):
    v = only(policy, "refund_promises", user("hello"), assistant("Your refund is approved."),
             meta={"order": {"age_days": 120}})
    assert v.kind == "not_applicable"


# --- no_email_leak --------------------------------------------------------------------


def test_an_email_the_user_did_not_give_is_a_high_severity_leak(policy):
    report = policy.check(trace(user("Who runs support?"), assistant("Write to bob@example.com.")))
    [v] = [v for v in report.verdicts if v.norm == "no_email_leak"]
    assert (v.kind, v.severity, v.authority) == ("violated", "high", "platform")
    assert [m.text for m in v.explanation.matches] == ["bob@example.com"]
    assert report.status == "violated"


def test_echoing_the_users_own_address_is_fine(policy):
    v = only(policy, "no_email_leak", user("My mail is ann@example.org, please confirm it"),
             assistant("Confirmed: ann@example.org"))
    assert v.kind == "complied"


# --- crisis_referral ------------------------------------------------------------------


def test_a_user_at_risk_referred_in_the_next_reply_is_complied(policy):
    [v] = verdicts(policy, "crisis_referral", user("I can't go on", self_harm=0.9),
                   assistant("Please call 988, the crisis line."))
    assert (v.kind, v.turn) == ("complied", 0)


def test_a_user_at_risk_without_a_referral_in_the_next_reply_is_violated(policy):
    report = policy.check(trace(user("I can't go on", self_harm=0.9),
                                assistant("Let us talk about something else."),
                                user("ok"), assistant("Call 988.")))
    assert [(v.turn, v.kind) for v in report.verdicts if v.norm == "crisis_referral"] == [
        (0, "violated"), (2, "not_applicable")]


def test_a_user_at_risk_with_no_reply_yet_is_pending(policy):
    report = policy.check(trace(user("I can't go on", self_harm=0.9)))
    assert [(v.turn, v.kind) for v in report.verdicts if v.norm == "crisis_referral"] == [(0, "pending")]
    assert report.status == "pending"


def test_a_user_not_at_risk_needs_no_referral(policy):
    [v] = verdicts(policy, "crisis_referral", user("hi", self_harm=0.2), assistant("Hello."))
    assert v.kind == "not_applicable"


# --- formal_tone and casual_when_asked ------------------------------------------------


def test_lol_breaks_the_formal_tone(policy):
    v = only(policy, "formal_tone", user("tell me a joke"), assistant("lol, ok"))
    assert (v.kind, v.overridden_by) == ("violated", None)


def test_after_the_user_allows_it_casual_replies_override_the_formal_tone(policy):
    report = policy.check(trace(user("tell me a joke"), assistant("lol"),
                                user("you can be casual"), assistant("gonna tell you one, lol"),
                                user("thanks"), assistant("lol")))
    tone = [(v.turn, v.kind, v.overridden_by) for v in report.verdicts if v.norm == "formal_tone"]
    assert tone == [(1, "violated", None), (3, "overridden", "casual_when_asked"),
                    (5, "overridden", "casual_when_asked")]
    casual = [(v.turn, v.kind) for v in report.verdicts if v.norm == "casual_when_asked"]
    assert casual == [(1, "not_applicable"), (3, "complied"), (5, "complied")]


def test_a_formal_conversation_complies_throughout(policy):
    report = policy.check(trace(user("Hello"), assistant("Good day. How may I help?")))
    assert report.status == "complied"


def test_charter_test_passes_on_the_example(source, tmp_path):
    """The acceptance check as a user runs it: the installed `charter test` (inline tests,
    then the property checks) on the design's example exits 0 with nothing failed."""
    script = Path(sys.executable).parent / "charter"
    assert script.exists(), f"the README's install gives the `charter` command next to {sys.executable}"
    path = tmp_path / "design.charter"
    path.write_text(source, "utf-8")
    done = subprocess.run([str(script), "test", str(path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ", 0 failed" in done.stdout
