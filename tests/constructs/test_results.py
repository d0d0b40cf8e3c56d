"""A tool result's call and a call's result (docs/language.md §6.14): `S answers "tool"`,
`S failed`, `S.call.name`, `S.call.args.PATH`; unknown when a result is linked to no
call, or the trace does not say whether it failed."""

from __future__ import annotations

import pytest

from ._agents import calls, result
from ._support import assistant, check, kinds, policy, user

CLAIMS = policy("""
    norm sent_claims_follow_a_send:
        when assistant says any of ["email sent", "I have sent"]
        require tool answers "send_email" and not (tool failed)
""")


@pytest.mark.parametrize(("answers", "name", "error", "expected"), [
    ("m", "send_email", False, "complied"),
    ("m", "send_email", True, "violated"),
    ("m", "search", False, "violated"),
    (None, "send_email", False, "unspecified"),  # linked to no call
    ("m", "send_email", None, "unspecified"),  # the trace does not say whether it failed
])
def test_answers_and_failed(answers, name, error, expected):
    report = check(CLAIMS, user("mail Ann"), calls(("m", name, {"to": "ann@example.org"})),
                   result("done", answers, error), assistant("Email sent."))
    assert kinds(report, "sent_claims_follow_a_send")[-1] == (3, expected)


def test_no_tool_message_is_not_an_answer():
    report = check(CLAIMS, user("mail Ann"), assistant("Email sent."))
    assert kinds(report, "sent_claims_follow_a_send") == [(1, "violated")]


LINKED = policy("""
    norm results_of_reads_only:
        on assistant turn
        when tool.chars > 0
        require tool.call.name == "read_file" and tool.call.args.path != "/etc/passwd"
""")


@pytest.mark.parametrize(("answers", "args", "expected", "unknown"), [
    ("r", {"path": "notes.txt"}, "complied", ()),
    ("r", {"path": "/etc/passwd"}, "violated", ()),
    (None, {"path": "notes.txt"}, "unspecified", ("messages[2].call",)),
    ("r", {}, "unspecified", ("messages[1].tool_calls[0].arguments.path",)),
])
def test_a_results_call(answers, args, expected, unknown):
    report = check(LINKED, user("read it"), calls(("r", "read_file", args)), result("text", answers),
                   assistant("Here it is."))
    verdict = report.verdicts[-1]
    assert (verdict.turn, verdict.kind, verdict.unknown) == (3, expected, unknown)


def test_a_calls_result_failed():
    p = policy("""
        norm no_failed_deletes:
            on tool call
            when call.name == "delete"
            forbid call failed
    """)
    report = check(p, user("go"), calls(("a", "delete", {}), ("b", "delete", {}), ("c", "delete", {})),
                   result("ok", "a", False), result("denied", "b", True))
    assert [(v.kind, v.unknown) for v in report.verdicts] == [
        ("complied", ()), ("violated", ()), ("unspecified", ("messages[1].tool_calls[2].result",))]


def test_a_quantified_answers():
    p = policy("""
        norm claims:
            when assistant says "sent"
            require any earlier tool answers "send_email"
    """)
    report = check(p, user("x"), calls(("m", "send_email", {})), result("ok", "m"), calls(("s", "search", {})),
                   result("ok", "s"), assistant("sent"))
    assert kinds(report, "claims")[-1] == (5, "complied")


@pytest.mark.parametrize(("errors", "expected"), [
    ((False, True), ("violated", "complied", "violated")),  # one failed: `any` holds, `every` does not
    ((False, False), ("complied", "complied", "complied")),
    ((True, True), ("violated", "violated", "violated")),
    ((False, None), ("unspecified", "complied", "unspecified")),  # `any` and the count hang on the unknown one
    ((True, None), ("violated", "unspecified", "violated")),  # `every` does; a count of 1 or 2 is not < 1
])
def test_quantified_failed_is_three_valued(errors, expected):
    """`any` / `every earlier tool failed` and their count read the index of
    compile/quantifiers.py; a result whose failure is not said keeps them unknown
    exactly when the others do not decide."""
    p = policy("""
        norm no_failure_before_a_claim:
            when assistant says "sent"
            forbid any earlier tool failed
        norm every_send_failed:
            when assistant says "sent"
            forbid every earlier tool failed
        norm one_failure_at_most:
            when assistant says "sent"
            require count(any earlier tool failed) < 1
    """)
    report = check(p, user("x"), calls(("a", "send_email", {}), ("b", "send_email", {})),
                   result("r", "a", errors[0]), result("r", "b", errors[1]), assistant("sent"))
    got = tuple(kinds(report, n)[-1][1] for n in ("no_failure_before_a_claim", "every_send_failed",
                                                   "one_failure_at_most"))
    assert got == expected


def test_an_indexed_quantifier_lists_the_unknown_facts_a_scan_in_order_meets():
    """The index answers as reading the earlier results in order would: the unknown
    failure met before the witness is listed, although it does not decide (as the
    oracle lists it)."""
    p = policy("""
        norm n:
            when assistant says "done"
            require any earlier tool failed
    """)
    report = check(p, user("x"), result("r", "a"), result("r", "b", True), assistant("done"))
    verdict = report.verdicts[-1]
    assert (verdict.kind, verdict.unknown) == ("complied", ("messages[1].error",))


def test_a_test_block_says_whether_a_result_failed():
    p = policy("""
        norm sent_claims_follow_a_send:
            when assistant says "email sent"
            require tool answers "send_email" and not (tool failed)

        test "a bounce, a send, and one the trace does not report":
            user: "mail Ann"
            assistant calls send_email {"to": "ann@example.org"}
            tool: "550 mailbox unavailable" failed
            assistant: "Email sent."
            user: "again"
            assistant calls send_email {"to": "ann@example.org"}
            tool: "queued" not failed
            assistant: "Email sent."
            user: "again"
            assistant calls send_email {"to": "ann@example.org"}
            tool: "queued"
            assistant: "Email sent."
            expect sent_claims_follow_a_send violated at turn 3
            expect sent_claims_follow_a_send complied at turn 7
            expect sent_claims_follow_a_send unspecified at turn 11
    """)
    (result_,) = p.run_tests()
    assert [(e.expected, e.got) for e in result_.expectations] == [
        ("violated", "violated"), ("complied", "complied"), ("unspecified", "unspecified")]
    assert [m.error for m in result_.trace.messages if m.role == "tool"] == [True, False, None]
