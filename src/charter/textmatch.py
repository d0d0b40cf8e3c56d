"""Text matching: user regexes on a linear-time engine, and whole-word phrase matching.

A `/regex/` written in a policy runs on RE2 (google-re2), whose matching time is linear
in the text for every pattern; a pattern RE2 cannot run that way (backreferences,
lookaround) is rejected when the policy loads. Phrases (`says`, `pattern = any of`)
are literals, so they are compiled with Python's `re` into one alternation per list,
which cannot backtrack catastrophically and gives Unicode-aware word boundaries.
"""

from __future__ import annotations

import re
from typing import Callable, Iterator, Protocol

import re2

# Flags a policy may put after a regex, and their inline RE2 spelling.
REGEX_FLAGS = {"i": "(?i)", "m": "(?m)", "s": "(?s)"}

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # errors become diagnostics, not lines on stderr


class Matcher(Protocol):
    def search(self, text: str) -> object | None: ...

    def finditer(self, text: str) -> Iterator[object]: ...


class RegexError(ValueError):
    """A regex the linear-time engine cannot run, with the reason in words."""


def compile_regex(source: str, flags: str, check: Callable[[str], bool] | None = None) -> Matcher:
    """Compile `/source/flags` for RE2, or raise RegexError saying why it cannot be. With a
    `check` (a built-in of `where CHECK`), only the matches whose text it accepts count."""
    unknown = sorted(set(flags) - set(REGEX_FLAGS))
    if unknown:
        raise RegexError(
            f"unknown regex flag{'s' if len(unknown) > 1 else ''} {''.join(unknown)!r}; "
            f"the flags are i (ignore case), m (multi-line) and s (dot matches newline)"
        )
    prefix = "".join(REGEX_FLAGS[f] for f in sorted(set(flags)))
    try:
        regex = re2.compile(prefix + source, _RE2_OPTIONS)
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise RegexError(_explain_re2(reason)) from None
    return regex if check is None else _CheckedMatcher(regex, check)


class _CheckedMatcher:
    """A regex whose candidate matches (RE2's leftmost, non-overlapping ones) count only
    when `check` accepts their text."""

    __slots__ = ("_regex", "_check")

    def __init__(self, regex: Matcher, check: Callable[[str], bool]):
        self._regex = regex
        self._check = check

    def finditer(self, text: str) -> Iterator[object]:
        check = self._check
        return (m for m in self._regex.finditer(text) if check(m.group()))

    def search(self, text: str) -> object | None:
        # search from the end of each rejected candidate: RE2's search is much cheaper
        # than its finditer, and a checked pattern's first candidate usually decides
        regex, check, pos = self._regex, self._check, 0
        while (found := regex.search(text, pos)) is not None:
            if check(found.group()):
                return found
            start, pos = found.span()
            pos = pos if pos > start else pos + 1
        return None


def _explain_re2(reason: str) -> str:
    if "invalid perl operator: (?<" in reason or "(?=" in reason or "(?!" in reason:
        return (f"lookaround is not supported ({reason}): Charter runs regexes in linear time, "
                "which rules out lookahead and lookbehind")
    if "invalid escape sequence: \\1" in reason or re.search(r"escape sequence: \\[1-9]", reason):
        return (f"backreferences are not supported ({reason}): Charter runs regexes in linear "
                "time, which rules them out")
    return f"invalid regular expression: {reason}"


def phrase_regex(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive pattern matching any of `phrases` as whole words: a word
    character may not touch either end of a match, and a space in a phrase matches any
    run of whitespace."""
    parts = []
    for phrase in sorted(set(phrases), key=lambda p: (-len(p), p)):
        body = r"\s+".join(re.escape(word) for word in phrase.split())
        parts.append(r"(?<!\w)" + body + r"(?!\w)" if body else r"(?!)")
    return re.compile("|".join(parts) or r"(?!)", re.IGNORECASE)


def matchable(text: str | None) -> str:
    """The text as the matchers see it: lone surrogates (valid in JSON text, not in
    UTF-8, which RE2 needs) become U+FFFD, one for one, so match offsets still hold."""
    text = text or ""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    return text
