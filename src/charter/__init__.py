"""Charter: norms for AI assistants, checked against conversation traces.

    import charter
    policy = charter.load("policy.charter")          # or charter.loads(text)
    report = policy.check({"messages": [...]})       # a TraceReport
    report.status, report.verdicts, report.to_json()
    policy.gaps("logs/"), policy.coverage(traces)    # reports over traces, as the CLI's
    policy.explain(trace, "norm"), policy.why_not(trace, "norm", turn=1)

`load` raises `PolicyError` (with `.diagnostics`) when a policy has errors; `check`
raises `TraceFormatError` (a ValueError, with `.reason`) for a dict that is not a trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .api.policy import Policy, load, loads
from .evaluate.session import CandidateCheck, OnUnspecified, Session, SessionFinishedError
from .evaluate.verdicts import Explanation, TraceReport, Verdict
from .source.diagnostics import Diagnostic, PolicyError, Severity
from .source.text import Span
from .traces.errors import TraceFormatError
from .traces.model import Message, ToolCall, Trace

# Written here only (pyproject.toml reads it): looking it up in the installed metadata
# (importlib.metadata) cost every command some 30 ms of start-up.
__version__ = "0.1.0"

# The reports' results and inline tests' are imported when first named (PEP 562): a
# command that checks traces needs none of them, and start-up is paid on every run.
_LAZY = {
    "ClauseCoverage": "api.results", "CoverageReport": "api.results", "GapReport": "api.results",
    "OpenQuestion": "api.results", "TraceExplanation": "api.results", "TestResult": "evaluate.inline_tests",
    "WhyNot": "review.whynot",
}
if TYPE_CHECKING:
    from .api.results import ClauseCoverage, CoverageReport, GapReport, OpenQuestion, TraceExplanation
    from .evaluate.inline_tests import TestResult
    from .review.whynot import WhyNot


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'charter' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CandidateCheck", "Diagnostic", "Explanation", "Message", "OnUnspecified", "Policy", "PolicyError", "Session",
    "SessionFinishedError", "Severity", "Span", "TestResult", "ToolCall", "Trace", "TraceFormatError", "TraceReport",
    "Verdict", "load", "loads", "__version__",
    # reports over traces: Policy.gaps, .coverage, .explain, .why_not
    "ClauseCoverage", "CoverageReport", "GapReport", "OpenQuestion", "TraceExplanation", "WhyNot",
]
