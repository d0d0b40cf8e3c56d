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
