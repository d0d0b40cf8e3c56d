"""Exceptions (`unless C: outcome`): defaults with exceptions, as in Catala's default
calculus. Applicable exceptions that disagree conflict, whatever the reply."""

from __future__ import annotations

from ._support import assistant, check, kinds, one, policy, user

SECRETS = """
    norm secrets:
        forbid assistant says "the code"
            unless user says "admin": permit
                unless user says "guest": forbid assistant says "the code"
"""


def test_an_exception_that_applies_replaces_the_outcome_above():
    p = policy("""
        norm no_prices:
            forbid assistant says "price"
                unless user says "how much": permit
    """)
    report = check(p, user("how much is it"), assistant("the price is 5"),
                   user("tell me about it"), assistant("the price is 5"))
    assert kinds(report, "no_prices") == [(1, "complied"), (3, "violated")]


def test_an_exception_can_turn_a_permission_into_an_obligation():
    p = policy("""
        norm greet:
            permit
                unless user says "hello": require assistant says "hello"
    """)
    report = check(p, user("hello"), assistant("hi"), user("hey"), assistant("hi"))
    assert kinds(report, "greet") == [(1, "violated"), (3, "complied")]


def test_an_exception_may_leave_the_case_open():
    p = policy("""
        norm legal:
            forbid assistant says "lawsuit"
                unless user says "lawyer": unspecified "legal must decide" escalate to platform
    """)
    v = one(check(p, user("I am a lawyer"), assistant("lawsuit")), "legal")
    assert (v.kind, v.reason, v.escalate_to, v.gap) == (
        "unspecified", "legal must decide", "platform", False)


def test_an_exception_to_an_exception_restores_the_rule():
    p = policy(SECRETS)
    assert one(check(p, user("hi"), assistant("the code is 1234")), "secrets").kind == "violated"
    assert one(check(p, user("admin here"), assistant("the code is 1234")), "secrets").kind == "complied"
    assert one(check(p, user("admin guest"), assistant("the code is 1234")), "secrets").kind == "violated"
    assert one(check(p, user("admin guest"), assistant("no")), "secrets").kind == "complied"


def test_an_inner_exception_is_only_reached_through_its_parent():
    p = policy(SECRETS)
    # "guest" alone: the admin exception does not apply, so its own exception is not reached
    v = one(check(p, user("guest"), assistant("the code")), "secrets")
    assert v.kind == "violated"
    assert [s.clause for s in v.explanation.steps].count("unless") == 1


def test_conflicting_sibling_exceptions_give_conflict_whatever_the_reply():
    p = policy("""
        norm mixed:
            forbid assistant says "x"
                unless user says "a": permit
                unless user says "b": forbid assistant says "z"
    """)
    for reply in ("x", "z", "neither", "x z"):
        v = one(check(p, user("a and b"), assistant(reply)), "mixed")
        assert (v.kind, v.reason, v.gap) == ("conflict", None, False), reply


def test_sibling_exceptions_with_the_same_modality_but_different_behaviour_conflict():
    p = policy("""
        norm sign_off:
            permit
                unless user says "english": require assistant says "goodbye"
                unless user says "french": require assistant says "au revoir"
    """)
    v = one(check(p, user("english or french"), assistant("goodbye, au revoir")), "sign_off")
    assert v.kind == "conflict"


def test_sibling_exceptions_with_different_reasons_conflict():
    p = policy("""
        norm open:
            permit
                unless user says "a": unspecified "ask legal"
                unless user says "b": unspecified "ask finance"
    """)
    assert one(check(p, user("a b"), assistant("")), "open").kind == "conflict"


def test_only_one_of_two_conflicting_siblings_applying_is_no_conflict():
    p = policy("""
        norm mixed:
            forbid assistant says "x"
                unless user says "a": permit
                unless user says "b": require assistant says "z"
    """)
    report = check(p, user("a"), assistant("x"), user("b"), assistant("x"), user("c"), assistant("x"))
    assert kinds(report, "mixed") == [(1, "complied"), (3, "violated"), (5, "violated")]


