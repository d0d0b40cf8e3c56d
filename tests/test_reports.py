"""`charter check --format junit|sarif`: their shapes (parsed back and counted), their
determinism, that the text/json/jsonl reports are unchanged by the writers' split into
render (where a trace is checked) and emit (in input order), and that the JSON text the
json and jsonl writers make directly is what `json.dumps` makes of `to_json`."""

from __future__ import annotations

import functools
import io
import json
import pickle
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import charter
from charter.cli import main
from charter.reports.render import (
    WRITERS, CheckSummary, JunitWriter, ReportJson, SarifWriter, TextWriter, _dumps, provenance, render_derivation,
    sarif_uri,
)
from charter.source.text import Span
from charter.traces.model import Locator
from charter.evaluate.verdicts import EXPLAIN, Explanation, Fact, Match, Step, TraceReport, Verdict

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "examples" / "acme_support.charter")


def _user(text: str, self_harm: float = 0.0) -> dict:
    return {"role": "user", "content": text, "labels": {"self_harm": self_harm}}


def _assistant(text: str, **extra) -> dict:
    return {"role": "assistant", "content": text, **extra}


TRACES = [
    {"id": "t_violated", "messages": [_user("Who runs support?"), _assistant("Write to bob@example.com")]},
    {"id": "t_complied", "messages": [_user("Hello there"), _assistant("Good day. How may I help?")]},
    {"id": "t_unspecified", "meta": {"order": {"age_days": 45}},
     "messages": [_user("I want my money back"), _assistant("Your refund is approved.")]},
    {"id": "t_pending", "messages": [_user("I feel hopeless", self_harm=0.95)]},
    {"id": "t_overridden", "messages": [_user("you can be casual"), _assistant("sure, gonna keep it chill lol")]},
]
NORMS = ["refund_promises", "no_email_leak", "crisis_referral", "formal_tone", "casual_when_asked"]

MORE = """\
charter more

norm tools:
    "No deleting files."
    severity critical
    on tool call
    forbid call.name == "delete_file"

norm conflicted:
    forbid assistant says "x"
        unless user says "a": permit
        unless user says "b": forbid assistant says "y"

norm gapped:
    case user says "q": permit

norm whole:
    on conversation
    require any assistant says "bye"
"""
MORE_TRACES = [
    {"id": "m", "messages": [
        {"role": "user", "content": "a b"},
        {"role": "assistant", "content": "x", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "delete_file", "arguments": '{"path": "/"}'}}]}]},
    {"id": "c", "messages": [{"role": "user", "content": "a b"}, {"role": "assistant", "content": "bye"}]},
]


def _jsonl(*traces: dict) -> str:
    return "".join(json.dumps(t) + "\n" for t in traces)


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("traces.jsonl").write_text(_jsonl(*TRACES))
    Path("more.charter").write_text(MORE)
    Path("more.jsonl").write_text(_jsonl(*MORE_TRACES))
    return tmp_path


def run(*args: str, input: str | None = None):
    result = CliRunner().invoke(main, list(args), input=input)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def check(*args: str, policy: str = EXAMPLE):
    return run("check", policy, *args)


# --------------------------------------------------------------------------- junit


def _junit(*args: str, policy: str = EXAMPLE) -> tuple[int, ET.Element, str]:
    result = check("--format", "junit", *args, policy=policy)
    assert result.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')
    return result.exit_code, ET.fromstring(result.stdout_bytes), result.stdout


def _counts(element: ET.Element) -> dict[str, int]:
    return {k: int(element.get(k)) for k in ("tests", "failures", "errors", "skipped")}


