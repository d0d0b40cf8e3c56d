"""The public `Policy`, `load` and `loads`: the policy of `evaluate/` (check, session,
inline tests) with the reports the command line makes over traces."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable, Iterable, Literal

from ..check.program import Program
from ..evaluate import policy as core
from ..review.whynot import MAX_SIZE
from ..source.text import Source
from ..evaluate.verdicts import TraceReport
from ..traces.model import Trace

# The reports over traces, and the loader (parser, resolver, checker), are imported when
# first used: `charter check` of one trace with a cached policy needs none of them, and
# they were a third of its start-up.
if TYPE_CHECKING:
    from ..reports.coverage import CoverageCollector
    from ..reports.gaps import GapCollector
    from ..review.whynot import WhyNot
    from .inputs import Traces
    from .results import CoverageReport, GapReport, TraceExplanation

VerdictKind = Literal["complied", "violated", "unspecified", "not_applicable", "conflict", "overridden", "pending"]


class Policy(core.Policy):
    """A loaded, compiled policy: check traces with it (`check`, `check_many`, `session`),
    run its inline tests, and report on traces as the command line does (`gaps`,
    `coverage`, `explain`, `why_not`).

    Traces may be given as `Trace` objects, dicts in the native JSON form, or paths (a
    file, a directory, a glob pattern: what `charter check --traces` reads), one or an
    iterable of them. A dict that is not a trace raises `TraceFormatError`; a record of a
    file that cannot be read is reported as skipped, as the command line does.
    """

    def __init__(self, program: Program, paths: Iterable[str] = ()):
        super().__init__(program)
        self.paths = tuple(paths)  # the files it was loaded from, as reports name them

    def gaps(self, traces: Traces, examples: int = 3, input_format: str | None = None) -> GapReport:
        """The decisions the policy leaves open over `traces` (`charter gaps`), keeping
        up to `examples` example conversations per question."""
        from ..reports.gaps import GapCollector
        from .results import GapReport

        collector = GapCollector(self, examples, self.paths)
        collector.trace_files = self._collect(traces, input_format, collector,
                                              lambda trace, report: collector.add(trace, report))
        return GapReport._of(collector.result())

    def coverage(self, traces: Traces, input_format: str | None = None) -> CoverageReport:
        """Which norms, cases, exceptions and `otherwise` lines `traces` exercised
        (`charter coverage`)."""
        from ..reports.coverage import CoverageCollector
        from .results import CoverageReport

        collector = CoverageCollector(self, (), self.paths)
        collector.trace_files = self._collect(traces, input_format, collector,
                                              lambda trace, report: collector.add(report))
        return CoverageReport._of(collector.result())

    def explain(self, trace: Traces, norm: str | None = None, turn: int | None = None, *,
                trace_id: str | None = None, include_not_applicable: bool = False,
                input_format: str | None = None) -> TraceExplanation:
        """How the verdicts on one trace were derived (`charter explain`): those of `norm`
        and at message `turn` when given, not_applicable ones only if asked. A path names
        the trace with `trace_id` in it, or the only one it holds."""
        from . import inputs
        from .results import TraceExplanation

        self._known(norm)
        (checked,) = self.detect([inputs.one(trace, trace_id, input_format)])  # shown as checked
        report = self.check(checked)
        verdicts = tuple(v for v in report.verdicts
                         if (norm is None or v.norm == norm) and (turn is None or v.turn == turn)
                         and (include_not_applicable or v.kind != "not_applicable"))
        descriptions = {n.name: n.description for n in self.program.norms}
        return TraceExplanation(report, verdicts, checked, descriptions)

    def why_not(self, trace: Traces, norm: str, turn: int | None = None, call: int | None = None, *,
                target: VerdictKind | None = None, max_changes: int = MAX_SIZE, trace_id: str | None = None,
                input_format: str | None = None) -> list[WhyNot]:
        """For each verdict of `norm` on the trace (at message `turn` and tool call `call`
        when given; without `turn`, every one but not_applicable), the smallest sets of
        changes to the trace's facts that give it another verdict (`target`, if given),
        each confirmed by checking the changed trace (`charter explain --why-not`)."""
        from ..review.whynot import why_not
        from . import inputs

        self._known(norm)
        (checked,) = self.detect([inputs.one(trace, trace_id, input_format)])  # edits start from its labels
        return [why_not(self, checked, v, target, max_changes) for v in self.check(checked).verdicts
                if v.norm == norm and (v.turn == turn if turn is not None else v.kind != "not_applicable")
                and (call is None or v.call == call)]

    def _collect(self, traces: Traces, input_format: str | None, collector: GapCollector | CoverageCollector,
                 add: Callable[[Trace, TraceReport], None]) -> list[str]:
        """Check every trace into `add`, file the skipped records with `collector`; the
        paths read, for the report to name."""
        from ..traces.reader import Skipped
        from . import inputs

        files: list[str] = []
        for record in inputs.read(traces, input_format, files):
            if isinstance(record, Skipped):
                collector.skip(record.locator.file, record.locator.line, record.reason)
            else:
                add(record, self.check(record))
        return files

    def _known(self, norm: str | None) -> None:
        if norm is not None and norm not in self.norms:
            raise ValueError(f"no norm `{norm}`; the norms are {', '.join(self.norms)}")


def load(*paths: str | os.PathLike[str]) -> Policy:
    """Load policy files (or `std.NAME` modules) as one layered policy."""
    from ..check.loader import load_program

    names = [os.fspath(p) for p in paths]
    return Policy(load_program(names), names)


def loads(text: str, name: str = "<string>") -> Policy:
    """Load a policy from text; `name` is used in diagnostics."""
    from ..check.loader import load_program

    return Policy(load_program(texts=[Source(name, text)]), [name])

