"""Unknown facts and three-valued logic: missing metadata and labels, uncertainty bands,
Kleene connectives, `is known` / `is unknown`, settled and unsettled verdicts."""

from __future__ import annotations

import pytest

from ._support import assistant, check, kinds, one, policy, user


def verdict(p, *messages, meta=None, norm="n"):
    return one(check(p, *messages, meta=meta), norm)


def test_a_missing_meta_path_is_unknown_and_named_by_its_path():
    p = policy("""
        norm n:
            require trace.meta.order.age_days <= 30
    """)
    for meta in ({}, {"order": {}}, {"order": 5}):
        v = verdict(p, user("u"), assistant("a"), meta=meta)
        assert (v.kind, v.reason, v.gap, v.escalate_to, v.unknown) == (
            "unspecified", "uncertain", False, None, ("trace.meta.order.age_days",)), meta
    v = verdict(p, user("u"), assistant("a"), meta={"order": {"age_days": 3}})
    assert (v.kind, v.unknown) == ("complied", ())


def test_null_in_meta_is_a_value_not_unknown():
    p = policy("""
        norm n:
            require trace.meta.coupon == null
    """)
    v = verdict(p, user("u"), assistant("a"), meta={"coupon": None})
    assert (v.kind, v.unknown) == ("complied", ())


def test_a_missing_label_is_unknown_and_named_by_message():
    p = policy("""
        norm n:
            forbid user.label("toxic") >= 0.5
    """)
    v = verdict(p, user("u"), assistant("a"))
    assert (v.kind, v.reason, v.unknown) == ("unspecified", "uncertain", ("messages[0].labels.toxic",))
    facts = {f.name: f for f in v.explanation.facts}
    assert facts["messages[0].labels.toxic"].known is False


@pytest.mark.parametrize("score, kind, unknown", [
    (0.41, "unspecified", ("messages[0].labels.self_harm",)),
    (0.6, "unspecified", ("messages[0].labels.self_harm",)),
    (0.79, "unspecified", ("messages[0].labels.self_harm",)),
    (0.4, "complied", ()),    # at the lower bound: known
    (0.8, "violated", ()),    # at the upper bound: known
    (0.1, "complied", ()),
    (0.95, "violated", ()),
])
def test_a_label_strictly_inside_its_uncertainty_band_is_unknown(score, kind, unknown):
    p = policy("""
        label self_harm uncertain between 0.4 and 0.8
        norm n:
            forbid user.label("self_harm") >= 0.5
    """)
    v = verdict(p, user("u", labels={"self_harm": score}), assistant("a"))
    assert (v.kind, v.unknown) == (kind, unknown)
    if kind == "unspecified":
        assert v.reason == "uncertain"


def test_a_band_is_per_label_name():
    p = policy("""
        label self_harm uncertain between 0.4 and 0.8
        norm n:
            forbid user.label("toxic") >= 0.5
    """)
    v = verdict(p, user("u", labels={"toxic": 0.6}), assistant("a"))
    assert (v.kind, v.unknown) == ("violated", ())


@pytest.mark.parametrize("expr, kind, unknown", [
    # unknown or true = true; unknown and false = false (consulted left to right)
    ('trace.meta.x == 1 or user says "yes"', "complied", ("trace.meta.x",)),
    ('trace.meta.x == 1 and user says "no"', "violated", ("trace.meta.x",)),
    # with the known operand first, the unknown one is never consulted
    ('user says "yes" or trace.meta.x == 1', "complied", ()),
    ('user says "no" and trace.meta.x == 1', "violated", ()),
    # unknown or false, unknown and true, not unknown: unknown
    ('trace.meta.x == 1 or user says "no"', "unspecified", ("trace.meta.x",)),
    ('trace.meta.x == 1 and user says "yes"', "unspecified", ("trace.meta.x",)),
    ('not (trace.meta.x == 1)', "unspecified", ("trace.meta.x",)),
    ('not not (user says "yes")', "complied", ()),
])
def test_kleene_connectives(expr, kind, unknown):
    p = policy(f"""
        norm n:
            require {expr}
    """)
    v = verdict(p, user("yes"), assistant("a"))
    assert (v.kind, v.unknown) == (kind, unknown)


