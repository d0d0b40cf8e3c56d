"""What `Policy.gaps`, `coverage` and `explain` return: read-only records over the data
the command line prints, with `to_json()` (what `--format json` prints) and `render()`
(what the command prints). `Policy.why_not` returns `review.whynot.WhyNot`."""

from __future__ import annotations

import copy
from typing import Any, Literal, Mapping

import attrs

from ..evaluate.verdicts import TraceReport, Verdict
from ..reports import coverage, gaps
from ..reports.render import render_derivation
from ..review.whynot import WhyNot
from ..traces.model import Locator, Trace
from ..traces.reader import Skipped


def _skipped(data: Mapping[str, Any]) -> tuple[Skipped, ...]:
    return tuple(Skipped(Locator(s["file"], s["line"]), s["reason"]) for s in data["skipped"])


def _data() -> Any:
    """The report's JSON data: not compared, not shown, handed out only as a copy."""
    return attrs.field(eq=False, repr=False, alias="data")


# --------------------------------------------------------------------------- gaps


@attrs.frozen
class OpenQuestion:
    """One decision the policy leaves open, a row of the gap report's worklist: who must
    decide it, for which norm, what is open (`explicit`, `gap` or `uncertain`, with the
    author's reason or the unknown facts), and how often the corpus met it."""

    id: str | None  # the question's stable ID (`Q…`), where the report gives one
    escalate_to: str | None
    norm: str
    kind: str
    reason: str | None
    unknown: tuple[str, ...]  # fact names, message indices as `[*]`
    decide: str  # the decision, in words
    why: str  # why it is open, in words
    verdicts: int
    traces: int
    trace_ids: tuple[str, ...]

    @classmethod
    def _of(cls, item: Mapping[str, Any], norm: str) -> OpenQuestion:
        return cls(item.get("question"), item["escalate_to"], norm, item["kind"], item["reason"],
                   tuple(item["unknown"]), item["decide"], item["why"], item["verdicts"], item["traces"],
                   tuple(item.get("trace_ids", ())))


@attrs.frozen
class GapReport:
    """Every `unspecified` verdict of a corpus, as questions for whoever must decide them."""

    traces: int  # traces checked
    skipped: tuple[Skipped, ...]  # records that could not be read
    unspecified: int  # unspecified verdicts
    questions: tuple[OpenQuestion, ...]  # by who decides, then norm, most frequent first
    _data: dict[str, Any] = _data()

    @classmethod
    def _of(cls, data: dict[str, Any]) -> GapReport:
        questions = tuple(OpenQuestion._of(item, norm["norm"]) for who in data["stakeholders"]
                          for norm in who["norms"] for item in norm["items"])
        return cls(data["traces"], _skipped(data), data["unspecified"]["verdicts"], questions, data)

    def to_json(self) -> dict[str, Any]:
        """The report as `charter gaps --format json` prints it."""
        return copy.deepcopy(self._data)

    def render(self, format: Literal["markdown", "html", "json"] = "markdown") -> str:
        """The report as `charter gaps --format FORMAT` prints it."""
        from .. import __version__  # the facade imports this module before it defines the version

        if format not in gaps.FORMATS:
            raise ValueError(f"format must be one of {', '.join(gaps.FORMATS)}, not {format!r}")
        return gaps.render(self._data, format, __version__)


# --------------------------------------------------------------------------- coverage


@attrs.frozen
class ClauseCoverage:
    """One clause (a norm, a case, an exception, an `otherwise`) and what the corpus did
    with it: `hits` acts exercised it, of `evaluated` where its condition was evaluated
    (for a norm: acts in its scope), `unknown` of which gave unknown."""

    kind: Literal["norm", "case", "exception", "otherwise"]
    norm: str
    file: str
    line: int
    column: int
    text: str
    hits: int
    evaluated: int
    unknown: int

    @property
    def exercised(self) -> bool:
        return self.hits > 0

    @property
    def why_never(self) -> str | None:
        """Why it was never exercised, in words (None if it was)."""
        return None if self.hits else coverage.why_never(attrs.asdict(self))


@attrs.frozen
class CoverageReport:
    """Which clauses of the policy a corpus exercised."""

    traces: int
    skipped: tuple[Skipped, ...]
    clauses: tuple[ClauseCoverage, ...]  # by file, then place
    percent: float | None  # of clauses exercised (None: the policy has none)
    _data: dict[str, Any] = _data()

    @classmethod
    def _of(cls, data: dict[str, Any]) -> CoverageReport:
        fields = [f.name for f in attrs.fields(ClauseCoverage)]
        clauses = tuple(ClauseCoverage(**{f: item[f] for f in fields})
                        for report in data["files"] for item in report["items"])
        return cls(data["traces"], _skipped(data), clauses, data["total"]["percent"], data)

    @property
    def never(self) -> tuple[ClauseCoverage, ...]:
        """The clauses no trace exercised."""
        return tuple(c for c in self.clauses if not c.hits)

    def to_json(self) -> dict[str, Any]:
        """The report as `charter coverage --format json` prints it."""
        return copy.deepcopy(self._data)

    def render(self, format: Literal["text", "json"] = "text", verbose: bool = False) -> str:
        """The report as `charter coverage [--format json] [-v]` prints it."""
        if format == "json":
            return coverage.render_json(self._data)
        if format != "text":
            raise ValueError(f"format must be text or json, not {format!r}")
        return coverage.render_text(self._data, verbose)


# --------------------------------------------------------------------------- explain


@attrs.frozen
class TraceExplanation:
    """The verdicts asked about on one trace, each with the derivation that gave it
    (`verdict.explanation`: the clauses on its path, the facts read, the text matched)."""

    report: TraceReport  # every verdict on the trace
    verdicts: tuple[Verdict, ...]  # those asked about, in the report's order
    trace: Trace = attrs.field(eq=False, repr=False)
    _descriptions: Mapping[str, str | None] = attrs.field(eq=False, repr=False, alias="descriptions")

    @property
    def status(self) -> str:
        return self.report.status

    def to_json(self) -> dict[str, Any]:
        """As a trace of `charter check --format json`, with only these verdicts."""
        data = attrs.evolve(self.report, verdicts=self.verdicts).to_json(include_not_applicable=True)
        data["status"] = self.status  # the trace's, not that of the verdicts shown
        return data

    def render(self, color: bool = False, why_not: Mapping[Verdict, WhyNot] | None = None) -> str:
        """What `charter explain` prints: each derivation, followed by its `why_not`
        answers where given (`charter explain --why-not`)."""
        where = f"  ({self.report.locator})" if self.report.locator else ""
        lines = [f"trace {self.report.trace_id}: {self.status}{where}"]
        if not self.verdicts:
            lines.append("no verdicts match (not_applicable ones are hidden without --all)")
        for verdict in self.verdicts:
            lines.append("\n" + render_derivation(verdict, self.trace, self._descriptions.get(verdict.norm), color))
            answers = (why_not or {}).get(verdict)
            if answers is not None:
                lines.append(answers.render())
        return "\n".join(lines) + "\n"
