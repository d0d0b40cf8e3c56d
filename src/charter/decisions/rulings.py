"""What becomes of each ledger entry under the chain of command.

For every question, the decisions that count are those of the escalation target or an
authority above it; of those, the highest authority's stand (a lower one's is
`superseded`). Two different outcomes from that same authority are a `disagreement`:
neither is applied, whatever their order in the file. A decision from below the target
is a `proposal`. A question that no longer exists is `stale`, unless the policy carries
the decision's mark (`# Q1a2b3c4: decided by A ...`), when it is `applied` already (an
entry from below A, a proposal once, is `superseded`).
"""

from __future__ import annotations

from typing import Literal

import attrs

from .ledger import Decision
from .survey import Question, Survey

Status = Literal["apply", "applied", "proposal", "superseded", "disagreement", "repeated", "stale",
                 "recorded", "refused"]
# What each status means, for reports and docs.
STATUS_TEXT: dict[str, str] = {
    "apply": "to apply",
    "applied": "already in the policy",
    "proposal": "a proposal, not applied",
    "superseded": "superseded by a higher authority's decision",
    "disagreement": "a disagreement to settle: the same authority decided differently",
    "repeated": "the same decision again",
    "stale": "stale: the question no longer exists",
    "recorded": "recorded: it asks for a fact, no policy text can say it",
    "refused": "refused",
}


@attrs.frozen
class Ruling:
    decision: Decision
    status: Status
    note: str
    question: Question | None = None


def mark(decision: Decision, ledger: str) -> str:
    """The comment an amendment leaves above the text it wrote (how a later run knows)."""
    return (f"# {decision.question}: decided by {decision.authority} ({decision.person}), "
            f"{decision.at[:10]}; see {ledger}")


def _below(chain: tuple[str, ...], authority: str, other: str) -> bool:
    return other in chain and chain.index(authority) > chain.index(other)


def rule(decisions: list[Decision], survey: Survey) -> list[Ruling]:
    """A ruling per decision, in ledger order."""
    done = survey.marked
    chain = survey.authorities
    rulings: dict[int, Ruling] = {}
    standing: dict[str, list[int]] = {}
    for i, decision in enumerate(decisions):
        question = survey.question(decision.question)
        if decision.authority not in chain:
            rulings[i] = Ruling(decision, "refused", f"`{decision.authority}` is not an authority of this policy "
                                f"({' > '.join(chain)})", question)
        elif decision.question in done and _below(chain, decision.authority, done[decision.question]):
            # a proposal the decider adopted or overrode: not what the policy carries
            rulings[i] = Ruling(decision, "superseded", f"{done[decision.question]} decided it", question)
        elif decision.question in done:
            rulings[i] = Ruling(decision, "applied", STATUS_TEXT["applied"], question)
        elif question is None:
            rulings[i] = Ruling(decision, "stale", "no clause of the policy asks it any more, and no trace raises it")
        elif decision.authority not in question.deciders:
            rulings[i] = Ruling(decision, "proposal", f"{decision.authority} is below {question.target}, "
                                f"who must decide", question)
        else:
            standing.setdefault(decision.question, []).append(i)
    for indices in standing.values():
        top = min(chain.index(decisions[i].authority) for i in indices)
        highest = [i for i in indices if chain.index(decisions[i].authority) == top]
        outcomes = {decisions[i].outcome for i in highest}
        for i in indices:
            decision, question = decisions[i], survey.question(decisions[i].question)
            if i not in highest:
                rulings[i] = Ruling(decision, "superseded", f"{chain[top]} decided it", question)
            elif len(outcomes) > 1:
                others = sorted({decisions[j].person for j in highest if j != i})
                rulings[i] = Ruling(decision, "disagreement", f"{chain[top]} also decided otherwise "
                                    f"({', '.join(others)}): settle it in the ledger", question)
            elif i != highest[0]:
                rulings[i] = Ruling(decision, "repeated", "an earlier entry decides the same", question)
            elif decision.outcome.kind == "needs-fact":
                rulings[i] = Ruling(decision, "recorded", f"needs the fact `{decision.outcome.fact}`", question)
            else:
                rulings[i] = Ruling(decision, "apply", STATUS_TEXT["apply"], question)
    return [rulings[i] for i in range(len(decisions))]
