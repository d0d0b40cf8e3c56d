"""Cheap necessary conditions for text tests: a text that fails one cannot match.

A regex or phrase list runs its engine only on texts that pass its prefilter, so the
prefilter must be sound (never reject a text the engine would match), while it need not
be complete. For a regex it is derived from Python's parse of the pattern (the only parse
the stdlib offers; RE2's syntax is a near subset, and the constructs on which the two
read the same text differently are refused up front): a literal the text must contain,
or a set of characters one of which it must contain. A phrase list needs all the ASCII
words of one of its phrases.

Case-insensitive conditions compare `fold(text)` with lower-case ASCII literals. The only
non-ASCII characters that Python's `re` (ignoring case) or RE2 (`i`) takes for an ASCII
character are KELVIN SIGN, LONG S and Turkish dotted and dotless I (tests/test_textmatch.py
checks every code point); `fold` maps those to their ASCII letter and lower-cases the
rest, one character to one wherever the character is ASCII or one of those four, so a
case-insensitive match of an ASCII literal is a substring of the folded text. Literals
with non-ASCII letters of their own (Greek sigma has three cases) get no such condition.
"""

from __future__ import annotations

import re
import warnings
from collections import deque
from itertools import combinations
from typing import Any, Callable

from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]

# Sources on which Python's parser and RE2's may disagree while both accept them:
# `[:alpha:]` (a POSIX class in RE2, a plain set in Python), `x{,3}` (a literal in
# RE2, a repeat in Python) and a backslash before a digit (octal or backreference).
_UNSAFE = re.compile(r"\[:|\{,|\\[0-9]")
_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT}
_DIGITS = "0123456789"  # RE2's \d is ASCII
_LARGEST_SET = 64  # character sets larger than this are not worth a test
_MOST_LITERALS = 16  # a test for more strings is slower than RE2 (docs/performance.md)
_RARE_LETTERS = "jkqxzJKQXZ"
_MOST_WORDS = 5  # of a phrase, to test: more are seldom worth it, and its 2^words subsets are looked up
ASCII_LOOK_ALIKES = {"\u212a": "k", "\u017f": "s", "\u0130": "i", "\u0131": "i"}
_TO_ASCII = str.maketrans(ASCII_LOOK_ALIKES)


def fold(text: str) -> str:
    """The text as case-insensitive conditions read it (see the module's docstring)."""
    if text.isascii() or not (  # four `in`s: 3x faster than any() or a regex
            "\u212a" in text or "\u017f" in text or "\u0130" in text or "\u0131" in text):
        return text.lower()
    return text.translate(_TO_ASCII).lower()


class Need:
    """The text must contain one of `alternatives`, compared on `fold(text)` when
    `folded`."""

    __slots__ = ("alternatives", "folded", "test")

    def __init__(self, alternatives: tuple[str, ...], folded: bool):
        self.alternatives = alternatives
        self.folded = folded
        expression, names = self.source("text")
        self.test: Callable[[str], bool] = eval(f"lambda text: {expression}", names)  # on the text or fold(text)

    def admits(self, text: str, folded: str | None = None) -> bool:
        """Whether `text` may match; `folded`, if given, is `fold(text)`."""
        if not self.folded:
            return self.test(text)
        return self.test(fold(text) if folded is None else folded)

    def source(self, var: str, tag: str = "") -> tuple[str, dict[str, Any]]:
        """The test as a Python expression on the string named `var`, and the names it
        uses (ending with `tag`, so that several tests can share one generated function):
        `in` for up to three strings, faster than any search; one compiled `re` search
        (a character set when all are single characters) for more."""
        alternatives = self.alternatives
        if not alternatives:
            return "False", {}  # (a list of empty phrases, which matches nothing)
        if len(alternatives) <= 3:
            return "(" + " or ".join(f"{a!r} in {var}" for a in alternatives) + ")", {}
        if all(len(a) == 1 for a in alternatives):
            pattern = "[" + "".join(re.escape(a) for a in alternatives) + "]"
        else:
            pattern = "|".join(re.escape(a) for a in sorted(alternatives, key=len))
        name = f"_contains{tag}"
        return f"({name}({var}) is not None)", {name: re.compile(pattern).search}

    def __repr__(self) -> str:
        return f"Need({self.alternatives!r}, folded={self.folded})"


# ---- regexes


def regex_need(source: str, flags: str) -> Need | None:
    """A condition every text matching the RE2 regex `/source/flags` satisfies, or None
    when none is found (or the pattern is outside what this analysis understands)."""
    if _UNSAFE.search(source):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" and the like
            parsed = _parser.parse(f"(?{flags})" + source if flags else source)
    except (re.error, OverflowError, RecursionError, ValueError):
        return None
    return _best(_sequence_needs(parsed, bool(parsed.state.flags & sre.SRE_FLAG_IGNORECASE)))


