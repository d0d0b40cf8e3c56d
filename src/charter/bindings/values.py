"""The values a text holds, as `appears in` compares them.

A value appears in a text as a *whole value*: a string as a sequence of whole words (the
text's words are its runs of non-space characters with the punctuation around them
trimmed, so `ann@example.org.` holds the word `ann@example.org`), compared ignoring case
(`fold`, as phrases are); a number as a number written in the text (`1,250.00` is
1250), whatever its spelling. A string that is a numeral is compared as a number.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

from ..text.prefilter import fold

# A key is ("w", word) for one word, ("ws", (word, ...)) for several, ("n", number) or
# ("p", text) for a text a pattern matched.
Key = tuple

_WORD = re.compile(r"\S+")
# Trimmed off both ends of a word: quotes, brackets, sentence punctuation, currency signs.
_TRIM = "\"'`.,;:!?()[]{}<>«»“”‘’*_~|$€£¥"
_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w]|\.\d)")
_NUMERAL = re.compile(r"\s*[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?\s*")


def words(text: str) -> Iterator[tuple[str, int, int]]:
    """The text's words, folded, with their spans."""
    for match in _WORD.finditer(text):
        raw = match.group()
        word = raw.strip(_TRIM)
        if word:
            start = match.start() + raw.index(word)
            yield fold(word), start, start + len(word)


def numbers(text: str) -> Iterator[tuple[float, int, int]]:
    """The numbers written in the text, with their spans."""
    for match in _NUMBER.finditer(text):
        yield float(match.group().replace(",", "")), match.start(), match.end()


def folded_words(text: str) -> list[str]:
    """The text's words, folded, in order (what `words` gives, without the spans: the text
    is folded once, as the words of one text fold alike)."""
    return [word for word in (raw.strip(_TRIM) for raw in fold(text).split()) if word]


def word_keys(text: str) -> tuple[set[Key], list[str]]:
    """What `appears in` looks up in a message for a value of words: its words (each
    once), and its words in order (for a value of several words)."""
    found = folded_words(text)
    return {("w", word) for word in found}, found


def number_keys(text: str) -> tuple[set[Key], None]:
    """What `appears in` looks up in a message for a number: the numbers it writes."""
    return {("n", value) for value, _, _ in numbers(text)}, None


def pattern_keys(matcher: Any, text: str) -> set[Key]:
    """The texts a pattern matches in a message, folded: what `shares` compares."""
    return {("p", fold(m.group())) for m in matcher.finditer(text)}


def value_key(value: Any) -> Key | None:
    """How a value is looked up: None for one that appears nowhere (not a string or a
    number, or a string with no word)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return ("n", float(value))
    if not isinstance(value, str):
        return None
    if _NUMERAL.fullmatch(value):
        return ("n", float(value.strip().lstrip("+").replace(",", "")))
    found = tuple(folded_words(value))
    if not found:
        return None
    return ("w", found[0]) if len(found) == 1 else ("ws", found)


def number_in(text: str) -> tuple[float | int | None, str | None]:
    """The one number a text holds, or None and why not (none, or several different)."""
    found = sorted({value for value, _, _ in numbers(text)})
    if len(found) == 1:
        value = found[0]
        return (int(value) if value.is_integer() else value), None
    if not found:
        return None, "the message holds no number"
    shown = ", ".join(f"{int(v) if v.is_integer() else v}" for v in found[:5])
    return None, f"the message holds several numbers ({shown})"


def locate(text: str, key: Key, matcher: Any = None) -> tuple[int, int] | None:
    """Where a value appears in a text (for explanations: the end it reached)."""
    kind, wanted = key
    if kind == "n":
        return next(((s, e) for value, s, e in numbers(text) if value == wanted), None)
    if kind == "p":
        return next(((m.start(), m.end()) for m in matcher.finditer(text) if fold(m.group()) == wanted), None)
    sequence = (wanted,) if kind == "w" else wanted
    found = list(words(text))
    for start in range(len(found) - len(sequence) + 1):
        if all(found[start + k][0] == sequence[k] for k in range(len(sequence))):
            return found[start][1], found[start + len(sequence) - 1][2]
    return None


def holds(keys: set[Key], found: list[str] | None, key: Key) -> bool:
    """Whether a text whose keys and words in order are `keys` and `found` holds `key`."""
    if key[0] != "ws":
        return key in keys
    return found is not None and contains_sequence(found, key[1])


def needle(key: Key) -> str | None:
    """A string that the folded text of every message that holds `key` contains (None:
    no such string, for a number, whatever its spelling). A message's words are cut from
    its folded text, so they stand in it; a pattern's match was folded alone, which folds
    alike inside the text but for a final sigma (the only letter `str.lower` reads in
    context)."""
    kind, value = key
    if kind == "w":
        return value
    if kind == "ws":
        return max(value, key=len)
    if kind == "p" and "σ" not in value and "ς" not in value:
        return value
    return None


def contains_sequence(found: list[str], sequence: Iterable[str]) -> bool:
    """Whether the words `sequence` stand one after another in `found`."""
    sequence = tuple(sequence)
    first, size = sequence[0], len(sequence)
    return any(found[k:k + size] == list(sequence) for k, word in enumerate(found) if word == first)
