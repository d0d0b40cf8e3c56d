"""Obligations over time: `require B within N turns` looks at the next N assistant
messages after the act."""

from __future__ import annotations

import pytest

import charter

from ._support import assistant, at, check, kinds, one, policy, tool, user

REFERRAL = """
    norm referral:
        on user turn
        when user says "help"
        require assistant says "988" within {n} turn
"""


def test_complied_when_the_next_assistant_turn_holds():
    p = policy(REFERRAL.format(n=1))
    report = check(p, user("help"), assistant("call 988"))
    v = at(report, "referral", 0)
    assert (v.kind, v.reason, v.unknown) == ("complied", None, ())


def test_violated_when_the_window_closes_without_it():
    p = policy(REFERRAL.format(n=1))
    report = check(p, user("help"), assistant("hmm"), user("hello"), assistant("call 988"))
    assert kinds(report, "referral") == [(0, "violated"), (2, "not_applicable")]


def test_pending_when_the_trace_ends_before_the_window_closes():
    p = policy(REFERRAL.format(n=1))
    assert kinds(check(p, user("help")), "referral") == [(0, "pending")]
    p = policy(REFERRAL.format(n=3))
    report = check(p, user("help"), assistant("a"), user("b"), assistant("c"))
    assert kinds(report, "referral") == [(0, "pending"), (2, "not_applicable")]


def test_complied_at_a_later_turn_inside_the_window():
    p = policy(REFERRAL.format(n=3))
    report = check(p, user("help"), assistant("a"), user("b"), assistant("c"), user("d"),
                   assistant("dial 988"))
    v = at(report, "referral", 0)
    assert v.kind == "complied"
    # the explanation says where it held
    assert any(s.value == "at turn 5: true" for s in v.explanation.steps)


def test_a_reply_after_the_window_is_too_late():
    p = policy(REFERRAL.format(n=2))
    report = check(p, user("help"), assistant("a"), assistant("b"), assistant("988"))
    assert kinds(report, "referral") == [(0, "violated")]


def test_only_assistant_messages_count_as_turns():
    p = policy(REFERRAL.format(n=1))
    report = check(p, user("help"), tool("result"), user("please"), assistant("988"))
    assert kinds(report, "referral") == [(0, "complied"), (2, "not_applicable")]


def test_each_act_has_its_own_window():
    p = policy(REFERRAL.format(n=1))
    report = check(p, user("help"), user("help!"), assistant("988"), user("help"), assistant("no"))
    assert kinds(report, "referral") == [(0, "complied"), (1, "complied"), (3, "violated")]


def test_from_an_assistant_turn_the_window_starts_after_it():
    p = policy("""
        norm follow_up:
            when assistant says "I will check"
            require assistant says "I checked" within 1 turn
    """)
    report = check(p, user("q"), assistant("I will check. I checked"), user("and?"),
                   assistant("I checked"), assistant("I will check"))
    # turn 1 does not satisfy itself; turn 3 does; turn 4 has no next turn yet
    assert kinds(report, "follow_up") == [(1, "complied"), (3, "not_applicable"), (4, "pending")]


def test_from_an_assistant_turn_violated_when_the_next_turn_lacks_it():
    p = policy("""
        norm follow_up:
            when assistant says "I will check"
            require assistant says "I checked" within 1 turn
    """)
    report = check(p, user("q"), assistant("I will check"), assistant("sorry"))
    assert kinds(report, "follow_up") == [(1, "violated"), (2, "not_applicable")]


def test_window_turns_bind_subjects_as_an_assistant_turn_there():
    p = policy("""
        norm ack:
            on user turn
            when user says "start"
            require user says "go" and assistant says "ok" within 1 turn
    """)
    # at the window turn 2, `user` is message 1 ("go"), not the act's message 0
    report = check(p, user("start"), user("go"), assistant("ok"))
    assert at(report, "ack", 0).kind == "complied"


def test_an_unknown_window_turn_followed_by_a_holding_turn_is_complied():
    p = policy("""
        norm calm:
            on user turn
            when user says "help"
            require assistant.label("empathetic") within 2 turns
    """)
    report = check(p, user("help"), assistant("a"), assistant("b", labels={"empathetic": 0.9}))
    v = at(report, "calm", 0)
    assert (v.kind, v.unknown) == ("complied", ("messages[1].labels.empathetic",))


def test_an_unknown_window_turn_with_no_holding_turn_is_uncertain():
    p = policy("""
        norm calm:
            on user turn
            when user says "help"
            require assistant.label("empathetic") within 2 turns
    """)
    report = check(p, user("help"), assistant("a"), assistant("b", labels={"empathetic": 0.1}))
    v = at(report, "calm", 0)
    assert (v.kind, v.reason, v.unknown) == (
        "unspecified", "uncertain", ("messages[1].labels.empathetic",))


def test_an_unknown_turn_in_an_unfinished_window_is_uncertain_between_complied_and_pending():
    p = policy("""
        norm calm:
            on user turn
            when user says "help"
            require assistant.label("empathetic") within 2 turns
    """)
    v = at(check(p, user("help"), assistant("a")), "calm", 0)
    assert (v.kind, v.reason) == ("unspecified", "uncertain")


