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

from .api.policy import Policy, load, loads
from .api.results import ClauseCoverage, CoverageReport, GapReport, OpenQuestion, TraceExplanation
from .evaluate.inline_tests import TestResult
from .evaluate.session import CandidateCheck, OnUnspecified, Session, SessionFinishedError
from .evaluate.verdicts import Explanation, TraceReport, Verdict
from .review.whynot import WhyNot
from .source.diagnostics import Diagnostic, PolicyError, Severity
from .source.text import Span
from .traces.errors import TraceFormatError
from .traces.model import Message, ToolCall, Trace

# Written here only (pyproject.toml reads it): looking it up in the installed metadata
# (importlib.metadata) cost every command some 30 ms of start-up.
__version__ = "0.1.0"

__all__ = [
    "CandidateCheck", "Diagnostic", "Explanation", "Message", "OnUnspecified", "Policy", "PolicyError", "Session",
    "SessionFinishedError", "Severity", "Span", "TestResult", "ToolCall", "Trace", "TraceFormatError", "TraceReport",
    "Verdict", "load", "loads", "__version__",
    # reports over traces: Policy.gaps, .coverage, .explain, .why_not
    "ClauseCoverage", "CoverageReport", "GapReport", "OpenQuestion", "TraceExplanation", "WhyNot",
]
