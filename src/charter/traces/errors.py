"""The one error every trace adapter raises, so the reader and callers handle all formats alike."""

from __future__ import annotations


class TraceFormatError(ValueError):
    """A decoded record is not a trace: `reason` says why and names the field
    (`messages[2].role ...`), because a person fixes the file from that message alone."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
