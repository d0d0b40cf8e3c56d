"""Text for a terminal: what `charter decide` recorded and what `charter amend` plans."""

from __future__ import annotations

from ..review.diff import render_text
from .amend import Amendment
from .rulings import STATUS_TEXT, Ruling


def ruling_line(ruling: Ruling) -> str:
    """`Qa049654 platform (Dana Ruiz): to apply — require ...`."""
    decision = ruling.decision
    note = "" if ruling.note == STATUS_TEXT[ruling.status] else f" ({ruling.note})"
    return (f"{decision.question} {decision.authority} ({decision.person}): {STATUS_TEXT[ruling.status]}{note}"
            f" — {decision.outcome.text()}")


def render_amendment(amendment: Amendment, written: bool) -> str:
    lines = [f"decisions in {amendment.ledger}:"]
    lines += [f"  {ruling_line(r)}" for r in amendment.rulings] or ["  (none)"]
    if amendment.edits:
        lines.append("edits:")
        for edit in amendment.edits:
            lines.append(f"  {edit.file}: {edit.decision.question} {edit.how}; "
                         f"{len(edit.tests)} test{'s' if len(edit.tests) != 1 else ''} from its evidence")
            lines += [f"      {line}" for line in edit.text.rstrip("\n").split("\n")]
    if amendment.diff is not None:
        lines += ["verdict changes on the corpus (as charter diff shows them):",
                  *(f"  {line}".rstrip() for line in render_text(amendment.diff).rstrip("\n").split("\n"))]
    if amendment.problems:
        lines.append("nothing was written: the amendment has problems (below)")
    elif not amendment.files:
        lines.append("nothing to change: the policy already says what the ledger decided")
    else:
        lines.append(("wrote " if written else "would write (dry run) ") + ", ".join(amendment.files))
    return "\n".join(lines)
