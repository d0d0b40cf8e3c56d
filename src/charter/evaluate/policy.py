"""`Policy`: a loaded, compiled policy, and `load` / `loads` that make one (the public
API's centre, re-exported by `charter`)."""

from __future__ import annotations

import functools
import itertools
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from ..check.program import Program
from ..compile.compiler import CompiledPolicy, compile_program
from ..detectors.labeller import Labeller
from ..facts.detected import wanted
from ..source.text import Source, content_hash
from ..traces.model import Message, Trace
from ..traces.reader import trace_from_json
from .evaluator import evaluate
from .session import OnUnspecified, Session
from .verdicts import TraceReport

if TYPE_CHECKING:
    from .inline_tests import TestResult

# The most traces `check_many` sends to the detectors together.
DETECT_TRACES = 64


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

    @functools.cached_property
    def labeller(self) -> Labeller | None:
        """What computes the labels the policy declares `from detector D` (None when it
        declares none); its detectors start when first needed."""
        found = wanted(self.program)
        return Labeller(found) if found and not isinstance(found, str) else None

    def detect(self, traces: Sequence[Trace]) -> list[Trace]:
        """The traces with the labels the policy's detectors compute where a message does
        not carry them (as `charter check` does; a trace's own value wins)."""
        labeller = self.labeller
        return list(traces) if labeller is None else labeller.label(traces)

    def check(self, trace: Trace | dict[str, Any]) -> TraceReport:
        """Every verdict of every norm on one trace (a `Trace`, or a dict in the native
        JSON form; a malformed dict raises `ValueError` saying what is wrong), its
        detected labels computed first."""
        (trace,) = self.detect([_trace(trace)])
        return self._evaluate(trace)

    def check_many(self, traces: Iterable[Trace | dict[str, Any]]) -> Iterator[TraceReport]:
        """`check` of each trace, lazily: one at a time, or, when the policy has
        detectors, `DETECT_TRACES` at a time (a detector is called on a batch of texts)."""
        given = map(_trace, traces)
        if self.labeller is None:
            yield from map(self._evaluate, given)
        while batch := list(itertools.islice(given, DETECT_TRACES)):
            yield from map(self._evaluate, self.detect(batch))

    def _evaluate(self, trace: Trace) -> TraceReport:
        return evaluate(self.compiled, trace, str(trace.locator) if trace.locator else None)

    def session(self, meta: dict[str, Any] | None = None, id: str = "session",
                messages: Iterable[Message | dict[str, Any]] = (),
                on_unspecified: OnUnspecified = OnUnspecified()) -> Session:
        """Check one conversation incrementally, message by message (for guardrails),
        starting from its earlier `messages` (their verdicts are in `session.seeded`);
        `on_unspecified` says what `check_candidate` does with an open question."""
        return Session(self.compiled, meta, id, messages, on_unspecified,
                       detect=self._detect_message if self.labeller is not None else None)

    def _detect_message(self, message: Message) -> Message:
        """One new message of a session with its detected labels (each text judged once)."""
        (trace,) = self.detect([Trace("session", (message,))])
        return trace.messages[0]

    def run_tests(self) -> list[TestResult]:
        """Run the policy's inline `test` blocks."""
        from .inline_tests import run_tests  # (`charter test`'s, not `check`'s)

        return run_tests(self.program, self.compiled)


def _trace(trace: Trace | dict[str, Any]) -> Trace:
    return trace if isinstance(trace, Trace) else trace_from_json(trace)


def load(*paths: str) -> Policy:
    """Load policy files (or `std.NAME` modules) as one layered policy."""
    from ..check.loader import load_program  # the parser and checker: only when loading from text

    return Policy(load_program(list(paths)))


def loads(text: str, name: str = "<string>") -> Policy:
    """Load a policy from text; `name` is used in diagnostics."""
    from ..check.loader import load_program

    return Policy(load_program(texts=[Source(name, text)]))
