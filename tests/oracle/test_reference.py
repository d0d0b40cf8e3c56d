"""Hand-written checks of the reference evaluator on programs whose verdicts are obvious
from docs/semantics-contract.md."""

from __future__ import annotations

from charter.syntax import ast

from .build import checked_norm, program, trace
from .reference import reference_verdicts

ASSISTANT = ast.Subject("assistant")
USER = ast.Subject("user")
AGE = ast.Meta(ast.Subject("trace", "trace"), "meta", ("age",))


def said(subject: ast.Subject, phrase: str) -> ast.Says:
    return ast.Says(subject, "one", ast.Literal(phrase))


def forbid(behaviour: ast.Expr, *exceptions: ast.Unless) -> ast.Outcome:
    return ast.Outcome("forbid", behaviour, exceptions=exceptions)


def row(norm: str, turn: int | None, kind: str, *, call: int | None = None,
        reason: str | None = None, gap: bool = False, escalate_to: str | None = None,
        unknown: tuple[str, ...] = (), overridden_by: str | None = None) -> tuple:
    return (norm, turn, call, kind, reason, gap, escalate_to, unknown, overridden_by)


PERMIT = ast.Outcome("permit")


def test_forbid_that_matches_is_violated() -> None:
    prog = program(checked_norm("n", forbid(said(ASSISTANT, "refund"))))
    tr = trace(("user", "hello"), ("assistant", "a Refund is on its way"), ("assistant", "ok"))
    assert reference_verdicts(prog, tr) == [row("n", 1, "violated"), row("n", 2, "complied")]


def test_an_exception_that_applies_replaces_the_outcome() -> None:
    body = forbid(said(ASSISTANT, "refund"), ast.Unless(said(USER, "yes"), PERMIT))
    prog = program(checked_norm("n", body))
    assert reference_verdicts(prog, trace(("user", "yes"), ("assistant", "refund"))) == [
        row("n", 1, "complied")]
    assert reference_verdicts(prog, trace(("user", "no"), ("assistant", "refund"))) == [
        row("n", 1, "violated")]


def test_two_exceptions_with_different_outcomes_conflict() -> None:
    require = ast.Outcome("require", said(ASSISTANT, "988"))
    body = forbid(said(ASSISTANT, "refund"),
                  ast.Unless(said(USER, "yes"), PERMIT), ast.Unless(said(USER, "yes"), require))
    prog = program(checked_norm("n", body))
    assert reference_verdicts(prog, trace(("user", "yes"), ("assistant", "refund"))) == [
        row("n", 1, "conflict")]


def test_two_exceptions_with_the_same_decision_do_not_conflict() -> None:
    inner = ast.Outcome("permit", exceptions=(ast.Unless(said(USER, "no"), forbid(said(ASSISTANT, "lol"))),))
    body = forbid(said(ASSISTANT, "refund"),
                  ast.Unless(said(USER, "yes"), PERMIT), ast.Unless(said(USER, "yes"), inner))
    prog = program(checked_norm("n", body))
    assert reference_verdicts(prog, trace(("user", "yes"), ("assistant", "refund"))) == [
        row("n", 1, "complied")]


def test_cases_with_no_applicable_case_are_a_gap() -> None:
    body = ast.Cases((ast.Case(said(USER, "yes"), PERMIT), ast.Case(said(USER, "no"), PERMIT)))
    prog = program(checked_norm("n", body, authority="platform"))
    assert reference_verdicts(prog, trace(("user", "hello"), ("assistant", "hi"))) == [
        row("n", 1, "unspecified", reason="no case applies", gap=True, escalate_to="platform")]


def test_cases_fall_back_to_otherwise() -> None:
    body = ast.Cases((ast.Case(said(USER, "yes"), PERMIT),),
                     ast.Case(None, ast.Outcome("unspecified", reason="ask", escalate_to="user")))
    prog = program(checked_norm("n", body))
    assert reference_verdicts(prog, trace(("user", "hello"), ("assistant", "hi"))) == [
        row("n", 1, "unspecified", reason="ask", escalate_to="user")]


def test_missing_label_trigger_with_a_body_complying_either_way_is_settled() -> None:
    prog = program(checked_norm("n", forbid(said(ASSISTANT, "lol")),
                                trigger=ast.Label(USER, "a")))
    tr = trace(("user", "hello"), ("assistant", "hello"))
    assert reference_verdicts(prog, tr) == [
        row("n", 1, "complied", unknown=("messages[0].labels.a",))]


