"""Text matching: user regexes on a linear-time engine, and whole-word phrase matching.

A `/regex/` written in a policy runs on RE2 (google-re2), whose matching time is linear
in the text for every pattern; a pattern RE2 cannot run that way (backreferences,
lookaround) is rejected when the policy loads. Phrases (`says`, `pattern = any of`)
are literals, so they are compiled with Python's `re` into one alternation per list,
which cannot backtrack catastrophically and gives Unicode-aware word boundaries.

Both run behind a prefilter (`_prefilter`): literals the text must contain, tested with
`in` (case-insensitive ones on `fold(text)`) before the engine runs, which most texts
fail. RE2's Python wrapper
spends most of a search encoding the text and decoding UTF-8 offsets back to `str`
offsets for every capture group; matchers here ask RE2 for no groups (`never_capture`)
and hand it the text as bytes, decoding offsets only for a match found (and not at all
for ASCII text).
"""

from __future__ import annotations

import functools
import re
from typing import Callable, Iterator, Protocol

import re2

from .prefilter import Need, fold, phrase_need, regex_need  # fold: also what the evaluator gives text_search

# Flags a policy may put after a regex, and their inline RE2 spelling.
REGEX_FLAGS = {"i": "(?i)", "m": "(?m)", "s": "(?s)"}

_RE2_CAPTURING = re2.Options()
_RE2_CAPTURING.log_errors = False  # errors become diagnostics, not lines on stderr
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_RE2_OPTIONS.never_capture = True  # only whole matches are read; groups cost decoding


class Matcher(Protocol):
    def search(self, text: str) -> object | None: ...

    def finditer(self, text: str) -> Iterator[object]: ...


class _Prefiltered:
    """A pattern behind its prefilter (`_need`): `_search` searches the text itself."""

    __slots__ = ()

    def search(self, text: str) -> object | None:
        if self._need is not None and not self._need.admits(text):
            return None
        return self._search(text)


# A text test that found nothing, as `text_search` gives it (one tuple for every such message).
NOT_FOUND = (False, (None,))


def text_search(patterns: list[Matcher]) -> Callable[[str, str], tuple]:
    """`found(text, folded)` (`folded` being `fold(text)`, made once per message for every
    test): (True, the matches) when every one of `patterns` matches the text, else
    NOT_FOUND, as a text test caches it. One generated function with each pattern's
    prefilter written out inline, so that a message the prefilters reject, as most are,
    costs one Python call (not one for each prefilter, pattern and search)."""
    names: dict[str, object] = {"_NOT_FOUND": NOT_FOUND}
    lines = ["def found(text, folded):"]
    for k, pattern in enumerate(patterns):
        need = pattern._need
        if need is not None:
            test, used = need.source("folded" if need.folded else "text", f"_{k}")
            names.update(used)
            lines.append(f"    if not {test}: return _NOT_FOUND")
        names[f"_search_{k}"] = pattern._search
        lines += [f"    m{k} = _search_{k}(text)", f"    if m{k} is None: return _NOT_FOUND"]
    lines.append(f"    return (True, ({''.join(f'm{k}, ' for k in range(len(patterns)))}))")
    exec(compile("\n".join(lines) + "\n", "<charter text test>", "exec"), names)
    return names["found"]


class RegexError(ValueError):
    """A regex the linear-time engine cannot run, with the reason in words."""


def compile_regex(source: str, flags: str, check: Callable[[str], bool] | None = None) -> Matcher:
    """Compile `/source/flags` for RE2, or raise RegexError saying why it cannot be. With a
    `check` (a built-in of `where CHECK`), only the matches whose text it accepts count."""
    regex, need, whole_chars = _engine(source, flags)
    return (_Regex(regex, need, whole_chars) if check is None
            else _CheckedRegex(regex, need, whole_chars, check))


@functools.lru_cache(maxsize=1024)
def _engine(source: str, flags: str) -> tuple[object, Need | None, bool]:
    """The RE2 program and prefilter of a regex, made once for the checker (which rejects
    what RE2 cannot run), the compiler (at every use) and why-not's searches: both are
    immutable, and the prefilter of a long alternation takes a while to derive."""
    unknown = sorted(set(flags) - set(REGEX_FLAGS))
    if unknown:
        raise RegexError(
            f"unknown regex flag{'s' if len(unknown) > 1 else ''} {''.join(unknown)!r}; "
            f"the flags are i (ignore case), m (multi-line) and s (dot matches newline)"
        )
    prefix = "".join(REGEX_FLAGS[f] for f in sorted(set(flags)))
    # `\C` (any byte) may end a match, or a group, inside a character: there only RE2's
    # own offset decoding (of every group, as ever) gives what it always gave
    whole_chars = "\\C" not in source
    try:
        regex = re2.compile(prefix + source, _RE2_OPTIONS if whole_chars else _RE2_CAPTURING)
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise RegexError(_explain_re2(reason, source)) from None
    return regex, regex_need(source, flags), whole_chars


