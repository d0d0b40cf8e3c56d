"""From a form to a decision, and the decision's preview and confirmation, through the
decisions package (the ledger, amendment planning and its impact): nothing here writes
policy text or ledger entries of its own."""

from __future__ import annotations

import datetime
import shutil
import tempfile
from pathlib import Path
from typing import Any

import attrs

from ..decisions.amend import Amendment, plan_amendment
from ..decisions.ledger import Decision, Outcome, append
from ..decisions.rulings import STATUS_TEXT
from ..reports.render import render_diagnostics
from ..review.diff import DiffResult
from ..source.diagnostics import PolicyError
from .state import Identity, Question, Workspace


@attrs.frozen
class Plan:
    """What confirming would write and change: the amended files as a unified diff, the
    corpus verdicts that change, a summary, and the reasons it cannot be written."""

    diff: str
    changes: list[dict[str, Any]]
    summary: list[str]
    problems: list[str]


def read_decision(question: Question, identity: Identity, form: dict[str, str],
                  authorities: tuple[str, ...]) -> Decision | str:
    """The decision a form describes, or what is missing from it."""
    kind = form.get("outcome", "")
    behaviour = " ".join(form.get("behaviour", "").split())
    why = form.get("why", "").strip()
    if kind not in ("permit", "forbid", "require", "keep-open", "needs-fact"):
        return "choose an outcome"
    if kind in ("forbid", "require") and not behaviour:
        return f"say which behaviour to {kind} (for example: assistant says \"988\")"
    within = form.get("within", "").strip()
    if within and (not within.isdigit() or int(within) < 1):
        return "within: a whole number of turns, 1 or more"
    reason = " ".join(form.get("reason", "").split())
    target = form.get("escalate_to", "") or question.item["escalate_to"] or question.decider
    if kind == "keep-open" and not reason:
        return "keeping it open needs a clearer reason"
    if kind == "keep-open" and target not in authorities:
        return f"escalate to one of {', '.join(authorities)}"
    fact = form.get("fact", "").strip()
    if kind == "needs-fact" and not fact:
        return "name the fact it needs (a label or a metadata field)"
    if not why:
        return "say why: the rationale goes in the ledger"
    outcome = Outcome(kind, behaviour=behaviour if kind in ("forbid", "require") else None,
                      within=int(within) if kind == "require" and within else None,
                      reason=reason if kind == "keep-open" else None,
                      escalate_to=target if kind == "keep-open" else None,
                      fact=fact if kind == "needs-fact" else None)
    at = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Decision(question.id, identity.authority, identity.name, at, outcome, why,
                    tuple(question.item["trace_ids"]), question.norm["norm"], question.item["decide"])


def _planned(workspace: Workspace, decision: Decision) -> tuple[Amendment | None, str | None]:
    """The amendment the ledger makes with `decision` appended, planned on a copy of the
    ledger of the same name (the policy's marks name the ledger by its file name), so
    nothing is written; or why it cannot be planned."""
    ledger = Path(workspace.ledger)
    with tempfile.TemporaryDirectory(prefix="charter-review-") as tmp:
        copy = Path(tmp) / ledger.name
        if ledger.exists():
            shutil.copyfile(ledger, copy)
        try:
            append(copy, decision)
            return plan_amendment(workspace.policy_paths, copy, workspace.trace_paths), None
        except PolicyError as error:
            return None, render_diagnostics(error.diagnostics, error.sources)


def preview(workspace: Workspace, question: Question, identity: Identity, form: dict[str, str]) -> Plan | str:
    """What confirming the form's decision would write and change, or what is wrong with the form."""
    planned = _plan(workspace, question, identity, form)
    return planned if isinstance(planned, str) else planned[2]


def _plan(workspace: Workspace, question: Question, identity: Identity,
          form: dict[str, str]) -> tuple[Decision, Amendment | None, Plan] | str:
    decision = read_decision(question, identity, form, workspace.authorities)
    if isinstance(decision, str):
        return decision
    amendment, failure = _planned(workspace, decision)
    if amendment is None:
        return decision, None, Plan(_entry_patch(workspace.ledger, decision), [], [],
                                    [failure or "the amendment cannot be planned"])
    ruling = next(r for r in amendment.rulings if r.decision == decision)
    problems = [d.message + (f" ({d.hint})" if d.hint else "") for d in amendment.problems]
    if ruling.status not in ("apply", "recorded", "proposal"):
        problems.insert(0, f"this decision would be {STATUS_TEXT[ruling.status]}: {ruling.note}")
    summary = [f"The ledger gets an entry: {decision.outcome.text()} (by {decision.authority}, {decision.person})."]
    if ruling.status == "proposal":
        summary.append(f"It is a proposal: {ruling.note}. No policy text is written and no verdict changes "
                       f"until {question.decider} or an authority above it adopts it.")
    summary += [f"{edit.file}: {edit.how}, with {len(edit.tests)} inline tests from the evidence"
                for edit in amendment.edits if edit.decision == decision]
    if ruling.status == "recorded":
        summary.append("No policy text can say this outcome: it is recorded in the ledger only.")
    diff = amendment.diff
    if diff is not None:
        summary.append(f"{diff.changed} of {diff.traces} traces change.")
    plan = Plan(_entry_patch(workspace.ledger, decision) + amendment.patch(), _changes(diff), summary, problems)
    return decision, amendment, plan


def adoption(proposal: Decision) -> dict[str, str]:
    """The decision form that adopts a proposal: its outcome, its rationale credited."""
    outcome = proposal.outcome
    form = {"outcome": outcome.kind, "behaviour": outcome.behaviour, "within": outcome.within,
            "reason": outcome.reason, "escalate_to": outcome.escalate_to, "fact": outcome.fact,
            "why": f"Adopting the proposal of {proposal.person} ({proposal.authority}): {proposal.why}"}
    return {key: str(value) for key, value in form.items() if value}


def _entry_patch(ledger: str, decision: Decision) -> str:
    """The ledger entry as the lines a diff adds."""
    return f"--- a/{ledger}\n+++ b/{ledger}\n" + "".join(f"+{line}\n" for line in decision.text().splitlines())


def _changes(diff: DiffResult | None) -> list[dict[str, Any]]:
    """Each norm's verdict transitions over the corpus, with the traces that show them."""
    if diff is None:
        return []
    return [{"norm": norm, "before": before, "after": after, "count": count,
             "traces": [e.trace_id for e in diff.examples.get((norm, before, after), [])]}
            for norm in diff.norms_changed() for before, after, count in diff.changes(norm)]


def confirm(workspace: Workspace, question: Question, identity: Identity, form: dict[str, str]) -> str | None:
    """Append the decision to the ledger and write the amended policy; None when done,
    else why nothing was written."""
    planned = _plan(workspace, question, identity, form)
    if isinstance(planned, str):
        return planned
    decision, amendment, plan = planned
    if amendment is None or plan.problems:
        return "nothing was written: " + "; ".join(plan.problems)
    append(workspace.ledger, decision)
    amendment.write()
    return None
