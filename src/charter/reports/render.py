"""Renderers: diagnostics, check reports (text, json, jsonl, junit, sarif), derivations,
test results.

Every renderer reads the same result model (`verdicts.TraceReport`, `CheckSummary`,
`inline_tests.TestResult`, `diagnostics.Diagnostic`); nothing here computes a verdict.
Report writers stream: a report over a large corpus is written trace by trace.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import pathlib
import re
import shutil
import tempfile
import urllib.parse
from json.encoder import encode_basestring as _json_string  # what json.dumps uses with ensure_ascii=False
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, NamedTuple, TypeVar

import attrs

from ..source.diagnostics import Diagnostic
from ..evaluate.inline_tests import TestResult
from ..source.text import Source, Span
from ..traces.model import Locator, Trace
from ..facts.presence import Presence
from ..evaluate.verdicts import (AGGREGATE_ORDER, OK_KINDS, Explanation, Step, TraceReport, Verdict, aggregate,
                                explained_kinds, placeless_key)

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

FORMATS = ("text", "json", "jsonl", "junit", "sarif")
_T = TypeVar("_T")


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


class Rendered(NamedTuple):
    """One checked trace's part of a report: what the summary counts and the text the
    writer writes. It is made where the trace was checked (in a worker process with
    `--jobs`) and written by the writer in the main process, in input order."""

    status: str
    counts: tuple[tuple[str, int], ...]  # verdicts per kind
    text: str
    file: str | None = None  # the trace file, for writers that group traces by file
    tally: tuple[int, ...] = ()  # writer-specific counts (junit: tests, failures, skipped)
    notes: tuple[str, ...] = ()  # what reading the trace left out, located (`Trace.notes`)
    facts: str = ""  # the state of each declared fact in the trace (`facts.presence.Survey`)


def verdict_counts(verdicts: Iterable[Verdict]) -> tuple[tuple[str, int], ...]:
    counts: dict[str, int] = {}
    for verdict in verdicts:
        counts[verdict.kind] = counts.get(verdict.kind, 0) + 1
    return tuple(counts.items())


@attrs.define
class CheckSummary:
    """Counts over a whole run: traces by status, verdicts by kind, every input record.
    Nothing per trace is kept but the skipped records, and those only with
    `keep_skipped` (the command line's writers stream them instead: a corpus can have
    millions)."""

    statuses: dict[str, int] = attrs.Factory(dict)
    verdicts: dict[str, int] = attrs.Factory(dict)
    checked: int = 0
    skipped: list[dict[str, Any]] = attrs.Factory(list)
    keep_skipped: bool = True
    unlisted: int = 0  # skipped records counted but not kept
    presence: Presence | None = None  # the declared facts' counts, when a policy declares some

    def add(self, report: TraceReport) -> None:
        self.add_counts(report.status, verdict_counts(report.verdicts))

    def add_counts(self, status: str, counts: Iterable[tuple[str, int]]) -> None:
        self.checked += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        for kind, count in counts:
            self.verdicts[kind] = self.verdicts.get(kind, 0) + count

    def add_facts(self, states: str) -> None:
        if self.presence is not None:
            self.presence.add(states)

    def skip(self, file: str, line: int | None, reason: str) -> None:
        if self.keep_skipped:
            self.skipped.append(skipped_json(file, line, reason))
        else:
            self.unlisted += 1

    @property
    def skipped_count(self) -> int:
        return len(self.skipped) + self.unlisted

    def fails(self, fail_on: Iterable[str]) -> bool:
        return any(self.verdicts.get(kind) for kind in fail_on)

    def to_json(self) -> dict[str, Any]:
        order = ("violated", "conflict", "unspecified", "pending", "complied")
        counts = {
            "traces": self.checked,
            "status": {k: self.statuses.get(k, 0) for k in order},
            "verdicts": {k: self.verdicts.get(k, 0) for k in AGGREGATE_ORDER},
            "records": {
                "total": self.checked + self.skipped_count,
                "checked": self.checked,
                "skipped": self.skipped_count,
            },
        }
        if self.presence is not None and self.presence.names:
            counts["facts"] = self.presence.to_json()
        return counts | {"skipped": self.skipped}


def skipped_json(file: str, line: int | None, reason: str) -> dict[str, Any]:
    return {"file": file, "line": line, "reason": reason}


class _Listed:
    """JSON values added one at a time and written at the end as the items of an array,
    kept in a spool (a temporary file past a few megabytes), never all in memory."""

    def __init__(self) -> None:
        self._spool: IO[str] | None = None

    def add(self, text: str) -> None:
        if self._spool is None:
            self._spool = _spool()
        else:
            self._spool.write(", ")
        self._spool.write(text)

    def write_to(self, out: IO[str]) -> None:
        if self._spool is not None:
            self._spool.seek(0)
            shutil.copyfileobj(self._spool, out)
            self._spool.close()
            self._spool = None


# --------------------------------------------------------------------------- report writers


def provenance(policy: Any) -> dict[str, Any]:
    """Which exact policy, and which Charter, gave a report's verdicts: the policy's content
    hash and the files it was loaded from (stdlib modules included), and the version."""
    from .. import __version__

    data: dict[str, Any] = {}
    if policy is not None:
        data["policy_hash"] = policy.content_hash
        data["policy_files"] = [source.name for source in policy.program.sources]
    data["charter_version"] = __version__
    return data


DEFAULT_FAIL_ON = ("violated", "conflict")


class ReportWriter:
    """Writes one report: `start`, then each trace (`trace`, or `render` where the trace
    is checked and `emit` here) and each skipped record in input order, then `finish`.

    `render` depends only on the report and the writer's options, never on what was
    written before, so that worker processes can render and the output stays the same.
    `policy` (a `charter.Policy`) gives the norms, for the formats that list them;
    `explain` (verdicts.EXPLAIN) which verdicts the formats that explain explain."""

    def __init__(self, out: IO[str] | None, show_all: bool = False, color: bool = False,
                 fail_on: Iterable[str] = DEFAULT_FAIL_ON, policy: Any = None, explain: str = "all"):
        self.out, self.show_all, self.color = out, show_all, color
        self.fail_on = tuple(fail_on)
        self.policy = policy
        self.explain = explain

    def start(self) -> None: ...

    def render(self, report: TraceReport, locator: Locator | None = None) -> Rendered:
        """The trace's part of the report; `locator` is where the trace was read."""
        file = locator.file if locator is not None else _locator_file(report.locator)
        return Rendered(report.status, verdict_counts(report.verdicts), self.render_text(report, locator), file)

    def render_text(self, report: TraceReport, locator: Locator | None) -> str:
        return ""

    def emit(self, rendered: Rendered) -> None:
        self.out.write(rendered.text)

    def trace(self, report: TraceReport) -> None:
        self.emit(self.render(report))

    def skipped(self, file: str, line: int | None, reason: str) -> None: ...

    def finish(self, summary: CheckSummary) -> None: ...


