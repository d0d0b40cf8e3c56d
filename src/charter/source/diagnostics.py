"""Diagnostics: errors and warnings as data, with a stable code and a location.

Stages never print; they return diagnostics, and `report.render_diagnostics` renders
them once, at the edge.
"""

from __future__ import annotations

import enum

import attrs

from .text import Source, Span


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@attrs.frozen
class Diagnostic:
    """One finding: what is wrong (`message`), where (`span`), and how to fix it (`hint`)."""

    code: str
    message: str
    span: Span
    severity: Severity = Severity.ERROR
    hint: str | None = None
    notes: tuple[tuple[str, Span], ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        return (self.span, self.code)


class PolicyError(Exception):
    """A policy could not be loaded; `diagnostics` says every reason found, in source order.
    `sources` holds the texts they point into, by name, for rendering."""

    def __init__(self, diagnostics: list[Diagnostic], sources: dict[str, Source] | None = None):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        self.sources = sources or {}
        first = self.diagnostics[0] if self.diagnostics else None
        summary = f"{first.span}: {first.message}" if first else "policy error"
        more = len(self.diagnostics) - 1
        super().__init__(summary + (f" (and {more} more)" if more > 0 else ""))