def test_missing_label_trigger_with_a_violated_body_is_uncertain() -> None:
    prog = program(checked_norm("n", forbid(said(ASSISTANT, "lol")),
                                trigger=ast.Label(USER, "a")))
    tr = trace(("user", "hello"), ("assistant", "lol"))
    assert reference_verdicts(prog, tr) == [
        row("n", 1, "unspecified", reason="uncertain", unknown=("messages[0].labels.a",))]


def test_require_within_is_pending_at_the_end_of_the_trace() -> None:
    prog = program(checked_norm("n", ast.Outcome("require", said(ASSISTANT, "988"), within=1)))
    tr = trace(("user", "help"), ("assistant", "hi"), ("user", "please"), ("assistant", "call 988."))
    assert reference_verdicts(prog, tr) == [row("n", 1, "complied"), row("n", 3, "pending")]


def test_require_within_is_violated_when_the_window_is_full() -> None:
    prog = program(checked_norm("n", ast.Outcome("require", said(ASSISTANT, "988"), within=1)))
    tr = trace(("assistant", "hi"), ("assistant", "hello"))
    assert reference_verdicts(prog, tr) == [row("n", 0, "violated"), row("n", 1, "pending")]


def test_a_within_turns_window_counts_only_replies_with_text() -> None:
    prog = program(checked_norm("n", ast.Outcome("require", said(ASSISTANT, "988"), within=1)))
    tr = trace(("assistant", "hi"), ("assistant", " "), ("assistant", "988"))
    assert reference_verdicts(prog, tr) == [row("n", 0, "complied"), row("n", 1, "complied"), row("n", 2, "pending")]
    messages = checked_norm("n", ast.Outcome("require", said(ASSISTANT, "988"), within=1, within_unit="messages"))
    assert reference_verdicts(program(messages), tr)[0] == row("n", 0, "violated")


def test_override_by_a_conversation_scope_norm() -> None:
    overrider = checked_norm(
        "m", PERMIT, scope="conversation",
        trigger=ast.Quantified("any", "earlier", "user", said(ast.Subject("user", "bound"), "refund")))
    overridden = checked_norm("n", forbid(said(ASSISTANT, "lol")), overriders=("m",))
    prog = program(overridden, overrider)
    tr = trace(("assistant", "lol"), ("user", "refund"), ("assistant", "lol"))
    # The overrider's trigger is evaluated once, over the conversation, and where it
    # holds it overrides every act, even one before the user asked.
    assert reference_verdicts(prog, tr) == [
        row("m", None, "complied"),
        row("n", 0, "overridden", overridden_by="m"),
        row("n", 2, "overridden", overridden_by="m"),
    ]
    tr = trace(("user", "no"), ("assistant", "lol"))
    assert reference_verdicts(prog, tr) == [row("m", None, "not_applicable"), row("n", 1, "violated")]


def test_settled_ok_kinds_report_complied_first() -> None:
    overrider = checked_norm("m", PERMIT, trigger=ast.Label(USER, "a"))
    prog = program(checked_norm("n", forbid(said(ASSISTANT, "lol")), overriders=("m",)), overrider)
    tr = trace(("user", "hi"), ("assistant", "hello"))
    assert reference_verdicts(prog, tr) == [
        row("m", 1, "complied", unknown=("messages[0].labels.a",)),
        row("n", 1, "complied", unknown=("messages[0].labels.a",)),
    ]


def test_a_label_inside_its_band_is_unknown() -> None:
    behaviour = ast.Compare(">=", ast.Label(USER, "a"), ast.Literal(0.5))
    norm = checked_norm("n", forbid(behaviour))
    in_band = trace(("user", "hi", {"labels": {"a": 0.6}}), ("assistant", "ok"))
    assert reference_verdicts(program(norm, bands={"a": (0.4, 0.8)}), in_band) == [
        row("n", 1, "unspecified", reason="uncertain", unknown=("messages[0].labels.a",))]
    assert reference_verdicts(program(norm), in_band) == [row("n", 1, "violated")]
    outside = trace(("user", "hi", {"labels": {"a": 0.9}}), ("assistant", "ok"))
    assert reference_verdicts(program(norm, bands={"a": (0.4, 0.8)}), outside) == [
        row("n", 1, "violated")]


