"""What the review application shows: the policy, the open questions of a corpus with
their evidence, the escalations waiting in the queue, and who may answer which.

`Workspace.refresh()` loads the policy files, reads the corpus once (the gaps report's
collector: counts, examples, trace IDs) and the ledger; it runs at start and after every
decision written, so the list never shows a question that is already settled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import attrs

from ..check.loader import load_program
from ..corpus.parallel import expand_paths, read_path
from ..decisions.ledger import Decision, read_ledger
from ..escalations.queue import Escalation, EscalationQueue
from ..evaluate.policy import Policy
from ..reports.gaps import GapCollector, conversation_json
from ..traces.errors import TraceFormatError
from ..traces.native import convert
from ..traces.reader import Skipped

EXAMPLES = 5  # evidence conversations kept per question


@attrs.frozen
class Identity:
    """Who is deciding: an authority of the policy's chain of command, and a person."""

    authority: str
    name: str


@attrs.define
class Question:
    """One open question: the gaps item (decide, why, clauses, examples, trace IDs), its
    norm, and the escalations from the request path that raised it."""

    id: str
    norm: dict[str, Any]
    item: dict[str, Any]
    escalations: list[dict[str, Any]] = attrs.Factory(list)

    @property
    def decider(self) -> str | None:
        """Who must decide: the escalation target, else the norm's own authority."""
        return self.item["escalate_to"] or self.norm["authority"]

    @property
    def frequency(self) -> int:
        return self.item["verdicts"] + len(self.escalations)


@attrs.define
class Workspace:
    policy_paths: tuple[str, ...]
    trace_paths: tuple[str, ...]
    ledger: str
    queue: str | None = None
    policy: Policy | None = None
    questions: dict[str, Question] = attrs.Factory(dict)
    decided: dict[str, list[Decision]] = attrs.Factory(dict)  # the ledger's entries by question
    traces: int = 0
    skipped: int = 0

    def refresh(self) -> None:
        """Load the policy and gather its open questions over the corpus (and the queue)."""
        policy = Policy(load_program(list(self.policy_paths)))
        collector = GapCollector(policy, EXAMPLES, self.policy_paths, self.trace_paths)
        for path in expand_paths(self.trace_paths):
            for record in read_path(path, None):
                if isinstance(record, Skipped):
                    collector.skip(record.locator.file, record.locator.line, record.reason)
                else:
                    collector.add(record, policy.check(record))
        data = collector.result()
        questions = {}
        for group in data["stakeholders"]:
            for norm in group["norms"]:
                info = {k: norm[k] for k in ("norm", "description", "authority", "severity", "file", "line")}
                for item in norm["items"]:
                    questions[item["question"]] = Question(item["question"], info, item)
        self.policy, self.questions = policy, questions
        self.traces, self.skipped = data["traces"], len(data["skipped"])
        self.decided = {}
        for decision in read_ledger(self.ledger):
            self.decided.setdefault(decision.question, []).append(decision)
        for escalation in self.open_escalations():
            self._file(escalation)

    @property
    def authorities(self) -> tuple[str, ...]:
        """The chain of command, highest first."""
        return self.policy.program.authorities if self.policy else ()

    def may_decide(self, identity: Identity, question: Question) -> bool:
        """The decider, or an authority above it (a question naming nobody and a norm of
        no known authority is open to the top of the chain)."""
        order = self.authorities
        if identity.authority not in order:
            return False
        decider = question.decider
        if decider not in order:
            return identity.authority == order[0]
        return order.index(identity.authority) <= order.index(decider)

    def waiting_for(self, identity: Identity) -> list[Question]:
        """The questions `identity` may decide, most frequent first."""
        return _by_frequency(q for q in self.questions.values() if self.may_decide(identity, q))

    def above(self, identity: Identity) -> list[Question]:
        """The questions for authorities above `identity` (it may propose an answer), most
        frequent first."""
        return _by_frequency(q for q in self.questions.values() if not self.may_decide(identity, q))

    def proposals(self, question: Question) -> list[Decision]:
        """The ledger's entries on `question` from an authority of the chain below its
        decider: proposals, not applied until the decider or an authority above adopts one."""
        return [d for d in self.decided.get(question.id, ()) if d.authority in self.authorities
                and not self.may_decide(Identity(d.authority, d.person), question)]

    def open_escalations(self) -> list[Escalation]:
        if not self.queue or not Path(self.queue).exists():
            return []
        queue = EscalationQueue(self.queue)
        try:
            return queue.all("open")
        finally:
            queue.close()

    def _file(self, escalation: Escalation) -> None:
        """Show an escalation under each of its questions, as an evidence conversation:
        the conversation with the candidate reply appended (the act judged)."""
        try:
            trace = convert({**escalation.conversation, "messages": [
                *escalation.conversation.get("messages", []), escalation.candidate]}, None, f"escalation-{escalation.id}")
        except (TraceFormatError, TypeError, AttributeError):
            return  # a row the queue kept but no reader takes: nothing to show as evidence
        act = len(trace.messages) - 1
        evidence = {"escalation": escalation.id, "created": escalation.created, "targets": list(escalation.targets),
                    "trace": trace.id, "source": f"escalation #{escalation.id}", "turn": act, "call": None,
                    "meta": trace.meta, "facts": [], "conversation": conversation_json(trace, act),
                    "verdicts": [v for v in escalation.verdicts if v.get("verdict") == "unspecified"]}
        for question_id in escalation.question_ids:
            question = self.questions.get(question_id) or self._from_escalation(question_id, evidence)
            if question is not None:
                question.escalations.append(evidence)

    def _from_escalation(self, question_id: str, evidence: dict[str, Any]) -> Question | None:
        """A question the corpus never raised, known only from an escalation's verdicts."""
        verdict = next((v for v in evidence["verdicts"] if v.get("question") == question_id),
                       evidence["verdicts"][0] if evidence["verdicts"] else None)
        if verdict is None:
            return None
        norm = next((n for n in self.policy.program.norms if n.name == verdict.get("norm")), None)
        info = {"norm": verdict.get("norm"), "description": norm.description if norm else None,
                "authority": norm.authority if norm else None, "severity": norm.severity if norm else None,
                "file": norm.span.source if norm else None, "line": norm.span.line if norm else None}
        item = {"question": question_id, "kind": "explicit", "reason": verdict.get("reason"),
                "escalate_to": verdict.get("escalate_to"), "unknown": [], "decide": verdict.get("reason") or "",
                "why": "Raised by the guardrail on a live conversation; the corpus has no example of it.",
                "clauses": [], "why_unknown": [], "verdicts": 0, "traces": 0, "share": 0.0,
                "examples": [], "trace_ids": []}
        question = self.questions[question_id] = Question(question_id, info, item)
        return question


def _by_frequency(questions: Iterable[Question]) -> list[Question]:
    return sorted(questions, key=lambda q: (-q.frequency, q.id))


def read_identity(authority: Any, name: Any, authorities: Iterable[str]) -> Identity | str:
    """An identity from a form, or what is wrong with it."""
    authority = str(authority or "").strip()
    name = " ".join(str(name or "").split())
    if authority not in tuple(authorities):
        return f"choose an authority of the policy's chain of command ({', '.join(authorities)})"
    if not name:
        return "say who you are: your name goes in the ledger with every decision"
    if len(name) > 100:
        return "a name of at most 100 characters"
    return Identity(authority, name)
