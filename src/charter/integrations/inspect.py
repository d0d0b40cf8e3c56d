"""A Charter scorer for Inspect AI evals (`pip install "charter[inspect]"`).

    from inspect_ai import Task, task
    from inspect_ai.solver import generate
    from charter.integrations.inspect import charter_scorer

    @task
    def support():
        return Task(dataset=..., solver=generate(), scorer=charter_scorer("policy.charter"))

Each sample's conversation (its messages with their tool calls and tool results; the
sample's metadata as `trace.meta`) is checked against the policy. The score's value is
CORRECT when the trace status is `complied`, INCORRECT when it is one of `fail_on`,
NOANSWER otherwise (the policy did not decide: `unspecified`, `pending`); its answer is
the status, its explanation the verdicts that decided it, its metadata the full report.
`charter_statuses` (the scorer's metric) gives the rate of each status and the number of
`unspecified` verdicts per escalation target.
"""

from __future__ import annotations

import collections
from typing import Iterable

import attrs
from inspect_ai.scorer import CORRECT, INCORRECT, NOANSWER, Metric, SampleScore, Score, Scorer, Target, metric, scorer
from inspect_ai.solver import TaskState

from .. import Policy, load
from ..reports.render import DEFAULT_FAIL_ON, TextWriter
from ..traces import inspect_log
from ..traces.model import Trace
from ..evaluate.verdicts import OK_KINDS, STATUS_ORDER, TraceReport

__all__ = ["charter_scorer", "charter_statuses", "sample_trace"]

STATUSES = STATUS_ORDER + ("complied",)
_LINES = TextWriter(None)


def sample_trace(state: TaskState, target: Target | None = None) -> Trace:
    """A sample's conversation as a trace: its ChatMessages converted by the Inspect log
    adapter's own mapping (as `charter check` reads them from a log), its metadata as meta."""
    sample = {
        "id": state.sample_id,
        "epoch": state.epoch,
        "messages": [message.model_dump() for message in state.messages],
        "target": None if target is None else target.target,
    }
    trace = inspect_log.sample_trace(sample, None, None, "")
    return attrs.evolve(trace, meta=dict(state.metadata or {}))


@metric
def charter_statuses() -> Metric:
    """The share of samples with each trace status, and `unspecified:TARGET`: how many
    unspecified verdicts escalate to each target (`unspecified:none` without one)."""

    def rates(scores: list[SampleScore]) -> dict[str, float | int]:
        reports = [s.score.metadata or {} for s in scores]
        statuses = collections.Counter(report.get("status") for report in reports)
        value: dict[str, float | int] = {k: statuses[k] / max(len(scores), 1) for k in STATUSES}
        targets = collections.Counter(
            f"unspecified:{v.get('escalate_to') or 'none'}"
            for report in reports for v in report.get("report", {}).get("verdicts", [])
            if v.get("verdict") == "unspecified")
        value.update(sorted(targets.items()))
        return value

    return rates


@scorer(metrics=[charter_statuses()])
def charter_scorer(*policy_paths: str, fail_on: Iterable[str] = DEFAULT_FAIL_ON) -> Scorer:
    """Score samples against the policy in `policy_paths` (layers of one policy, loaded
    once, here: a policy error is raised before the eval starts). A status in `fail_on`
    (default violated, conflict) scores INCORRECT."""
    policy = load(*policy_paths)
    failing = frozenset(fail_on)
    unknown = failing - set(STATUSES)
    if unknown:
        raise ValueError(f"fail_on: {', '.join(sorted(unknown))} is not a trace status "
                         f"(the statuses are {', '.join(STATUSES)})")

    async def score(state: TaskState, target: Target) -> Score:
        report = policy.check(sample_trace(state, target))
        return _score(report, failing, policy)

    return score


def _score(report: TraceReport, failing: frozenset[str], policy: Policy) -> Score:
    status = report.status
    value = CORRECT if status == "complied" else INCORRECT if status in failing else NOANSWER
    return Score(value=value, answer=status, explanation=_explanation(report),
                 metadata={"status": status, "policy_hash": policy.content_hash, "report": report.to_json()})


def _explanation(report: TraceReport) -> str:
    """The status, then the verdicts that decided it (for `complied`, the norms that applied)."""
    status = report.status
    deciding = [v for v in report.verdicts if (v.kind in OK_KINDS - {"not_applicable"}
                                               if status == "complied" else v.kind == status)]
    return "\n".join([status] + [_LINES.verdict_line(v) for v in deciding])