def test_is_known_and_is_unknown_are_never_unknown_and_consult_no_atom():
    p = policy("""
        norm known:
            require trace.meta.tier is known
        norm unknown:
            require user.label("toxic") is unknown
        norm cond:
            require (trace.meta.age > 3) is unknown
    """)
    report = check(p, user("u"), assistant("a"))
    assert [(v.norm, v.kind, v.unknown) for v in report.verdicts] == [
        ("known", "violated", ()), ("unknown", "complied", ()), ("cond", "complied", ())]
    report = check(p, user("u", labels={"toxic": 0.2}), assistant("a"),
                   meta={"tier": "gold", "age": 5})
    assert [(v.norm, v.kind, v.unknown) for v in report.verdicts] == [
        ("known", "complied", ()), ("unknown", "violated", ()), ("cond", "violated", ())]


def test_a_label_inside_its_band_is_unknown_to_is_unknown():
    p = policy("""
        label toxic uncertain between 0.3 and 0.7
        norm n:
            require user.label("toxic") is unknown
    """)
    assert verdict(p, user("u", labels={"toxic": 0.5}), assistant("a")).kind == "complied"
    assert verdict(p, user("u", labels={"toxic": 0.7}), assistant("a")).kind == "violated"


def test_is_known_guards_make_a_verdict_certain():
    p = policy("""
        norm n:
            when trace.meta.age is known and trace.meta.age > 30
            forbid assistant says "refunded"
    """)
    v = verdict(p, user("u"), assistant("refunded"))
    assert (v.kind, v.unknown) == ("not_applicable", ())


def test_a_settled_verdict_lists_the_unknown_facts_it_consulted():
    p = policy("""
        norm n:
            when user.label("self_harm") >= 0.8
            forbid assistant says "lol"
    """)
    v = verdict(p, user("help"), assistant("I am here for you"))
    assert (v.kind, v.reason, v.gap, v.unknown) == (
        "complied", None, False, ("messages[0].labels.self_harm",))


def test_an_unsettled_verdict_is_uncertain_and_names_every_consulted_fact_sorted():
    p = policy("""
        norm n:
            when user.label("b_score") >= 0.5 or trace.meta.a == 1
            forbid assistant says "lol"
    """)
    v = verdict(p, user("u"), assistant("lol"))
    assert (v.kind, v.reason, v.gap, v.escalate_to, v.unknown) == (
        "unspecified", "uncertain", False, None,
        ("messages[0].labels.b_score", "trace.meta.a"))


def test_the_same_unknown_fact_is_listed_once():
    p = policy("""
        norm n:
            when trace.meta.a > 1 or trace.meta.a < 0
            forbid assistant says "lol"
    """)
    v = verdict(p, user("u"), assistant("lol"))
    assert v.unknown == ("trace.meta.a",)


def test_a_string_compared_with_an_ordering_is_unknown():
    p = policy("""
        norm n:
            require trace.meta.age < 30
    """)
    v = verdict(p, user("u"), assistant("a"), meta={"age": "ten"})
    assert (v.kind, v.reason, v.unknown) == ("unspecified", "uncertain", ("trace.meta.age",))
    facts = {f.name: f for f in v.explanation.facts}
    assert facts["trace.meta.age"].known is False
    assert "not a number" in facts["trace.meta.age"].why_unknown


def test_an_ill_typed_value_used_as_a_condition_is_unknown():
    p = policy("""
        norm n:
            require trace.meta.flag
    """)
    assert verdict(p, user("u"), assistant("a"), meta={"flag": True}).kind == "complied"
    assert verdict(p, user("u"), assistant("a"), meta={"flag": False}).kind == "violated"
    for value in ("yes", 1, None, [1]):
        v = verdict(p, user("u"), assistant("a"), meta={"flag": value})
        assert (v.kind, v.unknown) == ("unspecified", ("trace.meta.flag",)), value


def test_equality_tells_booleans_from_numbers_and_one_from_one_point_oh():
    p = policy("""
        norm is_one:
            require trace.meta.v == 1
    """)
    assert verdict(p, user("u"), assistant("a"), meta={"v": True}, norm="is_one").kind == "violated"
    assert verdict(p, user("u"), assistant("a"), meta={"v": 1.0}, norm="is_one").kind == "complied"


