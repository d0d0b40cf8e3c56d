"""What a detector gives back, and how a detected label it doubts sits in a trace.

A detector is anything with a `name`, a `version` and `detect(texts)`: a batch of message
texts in, one `Detection` per text out (or None where it cannot judge that text). Charter
calls it in batches, once per message, when a trace does not carry the label itself.

A detected label's `Source` (which detector, which version, and whether the value came
from the trace, the disk cache or a call made this run) travels beside the trace
(`Trace.detected`) into the explanation of every verdict that read it.
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


class Unavailable(Exception):
    """Raised by a detector that cannot answer a batch at all (a service that is down or
    answers out of shape): every text of the batch is unknown with this message, and
    none is asked again alone (as the texts of a batch that raised anything else are)."""


# Where a detected label's value came from.
TRACE, CACHE, CALL = "trace", "cache", "call"


@attrs.frozen
class Source:
    """Where a detected label came from: the `detector` and its `version`, `origin` one of
    TRACE (the trace carried the label, no detector ran), CACHE (an answer kept on disk
    by an earlier run) or CALL (the detector was called this run), and what the detector
    said (`value`, `confidence`), when it said anything. Explanations list it with the
    fact it explains (`to_json`), so a reader sees the score and who gave it."""

    detector: str
    version: str | None
    origin: str
    value: Value | None = None
    confidence: float | None = None

    def to_json(self) -> dict[str, object]:
        return {"detector": self.detector, "version": self.version, "from": self.origin,
                "value": self.value, "confidence": self.confidence}

    def __str__(self) -> str:
        if self.origin == TRACE:
            return f"carried by the trace (detector `{self.detector}` not called)"
        said = "" if self.value is None else f" said {self.value!r}" + (
            "" if self.confidence is None else f" with confidence {self.confidence:.2f}")
        where = {CACHE: "from the detector cache", CALL: "called this run"}
        version = f" {self.version}" if self.version else ""
        return f"detector `{self.detector}`{version}{said}, {where.get(self.origin, self.origin)}"
