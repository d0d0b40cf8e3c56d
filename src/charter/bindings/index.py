"""Per-trace indexes of the values messages hold, read once, in order.

A `Range` is the messages of one role that pass one filter (`any earlier tool that
answers "fetch_url"`), with, for every value they hold, the messages that hold it. It
reads the messages only as far as a question needs (a session that grows a message at a
time extends it), and each question — does a value appear in some, every, or the latest
of them within a window — is a few bisections, so a norm costs time linear in the trace
whatever it compares: no pair of messages is ever visited.

An `any` question whose value is rare need not wait for the index: the members that
hold a value all contain a string of it (`values.needle`) in their folded text, so the
messages of the window that contain it are the only ones read (their membership tested,
their values extracted). That direct search reads at most a few times the range's text
before the index is made (`_DIRECT_SHARE`), so a trace that asks often still costs
linear time; one that asks once or twice about a value few messages hold (an address
among fetched pages) never makes the index.

A message whose membership is unknown (a tool result linked to no call, under a filter
`answers`) is kept apart: a value found only there, or missing only there, makes the
answer unknown rather than true or false.
"""

from __future__ import annotations

import bisect
from typing import Any, Callable

from ..traces.links import Links
from .values import Key, contains_sequence, holds, needle

# A window of message indices: lo <= index < hi (hi None: to the end of the trace).
Window = tuple[int, int | None]
# The direct search reads at most this many times the range's text (each message counted
# as its length and `_PER_MESSAGE` more, so that empty ones cost too) before the index is made.
_DIRECT_SHARE = 4
_PER_MESSAGE = 64


def window(range_: str, act_end: int) -> Window:
    """The messages `earlier`, `later` or `all` name at an act whose earlier messages end
    at `act_end` (its own message index, or the trace's length for the conversation)."""
    if range_ == "earlier":
        return 0, act_end
    if range_ == "later":
        return act_end + 1, None
    return 0, None


def _count(positions: list[int], lo: int, hi: int | None) -> int:
    return (len(positions) if hi is None else bisect.bisect_left(positions, hi)) - bisect.bisect_left(positions, lo)


def _first(positions: list[int], lo: int, hi: int | None) -> int | None:
    k = bisect.bisect_left(positions, lo)
    return positions[k] if k < len(positions) and (hi is None or positions[k] < hi) else None