def test_a_boolean_label_counts_as_one_or_zero_in_comparisons():
    p = policy("""
        norm n:
            forbid user.label("flagged") >= 1
    """)
    assert verdict(p, user("u", labels={"flagged": True}), assistant("a")).kind == "violated"
    assert verdict(p, user("u", labels={"flagged": False}), assistant("a")).kind == "complied"


def test_membership_of_an_unknown_value_is_unknown():
    p = policy("""
        norm n:
            require trace.meta.locale in ["en", "fr"]
    """)
    v = verdict(p, user("u"), assistant("a"))
    assert (v.kind, v.unknown) == ("unspecified", ("trace.meta.locale",))
    assert verdict(p, user("u"), assistant("a"), meta={"locale": "fr"}).kind == "complied"


def test_a_count_over_unknown_conditions_is_decided_by_the_atoms_inside():
    p = policy("""
        norm n:
            forbid count(any earlier user.label("angry") >= 0.5) >= 2
    """)
    # one angry message known, one label missing: the count is 1 or 2
    v = verdict(p, user("a", labels={"angry": 0.9}), user("b"), assistant("x"))
    assert (v.kind, v.reason, v.unknown) == ("unspecified", "uncertain", ("messages[1].labels.angry",))
    # both calm-or-missing and only one message unknown: at most 1 -> complied, settled
    v = verdict(p, user("a", labels={"angry": 0.1}), user("b"), assistant("x"))
    assert (v.kind, v.unknown) == ("complied", ("messages[1].labels.angry",))


def test_unknowns_are_settled_per_act():
    p = policy("""
        norm n:
            when user.label("risky") >= 0.5
            forbid assistant says "sure"
    """)
    report = check(p, user("a"), assistant("sure"), user("b", labels={"risky": 0.9}),
                   assistant("sure"))
    assert kinds(report, "n") == [(1, "unspecified"), (3, "violated")]
    assert [v.unknown for v in report.verdicts] == [("messages[0].labels.risky",), ()]


def test_an_ill_typed_operand_beside_an_unknown_one_is_listed_too():
    p = policy("""
        norm n:
            require trace.meta.age < trace.meta.limit
    """)
    v = verdict(p, user("u"), assistant("a"), meta={"age": "ten"})
    assert (v.kind, v.unknown) == ("unspecified", ("trace.meta.age", "trace.meta.limit"))


def test_a_known_operand_beside_an_unknown_one_is_not_listed():
    p = policy("""
        norm n:
            require trace.meta.age < trace.meta.limit
    """)
    v = verdict(p, user("u"), assistant("a"), meta={"age": 10})
    assert (v.kind, v.reason, v.unknown) == ("unspecified", "uncertain", ("trace.meta.limit",))


def test_a_settled_violation_lists_the_unknown_facts():
    p = policy("""
        norm n:
            forbid assistant says "x"
                unless trace.meta.vip == true: forbid assistant says "x"
    """)
    v = verdict(p, user("u"), assistant("x"))
    assert (v.kind, v.unknown) == ("violated", ("trace.meta.vip",))


def test_a_settled_explicit_unspecified_keeps_its_reason_and_lists_the_unknown_facts():
    p = policy("""
        norm n:
            case trace.meta.a > 1: unspecified "ask" escalate to developer
            otherwise: unspecified "ask" escalate to developer
    """)
    v = verdict(p, user("u"), assistant("x"))
    assert (v.kind, v.reason, v.escalate_to, v.gap, v.unknown) == (
        "unspecified", "ask", "developer", False, ("trace.meta.a",))


def test_unspecified_verdicts_with_different_reasons_are_not_settled():
    p = policy("""
        norm n:
            case trace.meta.a > 1: unspecified "ask legal"
            otherwise: unspecified "ask finance"
    """)
    v = verdict(p, user("u"), assistant("x"))
    assert (v.kind, v.reason, v.unknown) == ("unspecified", "uncertain", ("trace.meta.a",))
