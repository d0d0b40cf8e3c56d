"""An `any` question of a binding answered by the direct search (the window's messages
whose folded text holds the value's needle) answers as the index does: the same
verdicts, witnesses and explanations, whichever of the two answers each question."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.bindings import index
from charter.bindings.values import needle, pattern_keys, word_keys
from charter.check.program import Program
from charter.compile.compiler import compile_program
from charter.evaluate.evaluator import evaluate
from charter.text.matching import compile_regex
from charter.text.prefilter import fold
from charter.traces.model import Trace

from .strategies import binding_cases

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _checked(program: Program, trace: Trace, share: int, monkeypatch: pytest.MonkeyPatch) -> list:
    monkeypatch.setattr(index, "_DIRECT_SHARE", share)
    verdicts = evaluate(compile_program(program), trace).verdicts
    return [(v, v.explanation.to_json()) for v in verdicts]


@SETTINGS
@given(binding_cases)
def test_the_direct_search_answers_as_the_index(case: tuple[Program, Trace]) -> None:
    program, trace = case
    with pytest.MonkeyPatch.context() as patch:
        by_index = _checked(program, trace, 0, patch)  # no allowance: every question reads the index
        directly = _checked(program, trace, 10**9, patch)  # every `any` question searched directly
        mixed = _checked(program, trace, 1, patch)  # the index made after a question or two
    assert directly == by_index
    assert mixed == by_index


TEXTS = st.text(st.sampled_from("aAnN@.xorgΣσς KkİıſS,!\u212a"), max_size=40)
ADDRESS = compile_regex(r"[a-zσ]+@[a-z]+\.org", "i", None)  # Σ, σ, K, ſ match too


@settings(max_examples=500, deadline=None)
@given(TEXTS)
def test_a_text_that_holds_a_value_holds_its_needle(text: str) -> None:
    """The needle of every value a text holds (each of its words, each run of them, each
    address the pattern matches) stands in the text's folded form: the direct search
    passes over no message that holds the value."""
    words, in_order = word_keys(text)
    runs = {("ws", tuple(in_order[i:j])) for i in range(len(in_order)) for j in range(i + 2, len(in_order) + 1)}
    for held in words | runs | pattern_keys(ADDRESS, text):
        wanted = needle(held)
        if held[0] != "p" or not {"σ", "ς"} & set(held[1]):  # a final sigma folds apart
            assert wanted is not None and wanted in fold(text), (held, text)
