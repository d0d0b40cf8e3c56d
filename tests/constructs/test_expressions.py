"""Expressions: text tests (`says`, `matches`, `mentions`), tools, labels and metadata,
comparisons and membership, sizes, counts, quantified subjects and `let`s."""

from __future__ import annotations

import pytest

import charter

from ._support import assistant, check, kinds, one, policy, searched_texts, user


def holds(condition: str, *messages, meta=None, id="t", prelude: str = "") -> bool | None:
    """Whether `condition` holds at the last assistant turn (None: uncertain)."""
    p = policy(prelude + f"""
norm n:
    require {condition}
""")
    v = check(p, *messages, meta=meta, id=id).verdicts[-1]
    return {"complied": True, "violated": False}.get(v.kind)


@pytest.mark.parametrize("text, expected", [
    ("I want a refund", True),
    ("I want a REFUND!", True),
    ("Refund, please.", True),
    ("(refund)", True),
    ("two refunds", False),
    ("prefund", False),
    ("refund_policy", False),
    ("", False),
])
def test_says_is_case_insensitive_and_matches_whole_words(text, expected):
    assert holds('user says "refund"', user(text), assistant("a")) is expected


@pytest.mark.parametrize("text, expected", [
    ("money back", True),
    ("Money   Back", True),
    ("money\n\tback", True),
    ("moneyback", False),
    ("money backing", False),
])
def test_a_phrase_with_spaces_matches_across_runs_of_whitespace(text, expected):
    assert holds('user says "money back"', user(text), assistant("a")) is expected


def test_says_any_of_and_all_of():
    assert holds('user says any of ["refund", "money back"]', user("give me my money back"), assistant())
    assert not holds('user says any of ["refund", "money back"]', user("hello"), assistant())
    assert holds('user says all of ["refund", "now"]', user("now! refund!"), assistant())
    assert not holds('user says all of ["refund", "now"]', user("refund later"), assistant())


def test_says_treats_regex_characters_in_a_phrase_literally():
    assert holds('user says "c++"', user("I code in C++ daily"), assistant())
    assert not holds('user says "a.b"', user("axb"), assistant())


def test_matches_is_a_case_sensitive_search_by_default():
    assert holds('assistant matches /b+c/', user(), assistant("abbbcd"))
    assert not holds('assistant matches /B+C/', user(), assistant("abbbcd"))


def test_matches_flags_i_m_s():
    assert holds('assistant matches /LOL/i', user(), assistant("haha lol"))
    assert not holds('assistant matches /^second/', user(), assistant("first\nsecond"))
    assert holds('assistant matches /^second/m', user(), assistant("first\nsecond"))
    assert not holds('assistant matches /first.second/', user(), assistant("first\nsecond"))
    assert holds('assistant matches /first.second/s', user(), assistant("first\nsecond"))


def test_a_regex_the_linear_engine_cannot_run_is_rejected_at_load():
    with pytest.raises(charter.PolicyError) as caught:
        policy("""
            norm n:
                forbid assistant matches /(a)\\1/
        """)
    assert [d.code for d in caught.value.diagnostics] == ["E230"]
    assert caught.value.diagnostics[0].span.line == 2


def test_mentions_a_regex_pattern():
    prelude = "pattern ticket = /\\bT-[0-9]+\\b/\n"
    assert holds("assistant mentions ticket", user(), assistant("see T-42"), prelude=prelude)
    assert not holds("assistant mentions ticket", user(), assistant("see T-x"), prelude=prelude)


def test_mentions_a_phrase_pattern():
    prelude = 'pattern apology = any of ["sorry", "my apologies"]\n'
    assert holds("assistant mentions apology", user(), assistant("My  apologies!"), prelude=prelude)
    assert not holds("assistant mentions apology", user(), assistant("sorrys"), prelude=prelude)


