"""Scopes (`on assistant turn`, `on user turn`, `on tool call`, `on conversation`) and the
binding of subjects at each act (docs/semantics-contract.md, "Acts and subject binding")."""

from __future__ import annotations

from ._support import (assistant, at, check, developer, kinds, of, one, policy, system, tool,
                       user)


def test_assistant_turn_is_the_default_scope_one_verdict_per_assistant_message():
    p = policy("""
        norm no_lol:
            forbid assistant says "lol"
    """)
    report = check(p, user("hi"), assistant("hello"), user("joke?"), assistant("lol"))
    assert kinds(report, "no_lol") == [(1, "complied"), (3, "violated")]
    assert all(v.call is None for v in of(report, "no_lol"))


def test_user_at_an_assistant_turn_is_the_latest_user_message_before_it():
    p = policy("""
        norm echo:
            on assistant turn
            when user says "ping"
            require assistant says "pong"
    """)
    report = check(p, user("ping"), assistant("pong"), user("hello"), assistant("hi"),
                   user("ping"))
    # turn 3 binds the user at 2 ("hello"), not the earlier "ping" nor the later one
    assert kinds(report, "echo") == [(1, "complied"), (3, "not_applicable")]


def test_user_before_any_user_message_is_absent_and_says_nothing():
    p = policy("""
        norm greet:
            when not (user says "hi")
            require assistant says "welcome"
    """)
    report = check(p, system("be nice"), assistant("hello"), user("hi"), assistant("hey"))
    assert kinds(report, "greet") == [(1, "violated"), (3, "not_applicable")]


def test_user_turn_scope_binds_the_user_message_and_the_latest_assistant_before_it():
    p = policy("""
        norm thanks_after_answer:
            on user turn
            when user says "thanks"
            require previous user says "question" or assistant says "answer"
    """)
    report = check(p, user("question"), assistant("the answer"), user("thanks"),
                   user("thanks again"))
    # turn 2: assistant (1) says "answer"; turn 3: assistant is still message 1
    assert kinds(report, "thanks_after_answer") == [
        (0, "not_applicable"), (2, "complied"), (3, "complied")]


def test_user_turn_assistant_is_absent_before_the_first_assistant_message():
    p = policy("""
        norm first:
            on user turn
            forbid assistant says "hello"
    """)
    report = check(p, user("a"), assistant("hello"), user("b"))
    assert kinds(report, "first") == [(0, "complied"), (2, "violated")]


def test_tool_call_scope_gives_one_verdict_per_call_with_its_index():
    p = policy("""
        norm no_delete:
            on tool call
            forbid call.name == "delete"
    """)
    report = check(p, user("clean up"),
                   assistant("ok", calls=[("list", {}), ("delete", {"path": "/tmp"})]),
                   assistant("no calls here"),
                   assistant(calls=[("delete", {})]))
    assert [(v.turn, v.call, v.kind) for v in of(report, "no_delete")] == [
        (1, 0, "complied"), (1, 1, "violated"), (3, 0, "violated")]


def test_tool_call_args_are_read_by_path():
    p = policy("""
        norm no_root:
            on tool call
            when call.name == "delete"
            forbid call.args.target.path == "/"
    """)
    report = check(p, user("x"), assistant(calls=[
        ("delete", {"target": {"path": "/"}}),
        ("delete", {"target": {"path": "/home"}}),
        ("move", {"target": {"path": "/"}}),
    ]))
    assert [v.kind for v in of(report, "no_root")] == ["violated", "complied", "not_applicable"]


def test_tool_call_missing_argument_is_an_unknown_fact():
    p = policy("""
        norm no_root:
            on tool call
            forbid call.args.path == "/"
    """)
    report = check(p, user("x"), assistant(calls=[("delete", {})]))
    v = one(report, "no_root")
    assert (v.kind, v.reason, v.unknown) == (
        "unspecified", "uncertain", ("messages[1].tool_calls[0].arguments.path",))


def test_tool_call_scope_binds_user_and_assistant_like_an_assistant_turn():
    p = policy("""
        norm only_when_asked:
            on tool call
            when call.name == "delete"
            require user says "delete" and assistant says "deleting"
    """)
    report = check(p, user("please delete it"), assistant("deleting", calls=[("delete", {})]),
                   user("and again"), assistant("sure", calls=[("delete", {})]))
    assert [(v.turn, v.kind) for v in of(report, "only_when_asked")] == [
        (1, "complied"), (3, "violated")]


def test_conversation_scope_gives_one_verdict_with_no_turn():
    p = policy("""
        norm signed_off:
            on conversation
            require assistant says "goodbye"
    """)
    report = check(p, user("hi"), assistant("goodbye"), user("wait"), assistant("yes?"))
    v = one(report, "signed_off")
    # `assistant` is the last assistant message, which does not say goodbye
    assert (v.turn, v.call, v.kind) == (None, None, "violated")


def test_conversation_scope_binds_the_last_user_message():
    p = policy("""
        norm last_user:
            on conversation
            require user says "bye"
    """)
    assert one(check(p, user("hi"), assistant("a"), user("bye"), assistant("b")),
               "last_user").kind == "complied"
    assert one(check(p, user("bye"), assistant("a"), user("hi")), "last_user").kind == "violated"


