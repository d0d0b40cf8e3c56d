"""Text predicates on a tool call's arguments and `call.run` (docs/language.md §6)."""

from __future__ import annotations

import pytest

import charter

from ._support import assistant, check, kinds, policy, searched_texts, tool, user

ARGUMENTS = policy("""
    use std.pii

    norm no_pii_out:
        "No e-mail address sent to a third-party tool."
        on tool call
        when call.name in ["send_message", "http_post"]
        forbid call mentions pii.email or call says "password"
""")


def test_a_call_is_read_by_the_strings_and_numbers_of_its_arguments():
    report = check(ARGUMENTS, user("tell the team"),
                   assistant(calls=[("send_message", {"to": "#team", "body": {"lines": ["hi", "ann@example.org"]}}),
                                    ("send_message", {"to": "#team", "body": "the build is green"}),
                                    ("lookup", {"q": "ann@example.org"})]),
                   assistant(calls=[("http_post", {"url": "https://x.test", "form": {"note": "my Password is 1234"}})]))
    assert kinds(report, "no_pii_out") == [(1, "violated"), (1, "complied"), (1, "not_applicable"),
                                           (2, "violated")]


def test_a_key_is_not_text_only_values_are():
    report = check(ARGUMENTS, user("go"), assistant(calls=[("send_message", {"password": "hunter2"})]))
    assert kinds(report, "no_pii_out") == [(1, "complied")]


RUNS = policy("""
    norm no_loops:
        "No tool call repeated more than twice in a row."
        on tool call
        forbid call.run > 2
""")


def test_a_run_counts_identical_calls_in_a_row_across_messages():
    same = ("search", {"q": "x"})
    report = check(RUNS, user("go"), assistant(calls=[same, same]), tool("nothing"),
                   assistant("again", calls=[same]), assistant(calls=[("search", {"q": "y"}), same]))
    assert kinds(report, "no_loops") == [(1, "complied"), (1, "complied"), (3, "violated"),
                                         (4, "complied"), (4, "complied")]


@pytest.mark.parametrize("text, code", [
    ('norm n:\n    "d"\n    forbid trace mentions "x"\n', "E100"),
    ('norm n:\n    "d"\n    on tool call\n    forbid call calls "x"\n', "E228"),
    ('norm n:\n    "d"\n    on tool call\n    forbid call.runs > 2\n', "E222"),
    ('norm n:\n    "d"\n    forbid call says "x"\n', "E221"),
])
def test_what_calls_still_cannot_do(text, code):
    with pytest.raises(charter.PolicyError) as error:
        charter.loads(text)
    assert code in [d.code for d in error.value.diagnostics]


def test_the_same_test_of_a_call_in_several_norms_searches_each_call_once(monkeypatch):
    searched = searched_texts(monkeypatch)
    p = policy("""
        norm a:
            on tool call
            forbid call says "password"
        norm b:
            on tool call
            when call.name == "send"
            require not call says "password"
    """)
    report = check(p, user("go"), assistant(calls=[("send", {"body": "my Password"}), ("send", {"to": "x"})]))
    assert kinds(report, "a") == kinds(report, "b") == [(1, "violated"), (1, "complied")]
    assert searched == ["my Password", "x"]