def _locator_file(locator: str | None) -> str | None:
    """The file of a `FILE:LINE` (or `FILE`) locator string."""
    if locator is None:
        return None
    file, _, line = locator.rpartition(":")
    return file if file and line.isdigit() else locator


class _JsonReports(ReportWriter):
    """A writer whose traces are `TraceReport.to_json` objects (`--all`: with the
    not_applicable verdicts), and whose summary lists the skipped records it was given
    (`skipped`), spooled until then."""

    @functools.cached_property
    def _json(self) -> ReportJson:
        return ReportJson(self.show_all, self.explain)

    @functools.cached_property
    def _skipped(self) -> _Listed:
        return _Listed()

    def render_text(self, report: TraceReport, locator: Locator | None) -> str:
        return self._json.text(report)

    def skipped(self, file: str, line: int | None, reason: str) -> None:
        self._skipped.add(_dumps(skipped_json(file, line, reason)))

    def write_summary(self, summary: CheckSummary) -> None:
        """The summary's JSON, its `skipped` (the last key) the records given to `skipped`."""
        counts = {key: value for key, value in summary.to_json().items() if key != "skipped"}
        self.out.write(_dumps(counts)[:-1] + ', "skipped": [')
        self._skipped.write_to(self.out)
        self.out.write("]}")


class JsonWriter(_JsonReports):
    """One JSON object: `{"traces": [...], "summary": {...}}`, streamed."""

    def start(self) -> None:
        self.out.write('{"traces": [')
        self._first = True

    def emit(self, rendered: Rendered) -> None:
        self.out.write(("\n" if self._first else ",\n") + rendered.text)
        self._first = False

    def finish(self, summary: CheckSummary) -> None:
        self.out.write('\n], "summary": ')
        self.write_summary(summary)
        self.out.write(', "provenance": ' + _dumps(provenance(self.policy)) + "}\n")


