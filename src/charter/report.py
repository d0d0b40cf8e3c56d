"""Renderers: diagnostics, check reports (text, json, jsonl), derivations, test results.

Every renderer reads the same result model (`verdicts.TraceReport`, `CheckSummary`,
`inline_tests.TestResult`, `diagnostics.Diagnostic`); nothing here computes a verdict.
Report writers stream: a report over a large corpus is written trace by trace.
"""

from __future__ import annotations

import json
from typing import IO, Any, Iterable

import attrs

from .diagnostics import Diagnostic
from .inline_tests import TestResult
from .source import Source
from .traces.model import Trace
from .verdicts import AGGREGATE_ORDER, OK_KINDS, TraceReport, Verdict

FORMATS = ("text", "json", "jsonl")


# --------------------------------------------------------------------------- diagnostics


def render_diagnostic(diagnostic: Diagnostic, sources: dict[str, Source]) -> str:
    """`error[E213]: message`, the location, the source line with a caret, the hint."""
    span = diagnostic.span
    lines = [f"{diagnostic.severity.value}[{diagnostic.code}]: {diagnostic.message}"]
    source = sources.get(span.source)
    if span.line < 1 or span.source.startswith("<command"):
        if diagnostic.hint:
            lines.append(f"  = hint: {diagnostic.hint}")
        return "\n".join(lines)
    lines.append(f"  --> {span}")
    text = source.line(span.line) if source else ""
    if text:
        gutter = " " * len(str(span.line))
        width = (span.end_column - span.column + 1) if span.end_line == span.line else len(text) - span.column + 1
        lines += [
            f"{gutter} |",
            f"{span.line} | {text}",
            f"{gutter} | {' ' * (span.column - 1)}{'^' * max(1, min(width, len(text) - span.column + 1))}",
        ]
    for note, where in diagnostic.notes:
        lines.append(f"  = note: {note} ({where})")
    if diagnostic.hint:
        lines.append(f"  = hint: {diagnostic.hint}")
    return "\n".join(lines)


def render_diagnostics(diagnostics: Iterable[Diagnostic], sources: dict[str, Source]) -> str:
    diagnostics = list(diagnostics)
    errors = sum(1 for d in diagnostics if d.is_error)
    warnings = len(diagnostics) - errors
    body = "\n\n".join(render_diagnostic(d, sources) for d in diagnostics)
    counts = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in ((errors, "error"), (warnings, "warning")) if n]
    return body + (f"\n\n{', '.join(counts)}" if counts else "")


def diagnostic_json(diagnostic: Diagnostic) -> dict[str, Any]:
    span = diagnostic.span
    return {
        "code": diagnostic.code, "severity": diagnostic.severity.value, "message": diagnostic.message,
        "file": span.source, "line": span.line, "column": span.column,
        "end_line": span.end_line, "end_column": span.end_column, "hint": diagnostic.hint,
    }


# --------------------------------------------------------------------------- the summary


@attrs.define
class CheckSummary:
    """Counts over a whole run: traces by status, verdicts by kind, every input record."""

    statuses: dict[str, int] = attrs.Factory(dict)
    verdicts: dict[str, int] = attrs.Factory(dict)
    checked: int = 0
    skipped: list[dict[str, Any]] = attrs.Factory(list)

    def add(self, report: TraceReport) -> None:
        self.checked += 1
        self.statuses[report.status] = self.statuses.get(report.status, 0) + 1
        for verdict in report.verdicts:
            self.verdicts[verdict.kind] = self.verdicts.get(verdict.kind, 0) + 1

    def skip(self, file: str, line: int | None, reason: str) -> None:
        self.skipped.append({"file": file, "line": line, "reason": reason})

    def fails(self, fail_on: Iterable[str]) -> bool:
        return any(self.verdicts.get(kind) for kind in fail_on)

    def to_json(self) -> dict[str, Any]:
        order = ("violated", "conflict", "unspecified", "pending", "complied")
        return {
            "traces": self.checked,
            "status": {k: self.statuses.get(k, 0) for k in order},
            "verdicts": {k: self.verdicts.get(k, 0) for k in AGGREGATE_ORDER},
            "records": {
                "total": self.checked + len(self.skipped),
                "checked": self.checked,
                "skipped": len(self.skipped),
            },
            "skipped": self.skipped,
        }


# --------------------------------------------------------------------------- report writers


class ReportWriter:
    """Writes one report, trace by trace, then the summary."""

    def __init__(self, out: IO[str], show_all: bool = False, color: bool = False):
        self.out, self.show_all, self.color = out, show_all, color

    def start(self) -> None: ...

    def trace(self, report: TraceReport) -> None: ...

    def skipped(self, file: str, line: int | None, reason: str) -> None: ...

    def finish(self, summary: CheckSummary) -> None: ...


class JsonWriter(ReportWriter):
    """One JSON object: `{"traces": [...], "summary": {...}}`, streamed."""

    def start(self) -> None:
        self.out.write('{"traces": [')
        self._first = True

    def trace(self, report: TraceReport) -> None:
        self.out.write(("\n" if self._first else ",\n") + _dumps(report.to_json(self.show_all)))
        self._first = False

    def finish(self, summary: CheckSummary) -> None:
        self.out.write('\n], "summary": ' + _dumps(summary.to_json()) + "}\n")


class JsonlWriter(ReportWriter):
    """One line per trace, then one `{"summary": ...}` line."""

    def trace(self, report: TraceReport) -> None:
        self.out.write(_dumps(report.to_json(self.show_all)) + "\n")

    def finish(self, summary: CheckSummary) -> None:
        self.out.write(_dumps({"summary": summary.to_json()}) + "\n")