def test_calls_a_tool_by_name():
    assert holds('assistant calls "search"', user(), assistant(calls=[("fetch", {}), ("search", {})]))
    assert not holds('assistant calls "search"', user(), assistant("search", calls=[("fetch", {})]))
    assert holds('previous assistant calls "fetch"', user(), assistant(calls=[("fetch", {})]),
                 assistant("done"))


def test_label_comparisons():
    msgs = (user("u", labels={"score": 0.5}), assistant())
    assert holds('user.label("score") >= 0.5', *msgs)
    assert not holds('user.label("score") > 0.5', *msgs)
    assert holds('user.label("score") <= 0.5 and user.label("score") < 0.6', *msgs)
    assert holds('user.label("score") == 0.5 and user.label("score") != 0.4', *msgs)


def test_in_and_not_in():
    meta = {"locale": "fr", "n": 2}
    assert holds('trace.meta.locale in ["en", "fr"]', user(), assistant(), meta=meta)
    assert not holds('trace.meta.locale not in ["en", "fr"]', user(), assistant(), meta=meta)
    assert holds('trace.meta.n in [1, 2.0]', user(), assistant(), meta=meta)
    assert not holds('trace.meta.n in ["2", true]', user(), assistant(), meta=meta)


def test_words_and_chars():
    msgs = (user("one  two\nthree"), assistant("hé!"))
    assert holds("user.words == 3 and assistant.chars == 3", *msgs)
    assert holds("assistant.words < user.words", *msgs)


def test_count_of_earlier_user_messages_that_say_something():
    p = policy("""
        norm third_strike:
            when count(any earlier user says "stupid") >= 2
            require assistant says "ending"
    """)
    report = check(p, user("stupid"), assistant("ok"), user("hello"), assistant("ok"),
                   user("STUPID bot"), assistant("ok"), user("fine"), assistant("ending"))
    assert kinds(report, "third_strike") == [
        (1, "not_applicable"), (3, "not_applicable"), (5, "violated"), (7, "complied")]


def test_count_of_an_unquantified_condition_is_one_or_zero():
    assert holds('count(user says "x") == 1', user("x"), assistant())
    assert holds('count(user says "x") == 0', user("y"), assistant())


def test_any_earlier_and_every_earlier_user():
    p = policy("""
        norm some:
            require any earlier user says "a"
        norm all:
            require every earlier user says "a"
    """)
    report = check(p, assistant("first"), user("a"), assistant("x"), user("b"), assistant("y"))
    # at turn 0 the ranges are empty: any is false, every is true
    assert kinds(report, "some") == [(0, "violated"), (2, "complied"), (4, "complied")]
    assert kinds(report, "all") == [(0, "complied"), (2, "complied"), (4, "violated")]


def test_any_earlier_assistant_excludes_the_act_itself():
    p = policy("""
        norm no_repeat_promise:
            when assistant says "promise"
            forbid any earlier assistant says "promise"
    """)
    report = check(p, user("u"), assistant("I promise"), user("v"), assistant("I promise again"))
    assert kinds(report, "no_repeat_promise") == [(1, "complied"), (3, "violated")]


def test_whole_trace_quantifiers_in_conversation_scope():
    p = policy("""
        norm greeted:
            on conversation
            require any assistant says "hello"
        norm always_polite:
            on conversation
            require every assistant says "please"
        norm asked:
            on conversation
            require any user says "question"
        norm earlier_is_everything:
            on conversation
            require any earlier user says "question"
    """)
    report = check(p, user("a question"), assistant("hello, please"), user("x"), assistant("no"))
    assert [(v.norm, v.kind) for v in report.verdicts] == [
        ("greeted", "complied"), ("always_polite", "violated"), ("asked", "complied"),
        ("earlier_is_everything", "complied")]


def test_any_user_ranges_over_later_messages_too():
    p = policy("""
        norm later:
            require any user says "thanks"
    """)
    report = check(p, user("hi"), assistant("hello"), user("thanks"))
    assert kinds(report, "later") == [(1, "complied")]


