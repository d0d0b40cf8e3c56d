"""Trace status: `violated` > `conflict` > `unspecified` > `pending` > `complied`;
`not_applicable` and `overridden` count as complied."""

from __future__ import annotations

import pytest

from ._support import assistant, check, policy, user

# Each norm produces its kind only when the user says its flag word; the reply is "x".
STATUS = policy("""
    norm v:
        when user says "v"
        forbid assistant says "x"
    norm c:
        when user says "c"
        permit
            unless user says "c": permit
            unless user says "c": forbid assistant says "x"
    norm u:
        when user says "u"
        unspecified "open"
    norm p:
        when user says "p"
        require assistant says "later" within 1 turn
    default norm t:
        when user says "t"
        forbid assistant says "x"
    norm o overrides t:
        when user says "o"
        permit
""")


def run(flags: str):
    return check(STATUS, user(flags), assistant("x"))


@pytest.mark.parametrize("flags, status", [
    ("v c u p", "violated"),
    ("c u p", "conflict"),
    ("u p", "unspecified"),
    ("p", "pending"),
    ("", "complied"),
    ("v", "violated"),
    ("c p", "conflict"),
    ("u", "unspecified"),
])
def test_status_precedence(flags, status):
    assert run(flags).status == status


def test_each_norm_gives_its_intended_kind():
    report = run("v c u p t")
    assert [(v.norm, v.kind) for v in report.verdicts] == [
        ("v", "violated"), ("c", "conflict"), ("u", "unspecified"), ("p", "pending"),
        ("t", "violated"), ("o", "not_applicable")]


def test_not_applicable_everywhere_is_complied():
    report = run("nothing")
    assert {v.kind for v in report.verdicts} == {"not_applicable"}
    assert report.status == "complied"


def test_overridden_counts_as_complied():
    report = run("t o")
    assert [(v.norm, v.kind) for v in report.verdicts if v.kind != "not_applicable"] == [
        ("t", "overridden"), ("o", "complied")]
    assert report.status == "complied"


def test_an_override_does_not_hide_another_norms_violation():
    assert run("t o v").status == "violated"


def test_a_trace_with_no_acts_is_complied():
    report = check(STATUS, user("v c u p"))
    assert report.verdicts == ()
    assert report.status == "complied"


def test_uncertain_verdicts_make_the_trace_unspecified():
    p = policy("""
        norm n:
            forbid trace.meta.x > 1
    """)
    assert check(p, user("a"), assistant("b")).status == "unspecified"


def test_one_violated_act_among_complied_acts_violates_the_trace():
    p = policy("""
        norm n:
            forbid assistant says "x"
    """)
    assert check(p, user("a"), assistant("ok"), user("b"), assistant("x"), user("c"),
                 assistant("ok")).status == "violated"


def test_the_status_is_in_the_json_report_and_not_applicable_is_hidden_by_default():
    report = run("v")
    data = report.to_json()
    assert data["status"] == "violated"
    assert [v["norm"] for v in data["verdicts"]] == ["v"]
    assert len(report.to_json(include_not_applicable=True)["verdicts"]) == 6


def test_inline_expectations_sum_a_norms_acts_by_severity():
    p = policy("""
        norm n:
            forbid assistant says "x"
        test "two acts":
            user: "a"
            assistant: "ok"
            user: "b"
            assistant: "x"
            expect n violated
            expect n complied at turn 1
            expect n violated at turn 3
    """)
    [result] = p.run_tests()
    assert result.passed
    assert [e.got for e in result.expectations] == ["violated", "complied", "violated"]
