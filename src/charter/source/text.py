"""Source texts and the spans that point into them; used by every stage."""

from __future__ import annotations

import functools
import hashlib

from typing import Iterable

import attrs


@attrs.frozen(slots=False)
class Source:
    """A named text: a policy file, a stdlib module, or a string given to `loads`."""

    name: str
    text: str = attrs.field(repr=False)

    @functools.cached_property
    def lines(self) -> list[str]:
        """The lines as the parser counts them: split at "\n" only."""
        return [line.removesuffix("\r") for line in self.text.split("\n")]

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 of the text with line endings and a byte-order mark normalised away, so
        the same policy checked out on Windows or Unix has the same digest."""
        text = self.text.removeprefix("\ufeff").replace("\r\n", "\n")
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def line(self, number: int) -> str:
        """The text of 1-based line `number`, without its newline ('' past the end)."""
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""


@attrs.frozen(order=True)
class Span:
    """A region of a source: 1-based lines and columns, end inclusive of the last column.

    Spans order by (file, line, column) so diagnostics sort by location.
    """

    source: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, source: str, line: int, column: int) -> "Span":
        return cls(source, line, column, line, column)

    def join(self, other: "Span") -> "Span":
        """The smallest span covering both (same source)."""
        start = min((self.line, self.column), (other.line, other.column))
        end = max((self.end_line, self.end_column), (other.end_line, other.end_column))
        return Span(self.source, start[0], start[1], end[0], end[1])

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"


NOWHERE = Span("<builtin>", 0, 0, 0, 0)


def content_hash(sources: Iterable[Source]) -> str:
    """The content hash of a policy: every file loaded (stdlib modules included), by
    content only, in no particular order, so renaming or reordering files keeps it."""
    combined = hashlib.sha256("\n".join(sorted({s.digest for s in sources})).encode())
    return "sha256:" + combined.hexdigest()
