"""A read-only view of the first items of a list that only grows at its end.

A session's trace grows a message at a time: what a verdict's explanation reads, and
what `Session.messages` gives, is the trace as it was then — the first `n` items of the
session's lists, which stay as they are while the lists grow after them. Taking such a
view costs the same at message 10 and at message 10,000, where a copy would grow with
the session. Only a rolled-back candidate reply shortens the lists: a view reaching past
the cut `keep`s its own copy of the items about to be dropped first.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


class Prefix(Sequence[T]):
    """The first `length` items of `items` (all of them when not given), read-only."""

    __slots__ = ("_items", "_length", "_shared", "_kept")

    def __init__(self, items: list[T], length: int | None = None):
        self._items = items
        self._length = len(items) if length is None else length
        self._shared = self._length  # items before this index are read from `items`
        self._kept: tuple[T, ...] = ()  # the rest, copied by `keep`

    def keep(self, start: int) -> None:
        """Copy the items from position `start` on: the list is about to drop them."""
        if start < self._shared:
            self._kept = tuple(self._items[start:self._shared]) + self._kept
            self._shared = start

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            start, stop, step = index.indices(self._length)
            if step == 1 and stop <= self._shared:
                return self._items[start:stop]
            return [self._item(i) for i in range(start, stop, step)]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(f"index {index} out of a sequence of {self._length}")
        return self._item(index)

    def _item(self, index: int) -> T:
        return self._items[index] if index < self._shared else self._kept[index - self._shared]

    def __iter__(self) -> Iterator[T]:
        return itertools.chain(itertools.islice(self._items, self._shared), self._kept)

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence (a tuple, a list) of the same items in the same order."""
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]  # it grows: never a dict key

    def __repr__(self) -> str:
        return f"Prefix({list(self)!r})"
