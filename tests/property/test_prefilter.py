"""The prefilters never change a result: a prefiltered matcher finds exactly what the bare
engine finds, on texts drawn to sit near the prefilter's edges (the required literals with
their case changed, letters that case-fold to ASCII ones such as LONG S and KELVIN SIGN,
whitespace runs, `\\x1c`, which `str.split` treats as a space)."""

from __future__ import annotations

import re

import re2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.text.matching import REGEX_FLAGS, compile_regex, fold, phrase_regex, text_search
from charter.text.prefilter import _shortest_cover

SAME = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LITERALS = ["a", "k", "s", "K", "S", "i", "@", "-", ".", "0", "7", "ok", "sk-", "ss", "\u017f", "\u212a"]
CLASSES = [r"[0-9]", r"\d", r"[a-c]", r"[-.@]", r"[A-Z]", r"[ks]", ".", r"\b", r"\s", r"[^a]", "^", "$",
           "[[:digit:]]", "[[:upper:]]",  # POSIX classes: RE2 syntax Python reads otherwise
           r"\C"]  # any byte, even inside a character
NEAR_MISSES = ["\u017f", "\u212a", "\u0130", "\u0131", "\u00df", "\x1c", "  ", "\t\n", "\u2003", "\u00e9",
               "K", "S", "I", "A", "@", "-", ".", "0", "9", " "]


def _bare_regex(source: str, flags: str):
    """The regex as RE2 runs it with no prefilter: capture groups on, `str` text."""
    options = re2.Options()
    options.log_errors = False
    return re2.compile("".join(REGEX_FLAGS[f] for f in sorted(set(flags))) + source, options)


def _regex_pieces():
    atom = st.one_of(st.sampled_from(LITERALS).map(re.escape), st.sampled_from(CLASSES))
    return st.recursive(
        atom,
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=4).map("".join),
            st.tuples(inner, st.sampled_from(["*", "+", "?", "{2}", "{0,2}", "{1,3}", "+?"])).map(
                lambda t: f"(?:{t[0]}){t[1]}"),
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + "|".join(xs) + ")"),
            inner.map(lambda x: f"(?i:{x})"),
            inner.map(lambda x: f"(?-i:{x})"),
        ),
        max_leaves=8,
    )


@st.composite
def regex_and_text(draw):
    source = draw(_regex_pieces())
    flags = "".join(draw(st.sets(st.sampled_from("iims"))))
    text = draw(_near_texts(re.findall(r"[A-Za-z0-9@.\-\u017f\u212a]+", source)))
    return source, flags, text


def _near_texts(words: list[str]):
    """Texts made of the given words, with some letters' case flipped, glued by near
    misses and arbitrary text."""
    word = (st.sampled_from(words).flatmap(_case_variants) if words else st.nothing())
    piece = st.one_of(word, st.sampled_from(NEAR_MISSES), st.text(max_size=4))
    return st.lists(piece, max_size=8).map("".join)


# letters that case-fold to (or from) ASCII ones, and the dotted and dotless i
LOOK_ALIKES = {"s": "\u017f", "S": "\u017f", "k": "\u212a", "K": "\u212a", "i": "\u0130", "I": "\u0131",
               "\u017f": "s", "\u212a": "k"}


def _case_variants(word: str):
    """The word with some letters' case flipped and some swapped for a look-alike."""
    return st.lists(st.integers(0, 2), min_size=len(word), max_size=len(word)).map(
        lambda ways: "".join((c, c.swapcase(), LOOK_ALIKES.get(c, c))[w] for c, w in zip(word, ways)))


def _spans(matches) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in matches]


@SAME
@given(regex_and_text())
def test_a_prefiltered_regex_finds_what_re2_finds(case):
    source, flags, text = case
    bare = _bare_regex(source, flags)
    matcher = compile_regex(source, flags)
    expected = bare.search(text)
    for found in (matcher.search(text), _generated(matcher, text)):
        assert _spans([found] if found else []) == _spans([expected] if expected else []), (source, flags, text)
    assert _spans(matcher.finditer(text)) == _spans(bare.finditer(text)), (source, flags, text)


@SAME
@given(regex_and_text())
def test_a_checked_regex_finds_the_first_candidate_its_check_accepts(case):
    source, flags, text = case
    check = lambda found: len(found) % 2 == 1  # noqa: E731  (rejects some candidates)
    matcher = compile_regex(source, flags, check)
    bare = _bare_regex(source, flags)
    candidates = [m for m in bare.finditer(text) if check(m.group())]
    assert _spans(matcher.finditer(text)) == _spans(candidates)
    for found in (matcher.search(text), _generated(matcher, text)):
        assert _spans([found] if found else []) == _spans(_first_accepted(bare, check, text)), (source, flags, text)


def _generated(matcher, text: str):
    """The match the evaluator's generated search (`text_search`, prefilters inline) finds."""
    holds, matches = text_search([matcher])(text, fold(text))
    return matches[0] if holds else None


