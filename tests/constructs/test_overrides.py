"""Authority and overrides: `default norm`, `overridable by`, `norm N by A overrides M`,
and the load-time checks on them."""

from __future__ import annotations

import pytest

import charter

from ._support import assistant, check, kinds, of, one, policy, user

TONE = """
    charter tone by developer
    default norm formal:
        forbid assistant says "lol"
    norm casual overrides formal:
        when any earlier user says "be casual"
        permit
"""


def codes(text: str) -> list[str]:
    with pytest.raises(charter.PolicyError) as caught:
        policy(text)
    return [d.code for d in caught.value.diagnostics]


def test_an_override_applies_only_where_the_overriders_trigger_holds():
    p = policy(TONE)
    report = check(p, user("hi"), assistant("lol"), user("be casual"), assistant("lol"))
    assert kinds(report, "formal") == [(1, "violated"), (3, "overridden")]
    v = of(report, "formal")[1]
    assert (v.overridden_by, v.reason, v.unknown) == ("casual", None, ())
    assert of(report, "formal")[0].overridden_by is None


def test_the_overriders_own_verdicts_are_reported_too():
    p = policy(TONE)
    report = check(p, user("hi"), assistant("lol"), user("be casual"), assistant("lol"))
    assert kinds(report, "casual") == [(1, "not_applicable"), (3, "complied")]


def test_an_overridden_verdict_replaces_a_non_applicable_one():
    p = policy("""
        default norm formal:
            when user says "hello"
            forbid assistant says "lol"
        norm casual overrides formal:
            when user says "casual"
            permit
    """)
    v = one(check(p, user("casual"), assistant("lol")), "formal")
    assert (v.kind, v.overridden_by) == ("overridden", "casual")


def test_an_overrider_without_a_trigger_overrides_every_act():
    p = policy("""
        default norm formal:
            forbid assistant says "lol"
        norm anything overrides formal:
            permit
    """)
    report = check(p, user("a"), assistant("lol"), user("b"), assistant("ok"))
    assert kinds(report, "formal") == [(1, "overridden"), (3, "overridden")]


def test_overridable_by_user_lets_a_user_norm_override_a_developer_default():
    p = policy("""
        default norm formal by developer:
            overridable by user
            forbid assistant says "lol"
        norm casual by user overrides formal:
            when user says "casual"
            permit
    """)
    assert one(check(p, user("casual"), assistant("lol")), "formal").kind == "overridden"


def test_without_overridable_by_a_lower_authority_may_not_override_a_default():
    assert "E312" in codes("""
        default norm formal by developer:
            forbid assistant says "lol"
        norm casual by user overrides formal:
            permit
    """)


def test_a_higher_authority_may_override_a_non_default_norm():
    p = policy("""
        norm upsell by developer:
            require assistant says "premium"
        norm no_upsell_to_minors by platform overrides upsell:
            when trace.meta.minor == true
            forbid assistant says "premium"
    """)
    report = check(p, user("hi"), assistant("hello"), meta={"minor": True})
    v = one(report, "upsell")
    assert (v.kind, v.overridden_by) == ("overridden", "no_upsell_to_minors")
    assert one(report, "no_upsell_to_minors").kind == "complied"
    report = check(p, user("hi"), assistant("hello"), meta={"minor": False})
    assert one(report, "upsell").kind == "violated"


def test_an_equal_authority_may_not_override_a_non_default_norm():
    assert "E313" in codes("""
        norm a by developer:
            forbid assistant says "x"
        norm b by developer overrides a:
            permit
    """)


def test_overriding_an_unknown_norm_is_a_load_error():
    assert "E310" in codes("""
        norm b overrides nowhere:
            permit
    """)


def test_an_override_cycle_is_a_load_error():
    assert "E311" in codes("""
        default norm a overrides b:
            permit
        default norm b overrides a:
            permit
    """)


def test_a_norm_overriding_itself_is_a_load_error():
    assert "E311" in codes("""
        default norm a overrides a:
            permit
    """)


def test_an_overrider_checked_at_another_scope_is_a_load_error():
    assert "E314" in codes("""
        default norm a:
            forbid assistant says "x"
        norm b overrides a:
            on user turn
            permit
    """)


def test_a_conversation_scope_overrider_applies_at_every_act():
    p = policy("""
        default norm formal:
            forbid assistant says "lol"
        norm casual_chat overrides formal:
            on conversation
            when any user says "be casual"
            permit
    """)
    # the user asks only at the end, but the conversation-wide trigger holds at every act
    report = check(p, user("hi"), assistant("lol"), user("be casual"), assistant("lol"))
    assert kinds(report, "formal") == [(1, "overridden"), (3, "overridden")]
    assert kinds(report, "casual_chat") == [(None, "complied")]
    report = check(p, user("hi"), assistant("lol"))
    assert kinds(report, "formal") == [(1, "violated")]


def test_the_first_overrider_by_name_is_named_when_several_apply():
    p = policy("""
        default norm formal:
            forbid assistant says "lol"
        norm zeta overrides formal:
            permit
        norm alpha overrides formal:
            permit
    """)
    assert one(check(p, user("a"), assistant("lol")), "formal").overridden_by == "alpha"


def test_an_unknown_overrider_trigger_is_settled_when_the_target_complies():
    p = policy("""
        default norm formal:
            forbid assistant says "lol"
        norm vip overrides formal:
            when trace.meta.vip == true
            permit
    """)
    v = one(check(p, user("a"), assistant("good day")), "formal")
    assert (v.kind, v.overridden_by, v.unknown) == ("complied", None, ("trace.meta.vip",))
    v = one(check(p, user("a"), assistant("lol")), "formal")
    assert (v.kind, v.reason, v.unknown) == ("unspecified", "uncertain", ("trace.meta.vip",))


def test_overridden_counts_as_complied_in_the_trace_status():
    p = policy(TONE)
    report = check(p, user("be casual"), assistant("lol"))
    assert one(report, "formal").kind == "overridden"
    assert report.status == "complied"


def test_an_override_explanation_points_at_the_overriders_trigger():
    p = policy(TONE)
    v = of(check(p, user("be casual"), assistant("lol")), "formal")[0]
    step = v.explanation.steps[0]
    assert (step.clause, step.value, step.span.line) == ("overridden by", "true", 5)


def test_overridable_by_a_higher_authority_forbids_a_same_authority_override():
    assert "E312" in codes("""
        default norm formal by developer:
            overridable by platform
            forbid assistant says "lol"
        norm casual by developer overrides formal:
            permit
    """)


def test_a_conversation_scope_overriders_trigger_uses_its_own_conversation_bindings():
    p = policy("""
        default norm formal:
            forbid assistant says "lol"
        norm casual overrides formal:
            on conversation
            when user says "be casual"
            permit
    """)
    report = check(p, user("be casual"), assistant("lol"), user("thanks"), assistant("lol"))
    # in conversation scope `user` is the last user message ("thanks"): casual does not apply
    assert kinds(report, "casual") == [(None, "not_applicable")]
    assert kinds(report, "formal") == [(1, "violated"), (3, "violated")]


def test_overridden_or_not_applicable_over_an_unknown_is_reported_as_overridden():
    p = policy("""
        default norm formal:
            when user says "zzz"
            forbid assistant says "lol"
        norm vip overrides formal:
            when trace.meta.vip == true
            permit
    """)
    v = one(check(p, user("a"), assistant("lol")), "formal")
    assert (v.kind, v.overridden_by, v.unknown) == ("overridden", "vip", ("trace.meta.vip",))