def test_parameterised_let():
    prelude = """
let said(s) = user says s or assistant says s
let both(a, b) = said(a) and said(b)
"""
    assert holds('both("alpha", "beta")', user("alpha"), assistant("beta"), prelude=prelude)
    assert not holds('both("alpha", "gamma")', user("alpha"), assistant("beta"), prelude=prelude)


def test_a_recursive_let_is_a_load_error():
    with pytest.raises(charter.PolicyError) as caught:
        policy("""
            let a = b
            let b = a
            norm n:
                require a
        """)
    assert "E215" in [d.code for d in caught.value.diagnostics]


def test_meta_paths_on_the_trace_and_on_messages_and_the_trace_id():
    meta = {"order": {"region": {"code": "EU"}}, "odd-key": 1}
    assert holds('trace.meta.order.region.code == "EU"', user(), assistant(), meta=meta)
    assert holds('trace.meta["odd-key"] == 1', user(), assistant(), meta=meta)
    assert holds('user.meta.tier == "gold" and assistant.meta.model == "m1"',
                 user(meta={"tier": "gold"}), assistant(meta={"model": "m1"}))
    assert holds('trace.id == "conv-7"', user(), assistant(), id="conv-7")


def test_meta_values_may_be_compared_to_each_other():
    meta = {"limit": 3, "used": 5}
    assert holds("trace.meta.used > trace.meta.limit", user(), assistant(), meta=meta)


def test_unknown_names_and_misplaced_subjects_are_load_errors():
    for text, code in [
        ("norm n:\n    require nothing_here\n", "E213"),
        ('norm n:\n    require call.name == "x"\n', "E221"),
        ("norm n:\n    require assistant.length > 3\n", "E222"),
        ('norm n:\n    require trace.meta.x < "a"\n', "E225"),
    ]:
        with pytest.raises(charter.PolicyError) as caught:
            policy(text)
        assert code in [d.code for d in caught.value.diagnostics], text



def test_the_same_text_test_in_several_norms_searches_each_message_once(monkeypatch):
    """`user says "refund"` in two norms (and `matches` with the same regex twice) is one
    search per message; a different phrase list, or the same phrases under `all of`, is
    another test. Verdicts are each norm's own."""
    searched = searched_texts(monkeypatch)
    p = policy("""
        norm a:
            when user says "refund" or user matches /\\d{4}/
            require assistant says "sorry"
        norm b:
            when user says "refund" and not user matches /\\d{4}/
            forbid assistant says any of ["refund", "sorry"]
        norm c:
            when user says all of ["refund"]
            require assistant says "ok"
    """)
    report = check(p, user("a refund please"), assistant("sorry"), user("order 1234"), assistant("ok"))
    assert [kinds(report, n) for n in "abc"] == [[(1, "complied"), (3, "violated")],
                                                 [(1, "violated"), (3, "not_applicable")],
                                                 [(1, "violated"), (3, "not_applicable")]]
    # each user message: "refund", the regex and `all of` once; assistant turn 1: "sorry",
    # `any of` and "ok"; turn 3: "sorry" (the only norm that applies there is `a`)
    assert sorted(searched) == sorted(["a refund please"] * 3 + ["order 1234"] * 3 + ["sorry"] * 3 + ["ok"])


def test_a_message_s_words_are_counted_once_for_every_norm_that_reads_them(monkeypatch):
    from charter.evaluate import evaluator

    caches = []
    made = evaluator.Context.__init__

    def keeping(self, view):
        made(self, view)
        caches.append(self.text_cache)

    monkeypatch.setattr(evaluator.Context, "__init__", keeping)
    p = policy("""
        norm long:
            forbid assistant.words > 3
        norm short:
            forbid assistant.words < 2
    """)
    report = check(p, user("hi"), assistant("one two  three\nfour"), user("x"), assistant("one"))
    assert kinds(report, "long") == [(1, "violated"), (3, "complied")]
    assert kinds(report, "short") == [(1, "complied"), (3, "violated")]
    assert {key: value for key, value in caches[-1].items() if key[0] == "words"} == {("words", 1): 4, ("words", 3): 1}