def _first_accepted(bare, check, text: str) -> list:
    """The first candidate `check` accepts, searching on from the end of each rejected one
    (one character on from an empty one). The first of `finditer`'s, but for `\\C`, with
    which the two may cut a character differently."""
    pos = 0
    while pos <= len(text) and (found := bare.search(text, pos)) is not None:
        if check(found.group()):
            return [found]
        pos = found.end() if found.end() > found.start() else found.end() + 1
    return []


WORDS = ["ok", "a", "is", "stop", "kit", "refund", "Thank", "you", "s", "it's", "e-mail",
         "\u017ftop", "stra\u00dfe", "\u0130stanbul", "caf\u00e9", "\u212ait"]
SPACES = [" ", "  ", "\t", "\n", "\x1c", "\u2003", "\u00a0"]


@st.composite
def phrases_and_text(draw):
    phrase = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).flatmap(
        lambda ws: st.lists(st.sampled_from(SPACES), min_size=len(ws) - 1, max_size=len(ws) - 1).map(
            lambda gaps: "".join(w + g for w, g in zip(ws, gaps + [""]))))
    phrases = tuple(draw(st.lists(st.one_of(phrase, st.just("")), min_size=1, max_size=4)))
    words = [w for p in phrases for w in p.split()] or ["stop"]
    glue = st.one_of(st.sampled_from(SPACES + [",", ".", "x", "_", ""]), st.sampled_from(NEAR_MISSES),
                     st.text(max_size=3))
    pieces = st.lists(st.tuples(st.sampled_from(words).flatmap(_case_variants), glue), max_size=6)
    return phrases, draw(pieces.map(lambda ps: "".join(w + g for w, g in ps)))


def _bare_phrases(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """The phrase list as one alternation with no prefilter, each phrase between its own
    word-boundary tests (as phrase_regex built it before sharing them)."""
    parts = []
    for phrase in sorted(set(phrases), key=lambda p: (-len(p), p)):
        body = r"\s+".join(re.escape(word) for word in phrase.split())
        parts.append(r"(?<!\w)" + body + r"(?!\w)" if body else r"(?!)")
    return re.compile("|".join(parts), re.IGNORECASE)


@SAME
@given(phrases_and_text())
def test_a_prefiltered_phrase_list_finds_what_its_pattern_finds(case):
    phrases, text = case
    matcher = phrase_regex(phrases)
    bare = _bare_phrases(phrases)
    expected = bare.search(text)
    for found in (matcher.search(text), _generated(matcher, text)):
        assert _spans([found] if found else []) == _spans([expected] if expected else []), (phrases, text)
    assert _spans(matcher.finditer(text)) == _spans(bare.finditer(text)), (phrases, text)


# ---- large alternations (a policy's list of thousands of names or numbers)

PIECES = ["ab", "ba", "a", "b", "abc", "c", "ca", "x@", "@"]


@st.composite
def alternation_and_text(draw):
    """An alternation of hundreds of literals, many of them parts of others, and a text
    made of some of them (or of near misses)."""
    alternatives = draw(st.lists(st.lists(st.sampled_from(PIECES), min_size=1, max_size=5).map("".join),
                                 min_size=2, max_size=600, unique=True))
    flags = draw(st.sampled_from(["", "i"]))
    words = st.sampled_from(alternatives).flatmap(_case_variants)
    text = draw(st.lists(st.one_of(words, st.sampled_from(NEAR_MISSES + PIECES)), max_size=6).map(" ".join))
    return "(" + "|".join(re.escape(a) for a in alternatives) + ")", flags, text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alternation_and_text())
def test_a_prefiltered_large_alternation_finds_what_re2_finds(case):
    source, flags, text = case
    expected = _bare_regex(source, flags).search(text)
    found = compile_regex(source, flags).search(text)
    assert _spans([found] if found else []) == _spans([expected] if expected else []), (source, flags, text)


@SAME
@given(st.sets(st.text(alphabet="abc@", max_size=6), max_size=40))
def test_the_shortest_cover_keeps_exactly_the_strings_that_contain_no_other(strings):
    pairwise = {s for s in strings if not any(o != s and o in s for o in strings)}
    assert _shortest_cover(strings) == pairwise


@SAME
@given(regex_and_text(), phrases_and_text())
def test_a_test_of_several_patterns_holds_when_each_matches_and_gives_each_match(regex, phrases):
    (source, flags, text), (listed, other) = regex, phrases
    patterns = [compile_regex(source, flags), phrase_regex(listed)]
    for text in (text, other, text + " " + other):
        holds, matches = text_search(patterns)(text, fold(text))
        alone = [p.search(text) for p in patterns]
        assert holds == all(m is not None for m in alone), (source, flags, listed, text)
        if holds:
            assert _spans(matches) == _spans(alone)