class JsonlWriter(_JsonReports):
    """One line per trace, then one `{"summary": ...}` line."""

    def render_text(self, report: TraceReport, locator: Locator | None) -> str:
        return self._json.text(report) + "\n"

    def finish(self, summary: CheckSummary) -> None:
        self.out.write('{"summary": ')
        self.write_summary(summary)
        self.out.write(', "provenance": ' + _dumps(provenance(self.policy)) + "}\n")


_COLORS = {"violated": "31", "conflict": "35", "unspecified": "33", "pending": "36", "complied": "32"}


class TextWriter(ReportWriter):
    """For people: each trace's status and the verdicts that need attention."""

    def paint(self, text: str, kind: str) -> str:
        code = _COLORS.get(kind)
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and code else text

    def render_text(self, report: TraceReport, locator: Locator | None) -> str:
        shown = report.verdicts if self.show_all else [v for v in report.verdicts if v.kind not in OK_KINDS]
        where = f"  ({report.locator})" if report.locator else ""
        lines = [f"{report.trace_id}: {self.paint(report.status, report.status)}{where}\n"]
        lines += ["  " + self.verdict_line(verdict) + "\n" for verdict in shown]
        return _escape_surrogates("".join(lines))

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
        self.out.write(_escape_surrogates(f"{where}: skipped: {reason}\n"))

    def finish(self, summary: CheckSummary) -> None:
        s = summary.to_json()
        statuses = ", ".join(f"{n} {k}" for k, n in s["status"].items() if n)
        verdicts = ", ".join(f"{n} {k}" for k, n in s["verdicts"].items() if n and k != "not_applicable")
        self.out.write(
            f"\n{_plural(s['records']['total'], 'record')}: {_plural(s['traces'], 'trace')} checked"
            f"{', ' + str(summary.skipped_count) + ' skipped' if summary.skipped_count else ''}"
            f"{' — ' + statuses if statuses else ''}\n"
            f"verdicts: {verdicts or 'none'}\n"
        )
        for line in summary.presence.lines() if summary.presence is not None else ():
            self.out.write(line + "\n")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _plain_line(verdict: Verdict) -> str:
    """A verdict as the text report gives it, without colour."""
    return _PLAIN.verdict_line(verdict)


_PLAIN = TextWriter(None)


def _failing(fail_on: Iterable[str]) -> frozenset[str]:
    """The verdict kinds a report marks as failures: violated, conflict and --fail-on's."""
    return frozenset(DEFAULT_FAIL_ON) | frozenset(fail_on)


def _norm_names(policy: Any, report: TraceReport) -> list[str]:
    if policy is not None:
        return list(policy.norms)
    return list(dict.fromkeys(v.norm for v in report.verdicts))


def _descriptions(policy: Any) -> dict[str, str | None]:
    return {} if policy is None else {n.name: n.description for n in policy.program.norms}


# ---- JUnit XML
# ElementTree is imported where it is used and the pattern below compiled on first use:
# they cost every `charter` command some 15 ms at start-up, and only JUnit needs them.


@functools.cache
def _not_xml() -> re.Pattern[str]:
    """Characters XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/U+FFFF)."""
    return re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    """`text` with the characters XML cannot carry written as `\\xNN` / `\\uNNNN` escapes."""
    return _not_xml().sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def _indent(element: ET.Element, level: int, space: str = "  ") -> None:
    """Indent `element`'s children as `ET.indent(element, space, level)` does, without the
    function ET.indent nests on each call, which refers to itself: a reference cycle per
    testcase, left for the collector (which a run pauses while it checks a batch)."""
    if not len(element):
        return
    inner = "\n" + space * (level + 1)
    if not element.text or not element.text.strip():
        element.text = inner
    for child in element:
        _indent(child, level + 1, space)
        if not child.tail or not child.tail.strip():
            child.tail = inner
    if not child.tail.strip():
        child.tail = "\n" + space * level


def _element(tag: str, attrib: dict[str, str], text: str | None = None) -> ET.Element:
    import xml.etree.ElementTree as ET

    element = ET.Element(tag, {key: _xml(value) for key, value in attrib.items()})
    if text is not None:
        element.text = _xml(text)
    return element


def _start_tag(tag: str, attrib: dict[str, str]) -> str:
    """`<tag a="1">`, escaped by ElementTree."""
    import xml.etree.ElementTree as ET

    return ET.tostring(_element(tag, attrib), encoding="unicode").removesuffix(" />") + ">"


