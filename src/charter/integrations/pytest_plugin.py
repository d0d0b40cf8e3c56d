"""The pytest plugin (registered as `charter` in `pytest11`; no extra needed).

Off unless asked for, so that a project's own `.charter` files (broken ones in fixtures,
say) are left alone:

- `pytest --charter`, or the ini option `charter_paths` (files or folders), collects the
  `test` blocks of `.charter` files as pytest items: `pytest --charter policies/`. A
  failure shows each expectation that failed (expected vs got), the block's trace and the
  derivation of the verdicts. A policy that does not load is a collection error that
  names file, line and column.
- The `charter_policy` fixture is the policy named by `@pytest.mark.charter_policy(PATH...)`
  or by the ini option `charter_policy`, loaded once per session.
- `assert_verdict(policy, trace, norm, verdict, turn=None)` checks one norm's verdict on a
  trace of your own assistant, with the same reading as an `expect` line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from .. import Policy, PolicyError, Trace, load
from ..check.program import CheckedTest
from ..evaluate.inline_tests import TestResult, run_test
from ..reports.render import render_derivation, render_diagnostics, render_test_results
from ..traces.reader import trace_from_json
from ..evaluate.verdicts import AGGREGATE_ORDER, TraceReport, aggregate

__all__ = ["assert_verdict"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("charter", "Charter policies")
    group.addoption("--charter", action="store_true", default=False,
                    help="collect the `test` blocks of .charter files as tests")
    parser.addini("charter_paths", type="paths", default=[],
                  help="collect the `test` blocks of the .charter files here (files or folders)")
    parser.addini("charter_policy", type="paths", default=[],
                  help="the policy files of the `charter_policy` fixture")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "charter_policy(*paths): the policy files of the `charter_policy` fixture")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".charter" or not _collects(parent.config, file_path):
        return None
    return CharterFile.from_parent(parent, path=file_path)


def _collects(config: pytest.Config, path: Path) -> bool:
    roots = config.getini("charter_paths")
    if roots:
        return any(path == root or root in path.parents for root in map(Path.resolve, roots))
    return bool(config.getoption("charter"))


class CharterFile(pytest.File):
    """A policy file: one item per `test` block written in it."""

    def collect(self) -> Iterator[CharterTest]:
        try:
            policy = load(str(self.path))
        except PolicyError as error:
            raise self.CollectError(render_diagnostics(error.diagnostics, error.sources)) from None
        for test in policy.program.tests:
            if Path(test.block.span.source).resolve() == self.path.resolve():
                yield CharterTest.from_parent(self, name=test.block.name, policy=policy, test=test)


class CharterTestFailed(Exception):
    def __init__(self, result: TestResult):
        self.result = result


class CharterTest(pytest.Item):
    """One `test` block: its trace checked against the whole policy, each `expect` compared."""

    def __init__(self, *, policy: Policy, test: CheckedTest, **kwargs: Any):
        super().__init__(**kwargs)
        self.policy, self.test = policy, test
        self.funcargs: dict[str, Any] = {}  # no fixtures; some plugins' hook wrappers (pytest-lsp) read it

    def runtest(self) -> None:
        result = run_test(self.test, self.policy.compiled)
        if not result.passed:
            raise CharterTestFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> str:
        if isinstance(excinfo.value, CharterTestFailed):
            result = excinfo.value.result
            return render_test_results([result]) + "\n\ntrace:\n" + render_trace(result.trace)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.test.block.span.line - 1, f"charter test {self.name!r}"


def render_trace(trace: Trace) -> str:
    """The messages of a trace, one a line, for a failure report."""
    lines = [f"  meta {trace.meta}"] if trace.meta else []
    for m in trace.messages:
        lines.append(f"  [{m.index}] {m.role}: {m.content!r}" + (f" labels {m.labels}" if m.labels else ""))
        lines.extend(f"      calls {call.name} {call.arguments}" for call in m.tool_calls)
    return "\n".join(lines)


# --------------------------------------------------------------------------- for tests of an assistant


_policies: dict[tuple[str, ...], Policy] = {}


@pytest.fixture
def charter_policy(request: pytest.FixtureRequest) -> Policy:
    """The policy of `@pytest.mark.charter_policy(PATH...)`, else of the ini option
    `charter_policy`; each set of files is loaded once per session."""
    marker = request.node.get_closest_marker("charter_policy")
    paths = tuple(str(p) for p in (marker.args if marker else request.config.getini("charter_policy")))
    if not paths:
        pytest.fail("the charter_policy fixture needs policy files: "
                    "@pytest.mark.charter_policy(PATH) or the ini option charter_policy", pytrace=False)
    if paths not in _policies:
        try:
            _policies[paths] = load(*paths)
        except PolicyError as error:
            pytest.fail(render_diagnostics(error.diagnostics, error.sources), pytrace=False)
    return _policies[paths]


def assert_verdict(policy: Policy, trace: Trace | dict[str, Any], norm: str, verdict: str,
                   turn: int | None = None) -> TraceReport:
    """Assert that `norm` gives `verdict` on `trace` (at message `turn`; without it, the
    norm's verdicts over the trace summed up, the most severe, as `expect` reads them).
    Returns the report; the failure message holds the trace and the derivations."""
    if verdict not in AGGREGATE_ORDER:
        raise ValueError(f"{verdict!r} is not a verdict; the verdicts are {', '.join(AGGREGATE_ORDER)}")
    if norm not in policy.norms:
        raise ValueError(f"the policy has no norm {norm!r}; its norms are {', '.join(policy.norms)}")
    if not isinstance(trace, Trace):
        trace = trace_from_json(trace)
    report = policy.check(trace)
    verdicts = [v for v in report.for_norm(norm) if turn is None or v.turn == turn]
    got = aggregate(v.kind for v in verdicts) if verdicts or turn is None else f"no act at turn {turn}"
    if got != verdict:
        at = "" if turn is None else f" at turn {turn}"
        derivations = "\n\n".join(render_derivation(v, trace) for v in verdicts)
        pytest.fail(f"expected {norm} {verdict}{at}, got {got}\n\ntrace {trace.id}:\n{render_trace(trace)}"
                    + (f"\n\n{derivations}" if derivations else ""), pytrace=False)
    return report
