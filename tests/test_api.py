"""The public API, used the way a program embedding Charter uses it: through `charter`
alone (this file imports nothing else of the package)."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import types
from pathlib import Path

import pytest

import charter

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "acme_support.charter"

PUBLIC = {
    "Diagnostic", "Explanation", "Message", "Policy", "PolicyError", "Severity", "Span",
    "TestResult", "ToolCall", "Trace", "TraceReport", "Verdict", "load", "loads", "__version__",
    "CandidateCheck", "OnUnspecified", "Session", "SessionFinishedError", "TraceFormatError",
    "ClauseCoverage", "CoverageReport", "GapReport", "OpenQuestion", "TraceExplanation", "WhyNot",
}

LEAK = {"id": "leak", "messages": [
    {"role": "user", "content": "Who runs support?", "labels": {"self_harm": 0.0}},
    {"role": "assistant", "content": "Write to bob@example.com"},
]}
FINE = {"id": "fine", "messages": [
    {"role": "user", "content": "Hello", "labels": {"self_harm": 0.0}},
    {"role": "assistant", "content": "Good day."},
]}

POLICY = """\
charter mini

norm no_bye:
    "Never say bye."
    severity low
    forbid assistant says "bye"

test "bye is a violation":
    user: "hello"
    assistant: "bye"
    expect no_bye violated