def _spool() -> IO[str]:
    """A text buffer that moves to a temporary file when large, so that a report over a
    corpus of any size is assembled without holding it in memory."""
    return tempfile.SpooledTemporaryFile(max_size=4 << 20, mode="w+", encoding="utf-8", newline="")


class JunitWriter(ReportWriter):
    """JUnit XML: a `<testsuite>` per trace file, a `<testcase>` per trace and norm
    (`classname` the trace id, `name` the norm) that fails when the norm has a verdict
    of a failing kind (violated, conflict, and the kinds in --fail-on) and is skipped
    when the norm applies nowhere in the trace. A skipped record is a testcase with an
    `<error>`. Testcases are spooled per suite (the suite's counts come first)."""

    def start(self) -> None:
        self._body = _spool()
        self._suite: IO[str] | None = None
        self._file: str | None = None
        self._counts = [0, 0, 0, 0]  # of the current suite: tests, failures, errors, skipped
        self._totals = [0, 0, 0, 0]

    @functools.cached_property
    def _descriptions(self) -> dict[str, str | None]:
        return _descriptions(self.policy)

    def render(self, report: TraceReport, locator: Locator | None = None) -> Rendered:
        import xml.etree.ElementTree as ET

        failing = _failing(self.fail_on)
        descriptions = self._descriptions
        by_norm: dict[str, list[Verdict]] = {}
        for verdict in report.verdicts:
            by_norm.setdefault(verdict.norm, []).append(verdict)
        where = f" ({report.locator})" if report.locator else ""
        cases, failures, skipped = [], 0, 0
        names = _norm_names(self.policy, report)
        location = _junit_location(locator)
        for name in names:
            verdicts = by_norm.get(name, [])
            case = _element("testcase", {"classname": report.trace_id, "name": name, **location})
            bad = [v for v in verdicts if v.kind in failing]
            if bad:
                failures += 1
                kind = aggregate(v.kind for v in bad)
                message = f"trace {report.trace_id}{where}: " + "; ".join(_plain_line(v) for v in bad)
                text = "\n\n".join(render_derivation(v, None, descriptions.get(name))
                                     for v in bad if v.explained(self.explain)) or None
                case.append(_element("failure", {"message": message, "type": kind}, text))
            elif all(v.kind == "not_applicable" for v in verdicts):
                skipped += 1
                reason = "not applicable" if verdicts else "no act in the norm's scope"
                case.append(_element("skipped", {"message": reason}))
            shown = verdicts if self.show_all else [
                v for v in verdicts if v.kind not in OK_KINDS and v.kind not in failing]
            if shown:
                case.append(_element("system-out", {}, "".join(_plain_line(v) + "\n" for v in shown)))
            _indent(case, 2)
            cases.append("    " + ET.tostring(case, encoding="unicode") + "\n")
        file = locator.file if locator is not None else _locator_file(report.locator)
        return Rendered(report.status, verdict_counts(report.verdicts), "".join(cases), file,
                        (len(names), failures, skipped))

    def emit(self, rendered: Rendered) -> None:
        self._enter(rendered.file)
        self._suite.write(rendered.text)
        tests, failures, skipped = rendered.tally
        for i, n in ((0, tests), (1, failures), (3, skipped)):
            self._counts[i] += n

    def skipped(self, file: str, line: int | None, reason: str) -> None:
        import xml.etree.ElementTree as ET

        self._enter(file)
        where = file if line is None else f"{file}:{line}"
        case = _element("testcase", {"classname": where, "name": "(record)"})
        case.append(_element("error", {"message": f"skipped: {reason}", "type": "skipped record"},
                             f"{where}: skipped: {reason}"))
        self._suite.write("    " + ET.tostring(case, encoding="unicode") + "\n")
        self._counts[0] += 1
        self._counts[2] += 1

    def _enter(self, file: str | None) -> None:
        """Make `file`'s suite the current one (a new suite whenever the file changes)."""
        file = file or "charter"
        if self._suite is not None and file == self._file:
            return
        self._close_suite()
        self._suite, self._file, self._counts = _spool(), file, [0, 0, 0, 0]

    @functools.cached_property
    def _properties(self) -> str:
        """Each suite's `<properties>`: the decision record of `provenance`."""
        import xml.etree.ElementTree as ET

        properties = ET.Element("properties")
        for key, value in provenance(self.policy).items():
            text = ",".join(value) if isinstance(value, list) else str(value)
            properties.append(_element("property", {"name": f"charter.{key}", "value": text}))
        _indent(properties, 2)
        return "    " + ET.tostring(properties, encoding="unicode") + "\n"

    def _close_suite(self) -> None:
        if self._suite is None:
            return
        tests, failures, errors, skipped = self._counts
        self._body.write("  " + _start_tag("testsuite", {
            "name": self._file, "tests": str(tests), "failures": str(failures),
            "errors": str(errors), "skipped": str(skipped)}) + "\n" + self._properties)
        self._suite.seek(0)
        shutil.copyfileobj(self._suite, self._body)
        self._suite.close()
        self._body.write("  </testsuite>\n")
        self._totals = [a + b for a, b in zip(self._totals, self._counts)]
        self._suite = None

    def finish(self, summary: CheckSummary) -> None:
        self._close_suite()
        tests, failures, errors, skipped = self._totals
        self.out.write('<?xml version="1.0" encoding="UTF-8"?>\n' + _start_tag("testsuites", {
            "name": "charter", "tests": str(tests), "failures": str(failures),
            "errors": str(errors), "skipped": str(skipped)}) + "\n")
        self._body.seek(0)
        shutil.copyfileobj(self._body, self.out)
        self._body.close()
        self.out.write("</testsuites>\n")