def test_conversation_scope_on_an_empty_trace_still_gives_one_verdict():
    p = policy("""
        norm must_answer:
            on conversation
            require any assistant says "answer"
    """)
    report = check(p)
    assert kinds(report, "must_answer") == [(None, "violated")]


def test_previous_assistant_at_an_assistant_turn_is_the_assistant_before_it():
    p = policy("""
        norm no_repeat:
            forbid previous assistant says "sorry" and assistant says "sorry"
    """)
    report = check(p, user("a"), assistant("sorry"), user("b"), assistant("sorry again"),
                   user("c"), assistant("fine"))
    # turn 1 has no previous assistant: absent, so `says` is false
    assert kinds(report, "no_repeat") == [(1, "complied"), (3, "violated"), (5, "complied")]


def test_previous_assistant_in_conversation_scope_is_the_one_before_the_last():
    p = policy("""
        norm second_to_last:
            on conversation
            require previous assistant says "two"
    """)
    assert one(check(p, assistant("one"), assistant("two"), assistant("three")),
               "second_to_last").kind == "complied"
    assert one(check(p, assistant("two")), "second_to_last").kind == "violated"


def test_system_developer_and_tool_are_the_latest_of_their_role_before_the_act():
    p = policy("""
        norm obeys_system:
            when system says "be brief" and developer says "beta" and tool says "sunny"
            require assistant.words <= 3
    """)
    report = check(p, system("be verbose"), developer("beta build"), user("weather?"),
                   tool("sunny"), assistant("it is sunny outside today"),
                   system("be brief"), assistant("it is sunny outside today"),
                   tool("rain"), assistant("rain now"))
    # turn 4: system says "be verbose" -> n/a; turn 6: all hold -> too long;
    # turn 8: tool now says "rain" -> n/a
    assert kinds(report, "obeys_system") == [
        (4, "not_applicable"), (6, "violated"), (8, "not_applicable")]


def test_a_message_after_the_act_is_not_bound():
    p = policy("""
        norm sys:
            when system says "secret"
            forbid assistant says "secret"
    """)
    report = check(p, user("tell me"), assistant("the secret"), system("secret"))
    assert kinds(report, "sys") == [(1, "not_applicable")]


def test_conversation_scope_binds_the_last_system_message():
    p = policy("""
        norm sys:
            on conversation
            require system says "final"
    """)
    assert one(check(p, system("first"), user("x"), system("final")), "sys").kind == "complied"


def test_label_of_an_absent_subject_is_unknown_named_by_role():
    p = policy("""
        norm tool_safe:
            forbid tool.label("toxic") >= 0.5
    """)
    v = one(check(p, user("x"), assistant("y")), "tool_safe")
    assert (v.kind, v.reason, v.unknown) == ("unspecified", "uncertain", ("tool.labels.toxic",))


def test_sizes_of_an_absent_subject_are_zero():
    p = policy("""
        norm sizes:
            require system.words == 0 and system.chars == 0 and previous assistant.chars == 0
    """)
    assert one(check(p, user("x"), assistant("y")), "sizes").kind == "complied"


def test_meta_of_an_absent_subject_is_unknown():
    p = policy("""
        norm dev_meta:
            when developer.meta.tier == "gold"
            require assistant says "welcome"
    """)
    v = one(check(p, user("x"), assistant("y")), "dev_meta")
    assert (v.kind, v.unknown) == ("unspecified", ("developer.meta.tier",))
    # and it is settled when the body complies anyway
    v = one(check(p, user("x"), assistant("welcome")), "dev_meta")
    assert (v.kind, v.unknown) == ("complied", ("developer.meta.tier",))


def test_subject_message_meta_is_read_from_the_bound_message():
    p = policy("""
        norm vip:
            when user.meta.tier == "gold"
            require assistant says "valued"
    """)
    report = check(p, user("a", meta={"tier": "gold"}), assistant("hi"),
                   user("b", meta={"tier": "free"}), assistant("hi"))
    assert kinds(report, "vip") == [(1, "violated"), (3, "not_applicable")]
    assert at(report, "vip", 1).unknown == ()


def test_previous_user_at_an_assistant_turn_is_the_user_message_before_the_latest():
    # contract: `previous R` is the R message just before the one `R` denotes at the act
    p = policy("""
        norm n:
            require previous user says "first" and user says "second"
    """)
    report = check(p, user("first"), user("second"), assistant("a"))
    assert kinds(report, "n") == [(2, "complied")]
    report = check(p, user("second"), assistant("a"))
    assert kinds(report, "n") == [(1, "violated")]


def test_inline_test_calls_join_the_assistant_message_above():
    p = policy("""
        norm no_root:
            on tool call
            forbid call.args.path == "/"
        test "three calls in one message":
            user: "clean up"
            assistant: "deleting"
            assistant calls delete {"path": "/"}
            assistant calls delete {"path": "/tmp"}
            expect no_root violated at turn 1
    """)
    [result] = p.run_tests()
    assert result.passed
    assert [(v.turn, v.call, v.kind) for v in result.report.verdicts] == [
        (1, 0, "violated"), (1, 1, "complied")]