class _Regex(_Prefiltered):
    """An RE2 regex behind its prefilter, searched on the text's UTF-8 bytes (whose
    offsets for ASCII text are the character offsets, and otherwise are converted only
    for a match found)."""

    __slots__ = ("_regex", "_need", "_whole_chars")

    def __init__(self, regex, need: Need | None, whole_chars: bool):
        self._regex = regex
        self._need = need
        self._whole_chars = whole_chars

    def _search(self, text: str) -> object | None:
        return self._search_from(text, 0)

    def finditer(self, text: str) -> Iterator[object]:
        if self._need is not None and not self._need.admits(text):
            return iter(())
        if text.isascii():
            return (_TextMatch(text, *m.span()) for m in self._regex.finditer(text.encode("ascii")))
        return self._regex.finditer(text)  # for explanations only: RE2's own decoding will do

    def _search_from(self, text: str, pos: int) -> object | None:
        if text.isascii():
            found = self._regex.search(text.encode("ascii"), pos)
            return None if found is None else _TextMatch(text, *found.span())
        if not self._whole_chars:
            return self._regex.search(text, pos)
        encoded = text.encode("utf-8")
        found = self._regex.search(encoded, len(text[:pos].encode("utf-8")) if pos else 0)
        if found is None:
            return None
        start, end = found.span()
        start_char = len(encoded[:start].decode("utf-8"))
        return _TextMatch(text, start_char, start_char + len(encoded[start:end].decode("utf-8")))


class _CheckedRegex(_Regex):
    """A regex whose candidate matches (RE2's leftmost, non-overlapping ones) count only
    when `check` accepts their text."""

    __slots__ = ("_check",)

    def __init__(self, regex, need: Need | None, whole_chars: bool, check: Callable[[str], bool]):
        super().__init__(regex, need, whole_chars)
        self._check = check

    def finditer(self, text: str) -> Iterator[object]:
        check = self._check
        return (m for m in super().finditer(text) if check(m.group()))

    def _search(self, text: str) -> object | None:
        check = self._check
        if text.isascii():  # one pass over the bytes, where offsets need no decoding
            for found in self._regex.finditer(text.encode("ascii")):
                start, end = found.span()
                if check(text[start:end]):
                    return _TextMatch(text, start, end)
            return None
        if not self._whole_chars:
            return self._search_decoded(text)
        # otherwise search the UTF-8 bytes, made once, again from the end of each rejected
        # candidate, one character past an empty one (RE2's finditer steps one byte, which
        # may split a character); only the accepted match's offsets are decoded
        encoded = text.encode("utf-8")
        pos = 0
        while pos <= len(encoded) and (found := self._regex.search(encoded, pos)) is not None:
            start, pos = found.span()
            candidate = encoded[start:pos].decode("utf-8")
            if check(candidate):
                start_char = len(encoded[:start].decode("utf-8"))
                return _TextMatch(text, start_char, start_char + len(candidate))
            if pos == start:  # past an empty match: to the next character's first byte
                pos += 1
                while pos < len(encoded) and encoded[pos] & 0xC0 == 0x80:
                    pos += 1
        return None

    def _search_decoded(self, text: str) -> object | None:
        """The search where RE2 decodes the offsets itself (a `\\C` may split a character)."""
        check, pos = self._check, 0
        while pos <= len(text) and (found := self._regex.search(text, pos)) is not None:
            if check(found.group()):
                return found
            start, pos = found.span()
            pos = pos if pos > start else pos + 1  # past an empty match, possibly past the end
        return None


class _TextMatch:
    """A match by character offsets into its text."""

    __slots__ = ("_text", "_start", "_end")

    def __init__(self, text: str, start: int, end: int):
        self._text = text
        self._start = start
        self._end = end

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def span(self) -> tuple[int, int]:
        return self._start, self._end

    def group(self) -> str:
        return self._text[self._start:self._end]

    def __repr__(self) -> str:
        return f"<match span={self.span()!r} {self.group()!r}>"


# A backreference by name: RE2 reports `(?P=n)` only as an invalid `(?P` operator.
_NAMED_BACKREFERENCE = re.compile(r"\(\?P=|\\k<")


def _explain_re2(reason: str, source: str) -> str:
    if "invalid perl operator: (?<" in reason or "(?=" in reason or "(?!" in reason:
        return (f"lookaround is not supported ({reason}): Charter runs regexes in linear time, "
                "which rules out lookahead and lookbehind")
    if re.search(r"escape sequence: \\[1-9]", reason) or _NAMED_BACKREFERENCE.search(source):
        return (f"backreferences are not supported ({reason}): Charter runs regexes in linear "
                "time, which rules them out")
    return f"invalid regular expression: {reason}"


def phrase_regex(phrases: tuple[str, ...]) -> Matcher:
    """One case-insensitive pattern matching any of `phrases` as whole words: a word
    character may not touch either end of a match, and a space in a phrase matches any
    run of whitespace. The word-boundary tests are shared by all the phrases (tried
    longest first), which is the same as one pair per phrase, and ~3x faster."""
    ordered = sorted(set(phrases), key=lambda p: (-len(p), p))
    bodies = [body for phrase in ordered if (body := r"\s+".join(re.escape(w) for w in phrase.split()))]
    pattern = r"(?<!\w)(?:" + "|".join(bodies) + r")(?!\w)" if bodies else r"(?!)"  # an empty phrase: nothing
    return _Phrases(re.compile(pattern, re.IGNORECASE), phrase_need(phrases))


class _Phrases(_Prefiltered):
    """A phrase list's pattern behind its prefilter; matches are `re.Match`es."""

    __slots__ = ("pattern", "_need", "_search")

    def __init__(self, pattern: re.Pattern[str], need: Need | None):
        self.pattern = pattern
        self._need = need
        self._search = pattern.search

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        if self._need is not None and not self._need.admits(text):
            return iter(())
        return self.pattern.finditer(text)


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
