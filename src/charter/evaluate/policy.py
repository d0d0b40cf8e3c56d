"""`Policy`: a loaded, compiled policy, and `load` / `loads` that make one (the public
API's centre, re-exported by `charter`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator

from ..check.program import Program
from ..compile.compiler import CompiledPolicy, compile_program
from ..source.text import Source, content_hash
from ..traces.model import Message, Trace
from ..traces.reader import trace_from_json
from .evaluator import evaluate
from .session import OnUnspecified, Session
from .verdicts import TraceReport

if TYPE_CHECKING:
    from .inline_tests import TestResult


class Policy:
    """A loaded, compiled policy: check traces with it, run its inline tests."""

    def __init__(self, program: Program):
        self.program = program
        self.compiled: CompiledPolicy = compile_program(program)

    @property
    def content_hash(self) -> str:
        """`sha256:…` over the normalised text of every file loaded, stdlib included:
        reports carry it so a verdict can be traced to the exact policy that gave it."""
        return content_hash(self.program.sources)

    @property
    def norms(self) -> list[str]:
        """The norms' names, as reports give them."""
        return [n.name for n in self.program.norms]

    def check(self, trace: Trace | dict[str, Any]) -> TraceReport:
        """Every verdict of every norm on one trace (a `Trace`, or a dict in the native
        JSON form; a malformed dict raises `ValueError` saying what is wrong)."""
        if not isinstance(trace, Trace):
            trace = trace_from_json(trace)
        locator = str(trace.locator) if trace.locator else None
        return evaluate(self.compiled, trace, locator)

    def check_many(self, traces: Iterable[Trace | dict[str, Any]]) -> Iterator[TraceReport]:
        for trace in traces:
            yield self.check(trace)

    def session(self, meta: dict[str, Any] | None = None, id: str = "session",
                messages: Iterable[Message | dict[str, Any]] = (),
                on_unspecified: OnUnspecified = OnUnspecified()) -> Session:
        """Check one conversation incrementally, message by message (for guardrails),
        starting from its earlier `messages` (their verdicts are in `session.seeded`);
        `on_unspecified` says what `check_candidate` does with an open question."""
        return Session(self.compiled, meta, id, messages, on_unspecified)

    def run_tests(self) -> list[TestResult]:
        """Run the policy's inline `test` blocks."""
        from .inline_tests import run_tests  # (`charter test`'s, not `check`'s)

        return run_tests(self.program, self.compiled)


def load(*paths: str) -> Policy:
    """Load policy files (or `std.NAME` modules) as one layered policy."""
    from ..check.loader import load_program  # the parser and checker: only when loading from text

    return Policy(load_program(list(paths)))


def loads(text: str, name: str = "<string>") -> Policy:
    """Load a policy from text; `name` is used in diagnostics."""
    from ..check.loader import load_program

    return Policy(load_program(texts=[Source(name, text)]))
