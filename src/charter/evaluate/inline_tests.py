"""Running a policy's own `test` blocks: each block is a small trace and expectations."""

from __future__ import annotations

import attrs

from ..syntax import ast
from ..check.program import CheckedTest, Program
from ..compile.compiler import CompiledPolicy
from .evaluator import evaluate
from ..source.text import Span
from ..traces.model import Locator, Message, ToolCall, Trace
from .verdicts import TraceReport, aggregate


@attrs.frozen
class ExpectationResult:
    """One `expect` line: what it wanted and what the policy gave."""

    norm: str
    expected: str
    got: str
    turn: int | None
    span: Span

    @property
    def passed(self) -> bool:
        return self.expected == self.got


@attrs.frozen
class TestResult:
    """One `test` block's outcome, with the full report of its trace."""

    __test__ = False

    name: str
    charter: str
    span: Span
    expectations: tuple[ExpectationResult, ...]
    report: TraceReport
    trace: Trace

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.expectations)


def block_trace(block: ast.TestBlock) -> Trace:
    """The trace a test block describes. `assistant calls` joins the assistant message
    just above it, or starts a new one; a `tool:` message answers the earliest call not
    answered yet (none left: it answers no call), and its `failed` / `not failed` is its
    error (unsaid: unknown)."""
    messages: list[Message] = []
    unanswered: list[str] = []
    for line in block.messages:
        if isinstance(line, ast.TestCall):
            call = ToolCall(line.name, line.arguments if isinstance(line.arguments, dict) else {},
                            id=f"call_{len(messages)}_{len(unanswered)}")
            unanswered.append(call.id)
            if messages and messages[-1].role == "assistant":
                last = messages[-1]
                messages[-1] = attrs.evolve(last, tool_calls=last.tool_calls + (call,))
            else:
                messages.append(Message(len(messages), "assistant", "", (call,)))
            continue
        messages.append(Message(
            len(messages), line.role, line.content, labels=dict(line.labels),
            meta=line.meta if isinstance(line.meta, dict) else {},
            tool_call_id=unanswered.pop(0) if line.role == "tool" and unanswered else None, error=line.failed,
        ))
    meta = block.meta if isinstance(block.meta, dict) else {}
    return Trace(block.name, tuple(messages), meta, Locator(block.span.source, block.span.line))


def run_test(test: CheckedTest, policy: CompiledPolicy) -> TestResult:
    trace = block_trace(test.block)
    report = evaluate(policy, trace)
    results = []
    for expect, norm in zip(test.block.expects, test.norm_names):
        verdicts = [v for v in report.verdicts if v.norm == norm]
        if expect.turn is not None:
            at = [v.kind for v in verdicts if v.turn == expect.turn]
            got = aggregate(at) if at else f"no act at turn {expect.turn}"
        else:
            got = aggregate(v.kind for v in verdicts)
        results.append(ExpectationResult(norm, expect.verdict, got, expect.turn, expect.span))
    return TestResult(test.block.name, test.charter, test.block.span, tuple(results), report, trace)


def run_tests(program: Program, policy: CompiledPolicy) -> list[TestResult]:
    return [run_test(test, policy) for test in program.tests]
