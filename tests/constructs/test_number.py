"""`S.number` and `(latest R that ...).number` (docs/language.md §6.14): the one number a
message holds; unknown when it holds none or several, or no message passes the filter."""

from __future__ import annotations

import pytest

from ._agents import calls
from ._support import assistant, check, policy, user

CONFIRMED = policy("""
    norm confirmed_amount:
        on tool call
        when call.name == "transfer"
        require call.args.amount == (latest user that says any of ["confirm", "yes"]).number
""")


@pytest.mark.parametrize(("messages", "amount", "expected", "unknown"), [
    (["Send 250 to Bob", "Yes, 250."], 250, "complied", ()),
    (["Yes, confirm 250.", "Actually make it 300"], 250, "complied", ()),  # the latest *confirmation*
    (["Yes, confirm 250."], 2500, "violated", ()),
    (["Yes, confirm $1,250.50"], 1250.5, "complied", ()),
    (["Send it"], 10, "unspecified", ("latest user.number",)),
    (["Yes, confirm"], 10, "unspecified", ("messages[0].number",)),
    (["Yes: 250 to account 12345"], 250, "unspecified", ("messages[0].number",)),
])
def test_the_confirmed_amount(messages, amount, expected, unknown):
    report = check(CONFIRMED, *[user(m) for m in messages], calls(("t", "transfer", {"amount": amount})))
    verdict = report.verdicts[-1]
    assert (verdict.kind, verdict.unknown) == (expected, unknown)


def test_an_absent_argument_is_unknown():
    report = check(CONFIRMED, user("yes 250"), calls(("t", "transfer", {})))
    assert report.verdicts[-1].kind == "unspecified"


def test_a_subjects_number_and_the_explanation():
    p = policy("""
        norm repeat_the_number:
            require assistant.number == user.number
    """)
    report = check(p, user("Is 42 right?"), assistant("Yes, 42."), user("and 7?"), assistant("No."))
    assert [v.kind for v in report.verdicts] == ["complied", "unspecified"]
    binding = report.verdicts[0].explanation.bindings[0]
    assert (binding.value, binding.found.turn, binding.found.text) == (42, 1, "42")
