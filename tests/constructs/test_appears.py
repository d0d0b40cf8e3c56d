"""`V appears in EVENTS` (docs/language.md §6.14): a value found, as a whole value, in the
messages a range names; true, false, and unknown from an absent argument or a result
linked to no call."""

from __future__ import annotations

import pytest

from ._agents import calls, result
from ._support import assistant, check, kinds, policy, user

RECIPIENT = policy("""
    norm recipient_given:
        on tool call
        when call.name == "send_email"
        require call.args.to appears in any earlier user
""")


def test_true_when_an_earlier_user_message_holds_the_address_in_any_case():
    report = check(RECIPIENT, user("Mail the notes to Ann@Example.org, please."),
                   calls(("c1", "send_email", {"to": "ann@example.org"})))
    assert kinds(report, "recipient_given") == [(1, "complied")]


def test_false_when_no_earlier_user_message_holds_it():
    report = check(RECIPIENT, user("Mail the notes to ann@example.org"),
                   calls(("c1", "send_email", {"to": "bob@example.org"})),
                   user("also bob@example.org"))  # later: not earlier
    assert kinds(report, "recipient_given") == [(1, "violated")]


def test_a_whole_value_not_a_substring():
    report = check(RECIPIENT, user("write to jann@example.org"),
                   calls(("c1", "send_email", {"to": "ann@example.org"})))
    assert kinds(report, "recipient_given") == [(1, "violated")]


def test_unknown_when_the_argument_is_absent():
    report = check(RECIPIENT, user("mail ann@example.org"), calls(("c1", "send_email", {"body": "x"})))
    verdict = report.verdicts[0]
    assert (verdict.kind, verdict.unknown) == ("unspecified", ("messages[1].tool_calls[0].arguments.to",))


def test_numbers_compare_as_numbers_and_words_in_sequence():
    p = policy("""
        norm n:
            on tool call
            require call.args.amount appears in latest user and call.args.city appears in any earlier user
    """)
    report = check(p, user("Pay $1,250.00 for the trip to New York."),
                   calls(("c1", "pay", {"amount": 1250, "city": "new york"}),
                         ("c2", "pay", {"amount": "1250", "city": "York New"})))
    assert kinds(report, "n") == [(1, "complied"), (1, "violated")]


FETCHED = policy("""
    norm only_what_a_search_returned:
        on tool call
        when call.name == "open"
        require call.args.url appears in any earlier tool that answers "search"
""")


def test_a_filter_on_the_call_a_result_answers():
    report = check(FETCHED, user("find x"), calls(("s", "search", {"q": "x"}), ("o", "weather", {})),
                   result("see https://a.example", "o"), result("see https://b.example", "s"),
                   calls(("c1", "open", {"url": "https://b.example"})),
                   calls(("c2", "open", {"url": "https://a.example"})))
    assert kinds(report, "only_what_a_search_returned")[2:] == [(4, "complied"), (5, "violated")]


def test_unknown_when_the_only_holder_is_a_result_linked_to_no_call():
    report = check(FETCHED, user("find x"), calls(("s", "search", {"q": "x"})),
                   result("see https://b.example", None),
                   calls(("c1", "open", {"url": "https://b.example"})))
    verdict = [v for v in report.verdicts if v.norm == "only_what_a_search_returned"][-1]
    assert (verdict.kind, verdict.unknown) == ("unspecified", ("messages[2].call",))


@pytest.mark.parametrize("share", [0, 4], ids=["index", "direct search"])
def test_a_linked_holder_settles_it_and_an_unknown_answer_names_the_first_unlinked_one(share, monkeypatch):
    from charter.bindings import index

    monkeypatch.setattr(index, "_DIRECT_SHARE", share)
    unlinked = (user("find x"), calls(("s", "search", {"q": "x"})), result("see https://b.example", None),
                result("https://b.example again", None))
    report = check(FETCHED, *unlinked, calls(("c1", "open", {"url": "https://b.example"})))
    verdict = [v for v in report.verdicts if v.norm == "only_what_a_search_returned"][-1]
    assert (verdict.kind, verdict.unknown) == ("unspecified", ("messages[2].call",))
    assert [b.found.turn for b in verdict.explanation.bindings] == [2]
    report = check(FETCHED, *unlinked, result("and https://b.example", "s"),
                   calls(("c1", "open", {"url": "https://b.example"})))
    assert kinds(report, "only_what_a_search_returned")[-1] == (5, "complied")


@pytest.mark.parametrize(("quantifier", "expected"), [
    ("any earlier", "complied"), ("every earlier", "violated"), ("latest", "complied"),
    ("any later", "violated"), ("any", "complied"), ("every later", "complied"),
])
def test_quantifiers(quantifier, expected):
    p = policy(f"""
        norm n:
            require "blue" appears in {quantifier} user
    """)
    report = check(p, user("red"), user("Blue!"), assistant("ok"))
    assert kinds(report, "n") == [(2, expected)]


def test_the_explanation_names_both_ends():
    report = check(RECIPIENT, user("Mail it to ann@example.org"), calls(("c1", "send_email", {"to": "ann@example.org"})))
    (binding,) = report.verdicts[0].explanation.bindings
    assert binding.value == "ann@example.org"
    assert binding.source == "messages[1].tool_calls[0].arguments.to"
    assert (binding.found.turn, binding.found.text) == (0, "ann@example.org")


def test_a_message_s_numbers_are_read_only_when_a_number_is_looked_up(monkeypatch):
    """Words and numbers are indexed apart: an address never reads the messages' numbers;
    an amount reads each message's once, however many acts ask."""
    from charter.bindings import values

    read: list[str] = []
    made = values.numbers
    monkeypatch.setattr(values, "numbers", lambda text: read.append(text) or made(text))
    amounts = policy("""
        norm amount_given:
            on tool call
            when call.name == "pay"
            require call.args.amount appears in any earlier user
    """)
    messages = (user("Mail ann@example.org, and pay 1,250"), calls(("c1", "send_email", {"to": "ann@example.org"})),
                user("again 80"), calls(("c2", "pay", {"amount": 1250}), ("c3", "pay", {"amount": 80})))
    assert kinds(check(RECIPIENT, *messages), "recipient_given") == [(1, "complied"), (3, "not_applicable"),
                                                                      (3, "not_applicable")]
    assert read == []
    assert kinds(check(amounts, *messages), "amount_given") == [(1, "not_applicable"), (3, "complied"),
                                                               (3, "complied")]
    assert read == ["Mail ann@example.org, and pay 1,250", "again 80"]