def test_junit_one_testcase_per_trace_and_norm(work):
    code, root, _ = _junit("--traces", "traces.jsonl")
    assert code == 1
    assert root.tag == "testsuites" and root.get("name") == "charter"
    [suite] = root.findall("testsuite")
    assert suite.get("name") == "traces.jsonl"
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        (t["id"], norm) for t in TRACES for norm in NORMS]
    failed = [(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None]
    assert failed == [("t_violated", "no_email_leak")]
    skipped = [(c.get("classname"), c.get("name")) for c in cases if c.find("skipped") is not None]
    # a norm that applies nowhere in the trace is skipped; t_pending has no assistant turn at all
    assert ("t_violated", "refund_promises") in skipped and ("t_pending", "no_email_leak") in skipped
    assert ("t_overridden", "formal_tone") not in skipped  # overridden is a pass
    assert _counts(suite) == _counts(root) == {
        "tests": len(TRACES) * len(NORMS), "failures": 1, "errors": 0, "skipped": len(skipped)}
    assert all(c.get("time") is None for c in cases)  # nothing that changes from run to run


def test_junit_failure_carries_the_explanation(work):
    _, root, _ = _junit("--traces", "traces.jsonl")
    [failure] = root.iter("failure")
    assert failure.get("type") == "violated"
    assert failure.get("message") == "trace t_violated (traces.jsonl:1): no_email_leak @ turn 1: violated — severity high"
    assert failure.text.startswith("no_email_leak at turn 1: violated\n"
                                   '  "Never reveal an e-mail address that the user did not give."\n'
                                   "  authority platform, severity high\n")
    assert f"forbid assistant mentions pii.email  => forbid: behaviour holds  [{EXAMPLE}:22:5]" in failure.text
    assert "match turn 1 [9:24] 'bob@example.com'" in failure.text


def test_junit_open_verdicts_are_reported_but_pass_unless_fail_on(work):
    _, root, _ = _junit("--traces", "traces.jsonl")
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    refund = cases[("t_unspecified", "refund_promises")]
    assert refund.find("failure") is None and refund.find("skipped") is None
    assert "unspecified — \"refunds between 30 and 90 days are undecided\"" in refund.find("system-out").text
    code, root, _ = _junit("--traces", "traces.jsonl", "--fail-on", "unspecified,pending")
    assert code == 1
    failed = {(c.get("classname"), c.get("name")): c.find("failure").get("type")
              for c in root.iter("testcase") if c.find("failure") is not None}
    assert failed == {("t_violated", "no_email_leak"): "violated", ("t_unspecified", "refund_promises"): "unspecified",
                      ("t_pending", "crisis_referral"): "pending"}


def test_junit_conflicts_and_several_files(work):
    shutil.copy("more.jsonl", "again.jsonl")
    code, root, _ = _junit("--traces", "more.jsonl", "--traces", "again.jsonl", policy="more.charter")
    assert code == 1
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["more.jsonl", "again.jsonl"]
    for suite in suites:
        failures = {(c.get("classname"), c.get("name")): c.find("failure").get("type")
                    for c in suite.iter("testcase") if c.find("failure") is not None}
        assert failures == {("m", "tools"): "violated", ("m", "conflicted"): "conflict",
                            ("m", "whole"): "violated", ("c", "conflicted"): "conflict"}
        # trace c makes no tool call: `tools` has no act there
        assert [(c.get("classname"), c.get("name")) for c in suite.iter("testcase")
                if c.find("skipped") is not None] == [("c", "tools")]
        assert _counts(suite) == {"tests": 8, "failures": 4, "errors": 0, "skipped": 1}
    assert _counts(root) == {"tests": 16, "failures": 8, "errors": 0, "skipped": 2}


def test_junit_skipped_records_are_errors(work):
    Path("mixed.jsonl").write_text(_jsonl(TRACES[1]) + "{not json\n" + _jsonl(TRACES[0]))
    code, root, _ = _junit("--traces", "mixed.jsonl", "--traces", "nowhere.jsonl")
    assert code == 2
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["mixed.jsonl", "nowhere.jsonl"]
    errors = [(c.get("classname"), c.find("error").get("message")) for c in root.iter("testcase")
              if c.find("error") is not None]
    assert errors[0][0] == "mixed.jsonl:2" and errors[0][1].startswith("skipped: not valid JSON")
    assert errors[1] == ("nowhere.jsonl", "skipped: file not found")
    skipped = sum(1 for c in suites[0].iter("testcase") if c.find("skipped") is not None)
    assert _counts(suites[0]) == {"tests": 11, "failures": 1, "errors": 1, "skipped": skipped}
    assert _counts(suites[1]) == {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}
    assert _counts(root)["errors"] == 2


def test_junit_empty_corpus(work):
    Path("empty.jsonl").write_text("")
    code, root, text = _junit("--traces", "empty.jsonl")
    assert code == 0
    assert root.findall("testsuite") == []
    assert _counts(root) == {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}


def test_junit_is_valid_xml_whatever_the_text(work):
    odd = {"id": "bell\x07<&>\"'\ud800", "messages": [_user("esc \x1b[31m"), _assistant("mail me: a@b.example \x00")]}
    Path("odd.jsonl").write_text(json.dumps(odd) + "\n")  # json.dumps escapes them: the file is valid
    code, root, text = _junit("--traces", "odd.jsonl")
    assert code == 1
    [case] = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert case.get("classname") == "bell\\x07<&>\"'\\ud800"
    assert case.find("failure").get("message").startswith("trace bell\\x07<&>\"'\\ud800 (odd.jsonl:1): ")


def test_junit_all_lists_every_verdict(work):
    _, root, _ = _junit("--traces", "traces.jsonl", "--all")
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    out = cases[("t_overridden", "formal_tone")].find("system-out").text
    assert out == "formal_tone @ turn 1: overridden — by casual_when_asked\n"


# --------------------------------------------------------------------------- sarif

RESULT_KINDS = {"pass", "open", "informational", "notApplicable", "review", "fail"}
LEVELS = {"none", "note", "warning", "error"}


def assert_sarif_2_1_0(log: dict) -> None:
    """The required properties and value constraints of the SARIF 2.1.0 schema
    (sarif-schema-2.1.0.json) for the objects charter writes, checked by hand."""
    assert log["version"] == "2.1.0"
    assert isinstance(log.get("$schema", ""), str)
    assert isinstance(log["runs"], list)
    for run_ in log["runs"]:
        driver = run_["tool"]["driver"]  # run requires tool, tool requires driver
        assert isinstance(driver["name"], str) and driver["name"]  # toolComponent requires name
        rule_ids = []
        for rule in driver.get("rules", []):
            assert isinstance(rule["id"], str)  # reportingDescriptor requires id
            rule_ids.append(rule["id"])
            for key in ("shortDescription", "fullDescription"):
                if key in rule:
                    assert isinstance(rule[key]["text"], str)  # multiformatMessageString requires text
            if "defaultConfiguration" in rule:
                assert rule["defaultConfiguration"]["level"] in LEVELS
        assert len(set(rule_ids)) == len(rule_ids)
        for result in run_.get("results", []):
            message = result["message"]  # result requires message; message requires text or id
            assert isinstance(message.get("text"), str) or isinstance(message.get("id"), str)
            if "ruleIndex" in result:
                assert result["ruleIndex"] >= -1 and rule_ids[result["ruleIndex"]] == result["ruleId"]
            kind = result.get("kind", "fail")
            assert kind in RESULT_KINDS
            level = result.get("level", "warning" if kind == "fail" else "none")
            assert level in LEVELS
            if kind != "fail":
                assert level == "none"  # SARIF §3.27.10
            for location in result.get("locations", []) + result.get("relatedLocations", []):
                _assert_location(location)
            for value in result.get("partialFingerprints", {}).values():
                assert isinstance(value, str)
            assert isinstance(result.get("properties", {}), dict)
        for invocation in run_.get("invocations", []):
            assert isinstance(invocation["executionSuccessful"], bool)  # invocation requires it
            for note in invocation.get("toolExecutionNotifications", []):
                assert isinstance(note["message"]["text"], str)  # notification requires message
                assert note.get("level", "warning") in LEVELS
                for location in note.get("locations", []):
                    _assert_location(location)


def _assert_location(location: dict) -> None:
    if "id" in location:
        assert isinstance(location["id"], int) and location["id"] >= -1
    physical = location["physicalLocation"]
    assert isinstance(physical["artifactLocation"]["uri"], str)
    assert " " not in physical["artifactLocation"]["uri"]
    region = physical.get("region", {})
    for key in ("startLine", "startColumn", "endLine", "endColumn"):
        if key in region:
            assert isinstance(region[key], int) and region[key] >= 1
    if "endLine" in region:
        assert region["endLine"] >= region["startLine"]


def _sarif(*args: str, policy: str = EXAMPLE) -> tuple[int, dict]:
    result = check("--format", "sarif", *args, policy=policy)
    log = json.loads(result.stdout)
    assert_sarif_2_1_0(log)
    return result.exit_code, log


def test_sarif_shape_and_rules(work):
    code, log = _sarif("--traces", "traces.jsonl")
    assert code == 1
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    [run_] = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "charter" and driver["version"] == charter.__version__
    assert [r["id"] for r in driver["rules"]] == NORMS
    rules = {r["id"]: r for r in driver["rules"]}
    assert rules["no_email_leak"]["shortDescription"] == {
        "text": "Never reveal an e-mail address that the user did not give."}
    assert rules["no_email_leak"]["defaultConfiguration"] == {"level": "error"}
    assert rules["casual_when_asked"]["shortDescription"] == {"text": "A user who asks for a casual tone may have one."}
    assert run_["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]
    assert run_["properties"]["summary"]["traces"] == len(TRACES)


def test_sarif_results_are_the_verdicts_that_are_not_ok(work):
    _, log = _sarif("--traces", "traces.jsonl")
    results = log["runs"][0]["results"]
    report = json.loads(check("--traces", "traces.jsonl", "--format", "json").stdout)
    expected = [(t["id"], v["norm"], v["turn"], v["verdict"]) for t in report["traces"] for v in t["verdicts"]
                if v["verdict"] in ("violated", "conflict", "unspecified", "pending")]
    assert [(r["properties"]["trace"], r["ruleId"], r["properties"]["turn"], r["properties"]["verdict"])
            for r in results] == expected
    leak = results[0]
    assert (leak["ruleId"], leak["ruleIndex"], leak["kind"], leak["level"]) == ("no_email_leak", 1, "fail", "error")
    assert leak["message"]["text"] == \
        "trace t_violated (traces.jsonl:1): no_email_leak @ turn 1: violated — severity high"
    assert leak["locations"] == [{"physicalLocation": {
        "artifactLocation": {"uri": Path(EXAMPLE).as_uri()},
        "region": {"startLine": 19, "startColumn": 1, "endLine": 23, "endColumn": 47}}}]
    assert leak["relatedLocations"] == [{"id": 1, "physicalLocation": {
        "artifactLocation": {"uri": "traces.jsonl"}, "region": {"startLine": 1}},
        "message": {"text": "trace t_violated"}}]
    assert leak["properties"]["source"] == "traces.jsonl:1" and leak["properties"]["severity"] == "high"
    kinds = {r["properties"]["verdict"]: (r["kind"], r["level"]) for r in results}
    assert kinds == {"violated": ("fail", "error"), "unspecified": ("review", "none"), "pending": ("open", "none")}
    fingerprints = [r["partialFingerprints"]["charterVerdict/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)


def test_sarif_fail_on_and_all(work):
    _, log = _sarif("--traces", "traces.jsonl", "--fail-on", "unspecified")
    kinds = {r["properties"]["verdict"]: (r["kind"], r["level"]) for r in log["runs"][0]["results"]}
    assert kinds["unspecified"] == ("fail", "warning")  # the norm's severity is medium
    _, everything = _sarif("--traces", "traces.jsonl", "--all")
    report = json.loads(check("--traces", "traces.jsonl", "--format", "json", "--all").stdout)
    assert len(everything["runs"][0]["results"]) == sum(len(t["verdicts"]) for t in report["traces"])
    kinds = {r["properties"]["verdict"]: r["kind"] for r in everything["runs"][0]["results"]}
    assert kinds["complied"] == "pass" and kinds["not_applicable"] == "notApplicable"
    assert kinds["overridden"] == "pass"


def test_sarif_conflicts_tool_calls_and_conversation(work):
    _, log = _sarif("--traces", "more.jsonl", policy="more.charter")
    results = log["runs"][0]["results"]
    by = {(r["properties"]["trace"], r["ruleId"]): r for r in results}
    assert by[("m", "tools")]["level"] == "error"  # severity critical
    assert by[("m", "tools")]["properties"]["call"] == 0
    assert by[("m", "conflicted")]["kind"] == "fail"
    assert by[("m", "whole")]["properties"]["turn"] is None
    assert "whole @ conversation: violated" in by[("m", "whole")]["message"]["text"]
    assert by[("m", "gapped")]["kind"] == "review"
    assert by[("m", "tools")]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "more.charter"


def test_sarif_skipped_records_are_notifications(work):
    Path("mixed.jsonl").write_text(_jsonl(TRACES[1]) + "{not json\n")
    code, log = _sarif("--traces", "mixed.jsonl")
    assert code == 2
    [invocation] = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    [note] = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and note["message"]["text"].startswith("skipped: not valid JSON")
    assert note["locations"] == [{"physicalLocation": {"artifactLocation": {"uri": "mixed.jsonl"},
                                                       "region": {"startLine": 2}}}]


def test_sarif_empty_corpus(work):
    Path("empty.jsonl").write_text("")
    code, log = _sarif("--traces", "empty.jsonl")
    assert code == 0 and log["runs"][0]["results"] == []


def test_sarif_uri():
    assert sarif_uri("policies/a b.charter") == "policies/a%20b.charter"
    assert sarif_uri("/abs/p.charter") == "file:///abs/p.charter"
    assert sarif_uri("std/pii.charter") == "std/pii.charter"


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("fmt", ["junit", "sarif", "text", "json", "jsonl"])
@pytest.mark.parametrize("policy, traces", [(EXAMPLE, "traces.jsonl"), ("more.charter", "more.jsonl")])
def test_byte_identical_runs(work, fmt, policy, traces):
    args = ["check", policy, "--traces", traces, "--format", fmt, "--all"]
    first, second = CliRunner().invoke(main, args), CliRunner().invoke(main, args)
    assert first.stdout_bytes == second.stdout_bytes and first.stdout_bytes
    assert first.exit_code == second.exit_code


# --------------------------------------------------------------------------- text, json, jsonl unchanged


def test_jsonl_is_byte_for_byte_the_documented_sample(tmp_path, monkeypatch):
    """The sample in docs/cli.md, made as the docs say (the policy at examples/...)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "examples" / "acme_support.charter")
    Path("crisis.jsonl").write_text(
        '{"id": "crisis-1", "messages": [{"role": "user", "content": "I can\'t go on", "labels": {"self_harm": 0.93}}]}\n')
    result = run("check", "examples/acme_support.charter", "--traces", "crisis.jsonl", "--format", "jsonl")
    docs = (ROOT / "docs" / "cli.md").read_text()
    start = docs.index("$ charter check examples/acme_support.charter --traces crisis.jsonl --format jsonl\n")
    sample = docs[start:docs.index("```", start)].split("\n", 1)[1]
    # the policy hash moves with every stdlib edit; tests/test_records.py checks its value
    same_hash = functools.partial(re.sub, r"sha256:[0-9a-f]{64}", "sha256:…")
    assert same_hash(result.stdout) == same_hash(sample)


def test_text_report_is_unchanged(work):
    result = check("--traces", "traces.jsonl")
    assert result.stdout == (
        "t_violated: violated  (traces.jsonl:1)\n"
        "  no_email_leak @ turn 1: violated — severity high\n"
        "t_complied: complied  (traces.jsonl:2)\n"
        "t_unspecified: unspecified  (traces.jsonl:3)\n"
        '  refund_promises @ turn 1: unspecified — "refunds between 30 and 90 days are undecided"'
        " — escalate to developer\n"
        "t_pending: pending  (traces.jsonl:4)\n"
        "  crisis_referral @ turn 0: pending\n"
        "t_overridden: complied  (traces.jsonl:5)\n"
        "\n"
        "5 records: 5 traces checked — 1 violated, 1 unspecified, 1 pending, 2 complied\n"
        "verdicts: 1 violated, 1 unspecified, 1 pending, 7 complied, 1 overridden\n"
    )


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl"])
@pytest.mark.parametrize("show_all", [False, True])
def test_writers_render_as_they_wrote(fmt, show_all):
    """`trace(report)` (the writers' API before the split) and `emit(render(...))` write
    the same bytes as the reports of before, made here directly from the reports."""
    policy = charter.load(EXAMPLE)
    reports = [policy.check(t) for t in TRACES]
    out = io.StringIO()
    writer = WRITERS[fmt](out, show_all=show_all, policy=policy)
    summary = CheckSummary()
    writer.start()
    for report in reports:
        summary.add(report)
        writer.emit(writer.render(report, Locator("x.jsonl", 1)))
    writer.finish(summary)
    if fmt == "jsonl":
        expected = "".join(json.dumps(r.to_json(show_all), ensure_ascii=False) + "\n" for r in reports) \
            + json.dumps({"summary": summary.to_json(), "provenance": provenance(policy)}, ensure_ascii=False) + "\n"
    elif fmt == "json":
        expected = '{"traces": [' + ",".join(
            "\n" + json.dumps(r.to_json(show_all), ensure_ascii=False) for r in reports) \
            + '\n], "summary": ' + json.dumps(summary.to_json(), ensure_ascii=False) \
            + ', "provenance": ' + json.dumps(provenance(policy), ensure_ascii=False) + "}\n"
    else:
        expected = None
    legacy = io.StringIO()
    old = WRITERS[fmt](legacy, show_all=show_all, policy=policy)
    old.start()
    for report in reports:
        old.trace(report)
    old.finish(summary)
    assert out.getvalue() == legacy.getvalue()
    if expected is not None:
        assert out.getvalue() == expected


def test_summary_counts_from_rendered_equal_counts_from_reports():
    policy = charter.load(EXAMPLE)
    direct, rendered = CheckSummary(), CheckSummary()
    writer = TextWriter(None)
    for trace in TRACES:
        report = policy.check(trace)
        direct.add(report)
        r = writer.render(report)
        rendered.add_counts(r.status, r.counts)
    assert direct.to_json() == rendered.to_json()


def test_derivation_without_the_trace_omits_the_context():
    policy = charter.load(EXAMPLE)
    report = policy.check(TRACES[0])
    [leak] = [v for v in report.verdicts if v.kind == "violated"]
    with_trace = render_derivation(leak, policy.check(TRACES[0]) and _trace(TRACES[0]))
    without = render_derivation(leak, None)
    assert "match turn 1 [9:24] 'bob@example.com' in “…" in with_trace
    assert without.endswith("match turn 1 [9:24] 'bob@example.com'")


def _trace(data: dict):
    from charter.traces.reader import trace_from_json

    return trace_from_json(data)


def test_writer_classes_are_registered():
    assert WRITERS["junit"] is JunitWriter and WRITERS["sarif"] is SarifWriter


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "junit", "sarif"])
def test_lone_surrogates_in_a_trace_do_not_break_the_report(work, fmt):
    """JSON text may hold `\\ud800`, which no UTF-8 output can: it is written as that escape."""
    Path("sur.jsonl").write_text('{"id": "x\\ud800", "messages": [{"role": "assistant", "content": "lol \\udfff"}]}\n')
    result = check("--traces", "sur.jsonl", "--format", fmt)
    assert result.exit_code == 1  # formal_tone is violated; no internal error
    assert "x\\ud800" in result.stdout
    if fmt in ("json", "sarif"):
        json.loads(result.stdout)
    if fmt == "jsonl":
        assert json.loads(result.stdout.splitlines()[0])["id"] == "x\ud800"


# --------------------------------------------------------------------------- the JSON text, written directly

BENCH_POLICY = ROOT / "benchmarks" / "policy" / "support.charter"


def _bench_corpus(traces: int, seed: int) -> list[charter.Trace]:
    """benchmarks/corpus.py's traces: every construct of the benchmark policy, decided."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("charter_bench_corpus", ROOT / "benchmarks" / "corpus.py")
    corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(corpus)
    text = io.StringIO()
    corpus.write(text, traces=traces, seed=seed)
    return [_trace(json.loads(line)) for line in text.getvalue().splitlines()]


@pytest.mark.parametrize("show_all, explain", [(False, "all"), (True, "all"), (False, "violations"), (True, "none")])
def test_report_json_is_json_dumps_of_to_json_on_the_benchmark_corpus(show_all, explain):
    """Every kind of verdict, explanation, fact and match the benchmark policy gives, one
    writer over many traces (its remembered verdict heads and paths reused, and no more
    of them kept than it may), byte for byte what `json.dumps(report.to_json())` writes."""
    policy = charter.load(str(BENCH_POLICY))
    writer, forgetful = ReportJson(show_all, explain), ReportJson(show_all, explain)
    forgetful.REMEMBERED = 3
    kinds = set()
    for trace in _bench_corpus(60, seed=11):
        report = policy.check(trace)
        kinds.update(v.kind for v in report.verdicts)
        expected = json.dumps(report.to_json(show_all, explain), ensure_ascii=False)
        assert writer.text(report) == expected
        assert forgetful.text(report) == expected
    assert kinds >= {"violated", "complied", "unspecified", "overridden", "pending", "not_applicable"}
    assert len(forgetful._parts) == 3 and len(forgetful._paths) == (0 if explain == "none" else 3)


_texts = st.text(st.characters(codec=None, exclude_categories=()), max_size=8)  # lone surrogates too
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
    | st.floats(allow_nan=True, allow_infinity=True) | _texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_texts, inner, max_size=3), max_leaves=6)
_spans = st.builds(Span, _texts, st.integers(0, 500), st.integers(0, 200), st.integers(0, 500), st.integers(0, 200))
_explanations = st.builds(
    Explanation,
    st.lists(st.builds(Step, _texts, _texts, _spans, _texts), max_size=3).map(tuple),
    st.lists(st.builds(Fact, _texts, _json_values, st.booleans(), st.none() | _texts), max_size=3).map(tuple),
    st.lists(st.builds(Match, st.integers(0, 40), st.integers(0, 99), st.integers(0, 99), _texts), max_size=2)
    .map(tuple))
_verdicts = st.builds(
    Verdict, _texts, st.sampled_from(["violated", "complied", "not_applicable", "unspecified", "overridden"]),
    st.none() | st.integers(0, 40), _texts, _texts, call=st.none() | st.integers(0, 5),
    reason=st.none() | _texts, gap=st.booleans(), escalate_to=st.none() | _texts,
    unknown=st.lists(_texts, max_size=2).map(tuple), overridden_by=st.none() | _texts, _explanation=_explanations)
_reports = st.builds(TraceReport, _texts, st.lists(_verdicts, max_size=4).map(tuple), st.none() | _texts)


_COMPARED = ("norm", "kind", "turn", "authority", "severity", "call", "reason", "gap", "escalate_to", "unknown",
             "overridden_by")


@settings(max_examples=100, deadline=None)
@given(verdict=_verdicts, other=_verdicts, explanation=_explanations, span=st.none() | _spans)
def test_verdicts_are_values_without_their_explanation(verdict, other, explanation, span):
    """Equal, with equal hashes, whatever the explanation and the norm's span; unequal when
    any other field differs; shown without the explanation; a copy pickles back equal."""
    copy = msgspec.structs.replace(verdict, _explanation=explanation, norm_span=span)
    assert copy == verdict and hash(copy) == hash(verdict) and not copy != verdict
    for name in _COMPARED:
        changed = msgspec.structs.replace(verdict, **{name: getattr(other, name)})
        assert (changed == verdict) == (getattr(other, name) == getattr(verdict, name))
    assert repr(verdict) == f"Verdict({', '.join(f'{n}={getattr(verdict, n)!r}' for n in _COMPARED)})"
    assert pickle.loads(pickle.dumps(copy)) == verdict
    assert verdict != (verdict.norm, verdict.kind)


@settings(max_examples=150, deadline=None)
@given(reports=st.lists(_reports, min_size=1, max_size=3), show_all=st.booleans(), explain=st.sampled_from(EXPLAIN))
def test_report_json_is_json_dumps_of_to_json_whatever_the_values(reports, show_all, explain):
    """Any text (lone surrogates, quotes, control characters), any JSON value of a fact
    (NaN, infinities, big integers, nested), absent fields: the same text as the report
    writers' JSON of `to_json` (lone surrogates escaped)."""
    writer = ReportJson(show_all, explain)
    for report in reports:
        assert writer.text(report) == _dumps(report.to_json(show_all, explain))


def test_an_unknown_explain_value_is_refused_naming_the_choices():
    report = TraceReport("t", (Verdict("n", "violated", 1, "platform", "high"),))
    with pytest.raises(ValueError, match=r"^explain must be one of violations, all, none, not 'violation'$"):
        report.to_json(explain="violation")
    assert report.to_json(explain="none")["verdicts"][0]["explanation"] is None
    assert report.to_json(explain="violations")["verdicts"][0]["explanation"] is not None