def test_an_uncertain_verdict_on_a_label_inside_its_band_goes_to_the_bands_authority() -> None:
    behaviour = ast.Compare(">=", ast.Label(USER, "a"), ast.Literal(0.5))
    prog = program(checked_norm("n", forbid(behaviour)), bands={"a": (0.4, 0.8)},
                   labels=(ast.LabelDecl("a", 0.4, 0.8, escalate_to="developer"),))
    in_band = trace(("user", "hi", {"labels": {"a": 0.6}}), ("assistant", "ok"))
    assert reference_verdicts(prog, in_band) == [
        row("n", 1, "unspecified", reason="uncertain", escalate_to="developer", unknown=("messages[0].labels.a",))]
    missing = trace(("user", "hi"), ("assistant", "ok"))  # unknown, but not for the band: nobody named
    assert reference_verdicts(prog, missing) == [
        row("n", 1, "unspecified", reason="uncertain", unknown=("messages[0].labels.a",))]


def test_says_is_whole_word_case_insensitive_and_whitespace_tolerant() -> None:
    prog = program(
        checked_norm("no", forbid(said(ASSISTANT, "no"))),
        checked_norm("yes_no", forbid(said(ASSISTANT, "yes no"))),
    )
    tr = trace(("assistant", "not now"), ("assistant", "YES \n  No."), ("assistant", "yesno"))
    kinds = [(r[0], r[1], r[3]) for r in reference_verdicts(prog, tr)]
    assert kinds == [
        ("no", 0, "complied"), ("no", 1, "violated"), ("no", 2, "complied"),
        ("yes_no", 0, "complied"), ("yes_no", 1, "violated"), ("yes_no", 2, "complied"),
    ]


def test_is_known_consults_no_atom() -> None:
    prog = program(checked_norm("n", forbid(ast.KnownTest(ast.Label(USER, "a"), known=False))))
    assert reference_verdicts(prog, trace(("user", "hi"), ("assistant", "ok"))) == [
        row("n", 1, "violated")]


def test_is_known_looks_at_the_kleene_value() -> None:
    unknown = ast.Compare(">", AGE, ast.Literal(18))
    prog = program(
        checked_norm("n", forbid(ast.KnownTest(ast.Or((unknown, ast.Literal(True))), known=True))),
        checked_norm("m", forbid(ast.KnownTest(ast.Or((unknown, ast.Not(unknown))), known=True))),
    )
    assert reference_verdicts(prog, trace(("assistant", "ok"))) == [
        row("m", 0, "complied"), row("n", 0, "violated")]


def test_an_absent_subject_is_named_in_its_fact() -> None:
    prog = program(checked_norm("n", forbid(ast.Compare(">", ast.Label(USER, "a"), ast.Literal(0.5)))))
    assert reference_verdicts(prog, trace(("assistant", "ok"))) == [
        row("n", 0, "unspecified", reason="uncertain", unknown=("user.labels.a",))]


def test_one_atom_resolves_the_same_everywhere() -> None:
    young = ast.Compare("<", AGE, ast.Literal(18))
    prog = program(checked_norm("n", forbid(ast.And((young, ast.Not(young))))))
    assert reference_verdicts(prog, trace(("assistant", "ok"), meta={"age": "x"})) == [
        row("n", 0, "complied", unknown=("trace.meta.age",))]


def test_and_stops_at_the_first_false_operand() -> None:
    young = ast.Compare("<", AGE, ast.Literal(18))
    prog = program(checked_norm("n", forbid(ast.And((said(ASSISTANT, "lol"), young)))),
                   checked_norm("m", forbid(ast.And((young, said(ASSISTANT, "lol"))))))
    assert reference_verdicts(prog, trace(("assistant", "ok"))) == [
        row("m", 0, "complied", unknown=("trace.meta.age",)), row("n", 0, "complied")]


def test_null_is_a_value() -> None:
    prog = program(checked_norm("n", forbid(ast.Compare("==", AGE, ast.Literal(None)))))
    assert reference_verdicts(prog, trace(("assistant", "ok"), meta={"age": None})) == [
        row("n", 0, "violated")]


