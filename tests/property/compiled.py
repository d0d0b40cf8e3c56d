"""The compiled evaluator's verdicts in the oracle's row shape."""

from __future__ import annotations

from charter.check.program import Program
from charter.traces.model import Trace
from oracle.reference import Row, sort_rows, verdict_row


def compiled_rows(program: Program, trace: Trace) -> list[Row]:
    """`charter.evaluate.evaluator` on the compiled program, as sorted rows (imported on use, so that
    the suite runs before the compiled evaluator exists; callers importorskip first)."""
    from charter.compile.compiler import compile_program
    from charter.evaluate.evaluator import evaluate

    report = evaluate(compile_program(program), trace)
    return sort_rows(verdict_row(v) for v in report.verdicts)
