"""Regexes that can never match (lint C209), found on Python's parse of the regex.

The check is sound, not complete: it reports only what certainly cannot match under
RE2's semantics (where `$` without the `m` flag is the end of the text, not before a
final newline): an empty character class, text that must come before `^` or `\\A`, text
that must come after `$` or `\\z`, and alternatives that all fail. Regexes Python cannot
parse (RE2-only syntax) are passed over.
"""

from __future__ import annotations

import re

# Python's own regex parser: private, but the only parse of a regex the stdlib offers.
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]

_EVERYTHING = [  # a negated class holding both halves of one of these can match nothing
    {sre.CATEGORY_DIGIT, sre.CATEGORY_NOT_DIGIT},
    {sre.CATEGORY_SPACE, sre.CATEGORY_NOT_SPACE},
    {sre.CATEGORY_WORD, sre.CATEGORY_NOT_WORD},
]
_STARTS = {sre.AT_BEGINNING_STRING}
_ENDS = {sre.AT_END_STRING}
_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}


def never_matches(source: str, flags: str = "") -> str | None:
    """Why the regex `/source/flags` can never match, or None if it may."""
    prefix = "".join(f for f in flags if f in "ims")
    try:
        parsed = _parser.parse(f"(?{prefix}){source}" if prefix else source)
    except (re.error, OverflowError, RecursionError):
        return None
    return _sequence(parsed, "m" in flags)


def _sequence(items, multiline: bool) -> str | None:
    consumed = ended = False
    for op, av in items:
        reason = _item(op, av, multiline)
        if reason is not None:
            return reason
        if op is sre.AT:
            if av in _STARTS or (av is sre.AT_BEGINNING and not multiline):
                if consumed:
                    return "it requires text before the start of the text (`^` or `\\A`)"
            if av in _ENDS or (av is sre.AT_END and not multiline):
                ended = True
        elif _parser.SubPattern(items.state, [(op, av)]).getwidth()[0] > 0:
            if ended:
                return "it requires text after the end of the text (`$` or `\\z`)"
            consumed = True
    return None


def _item(op, av, multiline: bool) -> str | None:
    if op is sre.IN:
        return _empty_class(av)
    if op is sre.BRANCH:
        reasons = [_sequence(branch, multiline) for branch in av[1]]
        return reasons[0] if all(reasons) else None
    if op is sre.SUBPATTERN:
        add, remove = av[1], av[2]
        inner = (multiline or bool(add & sre.SRE_FLAG_MULTILINE)) and not remove & sre.SRE_FLAG_MULTILINE
        return _sequence(av[3], inner)
    if op in _REPEATS:
        return _sequence(av[2], multiline) if av[0] > 0 else None
    if op is getattr(sre, "ATOMIC_GROUP", None):
        return _sequence(av, multiline)
    return None


def _empty_class(items) -> str | None:
    if not items or items[0][0] is not sre.NEGATE:
        return None
    categories = {av for op, av in items if op is sre.CATEGORY}
    if any(pair <= categories for pair in _EVERYTHING):
        return "it contains a character class that excludes every character"
    if any(op is sre.RANGE and av[0] == 0 and av[1] >= 0x10FFFF for op, av in items):
        return "it contains a character class that excludes every character"
    return None