def _junit_location(locator: Locator | None) -> dict[str, str]:
    """The trace's file and line as testcase attributes (as pytest and GitLab write them)."""
    if locator is None:
        return {}
    return {"file": locator.file} | ({} if locator.line is None else {"line": str(locator.line)})


# ---- SARIF 2.1.0


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
# SARIF result.kind per verdict kind: a failure, something for a person to decide, an
# obligation still open; with --all also the verdicts that passed or did not apply.
_SARIF_KINDS = {"violated": "fail", "conflict": "fail", "unspecified": "review", "pending": "open",
                "complied": "pass", "overridden": "pass", "not_applicable": "notApplicable"}
_SARIF_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}


def sarif_uri(path: str) -> str:
    """A file path as a SARIF artifact URI: `file://` for an absolute path, else a
    relative reference with forward slashes."""
    if os.path.isabs(path):
        return pathlib.Path(path).as_uri()
    return urllib.parse.quote(path.replace(os.sep, "/"), safe="/")


def _region(span: Span) -> dict[str, int]:
    """A span as a SARIF region; SARIF's endColumn is the column after the region."""
    return {"startLine": max(span.line, 1), "startColumn": max(span.column, 1),
            "endLine": max(span.end_line, span.line, 1), "endColumn": max(span.end_column + 1, 1)}