def test_within_in_an_exception():
    p = policy("""
        norm referral:
            on user turn
            permit
                unless user.label("self_harm") >= 0.8: require assistant says "988" within 1 turn
    """)
    report = check(p, user("a", labels={"self_harm": 0.9}), assistant("hi"),
                   user("b", labels={"self_harm": 0.1}), assistant("hi"))
    assert kinds(report, "referral") == [(0, "violated"), (2, "complied")]


def test_within_in_conversation_scope_is_a_load_error():
    with pytest.raises(charter.PolicyError) as caught:
        policy("""
            norm n:
                on conversation
                require assistant says "bye" within 1 turn
        """)
    assert any(d.code == "E306" for d in caught.value.diagnostics)


def test_within_zero_turns_is_a_load_error():
    with pytest.raises(charter.PolicyError) as caught:
        policy("""
            norm n:
                on user turn
                require assistant says "bye" within 0 turns
        """)
    assert any(d.code == "E307" for d in caught.value.diagnostics)


def test_a_pending_obligation_makes_the_trace_pending():
    p = policy(REFERRAL.format(n=1))
    assert check(p, user("help")).status == "pending"


def test_call_inside_a_window_of_a_tool_call_norm_is_absent():
    # the window is bound as for an assistant-turn act, where there is no call:
    # `call.name` of an absent call is "" (always known)
    p = policy("""
        norm n:
            on tool call
            require call.name == "lookup" within 1 turn
    """)
    report = check(p, user("u"), assistant("a", calls=[("lookup", {})]), assistant("b"))
    assert [(v.turn, v.call, v.kind) for v in report.verdicts] == [(1, 0, "violated")]


# ---- what a turn is: a reply the user sees (issue 19.2)

DISCLAIMER = """
    norm disclaimer:
        on user turn
        when user says "invest"
        require assistant says "not financial advice" within 1 {unit}
"""
ASKED_AND_LOOKED_UP = (user("Should I invest in bonds?"), assistant(calls=[("quotes", {"q": "bonds"})]),
                       tool("bonds: 4%"))


def test_a_message_that_only_calls_a_tool_is_not_a_turn():
    p = policy(DISCLAIMER.format(unit="turn"))
    report = check(p, *ASKED_AND_LOOKED_UP, assistant("Bonds pay 4%. This is not financial advice."))
    assert kinds(report, "disclaimer") == [(0, "complied")]
    assert kinds(check(p, *ASKED_AND_LOOKED_UP), "disclaimer") == [(0, "pending")]
    report = check(p, *ASKED_AND_LOOKED_UP, assistant("Bonds pay 4%."), assistant("not financial advice"))
    assert kinds(report, "disclaimer") == [(0, "violated")]


def test_a_message_of_whitespace_only_is_not_a_turn():
    p = policy(DISCLAIMER.format(unit="turn"))
    report = check(p, user("invest?"), assistant(" \n"), assistant("This is not financial advice."))
    assert kinds(report, "disclaimer") == [(0, "complied")]


def test_within_messages_counts_every_assistant_message():
    p = policy(DISCLAIMER.format(unit="message"))
    report = check(p, *ASKED_AND_LOOKED_UP, assistant("This is not financial advice."))
    assert kinds(report, "disclaimer") == [(0, "violated")]
    v = at(check(p, user("invest?"), assistant("not financial advice")), "disclaimer", 0)
    assert v.kind == "complied"


def test_a_tool_call_before_the_reply_is_inside_the_window():
    # every assistant message up to the N-th reply is in the window, so a call made
    # before the reply meets a `calls` obligation
    p = policy("""
        norm escalate:
            on user turn
            when user says "fraud"
            require assistant calls "escalate" within 1 turn
    """)
    report = check(p, user("fraud!"), assistant(calls=[("lookup", {})]), assistant(calls=[("escalate", {})]),
                   tool("ok"), assistant("I escalated it."))
    v = at(report, "escalate", 0)
    assert v.kind == "complied" and any(s.value == "at turn 2: true" for s in v.explanation.steps)
    report = check(p, user("fraud!"), assistant("Let me see."), assistant(calls=[("escalate", {})]))
    assert kinds(report, "escalate") == [(0, "violated")]


def test_a_session_keeps_a_window_open_across_tool_calls():
    session = policy(DISCLAIMER.format(unit="turns")).session()
    for message in ASKED_AND_LOOKED_UP:
        assert session.add(message) == []
    assert [(v.turn, v.kind) for v in session.pending()] == [(0, "pending")]
    assert [(v.turn, v.kind) for v in session.add(assistant("not financial advice"))] == [(0, "complied")]
    session = policy(DISCLAIMER.format(unit="messages")).session()
    settled = [v for m in ASKED_AND_LOOKED_UP for v in session.add(m)]
    assert [(v.turn, v.kind) for v in settled] == [(0, "violated")]


def test_fmt_keeps_the_unit():
    from charter.source.text import Source
    from charter.syntax.format import format_source

    text = 'charter t by platform\n\nnorm n:\n    on user turn\n    require assistant says "x" within 2 messages\n'
    formatted, errors = format_source(Source("t.charter", text))
    assert errors == [] and "within 2 messages" in formatted.text
