"""Text matching: the prefilters derived for real patterns, and the matchers' results on
ASCII and non-ASCII text (tests/property/test_prefilter.py compares them with the bare
engines on generated cases)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

import charter.stdlib
from charter.text.prefilter import ASCII_LOOK_ALIKES, phrase_need, regex_need
from charter.syntax.ast import PatternDecl, walk
from charter.source.text import Source
from charter.syntax.parser import parse
from charter.text.matching import compile_regex, fold, phrase_regex, text_search

DIGITS = tuple("0123456789")


def _stdlib_regex(module: str, name: str) -> tuple[str, str]:
    path = Path(charter.stdlib.__file__).parent / f"{module}.charter"
    tree, _ = parse(Source(str(path), path.read_text(encoding="utf-8")))
    (regex,) = [n.regex for n in walk(tree) if isinstance(n, PatternDecl) and n.name == name]
    return regex.source, regex.flags


@pytest.mark.parametrize("name, alternatives", [
    ("email", ("@",)),
    ("us_ssn", ("-",)),
    ("ipv4", DIGITS),
    ("card", DIGITS),
    ("iban", DIGITS),
    ("phone", tuple(sorted("+023456789"))),  # `+`, a digit 2-9 or a leading 0, by branch
    ("openai_key", ("sk-",)),
    ("anthropic_key", ("sk-ant-",)),
    ("google_key", ("AIza", "ya29.")),
    ("slack_token", ("https://hooks.slack.com/services/T", "xox")),
    ("private_key", ("PRIVATE KEY-----",)),
])
def test_the_stdlib_pii_patterns_get_a_prefilter(name, alternatives):
    need = regex_need(*_stdlib_regex("pii", name))
    assert need is not None
    assert (need.alternatives, need.folded) == (alternatives, False)


def test_a_case_insensitive_literal_is_required_lower_cased():
    need = regex_need(r"@acme-corp\.com", "i")
    assert (need.alternatives, need.folded) == (("@acme-corp.com",), True)
    need = regex_need(r"\b(lol|gonna|wanna)\b", "i")
    assert (need.alternatives, need.folded) == (("gonna", "lol", "wanna"), True)


@pytest.mark.parametrize("source", [
    r"\b[0-9A-Fa-f]{1,4}(::?[0-9A-Fa-f]{1,4}){0,7}(::)?",  # hex digits: in nearly every text
    r"[\x{1F300}-\x{1FAFF}]",  # RE2 syntax Python cannot parse
    r"[[:digit:]]x",  # a POSIX class, which Python reads as a set followed by `]`
    r"a{,3}b",  # a literal in RE2, a repeat in Python
    r"x*|y",  # the first branch needs nothing
])
def test_no_prefilter_where_none_is_sound_or_worthwhile(source):
    assert regex_need(source, "") is None


def test_the_only_non_ascii_characters_either_engine_takes_for_ascii_ones_are_folded_to_them():
    everything = "".join(chr(c) for c in range(0x80, 0x110000) if not 0xD800 <= c <= 0xDFFF)
    options = re2.Options()
    options.case_sensitive = False
    taken = {m.group() for m in re.finditer(r"[\x00-\x7f]", everything, re.IGNORECASE)}
    taken |= {m.group() for m in re2.compile(r"[\x00-\x7f]", options).finditer(everything)}
    assert taken == set(ASCII_LOOK_ALIKES)
    for char, letter in ASCII_LOOK_ALIKES.items():
        assert re.fullmatch(letter, char, re.IGNORECASE) and fold(f"x{char}Y") == f"x{letter}y"


def test_a_phrase_list_needs_every_ascii_word_of_one_phrase():
    need = phrase_need(("Thank you", "thanks", "thank you very much"))
    assert need.phrases == (("thank", "you"), ("thanks",))  # the longer phrase adds nothing
    assert need.admits("THANKS!") and not need.admits("thank u")
    assert phrase_need(("I am a bot",)).phrases == (("bot", "am"),)  # one-letter words dropped
    assert phrase_need(("", " ")).phrases == () and phrase_regex(("",)).search("") is None


def test_a_phrase_with_no_ascii_word_gets_no_prefilter():
    # LONG S matches `s` ignoring case, so `ſtop` is found in ASCII text
    assert phrase_need(("\u017ftop", "go")) is None
    assert phrase_regex(("\u017ftop",)).search("Stop!").span() == (0, 4)


def test_a_case_insensitive_prefilter_reads_look_alikes_as_ascii():
    assert compile_regex("kelvin", "i").search("2 \u212aelvin").span() == (2, 8)
    assert compile_regex("kelvin", "").search("2 \u212aelvin") is None
    assert phrase_regex(("stop",)).search("\u017ftop").span() == (0, 4)
    assert phrase_regex(("it is",)).search("\u0130T \u0131s \u00e9").span() == (0, 5)
    assert phrase_regex(("refund",)).search("\u201crefund\u201d") is not None
    assert phrase_regex(("refund",)).search("\u201crefunds\u201d") is None


def test_matches_report_character_offsets_on_any_text():
    ascii_match = compile_regex("b+", "").search("a bb c")
    assert (ascii_match.start(), ascii_match.end(), ascii_match.span(), ascii_match.group()) == (2, 4, (2, 4), "bb")
    wide = compile_regex("b+", "").search("\u00e4\U0001F600 bb")
    assert (wide.span(), wide.group()) == ((3, 5), "bb")
    assert [m.span() for m in compile_regex("b", "").finditer("\u00e4b b")] == [(1, 2), (3, 4)]


def test_a_text_without_the_required_literal_finds_nothing():
    email = compile_regex(*_stdlib_regex("pii", "email"))
    assert email.search("write to ann at example.org") is None
    assert list(email.finditer("no address here")) == []
    assert email.search("write to ann@example.org").group() == "ann@example.org"


def test_the_generated_search_on_the_shared_folded_text_agrees_with_search():
    matchers = [compile_regex(r"@acme-corp\.com", "i"), phrase_regex(("never share internal",))]
    for text in ["Mail Bob@ACME-corp.com", "We NEVER  share\tinternal notes", "\u212a@acme-corp.com", "none"]:
        for matcher in matchers:
            by_search = matcher.search(text)
            holds, matches = text_search([matcher])(text, fold(text))
            assert (by_search and by_search.span()) == (matches[0].span() if holds else None)


def test_a_checked_regex_that_matches_empty_text_ends():
    # each rejected empty candidate moves the search one character on, up to the end
    never = compile_regex("[0-9]*", "", lambda found: False)
    assert never.search("ab") is None
    assert compile_regex("[0-9]*", "", lambda found: found == "42").search("ab 42").span() == (3, 5)


def _numbers(count: int) -> list[str]:
    """Distinct 12-digit numbers with no common prefix (which Python's parse would factor out)."""
    return [f"{i * 2654435761 % 10**12:012d}" for i in range(1, count + 1)]


def test_a_regex_of_14000_alternatives_gets_its_prefilter_in_linear_time():
    # the alternatives were compared pairwise: 25 s of loading for this pattern
    started = time.process_time()
    assert regex_need("(" + "|".join(_numbers(14_000)) + ")", "") is None  # too many to test cheaply
    assert regex_need(r"\b(" + "|".join(w for w in _numbers(14_000)[::1000]) + r")\b", "i") is not None
    assert time.process_time() - started < 5


def test_a_phrase_list_of_14000_phrases_gets_its_prefilter_in_linear_time():
    started = time.process_time()
    need = phrase_need(tuple(f"account {n} closed" for n in _numbers(14_000)))
    assert len(need.phrases) == 14_000 and need.admits(f"account {_numbers(1)[0]} closed")
    assert time.process_time() - started < 5


def test_a_regex_is_built_once_for_checking_compiling_and_every_use(monkeypatch):
    """The checker (which rejects what RE2 cannot run) and the compiler (at each use) share
    one RE2 program and prefilter: for a long alternation each build takes a while."""
    import charter
    import charter.text.matching as matching

    built: list[str] = []
    real = re2.compile
    monkeypatch.setattr(matching.re2, "compile", lambda text, *a: built.append(text) or real(text, *a))
    source = r"\b(zq1built|zq2once)\b"  # in no other test, so no earlier load built it
    charter.loads(f"pattern p = /{source}/i\nnorm a:\n    \"d\"\n    forbid assistant mentions p\n"
                  f"norm b:\n    \"d\"\n    forbid user mentions p\n"
                  f"norm c:\n    \"d\"\n    forbid assistant matches /{source}/i\n")
    assert [t for t in built if source in t] == [f"(?i){source}"]


def _checked_reference(pattern: str, text: str, check) -> tuple[int, int] | None:
    """RE2 on the text itself, searched again from the end of each rejected candidate
    (one character past an empty one): the definition of a checked regex's search."""
    regex, pos = re2.compile(pattern), 0
    while pos <= len(text) and (found := regex.search(text, pos)) is not None:
        if check(found.group()):
            return found.span()
        start, pos = found.span()
        pos = pos if pos > start else pos + 1
    return None


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("12 3-é€𝄞aA\n"), max_size=40), st.sampled_from([r"[0-9]+", r"[0-9]*", r"\w+", r"."]),
       st.integers(1, 4))
def test_a_checked_regex_finds_what_searching_again_finds(text, pattern, modulus):
    check = lambda found: len(found) % modulus == 0  # noqa: E731  (rejects some candidates)
    found = compile_regex(pattern, "", check).search(text)
    assert (found and found.span()) == _checked_reference(pattern, text, check)


def test_a_checked_regex_reads_long_non_ascii_text_once():
    # each rejected candidate encoded the whole text again: 160 KB took 7.7 s
    text = "é 1 " * 40_000
    started = time.process_time()
    assert compile_regex(r"[0-9]", "", lambda found: False).search(text) is None
    assert time.process_time() - started < 2