def _sequence_needs(items, folded: bool) -> list[Need]:
    """Every condition a match of the sequence `items` must satisfy: its literal runs,
    its single-character sets, and those of its mandatory parts."""
    needs: list[Need] = []
    run: list[str] = []

    def close_run():
        if run:
            needs.append(Need(("".join(run),), folded))
            run.clear()

    for op, av in items:
        char = _literal(op, av, folded)
        if char is not None:
            run.append(char)
            continue
        close_run()
        needs.extend(_item_needs(op, av, folded))
    close_run()
    return needs


def _literal(op, av, folded: bool) -> str | None:
    """The character a literal item matches, lower-cased when folded; None if it is not
    a literal or is a non-ASCII one under case folding."""
    if op is not sre.LITERAL:
        return None
    char = chr(av)
    if folded:
        return char.lower() if char.isascii() else None
    return char


def _item_needs(op, av, folded: bool) -> list[Need]:
    if op is sre.IN:
        chars = _class_chars(av, folded)
        return [Need(chars, folded)] if chars else []
    if op is sre.SUBPATTERN:
        add, remove = av[1], av[2]
        inner = (folded or bool(add & sre.SRE_FLAG_IGNORECASE)) and not remove & sre.SRE_FLAG_IGNORECASE
        return _sequence_needs(av[3], inner)
    if op in _REPEATS:
        return _sequence_needs(av[2], folded) if av[0] > 0 else []
    if op is sre.BRANCH:
        need = _either([_best(_sequence_needs(branch, folded)) for branch in av[1]])
        return [need] if need is not None else []
    return []  # anchors, `.`, negated sets, categories: nothing a match must contain


def _class_chars(items, folded: bool) -> tuple[str, ...] | None:
    """The characters of a (non-negated, small) character set, or None."""
    chars: set[str] = set()
    for op, av in items:
        if op is sre.LITERAL:
            chars.add(chr(av))
        elif op is sre.RANGE and av[1] - av[0] < _LARGEST_SET:
            chars.update(chr(c) for c in range(av[0], av[1] + 1))
        elif op is sre.CATEGORY and av is sre.CATEGORY_DIGIT:
            chars.update(_DIGITS)
        else:
            return None
    if folded:
        if not all(c.isascii() for c in chars):
            return None
        chars = {c.lower() for c in chars}
    return tuple(sorted(chars)) if len(chars) <= _LARGEST_SET else None


def _either(needs: list[Need | None]) -> Need | None:
    """What a text matching one of several alternatives must contain: one of their
    needs' alternatives (compared folded if any of them is)."""
    if not needs or any(n is None for n in needs):
        return None
    folded = any(n.folded for n in needs)
    cover = _shortest_cover({a.lower() if folded else a for n in needs for a in n.alternatives})
    if len(cover) > _MOST_LITERALS and any(len(a) > 1 for a in cover):
        return None  # one `re` search for this many strings costs more than the RE2 search it guards
    return Need(tuple(sorted(cover)), folded)


def _best(needs: list[Need]) -> Need | None:
    """The need most texts fail, by a rough estimate of how often text contains it;
    None if every text likely passes them all (a test that rejects nothing is waste)."""
    best = min(needs, key=_likelihood, default=None)
    return best if best is not None and _likelihood(best) < 1.0 else None


def _likelihood(need: Need) -> float:
    return min(1.0, sum(_string_likelihood(a) for a in need.alternatives))


def _string_likelihood(text: str) -> float:
    # A crude model of English prose: spaces and common letters are everywhere, digits
    # and most punctuation are rare, and each extra character makes a string rarer.
    return min(_char_likelihood(c) for c in text) * 0.3 ** (len(text) - 1)


def _char_likelihood(char: str) -> float:
    if char in " \n":
        return 1.0
    if char.isascii() and char.isalpha():
        return 0.1 if char in _RARE_LETTERS else (0.7 if char.islower() else 0.3)
    if char in ".,":
        return 0.7
    if char.isdigit():
        return 0.05
    return 0.1


# ---- phrase lists


