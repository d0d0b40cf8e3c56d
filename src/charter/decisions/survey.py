"""The open questions of a policy over a corpus, with their evidence.

A question is asked by the policy's text (every `unspecified` clause: its ID is known
before any trace is read) or raised by a trace (a gap, unknown facts). `Survey` reads the
corpus once and keeps, per question, its verdict count, the IDs of the traces it fell in
and the first few of those traces (the evidence an amendment's tests are built from).
"""

from __future__ import annotations

import os
import re
from typing import Iterable, Iterator

import attrs

from ..check.loader import Loaded, load
from ..check.program import CheckedNorm
from ..check.resolve import read_file
from ..corpus.parallel import expand_paths, read_path
from ..evaluate.policy import Policy
from ..evaluate.verdicts import Verdict
from ..reports.questions import Questions, fact_pattern, reason_kind
from ..source.diagnostics import Diagnostic
from ..source.text import Span
from ..traces.model import Trace
from ..traces.reader import Skipped

_MARK = re.compile(r"#\s*(Q[0-9a-f]{7}): decided by ([A-Za-z_][\w-]*)")
EVIDENCE_KEPT = 3  # evidence traces kept whole per question (for tests and previews)


@attrs.frozen
class Question:
    """One open question: what `charter gaps` lists as an item, with its identity.

    `deciders` are the authorities who may settle it, highest first: the escalation
    target (the norm's authority when the policy names nobody) and every authority
    above it. `traces` are the IDs of the traces it fell in, in corpus order."""

    id: str
    norm: str
    charter: str
    kind: str  # explicit, gap or uncertain
    reason: str | None
    clause: str | None  # the clause's first line as written (None for a gap)
    file: str | None
    line: int | None
    escalate_to: str | None
    deciders: tuple[str, ...]
    unknown: tuple[str, ...] = ()
    verdicts: int = 0
    traces: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        """Who must decide: the lowest authority allowed to."""
        return self.deciders[-1]


@attrs.define
class _Found:
    question: Question
    verdicts: int = 0
    traces: list[str] = attrs.Factory(list)
    evidence: list[tuple[Trace, Verdict]] = attrs.Factory(list)


def read_policy(paths: Iterable[str], texts: dict[str, str] | None = None) -> Loaded:
    """The policy files loaded as one policy; `texts` replaces the text of some files (by
    the path given) without touching the disk. Raises `PolicyError`."""
    replaced = {os.path.realpath(p): t for p, t in (texts or {}).items()}

    def reader(path) -> str:
        real = os.path.realpath(path)
        return replaced[real] if real in replaced else read_file(path)

    return load(list(paths), read_text=reader)


def corpus(paths: Iterable[str], input_format: str | None = None) -> Iterator[Trace | Skipped]:
    """Every record of the trace paths (files, directories, globs), in order."""
    for path in expand_paths(paths):
        yield from read_path(path, input_format)


class Survey:
    """A policy's open questions over a corpus. `skipped` lists unreadable records as
    diagnostics (the survey goes on without them)."""

    def __init__(self, loaded: Loaded, records: Iterable[Trace | Skipped]):
        self.loaded = loaded
        self.policy = Policy(loaded.program)
        self.index = Questions(self.policy)
        self.authorities = loaded.program.authorities
        self.skipped: list[Diagnostic] = []
        self.found: dict[str, _Found] = {}
        self.declared = self.index.declared()
        # The questions whose decision the policy's text carries (`rulings.mark`), and who decided.
        self.marked = dict(m for source in loaded.program.sources for m in _MARK.findall(source.text))
        for qid, (norm, holder, outcome) in self.declared.items():
            self.found[qid] = _Found(self._question(qid, norm, "explicit", outcome.reason, outcome.escalate_to,
                                                    holder.span))
        for record in records:
            if isinstance(record, Skipped):
                self.skipped.append(Diagnostic("D020", f"skipped: {record.reason}",
                                               Span.point(record.locator.file, record.locator.line or 1, 1)))
                continue
            for verdict in self.policy.check(record).verdicts:
                if verdict.kind == "unspecified":
                    self._add(record, verdict)

    def _add(self, trace: Trace, verdict: Verdict) -> None:
        qid = self.index.id(verdict)
        found = self.found.get(qid)
        if found is None:
            kind = reason_kind(verdict)
            norm = self.index.norms[verdict.norm]
            unknown = tuple(sorted({fact_pattern(f) for f in verdict.unknown})) if kind == "uncertain" else ()
            found = self.found[qid] = _Found(self._question(
                qid, norm, kind, verdict.reason, verdict.escalate_to, None, unknown))
        found.verdicts += 1
        if not found.traces or found.traces[-1] != trace.id:
            found.traces.append(trace.id)
            if len(found.evidence) < EVIDENCE_KEPT:
                found.evidence.append((trace, verdict))

    def _question(self, qid: str, norm: CheckedNorm, kind: str, reason: str | None, target: str | None,
                  span: Span | None, unknown: tuple[str, ...] = ()) -> Question:
        chain = self.authorities
        lowest = target if target in chain else norm.authority
        deciders = chain[: chain.index(lowest) + 1] if lowest in chain else (lowest,)
        clause = None
        if span is not None:
            source = next((s for s in self.loaded.program.sources if s.name == span.source), None)
            clause = source.line(span.line).strip() if source else None
        return Question(qid, norm.name, norm.charter, kind, reason, clause,
                        span.source if span else norm.span.source, span.line if span else norm.span.line,
                        target, tuple(deciders), unknown)

    def questions(self) -> list[Question]:
        """Every open question, most frequent first (then by ID), counts filled in; a
        clause whose decision the policy carries (overridden by it) is not open."""
        done = [attrs.evolve(f.question, verdicts=f.verdicts, traces=tuple(f.traces)) for qid, f in self.found.items()
                if f.verdicts or qid not in self.marked]
        return sorted(done, key=lambda q: (-q.verdicts, q.id))

    def question(self, qid: str) -> Question | None:
        found = self.found.get(qid)
        return attrs.evolve(found.question, verdicts=found.verdicts, traces=tuple(found.traces)) if found else None

    def evidence(self, qid: str) -> list[tuple[Trace, Verdict]]:
        """The first traces the question fell in, each with the verdict that raised it."""
        found = self.found.get(qid)
        return list(found.evidence) if found else []


def survey(policy_paths: Iterable[str], traces: Iterable[str], input_format: str | None = None) -> Survey:
    """Load the policy and read the corpus once (raises `PolicyError` for the policy)."""
    return Survey(read_policy(policy_paths), corpus(traces, input_format))


def open_questions(policy_paths: Iterable[str], traces: Iterable[str]) -> list[Question]:
    """Every open question of the policy over the corpus, most frequent first: those the
    policy's text asks (count 0 when no trace raised them) and those the traces raise."""
    return survey(policy_paths, traces).questions()