class Range:
    """The messages of `role` that pass `member` (True, False, or None: unknown), and where
    each value `extract` finds in a message's text stands."""

    __slots__ = ("role", "member", "extract", "read", "certain", "uncertain", "hits", "words", "derived",
                 "operations", "seen", "allowance", "spent")

    def __init__(self, role: str, member: Callable[[Any, int], bool | None],
                 extract: Callable[[str], tuple[set[Key], list[str] | None]]):
        self.role, self.member, self.extract = role, member, extract
        self.read = 0  # how many of the role's messages were read
        self.certain: list[int] = []  # the messages in the range
        self.uncertain: list[int] = []  # the messages whose membership is unknown
        self.hits: dict[Key, tuple[list[int], list[int]]] = {}  # value -> (certain, uncertain) holders
        self.words: dict[int, list[str]] = {}  # a member's words in order, for values of several words
        # A value of several words: (the last member checked, its holders), extended as members are read.
        self.derived: dict[Key, tuple[int, tuple[list[int], list[int]]]] = {}
        self.operations = 0  # index entries made and looked up (what the linearity test counts)
        # The direct search: the role's messages counted so far, what they allow it, what it read.
        self.seen, self.allowance, self.spent = 0, 0, 0

    def ensure(self, ctx: Any, end: int | None) -> None:
        """Read the role's messages before `end` (None: all) not read yet."""
        indices = ctx.view.by_role.get(self.role, ())
        texts = ctx.view.texts
        read = self.read
        while read < len(indices) and (end is None or indices[read] < end):
            index = indices[read]
            read += 1
            membership = self.member(ctx, index)
            if membership is False:
                continue
            keys, found = self.extract(texts[index])
            side = 0 if membership else 1
            (self.certain if membership else self.uncertain).append(index)
            if found is not None:
                self.words[index] = found
            for key in keys:
                holders = self.hits.get(key)
                if holders is None:
                    holders = self.hits[key] = ([], [])
                holders[side].append(index)
            self.operations += len(keys) + 1
        self.read = read

    def holders(self, key: Key) -> tuple[list[int], list[int]]:
        """The members (certain, uncertain) that hold the value, among those read."""
        self.operations += 1
        if key[0] != "ws":
            return self.hits.get(key, ([], []))
        done, found = self.derived.get(key, (-1, ([], [])))
        first = self.hits.get(("w", key[1][0]), ([], []))
        last = done
        for side in (0, 1):  # the members read since, that hold the first word, in order
            for index in first[side][bisect.bisect_right(first[side], done):]:
                self.operations += 1
                last = max(last, index)
                if contains_sequence(self.words[index], key[1]):
                    found[side].append(index)
        self.derived[key] = (last, found)
        return found

    def any(self, ctx: Any, key: Key, win: Window) -> tuple[bool | None, int | None]:
        """Whether some member in the window holds the value, and a witness (the first
        member that certainly holds it, else the first that may)."""
        indices = ctx.view.by_role.get(self.role, ())
        stop = len(indices) if win[1] is None else bisect.bisect_left(indices, win[1])
        if self.read < stop:  # the index does not reach the window's end yet
            wanted = needle(key)
            if wanted is not None and self._affordable(ctx, indices, stop):
                return self._any_directly(ctx, key, wanted, indices, win[0], stop)
        self.ensure(ctx, win[1])
        certain, uncertain = self.holders(key)
        witness = _first(certain, *win)
        if witness is not None:
            return True, witness
        witness = _first(uncertain, *win)
        return (None, witness) if witness is not None else (False, None)

    def _affordable(self, ctx: Any, indices: list[int], stop: int) -> bool:
        """Whether the direct search may read on, the role's first `stop` messages counted
        in its allowance."""
        folds = ctx.view.folds  # (what the search reads)
        while self.seen < stop:  # (a session's rolled-back reply stays counted: it is only a budget)
            self.allowance += _DIRECT_SHARE * (len(folds[indices[self.seen]]) + _PER_MESSAGE)
            self.seen += 1
        return self.spent < self.allowance

    def _any_directly(self, ctx: Any, key: Key, wanted: str, indices: list[int], start: int,
                      stop: int) -> tuple[bool | None, int | None]:
        """`any` without the index: the members of the window whose folded text contains
        `wanted`, in order."""
        folds, texts = ctx.view.folds, ctx.view.texts
        maybe = None
        for k in range(bisect.bisect_left(indices, start), stop):
            index = indices[k]
            folded = folds[index]
            self.spent += len(folded) + _PER_MESSAGE
            self.operations += 1
            if wanted not in folded:
                continue
            membership = self.member(ctx, index)
            if membership is False:
                continue
            self.spent += len(folded) + _PER_MESSAGE
            if holds(*self.extract(texts[index]), key):
                if membership:
                    return True, index
                if maybe is None:
                    maybe = index
        return (None, maybe) if maybe is not None else (False, None)

    def every(self, ctx: Any, key: Key, win: Window) -> tuple[bool | None, int | None]:
        """Whether every member in the window holds the value (true when there are none),
        and a member that does not."""
        self.ensure(ctx, win[1])
        certain, uncertain = self.holders(key)
        recording = ctx.recording
        if _count(certain, *win) < _count(self.certain, *win):
            return False, self._lacking(self.certain, certain, win) if recording else None
        if _count(uncertain, *win) < _count(self.uncertain, *win):  # (rare: the witness names the unknown)
            return None, self._lacking(self.uncertain, uncertain, win)
        return True, None

    def latest(self, ctx: Any, end: int) -> tuple[int | None, bool]:
        """The latest member before `end`, and whether it is certainly the latest (no
        message of unknown membership after it)."""
        self.ensure(ctx, end)
        self.operations += 1
        k = bisect.bisect_left(self.certain, end)
        found = self.certain[k - 1] if k else None
        after = _first(self.uncertain, -1 if found is None else found + 1, end)
        return found, after is None

    def holds(self, key: Key, index: int) -> bool:
        """Whether member `index` holds the value."""
        certain, uncertain = self.holders(key)
        for positions in (certain, uncertain):
            k = bisect.bisect_left(positions, index)
            if k < len(positions) and positions[k] == index:
                return True
        return False

    def uncertain_before(self, end: int) -> int | None:
        """A message of unknown membership before `end` (for the fact that makes `latest` unknown)."""
        k = bisect.bisect_left(self.uncertain, end)
        return self.uncertain[k - 1] if k else None

    @staticmethod
    def _lacking(members: list[int], holders: list[int], win: Window) -> int | None:
        """The first member in the window that does not hold the value (for an explanation,
        or the fact an unknown answer names: it reads the members one by one)."""
        held = set(holders)
        return next((m for m in members[bisect.bisect_left(members, win[0]):]
                     if (win[1] is None or m < win[1]) and m not in held), None)


class _Links:
    """The trace's call/result links, extended as the messages are read."""

    __slots__ = ("links", "read")
    role = None  # it reads the messages of every role (`read` counts them), as a session's rollback asks

    def __init__(self) -> None:
        self.links, self.read = Links(), 0


def links(ctx: Any, upto: int | None = None) -> Links:
    """The links of the messages read so far (up to `upto`, None: all), made once per trace."""
    made = ctx.scans.get("links")
    if made is None:
        made = ctx.scans["links"] = _Links()
    messages = ctx.view.messages
    stop = len(messages) if upto is None else min(upto, len(messages))
    while made.read < stop:
        made.links.add(messages[made.read])
        made.read += 1
    return made.links