class SarifWriter(ReportWriter):
    """SARIF 2.1.0: one run whose rules are the norms and whose results are the verdicts
    that are not OK (every verdict with --all), located at the norm in the policy source,
    with the trace and turn in the message and properties. Skipped records are the
    invocation's notifications. Streamed: one result per line."""

    def start(self) -> None:
        from .. import __version__

        norms = [] if self.policy is None else self.policy.program.norms
        rules = []
        for norm in norms:
            rule: dict[str, Any] = {"id": norm.name, "shortDescription": {"text": norm.description or norm.name}}
            rule["defaultConfiguration"] = {"level": _SARIF_LEVELS.get(norm.severity, "warning")}
            rule["properties"] = {"charter": norm.charter, "authority": norm.authority, "severity": norm.severity}
            rules.append(rule)
        driver = {"name": "charter", "version": __version__, "semanticVersion": __version__, "rules": rules}
        self.out.write('{"$schema": ' + _dumps(SARIF_SCHEMA) + ', "version": ' + _dumps(SARIF_VERSION)
                       + ', "runs": [{"tool": ' + _dumps({"driver": driver}) + ', "results": [')
        self._first = True

    @functools.cached_property
    def _rule_index(self) -> dict[str, int]:
        return {} if self.policy is None else {name: i for i, name in enumerate(self.policy.norms)}

    def render_text(self, report: TraceReport, locator: Locator | None) -> str:
        failing = _failing(self.fail_on)
        index = self._rule_index
        results = []
        for verdict in report.verdicts:
            if verdict.kind in OK_KINDS and not self.show_all:
                continue
            results.append(_dumps(self._result(verdict, report, locator, failing, index)))
        return ",\n".join(results)

    def _result(self, v: Verdict, report: TraceReport, locator: Locator | None,
                failing: frozenset[str], index: dict[str, int]) -> dict[str, Any]:
        kind = "fail" if v.kind in failing else _SARIF_KINDS[v.kind]
        result: dict[str, Any] = {"ruleId": v.norm}
        if v.norm in index:
            result["ruleIndex"] = index[v.norm]
        result["kind"] = kind
        result["level"] = _SARIF_LEVELS.get(v.severity, "warning") if kind == "fail" else "none"
        where = f" ({report.locator})" if report.locator else ""
        result["message"] = {"text": f"trace {report.trace_id}{where}: {_plain_line(v)}"}
        if v.norm_span is not None:
            result["locations"] = [{"physicalLocation": {
                "artifactLocation": {"uri": sarif_uri(v.norm_span.source)}, "region": _region(v.norm_span)}}]
        if locator is not None:
            trace_location: dict[str, Any] = {"artifactLocation": {"uri": sarif_uri(locator.file)}}
            if locator.line is not None:
                trace_location["region"] = {"startLine": locator.line}
            result["relatedLocations"] = [{"id": 1, "physicalLocation": trace_location,
                                           "message": {"text": f"trace {report.trace_id}"}}]
        act = f"{report.trace_id}\x00{v.norm}\x00{v.turn}\x00{v.call}"
        result["partialFingerprints"] = {"charterVerdict/v1": hashlib.sha256(act.encode("utf-8", "surrogatepass"))
                                         .hexdigest()[:32]}
        result["properties"] = {
            "trace": report.trace_id, "source": report.locator, "turn": v.turn, "call": v.call,
            "verdict": v.kind, "authority": v.authority, "severity": v.severity, "reason": v.reason,
            "gap": v.gap, "escalate_to": v.escalate_to, "unknown": list(v.unknown),
            "overridden_by": v.overridden_by,
        }
        if v.explained(self.explain):
            result["properties"]["explanation"] = v.explanation.to_json()
        return result

    def emit(self, rendered: Rendered) -> None:
        if rendered.text:
            self.out.write(("\n" if self._first else ",\n") + rendered.text)
            self._first = False

    @functools.cached_property
    def _notifications(self) -> _Listed:
        return _Listed()

    def skipped(self, file: str, line: int | None, reason: str) -> None:
        """A skipped record is a notification of the invocation, spooled until `finish`."""
        location: dict[str, Any] = {"artifactLocation": {"uri": sarif_uri(file)}}
        if line is not None:
            location["region"] = {"startLine": line}
        self._notifications.add(_dumps({"level": "error", "message": {"text": f"skipped: {reason}"},
                                        "locations": [{"physicalLocation": location}]}))

    def finish(self, summary: CheckSummary) -> None:
        successful = "false" if summary.skipped_count else "true"
        self.out.write('\n], "invocations": [{"executionSuccessful": ' + successful
                       + ', "toolExecutionNotifications": [')
        self._notifications.write_to(self.out)
        counts = {k: v for k, v in summary.to_json().items() if k != "skipped"}
        self.out.write(']}], "properties": '
                       + _dumps({"summary": counts, "provenance": provenance(self.policy)}) + "}]}\n")


WRITERS: dict[str, type[ReportWriter]] = {
    "text": TextWriter, "json": JsonWriter, "jsonl": JsonlWriter, "junit": JunitWriter, "sarif": SarifWriter,
}


def _dumps(data: Any) -> str:
    """Standard JSON: NaN and the infinities (only a trace made in Python can still hold
    them; the reader takes them out) are written as null, as JSON.stringify writes them."""
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(_nulled(data), ensure_ascii=False)
    return _escape_surrogates(text)


