"""`charter test` properties: seeded bugs are found, with a minimal trace that reproduces them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import charter
from charter.analysis.generate import traces, vocabulary
from charter.analysis.printer import as_test_block
from charter.analysis.properties import check_properties
from charter.check.resolve import stdlib_names
from charter.evaluate.inline_tests import block_trace
from charter.source.text import Source
from charter.syntax.parser import parse
from charter.syntax import ast

ROOT = Path(__file__).resolve().parents[1]
SEEDED = ROOT / "tests" / "cases" / "analysis"


def failures(policy: charter.Policy, examples: int = 200, prove: bool = False):
    return [r for r in check_properties(policy.program, policy.compiled, examples, prove=prove) if not r.passed]


@pytest.mark.parametrize("name, prop, subject", [
    ("colliding_exceptions", "conflict", "replies"),
    ("contradiction", "contradiction", "must_apologise, never_apologise"),
    ("uncovered_range", "gap", "refunds"),
    ("dead_exception", "dead clause", "adults: unless trace.meta.age < 13: permit"),
    ("override_never", "override never applies", "casual overrides tone"),
    ("window_conflict", "conflict", "follow_up"),
])
def test_each_seeded_bug_is_found(name, prop, subject):
    path = SEEDED / f"{name}.charter"
    found = failures(charter.load(str(path)))
    assert [(f.name, f.subject) for f in found] == [(prop, subject)]
    if found[0].counterexample is not None:
        # Pasted back into the policy, the counterexample is a passing test that pins the failure.
        text = path.read_text() + "\n" + found[0].counterexample
        results = charter.loads(text, name=str(path)).run_tests()
        assert [r.passed for r in results] == [True]
        assert len(found[0].counterexample.splitlines()) <= 8  # minimal: a handful of lines


def test_counterexamples_are_minimal():
    (found,) = failures(charter.load(str(SEEDED / "uncovered_range.charter")))
    assert found.counterexample == (
        'test "gap: found by charter test":\n'
        '    meta {"age_days": 31}\n'
        '    user: "refund"\n'
        '    assistant: ""\n'
        '    expect refunds unspecified at turn 1\n'
    )


@pytest.mark.parametrize("policy", [
    "examples/acme_support.charter", "examples/shop_support/shop_support.charter",
    "examples/health_info/health_info.charter", "examples/tutor/tutor.charter",
    "examples/coding_agent/coding_agent.charter", "examples/model_spec/model_spec.charter",
    tuple(f"examples/layered/{layer}.charter" for layer in ("platform", "developer", "user")),
    *(f"std.{name}" for name in stdlib_names()),
])
def test_clean_policies_pass(policy):
    layers = policy if isinstance(policy, tuple) else (policy,)
    paths = [str(ROOT / p) if p.endswith(".charter") else p for p in layers]
    # With --prove: a clause the abstraction reaches is searched for longer, so a rare one
    # (four nested metadata conditions) is not mistaken for a dead one.
    assert failures(charter.load(*paths), prove=True) == []


def test_the_same_seed_gives_the_same_results():
    policy = charter.load(str(SEEDED / "colliding_exceptions.charter"))
    first = check_properties(policy.program, policy.compiled, 60, seed=3)
    assert first == check_properties(policy.program, policy.compiled, 60, seed=3)


POLICY = charter.load(str(ROOT / "examples" / "acme_support.charter"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traces(vocabulary(POLICY.program)))
def test_a_printed_trace_parses_back_to_the_same_trace(trace):
    text = as_test_block("round trip", trace, [("refund_promises", "complied", None)])
    tree, errors = parse(Source("t.charter", text))
    assert errors == []
    (block,) = tree.of(ast.TestBlock)
    again = block_trace(block)
    assert again.meta == trace.meta
    assert [(m.role, m.content, m.labels, m.meta, [(c.name, c.arguments) for c in m.tool_calls])
            for m in again.messages] == [
        (m.role, m.content, m.labels, m.meta, [(c.name, c.arguments) for c in m.tool_calls])
        for m in trace.messages]


def test_json_output_of_charter_test():
    import json

    from click.testing import CliRunner

    from charter.cli import main

    result = CliRunner().invoke(main, ["test", str(SEEDED / "uncovered_range.charter"), "--format", "json",
                                       "--examples", "100"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["generation"] == {"examples": 100, "seed": 0}
    (gap,) = [p for p in data["properties"] if not p["passed"]]
    assert (gap["property"], gap["subject"]) == ("gap", "refunds")
    assert "expect refunds unspecified at turn 1" in gap["counterexample"]
    assert data["summary"]["failed"] == 1 and data["tests"] == []