"""


@pytest.fixture(scope="module")
def policy() -> charter.Policy:
    return charter.load(str(EXAMPLE))


# --------------------------------------------------------------------------- the surface


def test_all_lists_exactly_the_public_names():
    assert set(charter.__all__) == PUBLIC
    assert len(charter.__all__) == len(set(charter.__all__))
    for name in charter.__all__:
        assert hasattr(charter, name), name


def test_star_import_gives_the_public_names():
    namespace: dict = {}
    exec("from charter import *", namespace)
    assert {k for k in namespace if k != "__builtins__"} == PUBLIC


def test_public_names_are_what_they_say():
    assert callable(charter.load) and callable(charter.loads)
    assert isinstance(charter.Policy, type)
    assert issubclass(charter.PolicyError, Exception)
    assert {s.value for s in charter.Severity} == {"error", "warning"}
    assert not isinstance(charter.load, types.ModuleType)


def test_version():
    assert charter.__version__ == importlib.metadata.version("charter")


def test_py_typed_is_shipped():
    assert importlib.resources.files("charter").joinpath("py.typed").is_file()


def test_grammar_and_stdlib_are_shipped():
    assert importlib.resources.files("charter").joinpath("syntax", "grammar.lark").is_file()
    assert importlib.resources.files("charter").joinpath("stdlib", "pii.charter").is_file()


# --------------------------------------------------------------------------- loading


def test_load_a_file(policy):
    assert isinstance(policy, charter.Policy)
    assert policy.norms == ["refund_promises", "no_email_leak", "crisis_referral", "formal_tone",
                            "casual_when_asked"]


def test_load_accepts_a_path_like_string_and_several_layers(tmp_path):
    extra = tmp_path / "extra.charter"
    extra.write_text("charter extra by platform\nnorm no_shouting:\n    forbid assistant matches /!!!/\n")
    layered = charter.load(str(EXAMPLE), str(extra))
    assert layered.norms[-1] == "no_shouting"
    assert len(layered.norms) == 6


def test_load_a_stdlib_module():
    assert "no_email_leak" in charter.load("std.pii").norms


def test_loads_text():
    mini = charter.loads(POLICY, name="mini.charter")
    assert mini.norms == ["no_bye"]
    assert charter.loads(EXAMPLE.read_text()).norms == charter.load(str(EXAMPLE)).norms


def test_loads_uses_the_name_in_diagnostics():
    with pytest.raises(charter.PolicyError) as caught:
        charter.loads("norm a\n    permit\n", name="mine.charter")
    [diagnostic] = caught.value.diagnostics
    assert isinstance(diagnostic, charter.Diagnostic)
    assert diagnostic.code == "E102"
    assert diagnostic.severity is charter.Severity.ERROR and diagnostic.is_error
    assert diagnostic.span == charter.Span("mine.charter", 1, 7, 1, 7)
    assert str(diagnostic.span) == "mine.charter:1:7"
    assert diagnostic.hint
    assert str(caught.value) == "mine.charter:1:7: missing ':' at the end of this line"


def test_loads_default_name():
    with pytest.raises(charter.PolicyError) as caught:
        charter.loads("norm a\n    permit\n")
    assert caught.value.diagnostics[0].span.source == "<string>"


def test_load_a_missing_file():
    with pytest.raises(charter.PolicyError) as caught:
        charter.load("/nowhere/at/all.charter")
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code == "E001" and "/nowhere/at/all.charter" in diagnostic.message


def test_load_nothing():
    with pytest.raises(charter.PolicyError) as caught:
        charter.load()
    assert [d.code for d in caught.value.diagnostics] == ["E003"]


def test_policy_error_diagnostics_are_sorted_and_summarised():
    late = charter.Diagnostic("E213", "late", charter.Span.point("f.charter", 9, 2))
    early = charter.Diagnostic("E102", "early", charter.Span.point("f.charter", 2, 5), hint="do this")
    error = charter.PolicyError([late, early])
    assert error.diagnostics == [early, late]
    assert str(error) == "f.charter:2:5: early (and 1 more)"
    assert charter.PolicyError([early]).diagnostics == [early]
    assert str(charter.PolicyError([])) == "policy error"


def test_warnings_are_not_errors():
    warning = charter.Diagnostic("W001", "careful", charter.Span.point("f", 1, 1),
                                 severity=charter.Severity.WARNING)
    assert not warning.is_error


# --------------------------------------------------------------------------- checking


def test_check_a_dict(policy):
    report = policy.check(LEAK)
    assert isinstance(report, charter.TraceReport)
    assert report.status == "violated"
    assert report.trace_id == "leak"
    assert all(isinstance(v, charter.Verdict) for v in report.verdicts)
    [violated] = [v for v in report.verdicts if v.kind == "violated"]
    assert (violated.norm, violated.turn, violated.severity, violated.authority) == \
        ("no_email_leak", 1, "high", "platform")
    assert isinstance(violated.explanation, charter.Explanation)
    assert [m.text for m in violated.explanation.matches] == ["bob@example.com"]


def test_check_a_trace_object(policy):
    trace = charter.Trace(
        id="built",
        messages=(
            charter.Message(0, "user", "you can be casual", labels={"self_harm": 0.0}),
            charter.Message(1, "assistant", "gonna do it", tool_calls=(charter.ToolCall("lookup", {"q": 1}),)),
        ),
        meta={"order": {"age_days": 3}},
    )
    report = policy.check(trace)
    assert report.trace_id == "built"
    assert report.status == "complied"
    [overridden] = [v for v in report.verdicts if v.kind == "overridden"]
    assert (overridden.norm, overridden.overridden_by) == ("formal_tone", "casual_when_asked")


def test_a_dict_and_the_same_trace_object_give_the_same_report(policy):
    trace = charter.Trace(
        id="leak",
        messages=tuple(charter.Message(i, m["role"], m["content"], labels=m.get("labels", {}))
                       for i, m in enumerate(LEAK["messages"])),
    )
    assert policy.check(trace).to_json() == policy.check(LEAK).to_json()


def test_trace_without_id(policy):
    assert policy.check({"messages": []}).trace_id == "trace"
    assert policy.check({"messages": []}).status == "complied"


def test_report_to_json(policy):
    data = policy.check(LEAK).to_json()
    assert set(data) == {"id", "status", "verdicts"}  # no "source" for a trace given as a dict
    assert data["id"] == "leak" and data["status"] == "violated"
    assert all(v["verdict"] != "not_applicable" for v in data["verdicts"])
    everything = policy.check(LEAK).to_json(include_not_applicable=True)
    assert len(everything["verdicts"]) == len(policy.check(LEAK).verdicts)
    assert any(v["verdict"] == "not_applicable" for v in everything["verdicts"])
    assert json.loads(json.dumps(data)) == data
    assert set(data["verdicts"][0]) == {
        "norm", "turn", "verdict", "authority", "severity", "reason", "gap", "escalate_to",
        "unknown", "overridden_by", "call", "explanation",
    }


def test_unknown_facts_are_reported(policy):
    report = policy.check({"messages": [{"role": "user", "content": "hi"}]})
    [verdict] = report.verdicts
    assert (verdict.norm, verdict.kind, verdict.reason) == ("crisis_referral", "unspecified", "uncertain")
    assert verdict.unknown == ("messages[0].labels.self_harm",)


def test_check_many(policy):
    reports = policy.check_many(iter([LEAK, FINE, charter.Trace("empty")]))
    assert not isinstance(reports, list)  # an iterator: a large corpus is not held in memory
    assert [(r.trace_id, r.status) for r in reports] == [
        ("leak", "violated"), ("fine", "complied"), ("empty", "complied")]


def test_check_many_is_lazy(policy):
    def traces():
        yield FINE
        raise RuntimeError("not reached")

    reports = policy.check_many(traces())
    assert next(reports).trace_id == "fine"


def test_checking_is_deterministic(policy):
    first = [policy.check(t).to_json(True) for t in (LEAK, FINE)]
    again = [charter.load(str(EXAMPLE)).check(t).to_json(True) for t in (LEAK, FINE)]
    assert first == again


@pytest.mark.parametrize("bad", [
    {},
    {"messages": "hello"},
    {"messages": [1]},
    {"messages": [{"content": "no role"}]},
    {"messages": [{"role": "robot", "content": "x"}]},
    {"messages": [{"role": "user", "content": 5}]},
    {"messages": [{"role": "user", "content": "x", "labels": {"s": 2}}]},
    {"messages": [{"role": "user", "content": "x", "labels": []}]},
    {"messages": [{"role": "assistant", "content": "x", "tool_calls": [{"arguments": {}}]}]},
    {"messages": [{"role": "assistant", "content": "x", "tool_calls": [{"name": "f", "arguments": "{"}]}]},
    {"messages": [], "id": 7},
    {"messages": [], "meta": []},
    [],
    "a trace",
    None,
    42,
])
def test_check_a_malformed_dict_raises_value_error(policy, bad):
    with pytest.raises(ValueError) as caught:
        policy.check(bad)
    assert type(caught.value) not in (KeyError, TypeError, AttributeError)
    assert str(caught.value)


# --------------------------------------------------------------------------- inline tests


def test_run_tests(policy):
    results = policy.run_tests()
    assert [r.passed for r in results] == [True, True]
    assert all(isinstance(r, charter.TestResult) for r in results)
    assert results[0].name == "a refund after 45 days is escalated, not decided"


def test_run_tests_reports_failures():
    failing = charter.loads(POLICY.replace("expect no_bye violated", "expect no_bye complied"))
    [result] = failing.run_tests()
    assert not result.passed
    [expectation] = result.expectations
    assert (expectation.expected, expectation.got) == ("complied", "violated")


def test_content_hash_follows_content_not_names_or_line_endings(tmp_path):
    text = (Path("examples/acme_support.charter")).read_text()
    (tmp_path / "a.charter").write_text(text)
    (tmp_path / "b.charter").write_bytes(text.replace("\n", "\r\n").encode())
    first, second = charter.load(str(tmp_path / "a.charter")), charter.load(str(tmp_path / "b.charter"))
    assert first.content_hash == second.content_hash
    assert first.content_hash.startswith("sha256:") and len(first.content_hash) == 71
    (tmp_path / "c.charter").write_text(text.replace("30", "31", 1))
    assert charter.load(str(tmp_path / "c.charter")).content_hash != first.content_hash
