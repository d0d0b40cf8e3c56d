"""Outcomes: `require B`, `forbid B`, `permit`, `permit B`, and `unspecified "reason"`
with or without `escalate to`."""

from __future__ import annotations

import pytest

import charter

from ._support import assistant, check, kinds, one, policy, user


def test_require_is_complied_when_the_behaviour_holds_and_violated_when_not():
    p = policy("""
        norm cite:
            require assistant says "source"
    """)
    report = check(p, user("a"), assistant("source: wiki"), user("b"), assistant("trust me"))
    assert kinds(report, "cite") == [(1, "complied"), (3, "violated")]


def test_forbid_is_violated_when_the_behaviour_holds_and_complied_when_not():
    p = policy("""
        norm no_swearing:
            forbid assistant says "damn"
    """)
    report = check(p, user("a"), assistant("damn it"), user("b"), assistant("oh dear"))
    assert kinds(report, "no_swearing") == [(1, "violated"), (3, "complied")]


def test_require_a_tool_call():
    p = policy("""
        norm look_it_up:
            when user says "order status"
            require assistant calls "lookup_order"
    """)
    report = check(p, user("order status?"), assistant("checking", calls=[("lookup_order", {})]),
                   user("order status again"), assistant("it shipped"))
    assert kinds(report, "look_it_up") == [(1, "complied"), (3, "violated")]


def test_bare_permit_is_complied_whatever_the_reply():
    p = policy("""
        norm anything_goes:
            permit
    """)
    v = one(check(p, user("a"), assistant("damn lol")), "anything_goes")
    assert (v.kind, v.reason, v.gap, v.escalate_to, v.unknown) == ("complied", None, False, None, ())


def test_permit_with_a_behaviour_is_never_violated():
    p = policy("""
        norm jokes_ok:
            permit assistant says "joke"
    """)
    report = check(p, user("a"), assistant("a joke"), user("b"), assistant("serious"))
    assert kinds(report, "jokes_ok") == [(1, "complied"), (3, "complied")]


def test_permit_does_not_consult_an_unknown_behaviour():
    p = policy("""
        norm lenient:
            permit trace.meta.x > 1
    """)
    v = one(check(p, user("a"), assistant("b")), "lenient")
    assert (v.kind, v.unknown) == ("complied", ())


def test_unspecified_without_escalation():
    p = policy("""
        norm open_question:
            unspecified "nobody has decided about medical advice"
    """)
    v = one(check(p, user("a"), assistant("b")), "open_question")
    assert (v.kind, v.reason, v.gap, v.escalate_to, v.unknown) == (
        "unspecified", "nobody has decided about medical advice", False, None, ())


def test_unspecified_with_escalation_names_the_authority():
    p = policy("""
        norm open_question:
            unspecified "ask legal" escalate to platform
    """)
    v = one(check(p, user("a"), assistant("b")), "open_question")
    assert (v.kind, v.reason, v.gap, v.escalate_to) == ("unspecified", "ask legal", False, "platform")


def test_unspecified_may_escalate_to_a_declared_custom_authority():
    p = policy("""
        authorities legal > platform > developer > user
        norm open_question by developer:
            unspecified "ask legal" escalate to legal
    """)
    v = one(check(p, user("a"), assistant("b")), "open_question")
    assert (v.escalate_to, v.authority) == ("legal", "developer")


def test_escalation_to_an_undeclared_authority_is_a_load_error():
    with pytest.raises(charter.PolicyError) as caught:
        policy("""
            norm open_question:
                unspecified "ask legal" escalate to legal
        """)
    assert any(d.code == "E303" and "legal" in d.message for d in caught.value.diagnostics)


def test_require_with_an_unknown_behaviour_is_uncertain():
    p = policy("""
        norm gold_only:
            require trace.meta.tier == "gold"
    """)
    v = one(check(p, user("a"), assistant("b")), "gold_only")
    assert (v.kind, v.reason, v.unknown) == ("unspecified", "uncertain", ("trace.meta.tier",))


def test_forbid_with_an_unknown_behaviour_is_uncertain():
    p = policy("""
        norm no_toxic:
            forbid assistant.label("toxic")
    """)
    v = one(check(p, user("a"), assistant("b")), "no_toxic")
    assert (v.kind, v.reason, v.unknown) == ("unspecified", "uncertain", ("messages[1].labels.toxic",))


def test_a_label_as_a_behaviour_is_true_from_one_half():
    p = policy("""
        norm no_toxic:
            forbid assistant.label("toxic")
    """)
    report = check(p, user("a"), assistant("b", labels={"toxic": 0.5}),
                   user("c"), assistant("d", labels={"toxic": 0.49}),
                   user("e"), assistant("f", labels={"toxic": True}))
    assert kinds(report, "no_toxic") == [(1, "violated"), (3, "complied"), (5, "violated")]


def test_severity_defaults_to_medium_and_can_be_set():
    p = policy("""
        norm a:
            forbid assistant says "x"
        norm b:
            severity critical
            forbid assistant says "x"
    """)
    report = check(p, user("u"), assistant("x"))
    assert (one(report, "a").severity, one(report, "b").severity) == ("medium", "critical")


def test_an_unknown_severity_is_a_load_error():
    with pytest.raises(charter.PolicyError):
        policy("""
            norm a:
                severity urgent
                forbid assistant says "x"
        """)


def test_a_norm_authority_defaults_to_the_lowest_declared():
    p = policy("""
        norm a:
            permit
        norm b by platform:
            permit
    """)
    report = check(p, user("u"), assistant("x"))
    assert (one(report, "a").authority, one(report, "b").authority) == ("user", "platform")


def test_the_explanation_names_the_deciding_outcome():
    p = policy("""
        norm no_swearing:
            "No swearing."
            forbid assistant says "damn"
    """)
    v = one(check(p, user("a"), assistant("well, damn")), "no_swearing")
    outcome = [s for s in v.explanation.steps if s.clause == "outcome"]
    assert outcome and outcome[-1].span.line == 3
    assert [(m.turn, m.text) for m in v.explanation.matches] == [(1, "damn")]
