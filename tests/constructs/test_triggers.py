"""Triggers (`when E`): a norm applies only where E holds; false gives `not_applicable`,
unknown is settled over both resolutions."""

from __future__ import annotations

from ._support import assistant, check, kinds, of, one, policy, user


def test_a_norm_without_a_trigger_applies_at_every_act():
    p = policy("""
        norm polite:
            require assistant says "please"
    """)
    report = check(p, user("a"), assistant("please"), user("b"), assistant("no"))
    assert kinds(report, "polite") == [(1, "complied"), (3, "violated")]


def test_a_false_trigger_gives_not_applicable_whatever_the_reply():
    p = policy("""
        norm refunds:
            when user says "refund"
            forbid assistant says "approved"
    """)
    v = one(check(p, user("hello"), assistant("approved")), "refunds")
    assert (v.kind, v.reason, v.gap, v.escalate_to, v.unknown, v.overridden_by) == (
        "not_applicable", None, False, None, (), None)


def test_a_true_trigger_lets_the_body_decide():
    p = policy("""
        norm refunds:
            when user says "refund"
            forbid assistant says "approved"
    """)
    assert one(check(p, user("a refund please"), assistant("approved")), "refunds").kind == "violated"
    assert one(check(p, user("a refund please"), assistant("denied")), "refunds").kind == "complied"


def test_a_false_trigger_does_not_consult_unknown_facts_in_the_body():
    p = policy("""
        norm vip:
            when user says "upgrade"
            require trace.meta.tier == "gold"
    """)
    v = one(check(p, user("hello"), assistant("hi")), "vip")
    assert (v.kind, v.unknown) == ("not_applicable", ())


def test_an_unknown_trigger_with_a_complying_body_is_complied_listing_the_fact():
    p = policy("""
        norm careful:
            when user.label("risky") >= 0.5
            forbid assistant says "sure"
    """)
    v = one(check(p, user("x"), assistant("let me check")), "careful")
    assert (v.kind, v.reason, v.unknown) == ("complied", None, ("messages[0].labels.risky",))


def test_an_unknown_trigger_with_a_violating_body_is_uncertain():
    p = policy("""
        norm careful:
            when user.label("risky") >= 0.5
            forbid assistant says "sure"
    """)
    v = one(check(p, user("x"), assistant("sure")), "careful")
    assert (v.kind, v.reason, v.gap, v.escalate_to, v.unknown) == (
        "unspecified", "uncertain", False, None, ("messages[0].labels.risky",))


def test_an_unknown_trigger_over_a_permit_is_settled_as_complied():
    p = policy("""
        norm lenient:
            when trace.meta.flag == true
            permit
    """)
    v = one(check(p, user("x"), assistant("y")), "lenient")
    assert (v.kind, v.unknown) == ("complied", ("trace.meta.flag",))


def test_an_unknown_trigger_over_an_explicit_unspecified_is_uncertain():
    p = policy("""
        norm open_case:
            when trace.meta.flag == true
            unspecified "nobody decided" escalate to developer
    """)
    v = one(check(p, user("x"), assistant("y")), "open_case")
    assert (v.kind, v.reason, v.escalate_to, v.unknown) == (
        "unspecified", "uncertain", None, ("trace.meta.flag",))


def test_a_trigger_that_is_false_for_sure_despite_an_unknown_operand():
    p = policy("""
        norm both:
            when user says "refund" and trace.meta.age > 30
            forbid assistant says "approved"
    """)
    # `false and unknown` is false: not_applicable, and the unknown age is never consulted
    v = one(check(p, user("hello"), assistant("approved")), "both")
    assert (v.kind, v.unknown) == ("not_applicable", ())


def test_a_trigger_that_is_true_for_sure_despite_an_unknown_operand():
    p = policy("""
        norm either:
            when user says "refund" or trace.meta.age > 30
            forbid assistant says "approved"
    """)
    v = one(check(p, user("refund"), assistant("approved")), "either")
    assert (v.kind, v.unknown) == ("violated", ())


def test_a_trigger_may_be_a_let_name():
    p = policy("""
        let asks = user says any of ["refund", "money back"]
        norm refunds:
            when asks
            require assistant says "policy"
    """)
    report = check(p, user("money back now"), assistant("no"), user("hi"), assistant("hi"))
    assert kinds(report, "refunds") == [(1, "violated"), (3, "not_applicable")]


def test_a_trigger_over_earlier_messages_switches_on_and_stays_on():
    p = policy("""
        norm formal_after_request:
            when any earlier user says "be formal"
            forbid assistant says "hey"
    """)
    report = check(p, user("hi"), assistant("hey"), user("be formal"), assistant("hey"),
                   user("ok"), assistant("hey"))
    assert kinds(report, "formal_after_request") == [
        (1, "not_applicable"), (3, "violated"), (5, "violated")]


def test_a_trigger_on_user_turns_reads_that_user_message():
    p = policy("""
        norm escalate:
            on user turn
            when user.label("angry") >= 0.7
            require assistant says "sorry" within 1 turn
    """)
    report = check(p, user("grr", labels={"angry": 0.9}), assistant("sorry"),
                   user("fine", labels={"angry": 0.1}), assistant("ok"))
    assert kinds(report, "escalate") == [(0, "complied"), (2, "not_applicable")]


def test_the_explanation_records_the_trigger_clause_and_its_value():
    p = policy("""
        norm refunds:
            when user says "refund"
            forbid assistant says "approved"
    """)
    v = one(check(p, user("hello"), assistant("approved")), "refunds")
    steps = v.explanation.steps
    assert [s.clause for s in steps] == ["when"]
    assert steps[0].value == "false"
    assert steps[0].span.line == 2
    assert 'when user says "refund"' in steps[0].text
