"""`charter test` properties: seeded bugs are found, with a minimal trace that reproduces them."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import charter
from charter.analysis.generate import traces, vocabulary
from charter.analysis.minimise import minimise
from charter.analysis.printer import as_test_block
from charter.analysis.properties import check_properties
from charter.check.resolve import stdlib_names
from charter.evaluate.inline_tests import block_trace
from charter.source.text import Source
from charter.syntax.parser import parse
from charter.syntax import ast
from charter.traces.model import Message, ToolCall, Trace

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
    ("window_contradiction", "contradiction", "acknowledge_complaint, admit_nothing"),
    ("conversation_contradiction", "contradiction", "no_goodbye_to_complaints, sign_off"),
])
def test_each_seeded_bug_is_found(name, prop, subject):
    path = SEEDED / f"{name}.charter"
    found = failures(charter.load(str(path)))
    assert [(f.name, f.subject) for f in found] == [(prop, subject)]
    if found[0].counterexample is not None:
        # Pasted back into the policy, the counterexample is a passing test that pins the failure.
        text = path.read_text() + "\n" + found[0].counterexample
        results = charter.loads(text, name=str(path)).run_tests()
        assert results and all(r.passed for r in results)
        # minimal: a handful of lines per block (a contradiction prints a block per reply)
        assert all(len(block.splitlines()) <= 8 for block in found[0].counterexample.split("\n\n"))


@pytest.mark.parametrize("name, lines", [
    ("uncovered_range", ['meta {"age_days": 31}', 'user: "refund"', 'assistant: ""',
                         "expect refunds unspecified at turn 1"]),
    # Hypothesis's traces start each exchange with a user message and may drop the last
    # reply: it printed four messages here (issue 19.12); two suffice.
    ("extra_exchange", ['meta {"plan": "pro_other"}', 'assistant: "refund"', 'assistant: ""',
                        "expect after_refund unspecified at turn 1"]),
])
def test_counterexamples_are_minimal(name, lines):
    (found,) = failures(charter.load(str(SEEDED / f"{name}.charter")))
    assert found.counterexample == "".join(f"{line}\n" for line in [
        'test "gap: found by charter test":', *(f"    {line}" for line in lines)])


def test_minimise_removes_every_message_and_fact_the_failure_does_not_need():
    trace = Trace("t", tuple(Message(i, role, text, labels=labels) for i, (role, text, labels) in enumerate([
        ("system", "be kind", {}), ("user", "hello refund please", {"x": 0.5}), ("assistant", "ok sure", {}),
        ("user", "thanks", {})])), {"plan": "pro", "region": {"eu": True}})

    def fails(t: Trace) -> bool:  # a user message saying "refund" with the plan known
        return "plan" in t.meta and any(m.role == "user" and "refund" in m.content.split() for m in t.messages)

    small = minimise(trace, fails)
    assert small.meta == {"plan": "pro"}
    assert [(m.index, m.role, m.content, m.labels) for m in small.messages] == [(0, "user", "refund", {})]


@pytest.mark.parametrize("policy", [
    "examples/acme_support.charter", "examples/banking/banking.charter", "examples/shop_support/shop_support.charter",
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
    assert [(m.role, m.content, m.labels, m.meta, m.error, [(c.name, c.arguments) for c in m.tool_calls])
            for m in again.messages] == [
        (m.role, m.content, m.labels, m.meta, m.error, [(c.name, c.arguments) for c in m.tool_calls])
        for m in trace.messages]


def test_a_printed_tool_result_says_whether_it_failed_and_parses_back():
    call = lambda n: ToolCall("send_email", {"to": "ann@x.org"}, f"c{n}")
    trace = Trace("t", (Message(0, "assistant", "", (call(0), call(1), call(2))),
                        *(Message(1 + k, "tool", "sent?", tool_call_id=f"c{k}", error=error)
                          for k, error in enumerate((True, False, None)))))
    text = as_test_block("bounce", trace, [])
    assert text.splitlines()[-3:] == ['    tool: "sent?" failed', '    tool: "sent?" not failed', '    tool: "sent?"']
    (block,) = parse(Source("t.charter", text))[0].of(ast.TestBlock)
    again = block_trace(block)
    assert [m.error for m in again.messages] == [None, True, False, None]
    assert [again.links.call_of(i) for i in (1, 2, 3)] == [(0, 0), (0, 1), (0, 2)]


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