def test_count_of_a_quantified_condition() -> None:
    yes = ast.Quantified("any", "earlier", "user", said(ast.Subject("user", "bound"), "yes"))
    prog = program(checked_norm("n", forbid(ast.Compare(">=", ast.Count(yes), ast.Literal(2)))))
    tr = trace(("user", "yes"), ("assistant", "a"), ("user", "yes"), ("assistant", "b"))
    assert [r[3] for r in reference_verdicts(prog, tr)] == ["complied", "violated"]


def test_tool_call_arguments() -> None:
    path = ast.Meta(ast.Subject("call", "call"), "args", ("path",))
    prog = program(checked_norm("n", forbid(ast.Compare("==", path, ast.Literal("x"))),
                                scope="tool call"))
    tr = trace(("user", "go"), ("assistant", "", {"calls": (("delete", {"path": "x"}), ("delete", {}))}))
    assert reference_verdicts(prog, tr) == [
        row("n", 1, "violated", call=0),
        row("n", 1, "unspecified", call=1, reason="uncertain",
            unknown=("messages[1].tool_calls[1].arguments.path",)),
    ]


def test_boolean_label_counts_as_one_in_ordering_and_is_itself_as_a_condition() -> None:
    label = ast.Label(USER, "a")
    prog = program(checked_norm("n", forbid(ast.Compare(">", label, ast.Literal(0.5)))),
                   checked_norm("m", forbid(label)),
                   checked_norm("k", forbid(ast.Compare("==", label, ast.Literal(1)))))
    tr = trace(("user", "hi", {"labels": {"a": True}}), ("assistant", "ok"))
    assert [(r[0], r[3]) for r in reference_verdicts(prog, tr)] == [
        ("k", "complied"), ("m", "violated"), ("n", "violated")]


def test_a_meta_string_as_a_condition_is_unknown() -> None:
    vip = ast.Meta(ast.Subject("trace", "trace"), "meta", ("vip",))
    prog = program(checked_norm("n", forbid(vip)))
    assert reference_verdicts(prog, trace(("assistant", "ok"), meta={"vip": "yes"})) == [
        row("n", 0, "unspecified", reason="uncertain", unknown=("trace.meta.vip",))]
    assert reference_verdicts(prog, trace(("assistant", "ok"), meta={"vip": True})) == [
        row("n", 0, "violated")]


def test_previous_is_the_message_before_the_one_the_role_names() -> None:
    previous = ast.Subject("assistant", "previous")
    prog = program(checked_norm("n", forbid(said(previous, "lol")), scope="user turn"),
                   checked_norm("m", forbid(said(ast.Subject("user", "previous"), "yes"))))
    tr = trace(("assistant", "lol"), ("user", "yes"), ("assistant", "ok"), ("user", "no"),
               ("assistant", "fine"))
    # At user turn 3, `assistant` is message 2 and `previous assistant` message 0; at
    # assistant turn 4, `user` is message 3 and `previous user` message 1.
    assert [(r[0], r[1], r[3]) for r in reference_verdicts(prog, tr)] == [
        ("m", 0, "complied"), ("m", 2, "complied"), ("m", 4, "violated"),
        ("n", 1, "complied"), ("n", 3, "violated")]


def test_phrases_ignore_outer_whitespace_and_an_empty_phrase_never_matches() -> None:
    prog = program(checked_norm("padded", forbid(said(ASSISTANT, "  lol "))),
                   checked_norm("empty", forbid(said(ASSISTANT, " "))))
    assert [(r[0], r[3]) for r in reference_verdicts(prog, trace(("assistant", "- lol -")))] == [
        ("empty", "complied"), ("padded", "violated")]


def test_call_is_absent_in_a_within_window() -> None:
    path = ast.Meta(ast.Subject("call", "call"), "args", ("path",))
    prog = program(checked_norm("n", ast.Outcome("require", ast.Compare("==", path, ast.Literal("x")),
                                                 within=1), scope="tool call"))
    calls = {"calls": (("delete", {"path": "x"}),)}
    assert reference_verdicts(prog, trace(("assistant", "", calls), ("assistant", "", calls))) == [
        row("n", 0, "unspecified", call=0, reason="uncertain", unknown=("call.args.path",)),
        row("n", 1, "pending", call=0),
    ]
