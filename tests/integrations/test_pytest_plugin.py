"""The pytest plugin, run in real pytest sessions with pytester."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

POLICY = """\
charter shop by developer
authorities developer > user

norm refunds:
    "Never promise a refund."
    forbid assistant says "refund"

test "a plain answer complies":
    user: "Where is my parcel?"
    assistant: "It ships tomorrow."
    expect refunds complied

test "a promise is caught":
    user: "Money back?"
    assistant: "Yes, a refund is on its way."
    expect refunds complied
"""


@pytest.fixture
def project(pytester):
    pytester.makefile(".charter", shop=POLICY)
    return pytester


def test_charter_test_blocks_are_items_with_readable_failures(project):
    result = project.runpytest("--charter", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*shop.charter::a plain answer complies PASSED*",
        "*shop.charter::a promise is caught FAILED*",
        "*expect refunds complied: got violated*",
        "*refunds at turn 1: violated*",
        "*forbid*",
        "trace:",
        "*[[]1] assistant: 'Yes, a refund is on its way.'*",
    ])


def test_charter_files_are_left_alone_unless_asked_for(project):
    project.makepyfile(test_other="def test_ok():\n    pass\n")
    project.runpytest().assert_outcomes(passed=1)


def test_the_ini_option_collects_only_its_paths(project):
    project.mkdir("policies")
    (project.path / "policies" / "more.charter").write_text(POLICY.replace("shop", "more"))
    project.makeini("[pytest]\ncharter_paths = policies\n")
    result = project.runpytest("-v")
    result.assert_outcomes(passed=1, failed=1)
    assert "more.charter" in result.stdout.str() and "shop.charter" not in result.stdout.str()


def test_a_policy_that_does_not_load_is_a_collection_error_with_its_location(pytester):
    pytester.makefile(".charter", broken="charter broken\nnorm x:\n    forbid assistant sayz \"a\"\n")
    result = pytester.runpytest("--charter")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*broken.charter:3:*"])
    assert "Traceback" not in result.stdout.str()


def test_the_fixture_and_assert_verdict_check_an_assistant(project):
    project.makeini("[pytest]\ncharter_policy = shop.charter\n")
    project.makepyfile(test_assistant=textwrap.dedent('''
        from charter.integrations.pytest_plugin import assert_verdict

        def reply(question):
            return "Sure, a refund is coming." if "money" in question.lower() else "It ships tomorrow."

        def conversation(question):
            return {"id": question, "messages": [{"role": "user", "content": question},
                                                 {"role": "assistant", "content": reply(question)}]}

        def test_parcel(charter_policy):
            report = assert_verdict(charter_policy, conversation("Where is my parcel?"), "refunds", "complied")
            assert report.status == "complied"

        def test_money(charter_policy):
            assert_verdict(charter_policy, conversation("Money back?"), "refunds", "complied", turn=1)
    '''))
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*expected refunds complied at turn 1, got violated*",
        "*[[]1] assistant: 'Sure, a refund is coming.'*",
        "*refunds at turn 1: violated*",
    ])


def test_the_fixture_says_when_no_policy_is_named(pytester):
    pytester.makepyfile(test_x="def test_x(charter_policy):\n    pass\n")
    result = pytester.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*charter_policy fixture needs policy files*"])
