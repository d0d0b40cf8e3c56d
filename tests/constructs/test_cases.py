"""Cases (`case C: outcome`, `otherwise: outcome`): applicable cases are decided like
sibling exceptions; no case and no `otherwise` is a gap."""

from __future__ import annotations

from ._support import assistant, check, kinds, one, policy, user

REFUNDS = """
    let age = trace.meta.age
    let offers = assistant says "refunded"
    norm refunds by developer:
        case age <= 30: permit offers
        case age > 90: forbid offers
        otherwise: unspecified "between 30 and 90 days" escalate to platform
"""


def refund(p, age, reply="You are refunded."):
    return one(check(p, user("refund?"), assistant(reply), meta={"age": age}), "refunds")


def test_the_applicable_case_decides():
    p = policy(REFUNDS)
    assert refund(p, 10).kind == "complied"
    assert refund(p, 120).kind == "violated"
    assert refund(p, 120, "No.").kind == "complied"


def test_otherwise_covers_what_no_case_covers():
    v = refund(policy(REFUNDS), 45)
    assert (v.kind, v.reason, v.escalate_to, v.gap) == (
        "unspecified", "between 30 and 90 days", "platform", False)


def test_case_bounds_are_inclusive_as_written():
    p = policy(REFUNDS)
    assert refund(p, 30).kind == "complied"
    assert refund(p, 90).kind == "unspecified"
    assert refund(p, 91).kind == "violated"


def test_no_case_and_no_otherwise_is_a_gap_escalated_to_the_norm_authority():
    p = policy("""
        norm sizes by developer:
            case assistant.words > 100: forbid assistant says "lol"
            case assistant.words < 5: require assistant says "ok"
    """)
    v = one(check(p, user("u"), assistant("a reply of six words here")), "sizes")
    assert (v.kind, v.reason, v.gap, v.escalate_to, v.unknown) == (
        "unspecified", "no case applies", True, "developer", ())
    assert "gap" in [s.clause for s in v.explanation.steps]


def test_a_gap_escalates_to_the_file_authority_when_the_norm_names_none():
    p = policy("""
        charter shop by platform
        norm sizes:
            case assistant.words > 100: permit
    """)
    v = one(check(p, user("u"), assistant("short")), "sizes")
    assert (v.kind, v.gap, v.escalate_to) == ("unspecified", True, "platform")


def test_a_gap_escalates_to_the_lowest_authority_by_default():
    p = policy("""
        norm sizes:
            case assistant.words > 100: permit
    """)
    v = one(check(p, user("u"), assistant("short")), "sizes")
    assert (v.gap, v.escalate_to) == (True, "user")


def test_a_false_trigger_is_not_a_gap():
    p = policy("""
        norm sizes:
            when user says "long"
            case assistant.words > 100: permit
    """)
    v = one(check(p, user("short"), assistant("short")), "sizes")
    assert (v.kind, v.gap) == ("not_applicable", False)


def test_overlapping_cases_with_different_outcomes_conflict_whatever_the_reply():
    p = policy("""
        norm overlap:
            case user says "a": permit
            case user says "b": forbid assistant says "x"
            otherwise: require assistant says "y"
    """)
    for reply in ("x", "y", ""):
        v = one(check(p, user("a b"), assistant(reply)), "overlap")
        assert (v.kind, v.gap) == ("conflict", False), reply


def test_overlapping_cases_with_the_same_outcome_are_fine():
    p = policy("""
        norm overlap:
            case user says "a": forbid assistant says "x"
            case user says "b": forbid assistant says "x"
            otherwise: permit
    """)
    assert one(check(p, user("a b"), assistant("x")), "overlap").kind == "violated"
    assert one(check(p, user("a b"), assistant("z")), "overlap").kind == "complied"


def test_overlapping_cases_with_different_escalation_conflict():
    p = policy("""
        norm overlap:
            case user says "a": unspecified "open" escalate to developer
            case user says "b": unspecified "open" escalate to platform
    """)
    assert one(check(p, user("a b"), assistant("")), "overlap").kind == "conflict"


def test_case_order_does_not_decide_an_overlap():
    p = policy("""
        norm overlap:
            case user says "b": forbid assistant says "x"
            case user says "a": permit
    """)
    assert one(check(p, user("a b"), assistant("x")), "overlap").kind == "conflict"


def test_cases_may_have_exceptions():
    p = policy("""
        norm c:
            case user says "a": forbid assistant says "x"
                unless user says "please": permit
            otherwise: permit
    """)
    report = check(p, user("a"), assistant("x"), user("a please"), assistant("x"),
                   user("b"), assistant("x"))
    assert kinds(report, "c") == [(1, "violated"), (3, "complied"), (5, "complied")]


def test_otherwise_may_have_exceptions():
    p = policy("""
        norm c:
            case user says "a": permit
            otherwise: forbid assistant says "x"
                unless user says "please": permit
    """)
    report = check(p, user("b"), assistant("x"), user("b please"), assistant("x"))
    assert kinds(report, "c") == [(1, "violated"), (3, "complied")]


def test_exceptions_resolve_an_apparent_overlap_between_cases():
    p = policy("""
        norm c:
            case user says "a": forbid assistant says "x"
                unless user says "b": permit
            case user says "b": permit
    """)
    # with "a b" the first case's standing outcome is `permit`, the same as the second's
    assert one(check(p, user("a b"), assistant("x")), "c").kind == "complied"


def test_a_conflict_between_exceptions_within_one_case_is_a_conflict():
    p = policy("""
        norm c:
            case user says "a": permit
                unless user says "b": forbid assistant says "x"
                unless user says "c": require assistant says "x"
            otherwise: permit
    """)
    assert one(check(p, user("a b c"), assistant("x")), "c").kind == "conflict"


def test_an_unknown_case_condition_is_settled_when_every_resolution_agrees():
    p = policy(REFUNDS)
    # no age: <= 30 gives complied (permit); > 90 forbids, and the reply does not refund;
    # between gives the explicit unspecified -> unsettled
    v = one(check(p, user("refund?"), assistant("No.")), "refunds")
    assert (v.kind, v.reason, v.unknown) == ("unspecified", "uncertain", ("trace.meta.age",))
    q = policy("""
        norm c:
            case trace.meta.age <= 30: permit
            otherwise: forbid assistant says "x"
    """)
    v = one(check(q, user("u"), assistant("fine")), "c")
    assert (v.kind, v.unknown) == ("complied", ("trace.meta.age",))


def test_two_comparisons_on_one_unknown_fact_are_resolved_independently():
    # `age <= 30` and `age > 30` are separate atoms: resolving both false leaves a gap
    p = policy("""
        norm c:
            case trace.meta.age <= 30: permit
            case trace.meta.age > 30: forbid assistant says "x"
    """)
    v = one(check(p, user("u"), assistant("fine")), "c")
    assert (v.kind, v.reason, v.unknown) == ("unspecified", "uncertain", ("trace.meta.age",))


def test_an_unknown_case_condition_that_might_leave_a_gap_is_uncertain():
    p = policy("""
        norm c:
            case trace.meta.age <= 30: permit
    """)
    v = one(check(p, user("u"), assistant("x")), "c")
    assert (v.kind, v.reason, v.gap, v.escalate_to, v.unknown) == (
        "unspecified", "uncertain", False, None, ("trace.meta.age",))
