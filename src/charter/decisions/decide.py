"""Recording one decision (`charter decide`): checked against the policy, then appended."""

from __future__ import annotations

import os
from pathlib import Path

from ..source.diagnostics import Diagnostic, PolicyError
from ..source.text import Span
from .ledger import Decision, Outcome, append, now, parse_outcome, read_ledger
from .rulings import Ruling, rule
from .survey import Survey

LEDGER_NAME = "decisions.ledger"
_COMMAND_LINE = Span.point("<command line>", 1, 1)


def default_ledger(policy_paths: list[str]) -> str:
    """`decisions.ledger` beside the first policy file."""
    return str(Path(policy_paths[0]).parent / LEDGER_NAME)


def outcome_from(permit: bool = False, forbid: str | None = None, require: str | None = None,
                 within: int | None = None, keep_open: str | None = None, escalate_to: str | None = None,
                 needs_fact: str | None = None) -> Outcome:
    """The outcome the options of `charter decide` choose; `ValueError` says what is wrong."""
    chosen = [name for name, given in (("--permit", permit), ("--forbid", forbid), ("--require", require),
                                       ("--keep-open", keep_open), ("--needs-fact", needs_fact)) if given]
    if len(chosen) != 1:
        raise ValueError("choose one outcome: --permit, --forbid B, --require B [--within N], "
                         "--keep-open REASON --escalate-to A, or --needs-fact NAME"
                         + (f" (given: {', '.join(chosen)})" if chosen else ""))
    if within is not None and not require:
        raise ValueError("--within goes with --require")
    if (escalate_to is None) != (keep_open is None):
        raise ValueError("--keep-open REASON and --escalate-to AUTHORITY go together")
    if permit:
        return Outcome("permit")
    if keep_open is not None:
        return Outcome("keep-open", reason=keep_open, escalate_to=escalate_to)
    if needs_fact is not None:
        if not needs_fact.strip() or any(c.isspace() for c in needs_fact.strip()):
            raise ValueError("--needs-fact names one fact, such as trace.meta.user.verified")
        return Outcome("needs-fact", fact=needs_fact.strip())
    word, behaviour = ("forbid", forbid) if forbid else ("require", require)
    text = f"{word} {behaviour}" + (f" within {within} turns" if within else "")
    outcome, problem = parse_outcome(text)
    if outcome is None:
        raise ValueError(f"--{word}: {problem}")
    return outcome


def decide(survey: Survey, ledger: str | os.PathLike[str], question: str, authority: str, person: str,
           outcome: Outcome, why: str, at: str | None = None) -> Ruling:
    """Append a decision on `question` to the ledger, its evidence the question's traces
    in the survey's corpus; return what becomes of it (`apply`, `proposal`, ...). Raises
    `PolicyError` when the question, the authority or the target is unknown, or the
    ledger cannot be read."""
    found = survey.question(question)
    chain = survey.authorities
    problems = []
    if found is None:
        known = ", ".join(q.id for q in survey.questions()[:8])
        problems.append(Diagnostic("D050", f"no open question {question} in this policy over this corpus",
                                   _COMMAND_LINE, hint=f"`charter gaps` lists them: {known}" if known else
                                   "`charter gaps` lists the open questions"))
    for who, what in ((authority, "--as"), (outcome.escalate_to, "--escalate-to")):
        if who is not None and who not in chain:
            problems.append(Diagnostic("D051", f"{what}: `{who}` is not an authority of this policy",
                                       _COMMAND_LINE, hint="the chain of command is " + " > ".join(chain)))
    if not person.strip() or not why.strip():
        problems.append(Diagnostic("D052", "--by and --why may not be empty", _COMMAND_LINE))
    if problems:
        raise PolicyError(problems)
    assert found is not None
    decision = Decision(question, authority, " ".join(person.split()), at or now(), outcome, " ".join(why.split()),
                        found.traces, found.norm, found.reason if found.kind == "explicit" else None)
    append(ledger, decision)
    return rule(read_ledger(ledger), survey)[-1]