class PhraseNeed(Need):
    """The folded text must contain every word of one of `phrases`. Its `alternatives`
    are the one word of each phrase tested first, the longest."""

    __slots__ = ("phrases",)

    def __init__(self, phrases: tuple[tuple[str, ...], ...]):
        self.phrases = phrases  # (read by `source`, which the base class calls)
        super().__init__(tuple(sorted(_shortest_cover({words[0] for words in phrases}))), folded=True)

    def source(self, var: str, tag: str = "") -> tuple[str, dict[str, Any]]:
        first, names = super().source(var, tag)
        if all(len(words) == 1 for words in self.phrases):
            return first, names
        every = " or ".join("(" + " and ".join(f"{w!r} in {var}" for w in words) + ")" for words in self.phrases)
        return f"({first} and ({every}))", names

    def __repr__(self) -> str:
        return f"PhraseNeed({self.phrases!r})"


def phrase_need(phrases: tuple[str, ...]) -> PhraseNeed | None:
    """A condition every text matching one of `phrases` (whole words, ignoring case, as
    `textmatch.phrase_regex` matches them) satisfies: it contains, folded, the ASCII
    words of one of them (its five longest). None when a phrase has no ASCII word to
    require (a non-ASCII letter may match an ASCII one: LONG S matches `s`)."""
    groups = {}
    for phrase in phrases:
        words = phrase.split()
        if not words:
            continue  # an empty phrase matches nothing
        needed = _needed_words({w.lower() for w in words if w.isascii()})
        if not needed:
            return None
        groups[frozenset(needed)] = needed
    # a phrase needing all the words of another (and more) adds nothing to the test
    return PhraseNeed(tuple(sorted(g for key, g in groups.items() if not _has_proper_subset(key, groups))))


def _has_proper_subset(words: frozenset[str], groups) -> bool:
    """Whether `groups` holds a part of `words` (at most `_MOST_WORDS`, so 30 look-ups)."""
    return any(frozenset(part) in groups
               for size in range(1, len(words)) for part in combinations(words, size))


def _needed_words(words: set[str]) -> tuple[str, ...]:
    """The words worth testing, longest (rarest) first, at most `_MOST_WORDS` of them: not
    one-letter words when there are others, nor a word that is part of another."""
    if any(len(w) > 1 for w in words):
        words = {w for w in words if len(w) > 1}
    kept: list[str] = []
    for word in sorted(words, key=lambda w: (-len(w), w)):
        # a word inside a longer one is inside a kept one (that one, or one it is inside)
        if not any(word in longer for longer in kept):
            kept.append(word)
            if len(kept) == _MOST_WORDS:
                break
    return tuple(kept)


def _shortest_cover(strings: set[str]) -> set[str]:
    """The strings none of the others is a part of: containing one of these is the same
    as containing one of all. Linear in their total length (comparing them pairwise took
    25 s on a regex of 14,000 alternatives)."""
    if "" in strings:
        return {""}  # a part of every other
    trie = _SuffixTrie(strings)
    return {s for s in strings if not trie.contains_another(s)}


class _SuffixTrie:
    """A trie of strings in which each node knows the longest proper suffix of its path
    that is one of the strings (Aho-Corasick's dictionary link), built breadth first in
    time linear in the strings' total length."""

    __slots__ = ("children", "ends", "suffix_end")

    def __init__(self, strings: set[str]):
        self.children: list[dict[str, int]] = [{}]
        self.ends = [False]  # whether a node's path is one of the strings
        for string in strings:
            node = 0
            for char in string:
                node = self.children[node].get(char) or self._add(node, char)
            self.ends[node] = True
        self.suffix_end = self._suffix_ends()  # node -> nearest string-ending proper suffix, or 0

    def _add(self, parent: int, char: str) -> int:
        self.children[parent][char] = node = len(self.children)
        self.children.append({})
        self.ends.append(False)
        return node

    def _suffix_ends(self) -> list[int]:
        children, ends = self.children, self.ends
        fail = [0] * len(children)  # the longest proper suffix of a node's path in the trie
        suffix_end = [0] * len(children)
        queue = deque(children[0].values())
        while queue:
            node = queue.popleft()
            for char, child in children[node].items():
                back = fail[node]
                while back and char not in children[back]:
                    back = fail[back]
                fail[child] = target = children[back].get(char, 0)
                suffix_end[child] = target if ends[target] else suffix_end[target]
                queue.append(child)
        return suffix_end

    def contains_another(self, string: str) -> bool:
        """Whether another of the strings is a part of `string` (one of the strings): one
        ends at some character of it, as a prefix or as a suffix of that prefix."""
        children, ends, suffix_end = self.children, self.ends, self.suffix_end
        node, last = 0, len(string) - 1
        for at, char in enumerate(string):
            node = children[node][char]
            if suffix_end[node] or (ends[node] and at < last):
                return True
        return False
