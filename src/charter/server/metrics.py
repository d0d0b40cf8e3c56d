"""Prometheus metrics, in a registry of the app's own (two apps in one process, as in
the tests, do not share counters)."""

from __future__ import annotations

from typing import Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ..evaluate.verdicts import Verdict

# A guardrail answer takes well under a millisecond to tens of milliseconds.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("charter_requests", "HTTP requests answered, by route, method and status.",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("charter_request_duration_seconds", "Time to answer a request, by route.",
                                 ["route"], buckets=_LATENCY_BUCKETS, registry=r)
        self.verdicts = Counter("charter_verdicts", "Verdicts given, by kind and by what asked for them "
                                "(check, session, candidate).", ["kind", "source"], registry=r)
        self.reloads = Counter("charter_policy_reloads", "Policy reloads that swapped a new policy in.", registry=r)
        self.reload_errors = Counter("charter_policy_reload_errors",
                                     "Policy reloads that failed or were refused (the old policy kept serving).",
                                     registry=r)
        self.reloads_refused = Counter("charter_policy_reloads_refused",
                                       "Policy reloads refused because they drop norms being served.", registry=r)
        self.sessions = Gauge("charter_sessions_active", "Open sessions.", registry=r)
        self.decisions = Counter("charter_candidate_decisions", "Guardrail decisions on candidate replies "
                                 "(allow, regenerate, escalate, block).", ["decision"], registry=r)
        self.escalations = Counter("charter_escalations", "Escalated candidates kept in the escalation queue.",
                                   registry=r)
        self.escalations_lost = Counter("charter_escalations_lost", "Escalated candidates the queue failed to keep "
                                        "(logged with the reason).", registry=r)
        self.policy_loaded = Gauge("charter_policy_loaded_timestamp_seconds",
                                   "When the policy being served was loaded (Unix time).", registry=r)

    def count_verdicts(self, verdicts: Iterable[Verdict], source: str) -> None:
        counts: dict[str, int] = {}
        for verdict in verdicts:
            counts[verdict.kind] = counts.get(verdict.kind, 0) + 1
        self.count_kinds(counts, source)

    def count_kinds(self, counts: dict[str, int], source: str) -> None:
        for kind, count in counts.items():
            self.verdicts.labels(kind, source).inc(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