_COLORS = {"violated": "31", "conflict": "35", "unspecified": "33", "pending": "36", "complied": "32"}


class TextWriter(ReportWriter):
    """For people: each trace's status and the verdicts that need attention."""

    def paint(self, text: str, kind: str) -> str:
        code = _COLORS.get(kind)
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and code else text

    def trace(self, report: TraceReport) -> None:
        shown = report.verdicts if self.show_all else [v for v in report.verdicts if v.kind not in OK_KINDS]
        where = f"  ({report.locator})" if report.locator else ""
        self.out.write(f"{report.trace_id}: {self.paint(report.status, report.status)}{where}\n")
        for verdict in shown:
            self.out.write("  " + self.verdict_line(verdict) + "\n")

    def verdict_line(self, v: Verdict) -> str:
        at = "conversation" if v.turn is None else f"turn {v.turn}" + (f" call {v.call}" if v.call is not None else "")
        parts = [f"{v.norm} @ {at}: {self.paint(v.kind, v.kind)}"]
        if v.kind == "unspecified":
            parts.append("gap: " + (v.reason or "") if v.gap else "uncertain"
                         if v.reason == "uncertain" and v.unknown else f'"{v.reason}"')
            if v.escalate_to:
                parts.append(f"escalate to {v.escalate_to}")
        if v.overridden_by:
            parts.append(f"by {v.overridden_by}")
        if v.unknown:
            parts.append("unknown: " + ", ".join(v.unknown))
        if v.kind in ("violated", "conflict") and v.severity != "medium":
            parts.append(f"severity {v.severity}")
        return " — ".join(parts)

    def skipped(self, file: str, line: int | None, reason: str) -> None:
        where = file if line is None else f"{file}:{line}"
        self.out.write(f"{where}: skipped: {reason}\n")

    def finish(self, summary: CheckSummary) -> None:
        s = summary.to_json()
        statuses = ", ".join(f"{n} {k}" for k, n in s["status"].items() if n)
        verdicts = ", ".join(f"{n} {k}" for k, n in s["verdicts"].items() if n and k != "not_applicable")
        self.out.write(
            f"\n{_plural(s['records']['total'], 'record')}: {_plural(s['traces'], 'trace')} checked"
            f"{', ' + str(len(summary.skipped)) + ' skipped' if summary.skipped else ''}"
            f"{' — ' + statuses if statuses else ''}\n"
            f"verdicts: {verdicts or 'none'}\n"
        )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


WRITERS = {"text": TextWriter, "json": JsonWriter, "jsonl": JsonlWriter}


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=False)


# --------------------------------------------------------------------------- explain


def render_derivation(verdict: Verdict, trace: Trace, description: str | None = None) -> str:
    """A verdict's derivation as a tree: the clauses on its path with their source
    lines and values, then the facts read and the text that matched."""
    at = "the conversation" if verdict.turn is None else f"turn {verdict.turn}"
    if verdict.call is not None:
        at += f", tool call {verdict.call}"
    head = f"{verdict.norm} at {at}: {verdict.kind}"
    if verdict.kind == "unspecified":
        if verdict.gap:
            head += f" (gap: {verdict.reason})"
        elif verdict.reason == "uncertain" and verdict.unknown:
            head += " (uncertain: depends on " + ", ".join(verdict.unknown) + ")"
        else:
            head += f" (explicit: {verdict.reason})"
        if verdict.escalate_to:
            head += f" -> escalate to {verdict.escalate_to}"
    if verdict.overridden_by:
        head += f" by {verdict.overridden_by}"
    lines = [head] + ([f'  "{description}"'] if description else []) + [
        f"  authority {verdict.authority}, severity {verdict.severity}"]
    steps = verdict.explanation.steps
    for i, step in enumerate(steps):
        branch = "└─" if i == len(steps) - 1 else "├─"
        lines.append(f"  {branch} {step.clause:<13} {step.text}  => {step.value}  [{step.span}]")
    for fact in verdict.explanation.facts:
        value = "unknown" + (f" ({fact.why_unknown})" if fact.why_unknown else "") if not fact.known \
            else json.dumps(fact.value, ensure_ascii=False)
        if not fact.known and fact.value is not None:
            value = f"{json.dumps(fact.value, ensure_ascii=False)}, treated as unknown ({fact.why_unknown})"
        lines.append(f"  fact  {fact.name} = {value}")
    for match in verdict.explanation.matches:
        text = trace.messages[match.turn].content
        context = text[max(0, match.start - 20): match.end + 20].replace("\n", " ")
        lines.append(f"  match turn {match.turn} [{match.start}:{match.end}] {match.text!r} in “…{context}…”")
    return "\n".join(lines)


# --------------------------------------------------------------------------- inline tests


def render_test_results(results: list[TestResult], verbose: bool = False) -> str:
    lines = []
    for result in results:
        mark = "PASS" if result.passed else "FAIL"
        lines.append(f"{mark}  {result.name}  ({result.span})")
        for expectation in result.expectations:
            if expectation.passed and not verbose:
                continue
            at = f" at turn {expectation.turn}" if expectation.turn is not None else ""
            lines.append(f"      expect {expectation.norm} {expectation.expected}{at}: "
                         f"got {expectation.got}  ({expectation.span})")
            if not expectation.passed:
                for verdict in result.report.for_norm(expectation.norm):
                    if expectation.turn is None or verdict.turn == expectation.turn:
                        lines.extend("      " + row for row in render_derivation(verdict, result.trace).splitlines())
    passed = sum(r.passed for r in results)
    lines.append(f"\n{passed} passed, {len(results) - passed} failed")
    return "\n".join(lines)