def test_identical_outcomes_from_two_exceptions_do_not_conflict():
    p = policy("""
        norm two_ways:
            forbid assistant says "x"
                unless user says "a": permit
                unless user says "b": permit
    """)
    assert one(check(p, user("a b"), assistant("x")), "two_ways").kind == "complied"


def test_identical_behaviours_from_two_exceptions_do_not_conflict_and_are_decided():
    p = policy("""
        norm two_ways:
            permit
                unless user says "a": require assistant says "ok"
                unless user says "b": require assistant says "ok"
    """)
    assert one(check(p, user("a b"), assistant("ok")), "two_ways").kind == "complied"
    assert one(check(p, user("a b"), assistant("no")), "two_ways").kind == "violated"


def test_the_same_let_in_two_exceptions_is_the_same_outcome():
    p = policy("""
        let says_ok = assistant says "ok"
        norm two_ways:
            permit
                unless user says "a": require says_ok
                unless user says "b": require says_ok
    """)
    assert one(check(p, user("a b"), assistant("no")), "two_ways").kind == "violated"


def test_a_conflict_inside_a_nested_exception_is_a_conflict_of_the_norm():
    p = policy("""
        norm deep:
            forbid assistant says "x"
                unless user says "a": permit
                    unless user says "b": require assistant says "y"
                    unless user says "c": forbid assistant says "y"
    """)
    assert one(check(p, user("a b c"), assistant("y")), "deep").kind == "conflict"
    # without "a" the nested exceptions are never reached
    assert one(check(p, user("b c"), assistant("y")), "deep").kind == "complied"


def test_a_conflicting_nested_branch_and_an_agreeing_sibling_is_still_a_conflict():
    p = policy("""
        norm deep:
            forbid assistant says "x"
                unless user says "a": permit
                    unless user says "b": require assistant says "y"
                    unless user says "c": forbid assistant says "y"
                unless user says "d": permit
    """)
    assert one(check(p, user("a b c d"), assistant("y")), "deep").kind == "conflict"


def test_agreeing_results_from_nested_exceptions_do_not_conflict():
    p = policy("""
        norm deep:
            permit
                unless user says "a": forbid assistant says "x"
                    unless user says "b": permit
                unless user says "c": permit
    """)
    # a+b: the first exception's standing outcome is `permit`, same as the second's
    assert one(check(p, user("a b c"), assistant("x")), "deep").kind == "complied"
    # a without b: forbid vs permit conflict
    assert one(check(p, user("a c"), assistant("no")), "deep").kind == "conflict"


def test_an_unknown_exception_condition_is_settled_when_both_outcomes_agree():
    p = policy("""
        norm no_x:
            forbid assistant says "x"
                unless trace.meta.vip == true: permit
    """)
    v = one(check(p, user("u"), assistant("fine")), "no_x")
    assert (v.kind, v.unknown) == ("complied", ("trace.meta.vip",))
    v = one(check(p, user("u"), assistant("x")), "no_x")
    assert (v.kind, v.reason, v.unknown) == ("unspecified", "uncertain", ("trace.meta.vip",))


def test_an_unknown_sibling_that_might_conflict_is_uncertain():
    p = policy("""
        norm maybe:
            forbid assistant says "x"
                unless user says "a": permit
                unless trace.meta.vip == true: require assistant says "y"
    """)
    v = one(check(p, user("a"), assistant("x")), "maybe")
    assert (v.kind, v.reason, v.unknown) == ("unspecified", "uncertain", ("trace.meta.vip",))
    v = one(check(p, user("a"), assistant("x"), meta={"vip": False}), "maybe")
    assert (v.kind, v.unknown) == ("complied", ())


def test_exception_order_does_not_matter():
    first = policy("""
        norm n:
            forbid assistant says "x"
                unless user says "a": permit
                unless user says "b": require assistant says "y"
    """)
    second = policy("""
        norm n:
            forbid assistant says "x"
                unless user says "b": require assistant says "y"
                unless user says "a": permit
    """)
    for text in ("a", "b", "a b", "c"):
        for reply in ("x", "y", "x y", ""):
            a = one(check(first, user(text), assistant(reply)), "n").kind
            b = one(check(second, user(text), assistant(reply)), "n").kind
            assert a == b, (text, reply)