def _nulled(value: Any) -> Any:
    """`value` with None for each non-finite number in it."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _nulled(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nulled(item) for item in value]
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_surrogates(text: str) -> str:
    """Lone surrogates (which JSON text may carry as `\\ud800`) written as such escapes:
    no UTF-8 output can hold them. Text without them is returned as it is."""
    if text.isascii() or _SURROGATE.search(text) is None:  # isascii: a flag of the string, no scan
        return text
    return _SURROGATE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


# ---- the JSON of a trace report, fast


class ReportJson:
    """The JSON and JSONL formats' text of a trace report: exactly
    `_dumps(report.to_json(include_not_applicable, explain))`, written straight from the
    verdicts (an explanation is made only where `explain` asks for it).

    A corpus report is mostly explanations, and `json.dumps` of `to_json`'s dicts costs
    three times as much as this: it builds a dict for every verdict, step, fact and
    match, and encodes the same things again and again. Across a corpus and along a trace
    the fields of a verdict other than its turn, its call and its explanation repeat (a
    norm, a kind, a severity), and so do the paths of clauses, so each distinct one is
    encoded once. The layout of every object follows the `to_json` methods of
    `verdicts.py`; tests/test_reports.py checks that the text is the same byte for byte."""

    REMEMBERED = 1 << 14  # distinct verdict heads and paths kept, at most (each, per writer)

    def __init__(self, include_not_applicable: bool = False, explain: str = "all"):
        self.include_not_applicable, self.explain = include_not_applicable, explain
        self._explained = explained_kinds(explain)
        self._parts: dict[tuple, tuple[str, str]] = {}  # by placeless_key: a verdict's JSON around its turn
        self._paths: dict[tuple[Step, ...], str] = {}

    def text(self, report: TraceReport) -> str:
        shown = report.verdicts if self.include_not_applicable else report.applicable()
        source = f', "source": {_json_value(report.locator)}' if report.locator else ""
        verdicts = ", ".join([self.verdict(v) for v in shown])
        return _escape_surrogates(f'{{"id": {_json_value(report.trace_id)}, "status": '
                                  f'{_json_string(report.status)}{source}, "verdicts": [{verdicts}]}}')

    def verdict(self, v: Verdict) -> str:
        """A verdict's JSON, from the parts it shares with the verdicts that differ from it
        only in turn and call (in a long trace, all those of its norm and kind)."""
        key = placeless_key(v)
        parts = self._parts.get(key)
        if parts is None:
            parts = _remember(self._parts, key, _head_parts(v), self.REMEMBERED)
        turn, call = v.turn, v.call
        return (f'{parts[0]}{"null" if turn is None else turn}{parts[1]}{"null" if call is None else call}, '
                f'"explanation": {self.explanation(v.explanation) if v.kind in self._explained else "null"}}}')

    def explanation(self, e: Explanation) -> str:
        path = self._paths.get(e.steps)
        if path is None:
            path = _remember(self._paths, e.steps, ", ".join(map(_step_json, e.steps)), self.REMEMBERED)
        if not e.facts and not e.matches:
            return f'{{"path": [{path}], "facts": [], "matches": [], "bindings": []}}'
        facts = ", ".join([
            f'{{"fact": {_json_string(f.name)}, "value": {_json_value(f.value)}, '
            f'"known": {"true" if f.known else "false"}'
            + (f', "why_unknown": {_json_string(f.why_unknown)}' if f.why_unknown else "")
            + (f', "detected": {json.dumps(f.detected.to_json(), ensure_ascii=False)}}}' if f.detected else "}")
            for f in e.facts])
        matches = ", ".join([f'{{"turn": {m.turn}, "start": {m.start}, "end": {m.end}, '
                             f'"text": {_json_string(m.text)}}}' for m in e.matches])
        bindings = ", ".join([json.dumps(b.to_json(), ensure_ascii=False) for b in e.bindings])
        return f'{{"path": [{path}], "facts": [{facts}], "matches": [{matches}], "bindings": [{bindings}]}}'


def _remember(memo: dict, key: Any, value: _T, limit: int) -> _T:
    """`value`, kept in `memo` while it holds fewer than `limit` (the first ones: in a long
    trace, where no verdict repeats, a full memo is not cleared and refilled to no use)."""
    if len(memo) < limit:
        memo[key] = value
    return value


def _head_parts(v: Verdict) -> tuple[str, str]:
    """A verdict's JSON up to its call's value, but for its turn: the text before the
    turn, and the text between the turn and the call."""
    q = _json_string
    return (f'{{"norm": {q(v.norm)}, "turn": ',
            f', "verdict": {q(v.kind)}, '
            f'"authority": {q(v.authority)}, "severity": {q(v.severity)}, "reason": {_json_value(v.reason)}, '
            f'"gap": {"true" if v.gap else "false"}, "escalate_to": {_json_value(v.escalate_to)}, '
            f'"unknown": [{", ".join([q(name) for name in v.unknown])}], '
            f'"overridden_by": {_json_value(v.overridden_by)}, "call": ')


def _step_json(step: Step) -> str:
    q, span = _json_string, step.span
    return (f'{{"clause": {q(step.clause)}, "text": {q(step.text)}, "line": {span.line}, '
            f'"column": {span.column}, "file": {q(span.source)}, "value": {q(step.value)}}}')


def _json_value(value: Any) -> str:
    """`json.dumps(value, ensure_ascii=False)`, without its set-up for the usual scalars."""
    kind = type(value)
    if kind is str:
        return _json_string(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float and value - value == 0:  # finite: `_dumps` writes NaN and Infinity as null
        return float.__repr__(value)
    return _dumps(value)


# --------------------------------------------------------------------------- explain


def render_derivation(verdict: Verdict, trace: Trace | None, description: str | None = None,
                      color: bool = False) -> str:
    """A verdict's derivation as a tree: the clauses on its path with their source
    lines (syntax-coloured with `color`, when Pygments is installed) and values, then the
    facts read and the text that matched (with some context from the trace, when given)."""
    paint = _source_painter() if color else str
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
        lines.append(f"  {branch} {step.clause:<13} {paint(step.text)}  => {step.value}  [{step.span}]")
    for fact in verdict.explanation.facts:
        value = "unknown" + (f" ({fact.why_unknown})" if fact.why_unknown else "") if not fact.known \
            else json.dumps(fact.value, ensure_ascii=False)
        if not fact.known and fact.value is not None:
            value = f"{json.dumps(fact.value, ensure_ascii=False)}, treated as unknown ({fact.why_unknown})"
        lines.append(f"  fact  {fact.name} = {value}" + (f" ({fact.detected})" if fact.detected else ""))
    for match in verdict.explanation.matches:
        line = f"  match turn {match.turn} [{match.start}:{match.end}] {match.text!r}"
        if trace is not None:
            text = trace.messages[match.turn].content
            context = text[max(0, match.start - 20): match.end + 20].replace("\n", " ")
            line += f" in “…{context}…”"
        lines.append(line)
    lines.extend(f"  bind  {binding}" for binding in verdict.explanation.bindings)
    return "\n".join(lines)


def _source_painter() -> Callable[[str], str]:
    try:
        from ..syntax.highlight import highlight_line
    except ImportError:  # Pygments is an extra: without it, explain stays plain
        return str
    return highlight_line


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
    return "\n".join(lines)


def test_results_json(tests: list[TestResult], properties: list, examples: int, seed: int) -> dict[str, Any]:
    """`charter test --format json`: every inline test and every property."""
    def where(span) -> dict[str, Any] | None:
        return None if span is None else {"file": span.source, "line": span.line, "column": span.column}

    passed = sum(t.passed for t in tests) + sum(p.passed for p in properties)
    return {
        "tests": [{
            "name": t.name, "passed": t.passed, "location": where(t.span),
            "expectations": [{"norm": e.norm, "expected": e.expected, "got": e.got, "turn": e.turn,
                              "passed": e.passed, "location": where(e.span)} for e in t.expectations],
        } for t in tests],
        "properties": [{
            "property": p.name, "passed": p.passed, "detail": p.detail, "subject": p.subject,
            "location": where(p.span), "counterexample": p.counterexample, "method": p.method,
        } for p in properties],
        "generation": {"examples": examples, "seed": seed},
        "summary": {"passed": passed, "failed": len(tests) + len(properties) - passed},
    }


def _group_summary(group: list) -> str:
    """`N checked; sampled 200 traces`, or with --prove how many were proved."""
    proved = sum(r.method == "proved" for r in group)
    if not proved:
        return f"{len(group)} checked; {group[0].detail.split(';')[0]}"
    sampled = len(group) - proved
    return f"{len(group)} checked; {proved} proved" + (f", {sampled} sampled only" if sampled else "")


def render_property_results(results: list, examples: int, seed: int, verbose: bool = False) -> str:
    """Properties grouped by name: one line for each that holds (with how it was checked
    and how many items it covered), every failure with its minimal trace as a test block."""
    lines = [f"properties ({examples} generated traces, seed {seed}):"]
    for name in dict.fromkeys(r.name for r in results):
        group = [r for r in results if r.name == name]
        failed = [r for r in group if not r.passed]
        if not failed:
            lines.append(f"ok    {name:<24} {group[0].detail if len(group) == 1 else _group_summary(group)}")
            if verbose and len(group) > 1:
                lines.extend(f"          {r.subject}: {r.detail.split('; ')[-1]}" for r in group)
        for result in failed:
            where = f"  ({result.span})" if result.span else ""
            lines.append(f"FAIL  {name:<24} {result.subject}: {result.detail}{where}")
            if result.counterexample:
                lines.append("      minimal trace, as a test block to paste into the policy:")
                lines.extend("      " + row for row in result.counterexample.rstrip().splitlines())
    return "\n".join(lines)
