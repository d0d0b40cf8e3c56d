"""What a detector gives back, and how a detected label it doubts sits in a trace.

A detector is anything with a `name`, a `version` and `detect(texts)`: a batch of message
texts in, one `Detection` per text out (or None where it cannot judge that text). Charter
calls it in batches, once per message, when a trace does not carry the label itself.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import attrs

Value = float | bool | str


@attrs.frozen
class Detection:
    """A detector's answer for one text: the label's `value` (a score in [0, 1], a boolean
    or a category such as a language code) and, if the detector says, its `confidence`
    in [0, 1]. A policy doubts a score inside its band (`uncertain between`) and a
    detection less confident than it asks (`uncertain below`)."""

    value: Value
    confidence: float | None = None


@runtime_checkable
class Detector(Protocol):
    """The plugin protocol (entry-point group `charter.detectors`, see docs/detectors.md)."""

    name: str
    version: str

    def detect(self, texts: Sequence[str]) -> Sequence[Detection | None]:
        """One answer per text, in order; None for a text the detector cannot judge."""
        ...


@attrs.frozen
class Doubt:
    """A detected label that is unknown: the detector was unsure, failed, timed out or is
    not installed. `why` names the detector; `value` is what it said, if anything. Placed
    in a message's labels, it reads as an unknown fact (compile.compiler)."""

    why: str
    value: Value | None = None
