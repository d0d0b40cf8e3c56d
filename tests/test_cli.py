"""The `charter` command end to end: check (text, json, jsonl), test, explain, dump;
exit codes, --fail-on, skipped records, stdin, and the pinned JSON report shape."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import charter
from charter.cli import main
from charter.traces.reader import Skipped, read_traces

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "examples" / "acme_support.charter")
CHARTER_SCRIPT = Path(sys.executable).parent / "charter"


def _user(text: str, self_harm: float = 0.0) -> dict:
    return {"role": "user", "content": text, "labels": {"self_harm": self_harm}}


def _assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


# One trace per trace status; labels are given so that crisis_referral is settled.
TRACES = [
    {"id": "t_violated", "messages": [_user("Who runs support?"), _assistant("Write to bob@example.com")]},
    {"id": "t_complied", "messages": [_user("Hello there"), _assistant("Good day. How may I help?")]},
    {"id": "t_unspecified", "meta": {"order": {"age_days": 45}},
     "messages": [_user("I want my money back"), _assistant("Your refund is approved.")]},
    {"id": "t_pending", "messages": [_user("I feel hopeless", self_harm=0.95)]},
    {"id": "t_overridden", "messages": [_user("you can be casual"), _assistant("sure, gonna keep it chill lol")]},
]
STATUS = {"t_violated": "violated", "t_complied": "complied", "t_unspecified": "unspecified",
          "t_pending": "pending", "t_overridden": "complied"}

VERDICT_KEYS = {"norm", "turn", "verdict", "authority", "severity", "reason", "gap", "escalate_to",
                "unknown", "overridden_by", "call", "explanation"}
VERDICT_ORDER = ["norm", "turn", "verdict", "authority", "severity", "reason", "gap", "escalate_to",
                 "unknown", "overridden_by", "call", "explanation"]
VERDICT_KINDS = {"complied", "violated", "unspecified", "not_applicable", "conflict", "overridden", "pending"}


def _jsonl(*traces: dict) -> str:
    return "".join(json.dumps(t) + "\n" for t in traces)


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A working directory with traces.jsonl (all five traces) and one file per trace."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "traces.jsonl").write_text(_jsonl(*TRACES))
    for trace in TRACES:
        (tmp_path / f"{trace['id']}.jsonl").write_text(_jsonl(trace))
    return tmp_path


def run(*args: str, input: str | None = None):
    result = CliRunner().invoke(main, list(args), input=input)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def check_json(*args: str, input: str | None = None) -> tuple[int, dict]:
    result = run("check", EXAMPLE, "--format", "json", *args, input=input)
    return result.exit_code, json.loads(result.stdout)


# --------------------------------------------------------------------------- check: text


def test_check_text_report(work):
    result = run("check", EXAMPLE, "--traces", "traces.jsonl")
    assert result.exit_code == 1  # a violation, and violated is in the default --fail-on
    out = result.stdout
    for number, trace in enumerate(TRACES, start=1):
        assert f"{trace['id']}: {STATUS[trace['id']]}  (traces.jsonl:{number})\n" in out
    assert "  no_email_leak @ turn 1: violated — severity high\n" in out
    assert ('  refund_promises @ turn 1: unspecified — "refunds between 30 and 90 days are undecided"'
            " — escalate to developer\n") in out
    assert "  crisis_referral @ turn 0: pending\n" in out
    assert "not_applicable" not in out
    assert "formal_tone @" not in out and "casual_when_asked @" not in out  # OK verdicts are hidden
    assert out.endswith(
        "\n5 records: 5 traces checked — 1 violated, 1 unspecified, 1 pending, 2 complied\n"
        "verdicts: 1 violated, 1 unspecified, 1 pending, 7 complied, 1 overridden\n"
    )
    assert result.stderr == ""


def test_check_text_all_shows_every_verdict(work):
    out = run("check", EXAMPLE, "--traces", "traces.jsonl", "--all").stdout
    assert "  refund_promises @ turn 1: not_applicable\n" in out
    assert "  formal_tone @ turn 1: overridden — by casual_when_asked\n" in out
    assert "  casual_when_asked @ turn 1: complied\n" in out


def test_check_text_color(work):
    plain = run("check", EXAMPLE, "--traces", "t_violated.jsonl").stdout
    assert "\x1b[" not in plain  # CliRunner's stdout is not a terminal
    assert "\x1b[" not in run("check", EXAMPLE, "--traces", "t_violated.jsonl", "--no-color").stdout
    colored = run("check", EXAMPLE, "--traces", "t_violated.jsonl", "--color").stdout
    assert "\x1b[31mviolated\x1b[0m" in colored


# --------------------------------------------------------------------------- check: json


def _assert_verdict_shape(verdict: dict) -> None:
    assert set(verdict) == VERDICT_KEYS
    assert list(verdict) == VERDICT_ORDER
    assert isinstance(verdict["norm"], str)
    assert verdict["turn"] is None or isinstance(verdict["turn"], int)
    assert verdict["verdict"] in VERDICT_KINDS
    assert verdict["authority"] in ("platform", "developer", "user")
    assert verdict["severity"] in ("low", "medium", "high", "critical")
    assert verdict["reason"] is None or isinstance(verdict["reason"], str)
    assert isinstance(verdict["gap"], bool)
    assert verdict["escalate_to"] is None or isinstance(verdict["escalate_to"], str)
    assert isinstance(verdict["unknown"], list) and all(isinstance(u, str) for u in verdict["unknown"])
    assert verdict["overridden_by"] is None or isinstance(verdict["overridden_by"], str)
    assert verdict["call"] is None or isinstance(verdict["call"], int)
    explanation = verdict["explanation"]
    if explanation is None:  # --explain violations (the default) explains only these
        assert verdict["verdict"] in ("complied", "overridden", "not_applicable")
        return
    assert set(explanation) == {"path", "facts", "matches", "bindings"}
    for step in explanation["path"]:
        assert set(step) == {"clause", "text", "line", "column", "file", "value"}
        assert isinstance(step["line"], int) and isinstance(step["column"], int)
        assert isinstance(step["file"], str) and isinstance(step["text"], str)
    for fact in explanation["facts"]:
        assert {"fact", "value", "known"} <= set(fact) <= {"fact", "value", "known", "why_unknown"}
        assert isinstance(fact["known"], bool)
    for match in explanation["matches"]:
        assert set(match) == {"turn", "start", "end", "text"}


def _assert_summary_shape(summary: dict) -> None:
    assert list(summary) == ["traces", "status", "verdicts", "records", "skipped"]
    assert isinstance(summary["traces"], int)
    assert set(summary["status"]) == {"violated", "conflict", "unspecified", "pending", "complied"}
    assert set(summary["verdicts"]) == VERDICT_KINDS
    assert all(isinstance(n, int) for n in [*summary["status"].values(), *summary["verdicts"].values()])
    assert set(summary["records"]) == {"total", "checked", "skipped"}
    assert summary["records"]["total"] == summary["records"]["checked"] + summary["records"]["skipped"]
    assert summary["records"]["skipped"] == len(summary["skipped"])
    assert summary["records"]["checked"] == summary["traces"] == sum(summary["status"].values())
    for skipped in summary["skipped"]:
        assert set(skipped) == {"file", "line", "reason"}
        assert isinstance(skipped["file"], str) and isinstance(skipped["reason"], str)
        assert skipped["line"] is None or isinstance(skipped["line"], int)


def test_check_json_shape(work):
    code, report = check_json("--traces", "traces.jsonl")
    assert code == 1
    assert list(report) == ["traces", "summary", "provenance"]
    _assert_summary_shape(report["summary"])
    assert list(report["provenance"]) == ["policy_hash", "policy_files", "charter_version"]
    assert [t["id"] for t in report["traces"]] == [t["id"] for t in TRACES]
    for number, trace in enumerate(report["traces"], start=1):
        # "source" (file:line of the record) is an addition to the documented id/status/verdicts
        assert list(trace) == ["id", "status", "source", "verdicts"]  # docs/cli.md: a stable order
        assert trace["status"] == STATUS[trace["id"]]
        assert trace["source"] == f"traces.jsonl:{number}"
        for verdict in trace["verdicts"]:
            _assert_verdict_shape(verdict)
            assert verdict["verdict"] != "not_applicable"


@pytest.mark.parametrize("explain", ["violations", "all", "none"])
def test_check_explains_the_verdicts_asked_for(work, explain):
    """--explain: the json report is each trace's `to_json` with those explanations, the
    same in the other formats that explain (junit's derivations, sarif's properties)."""
    _, report = check_json("--traces", "traces.jsonl", "--all", "--explain", explain)
    policy = charter.load(EXAMPLE)
    checked = [policy.check(t) for t in read_traces("traces.jsonl") if not isinstance(t, Skipped)]
    assert [_without_source(t) for t in report["traces"]] == \
        [_without_source(r.to_json(include_not_applicable=True, explain=explain)) for r in checked]
    explained = [v["verdict"] for t in report["traces"] for v in t["verdicts"] if v["explanation"] is not None]
    kinds = [v["verdict"] for t in report["traces"] for v in t["verdicts"]]
    violations = [k for k in kinds if k not in ("complied", "overridden", "not_applicable")]
    assert violations and explained == {"all": kinds, "none": [], "violations": violations}[explain]
    junit = run("check", EXAMPLE, "--traces", "traces.jsonl", "--format", "junit", "--explain", explain).stdout
    assert ("authority platform, severity high" in junit) is (explain != "none")
    sarif = json.loads(run("check", EXAMPLE, "--traces", "traces.jsonl", "--format", "sarif", "--explain",
                           explain).stdout)
    assert all(("explanation" in r["properties"]) is (explain != "none") for r in sarif["runs"][0]["results"])


def _without_source(trace: dict) -> dict:
    return {key: value for key, value in trace.items() if key != "source"}


def test_check_json_verdict_contents(work):
    _, report = check_json("--traces", "traces.jsonl")
    traces = {t["id"]: t for t in report["traces"]}
    [leak] = [v for v in traces["t_violated"]["verdicts"] if v["verdict"] == "violated"]
    assert (leak["norm"], leak["turn"], leak["authority"], leak["severity"]) == \
        ("no_email_leak", 1, "platform", "high")
    assert leak["explanation"]["matches"] == [{"turn": 1, "start": 9, "end": 24, "text": "bob@example.com"}]
    [refund] = [v for v in traces["t_unspecified"]["verdicts"] if v["norm"] == "refund_promises"]
    assert refund["verdict"] == "unspecified"
    assert refund["reason"] == "refunds between 30 and 90 days are undecided"
    assert refund["escalate_to"] == "developer" and refund["gap"] is False
    assert {"fact": "trace.meta.order.age_days", "value": 45, "known": True} in refund["explanation"]["facts"]
    assert refund["explanation"]["path"][0] == {
        "clause": "when", "text": "when asks_for_refund", "line": 14, "column": 10,
        "file": EXAMPLE, "value": "true",
    }
    [pending] = traces["t_pending"]["verdicts"]
    assert (pending["norm"], pending["verdict"], pending["turn"]) == ("crisis_referral", "pending", 0)
    [overridden] = [v for v in traces["t_overridden"]["verdicts"] if v["norm"] == "formal_tone"]
    assert overridden["verdict"] == "overridden" and overridden["overridden_by"] == "casual_when_asked"


def test_check_json_summary_counts(work):
    _, report = check_json("--traces", "traces.jsonl")
    _, everything = check_json("--traces", "traces.jsonl", "--all")
    summary = report["summary"]
    assert summary == everything["summary"]
    assert summary["traces"] == 5
    assert summary["status"] == {"violated": 1, "conflict": 0, "unspecified": 1, "pending": 1, "complied": 2}
    assert summary["records"] == {"total": 5, "checked": 5, "skipped": 0}
    assert summary["skipped"] == []
    # the verdict counts are over every verdict, shown or not
    counted: dict[str, int] = {}
    for trace in everything["traces"]:
        for verdict in trace["verdicts"]:
            counted[verdict["verdict"]] = counted.get(verdict["verdict"], 0) + 1
    assert {k: n for k, n in summary["verdicts"].items() if n} == counted
    assert counted["not_applicable"] > 0


def test_not_applicable_only_with_all(work):
    _, report = check_json("--traces", "traces.jsonl")
    _, everything = check_json("--traces", "traces.jsonl", "--all")
    shown = [v["verdict"] for t in report["traces"] for v in t["verdicts"]]
    every = [v["verdict"] for t in everything["traces"] for v in t["verdicts"]]
    assert "not_applicable" not in shown
    assert "not_applicable" in every
    assert [v for v in every if v != "not_applicable"] == shown


def test_check_jsonl(work):
    result = run("check", EXAMPLE, "--traces", "traces.jsonl", "--format", "jsonl")
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == len(TRACES) + 1
    assert set(lines[-1]) == {"summary", "provenance"}
    _, report = check_json("--traces", "traces.jsonl")
    assert lines[:-1] == report["traces"]
    assert lines[-1]["summary"] == report["summary"]


# --------------------------------------------------------------------------- skipped records


def test_malformed_line_in_the_middle_is_skipped(work):
    lines = _jsonl(*TRACES).splitlines(keepends=True)
    lines.insert(2, '{"id": "broken", "messages": [\n')
    Path("mixed.jsonl").write_text("".join(lines))
    result = run("check", EXAMPLE, "--traces", "mixed.jsonl", "--format", "json")
    assert result.exit_code == 2  # a skipped record, even though a trace also violated
    report = json.loads(result.stdout)
    _assert_summary_shape(report["summary"])
    assert [t["id"] for t in report["traces"]] == [t["id"] for t in TRACES]
    assert report["traces"][2]["source"] == "mixed.jsonl:4"  # line numbers are the file's
    assert report["summary"]["records"] == {"total": 6, "checked": 5, "skipped": 1}
    [skipped] = report["summary"]["skipped"]
    assert skipped["file"] == "mixed.jsonl" and skipped["line"] == 3
    assert skipped["reason"].startswith("not valid JSON")
    assert result.stderr.startswith("mixed.jsonl:3: skipped: not valid JSON")


def test_record_that_is_not_a_trace_is_skipped_in_text(work):
    Path("odd.jsonl").write_text(_jsonl(TRACES[1]) + '{"messages": [{"role": "robot"}]}\n' + _jsonl(TRACES[0]))
    result = run("check", EXAMPLE, "--traces", "odd.jsonl")
    assert result.exit_code == 2
    assert "odd.jsonl:2: skipped: messages[0].role must be one of" in result.stdout
    assert "t_complied: complied" in result.stdout and "t_violated: violated" in result.stdout
    assert "3 records: 2 traces checked, 1 skipped" in result.stdout


def test_missing_trace_file_is_skipped(work):
    result = run("check", EXAMPLE, "--traces", "t_complied.jsonl", "--traces", "nowhere.jsonl",
                 "--format", "json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert [t["id"] for t in report["traces"]] == ["t_complied"]
    assert report["summary"]["skipped"] == [{"file": "nowhere.jsonl", "line": None, "reason": "file not found"}]
    assert report["summary"]["records"] == {"total": 2, "checked": 1, "skipped": 1}
    assert "nowhere.jsonl: skipped: file not found" in result.stderr


def test_missing_trace_file_in_text(work):
    result = run("check", EXAMPLE, "--traces", "nowhere.jsonl")
    assert result.exit_code == 2
    assert "nowhere.jsonl: skipped: file not found\n" in result.stdout


# --------------------------------------------------------------------------- --fail-on and exit codes


@pytest.mark.parametrize("trace, fail_on, code", [
    ("t_violated", None, 1),
    ("t_complied", None, 0),
    ("t_unspecified", None, 0),
    ("t_pending", None, 0),
    ("t_overridden", None, 0),
    ("t_unspecified", "unspecified", 1),
    ("t_complied", "unspecified", 0),
    ("t_violated", "unspecified", 0),
    ("t_pending", "pending", 1),
    ("t_pending", "violated,pending", 1),
    ("t_violated", "conflict", 0),
    ("t_unspecified", " violated , unspecified ", 1),
])
def test_fail_on(work, trace, fail_on, code):
    args = ["check", EXAMPLE, "--traces", f"{trace}.jsonl"] + (["--fail-on", fail_on] if fail_on else [])
    assert run(*args).exit_code == code


def test_fail_on_nothing_never_fails_on_verdicts(work):
    assert run("check", EXAMPLE, "--traces", "traces.jsonl", "--fail-on", "").exit_code == 0


@pytest.mark.parametrize("value", ["bogus", "violated,bogus", "complied", "not_applicable"])
def test_fail_on_invalid_kind_is_a_usage_error(work, value):
    result = run("check", EXAMPLE, "--traces", "traces.jsonl", "--fail-on", value)
    assert result.exit_code == 2
    assert "Invalid value for '--fail-on'" in result.stderr
    assert "choose from violated, conflict, unspecified, pending" in result.stderr
    assert result.stdout == ""


def test_unknown_format_is_a_usage_error(work):
    result = run("check", EXAMPLE, "--traces", "traces.jsonl", "--format", "xml")
    assert result.exit_code == 2 and "Invalid value for '--format'" in result.stderr


def test_missing_traces_option_is_a_usage_error(work):
    result = run("check", EXAMPLE)
    assert result.exit_code == 2 and "--traces" in result.stderr


def test_missing_policy_file(work):
    result = run("check", "nowhere.charter", "--traces", "traces.jsonl")
    assert result.exit_code == 2
    assert result.stderr == "error[E001]: policy file not found: nowhere.charter\n\n1 error\n"


MORE = """\
charter more

norm tools:
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


def _tool_call(name: str) -> dict:
    return {"id": "c1", "type": "function", "function": {"name": name, "arguments": '{"path": "/"}'}}


def test_conflict_gap_tool_call_and_conversation_verdicts(work):
    Path("more.charter").write_text(MORE)
    Path("more.jsonl").write_text(_jsonl(
        {"id": "m", "messages": [{"role": "user", "content": "a b"},
                                 {"role": "assistant", "content": "x", "tool_calls": [_tool_call("delete_file")]}]},
        {"id": "c", "messages": [{"role": "user", "content": "a b"}, {"role": "assistant", "content": "bye"}]},
    ))
    result = run("check", "more.charter", "--traces", "more.jsonl")
    assert result.exit_code == 1
    assert result.stdout.startswith(
        "m: violated  (more.jsonl:1)\n"
        "  tools @ turn 1 call 0: violated\n"
        "  conflicted @ turn 1: conflict\n"
        "  gapped @ turn 1: unspecified — gap: no case applies — escalate to user\n"
        "  whole @ conversation: violated\n"
        "c: conflict  (more.jsonl:2)\n"
    )
    report = json.loads(run("check", "more.charter", "--traces", "more.jsonl", "--format", "json").stdout)
    verdicts = {v["norm"]: v for v in report["traces"][0]["verdicts"]}
    assert (verdicts["tools"]["turn"], verdicts["tools"]["call"]) == (1, 0)
    assert verdicts["whole"]["turn"] is None
    assert (verdicts["gapped"]["gap"], verdicts["gapped"]["reason"], verdicts["gapped"]["escalate_to"]) == \
        (True, "no case applies", "user")
    assert report["summary"]["status"]["conflict"] == 1


def test_a_conflict_fails_by_default(work):
    Path("more.charter").write_text(MORE)
    Path("c.jsonl").write_text(_jsonl(
        {"id": "c", "messages": [{"role": "user", "content": "a b"}, {"role": "assistant", "content": "bye"}]}))
    assert run("check", "more.charter", "--traces", "c.jsonl").exit_code == 1
    assert run("check", "more.charter", "--traces", "c.jsonl", "--fail-on", "violated").exit_code == 0


def test_text_summary_of_one_trace_is_singular(work):
    result = run("check", EXAMPLE, "--traces", "t_complied.jsonl")
    assert "\n1 record: 1 trace checked" in result.stdout


# --------------------------------------------------------------------------- where traces come from


def test_traces_from_stdin(work):
    result = run("check", EXAMPLE, "--traces", "-", "--format", "json", input=_jsonl(*TRACES))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [t["id"] for t in report["traces"]] == [t["id"] for t in TRACES]
    assert report["traces"][0]["source"] == "<stdin>:1"


def test_several_trace_files(work):
    code, report = check_json("--traces", "t_complied.jsonl", "--traces", "t_pending.jsonl",
                              "--traces", "t_unspecified.jsonl")
    assert code == 0
    assert [(t["id"], t["source"]) for t in report["traces"]] == [
        ("t_complied", "t_complied.jsonl:1"), ("t_pending", "t_pending.jsonl:1"),
        ("t_unspecified", "t_unspecified.jsonl:1"),
    ]
    assert report["summary"]["records"] == {"total": 3, "checked": 3, "skipped": 0}


def test_stdin_and_a_file_together(work):
    code, report = check_json("--traces", "t_complied.jsonl", "--traces", "-", input=_jsonl(TRACES[0]))
    assert code == 1
    assert [t["id"] for t in report["traces"]] == ["t_complied", "t_violated"]


def test_json_array_file(work):
    Path("array.json").write_text(json.dumps(TRACES[:2], indent=2))
    code, report = check_json("--traces", "array.json")
    assert code == 1
    assert [t["id"] for t in report["traces"]] == ["t_violated", "t_complied"]


def test_empty_trace_file(work):
    Path("empty.jsonl").write_text("")
    code, report = check_json("--traces", "empty.jsonl")
    assert code == 0
    assert report == {"traces": [], "summary": report["summary"], "provenance": report["provenance"]}
    assert report["summary"]["records"] == {"total": 0, "checked": 0, "skipped": 0}


def test_several_policy_layers(work):
    Path("extra.charter").write_text(
        'charter extra by platform\n\nnorm no_shouting:\n    forbid assistant matches /!!!/\n')
    Path("shout.jsonl").write_text(_jsonl({"id": "s", "messages": [_user("hi"), _assistant("Hello!!!")]}))
    result = run("check", EXAMPLE, "extra.charter", "--traces", "shout.jsonl", "--format", "json")
    assert result.exit_code == 1
    [trace] = json.loads(result.stdout)["traces"]
    assert [(v["norm"], v["verdict"]) for v in trace["verdicts"] if v["verdict"] == "violated"] == [
        ("no_shouting", "violated")]


# --------------------------------------------------------------------------- version and help


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"charter, version {charter.__version__}\n"


def test_main_help():
    result = run("--help")
    assert result.exit_code == 0
    for word in ("check", "test", "explain", "dump", "Exit codes", "--version"):
        assert word in result.stdout


@pytest.mark.parametrize("command, options", [
    ("check", ["--traces", "--format", "--fail-on", "--all", "--input-format", "--color", "POLICY..."]),
    ("test", ["--verbose", "POLICY..."]),
    ("explain", ["--traces", "--trace", "--turn", "--norm", "--all", "--input-format"]),
    ("dump", ["tree", "ast", "program", "POLICY..."]),
])
def test_command_help(command, options):
    for flag in ("--help", "-h"):
        result = run(command, flag)
        assert result.exit_code == 0
        assert f"Usage: main {command}" in result.stdout or f"Usage: charter {command}" in result.stdout
        for option in options:
            assert option in result.stdout, option


# --------------------------------------------------------------------------- test


def test_inline_tests_of_the_example_pass():
    result = run("test", EXAMPLE, "--no-properties")
    assert result.exit_code == 0
    assert result.stdout.endswith("\n2 passed, 0 failed\n")
    assert f"PASS  a refund after 45 days is escalated, not decided  ({EXAMPLE}:44:1)" in result.stdout


def test_inline_tests_verbose_lists_passed_expectations():
    result = run("test", EXAMPLE, "--verbose")
    assert result.exit_code == 0
    assert "expect refund_promises unspecified: got unspecified" in result.stdout


FAILING = """\
charter failing

norm no_bye:
    forbid assistant says "bye"

test "bye is fine":
    user: "hello"
    assistant: "bye now"
    expect no_bye complied

test "hello is fine":
    user: "hello"
    assistant: "hello"
    expect no_bye complied at turn 1
"""


def test_failing_inline_test(work):
    Path("failing.charter").write_text(FAILING)
    result = run("test", "failing.charter", "--no-properties")
    assert result.exit_code == 1
    out = result.stdout
    assert "FAIL  bye is fine  (failing.charter:6:1)" in out
    assert "PASS  hello is fine  (failing.charter:11:1)" in out
    assert "expect no_bye complied: got violated  (failing.charter:9:5)" in out
    assert "forbid assistant says \"bye\"  => forbid: behaviour holds  [failing.charter:4:5]" in out
    assert "match turn 1 [0:3] 'bye'" in out
    assert out.endswith("\n1 passed, 1 failed\n")


def test_the_example_passes_its_properties_too():
    result = run("test", EXAMPLE)
    assert result.exit_code == 0
    assert "properties (200 generated traces, seed 0):" in result.stdout
    assert "ok    conflict " in result.stdout and "FAIL" not in result.stdout
    assert result.stdout.endswith(" passed, 0 failed\n")


def test_test_command_with_a_broken_policy(work):
    Path("broken.charter").write_text("norm a\n    permit\n")
    result = run("test", "broken.charter")
    assert result.exit_code == 2
    assert "  --> broken.charter:1:7" in result.stderr


# --------------------------------------------------------------------------- explain


def test_explain_one_norm(work):
    result = run("explain", EXAMPLE, "--traces", "traces.jsonl", "--trace", "t_unspecified",
                 "--norm", "refund_promises")
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("trace t_unspecified: unspecified  (traces.jsonl:3)\n")
    assert ("refund_promises at turn 1: unspecified (explicit: refunds between 30 and 90 days are "
            "undecided) -> escalate to developer") in out
    assert "authority developer, severity medium" in out
    assert re.search(r"when +when asks_for_refund  => true  \[" + re.escape(EXAMPLE) + r":14:10\]", out)
    assert re.search(r"case +case order_age <= 30: permit offers_refund  => false  \["
                     + re.escape(EXAMPLE) + r":15:5\]", out)
    assert "fact  trace.meta.order.age_days = 45" in out
    assert "match turn 0 [10:20] 'money back' in “…I want my money back…”" in out
    assert "no_email_leak" not in out


def test_explain_turn(work):
    result = run("explain", EXAMPLE, "--traces", "traces.jsonl", "--trace", "t_violated", "--turn", "1")
    assert result.exit_code == 0
    assert "no_email_leak at turn 1: violated" in result.stdout
    assert "formal_tone at turn 1: complied" in result.stdout
    assert "crisis_referral" not in result.stdout
    assert "match turn 1 [9:24] 'bob@example.com'" in result.stdout


def test_explain_turn_with_nothing_to_show(work):
    result = run("explain", EXAMPLE, "--traces", "traces.jsonl", "--trace", "t_violated", "--turn", "0")
    assert result.exit_code == 0
    assert "no verdicts match (not_applicable ones are hidden without --all)" in result.stdout
    everything = run("explain", EXAMPLE, "--traces", "traces.jsonl", "--trace", "t_violated",
                     "--turn", "0", "--all")
    assert "crisis_referral at turn 0: not_applicable" in everything.stdout


def test_explain_overridden_and_unknown_facts(work):
    out = run("explain", EXAMPLE, "--traces", "traces.jsonl", "--trace", "t_overridden",
              "--norm", "formal_tone").stdout
    assert "formal_tone at turn 1: overridden by casual_when_asked" in out
    Path("nolabel.jsonl").write_text(_jsonl({"id": "u", "messages": [{"role": "user", "content": "hi"}]}))
    out = run("explain", EXAMPLE, "--traces", "nolabel.jsonl", "--trace", "u").stdout
    assert "crisis_referral at turn 0: unspecified (uncertain: depends on messages[0].labels.self_harm)" in out
    assert "fact  messages[0].labels.self_harm = unknown (the label is missing)" in out


def test_explain_unknown_trace(work):
    result = run("explain", EXAMPLE, "--traces", "traces.jsonl", "--trace", "nope")
    assert result.exit_code == 2
    assert result.stderr == "error: no trace with id 'nope' in traces.jsonl\n"


def test_explain_unknown_norm(work):
    result = run("explain", EXAMPLE, "--traces", "traces.jsonl", "--trace", "t_violated", "--norm", "nope")
    assert result.exit_code == 2
    assert "no norm `nope`; the norms are refund_promises, no_email_leak" in result.stderr


# --------------------------------------------------------------------------- dump


def test_dump_tree():
    result = run("dump", "tree", EXAMPLE)
    assert result.exit_code == 0
    assert result.stdout.startswith("start\n  header\n    acme_support\n    developer\n")
    assert "norm" in result.stdout


def test_dump_ast():
    result = run("dump", "ast", EXAMPLE)
    assert result.exit_code == 0
    assert result.stdout.startswith("CharterFile(")
    assert "Norm(name='refund_promises'" in result.stdout
    assert "Name(parts=('pii', 'email'))" in result.stdout  # names are not expanded yet


def test_dump_program():
    result = run("dump", "program", EXAMPLE)
    assert result.exit_code == 0
    assert result.stdout.count("CheckedNorm(") == 5
    assert "CheckedNorm(name='no_email_leak'" in result.stdout
    assert "Name(parts=" not in result.stdout  # lets and patterns are expanded...
    assert "regex=Regex(source='[A-Za-z0-9._%+-]+@" in result.stdout  # ...pii.email into its regex


def test_dump_stdlib_module():
    result = run("dump", "ast", "std.pii")
    assert result.exit_code == 0 and "PatternDecl(name='email'" in result.stdout


@pytest.mark.parametrize("stage", ["tree", "ast", "program"])
def test_dump_broken_policy(work, stage):
    Path("broken.charter").write_text('norm a:\n    forbid assistant says "x\n')
    result = run("dump", stage, "broken.charter")
    assert result.exit_code == 2
    assert "error[E106]" in result.stderr and "  --> broken.charter:2:27" in result.stderr


def test_dump_unknown_stage():
    result = run("dump", "bytecode", EXAMPLE)
    assert result.exit_code == 2 and "Invalid value" in result.stderr


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("args", [
    ["check", EXAMPLE, "--traces", "traces.jsonl"],
    ["check", EXAMPLE, "--traces", "traces.jsonl", "--format", "json", "--all"],
    ["check", EXAMPLE, "--traces", "traces.jsonl", "--format", "jsonl"],
    ["explain", EXAMPLE, "--traces", "traces.jsonl", "--trace", "t_unspecified"],
    ["test", EXAMPLE, "--examples", "30"],
    ["dump", "program", EXAMPLE],
])
def test_byte_identical_runs(work, args):
    first = CliRunner().invoke(main, args)
    second = CliRunner().invoke(main, args)
    assert first.stdout_bytes == second.stdout_bytes
    assert first.stderr_bytes == second.stderr_bytes
    assert first.exit_code == second.exit_code


# --------------------------------------------------------------------------- the installed script


def test_installed_script_end_to_end(work):
    assert CHARTER_SCRIPT.exists(), CHARTER_SCRIPT
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER")}
    done = subprocess.run([str(CHARTER_SCRIPT), "check", EXAMPLE, "--traces", "traces.jsonl",
                           "--format", "json"], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1
    assert done.stderr == ""
    report = json.loads(done.stdout)
    assert report["summary"]["status"]["violated"] == 1
    _, in_process = check_json("--traces", "traces.jsonl")
    assert report == in_process


def test_installed_script_keeps_the_parser_in_the_users_cache(work):
    """The first run builds the parser and keeps it in $XDG_CACHE_HOME/charter; the next
    runs load it and report the same bytes, as does a run whose cache file is corrupt (it
    is rebuilt) or whose cache directory cannot be made."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER")} | {"XDG_CACHE_HOME": str(work / "cache")}

    def report() -> str:
        for checked in (work / "cache" / "charter").glob("policy-*"):
            checked.unlink()  # (a policy checked before, kept there too, is not parsed again)
        done = subprocess.run([str(CHARTER_SCRIPT), "check", EXAMPLE, "--traces", "traces.jsonl", "--format", "jsonl"],
                              capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 1 and done.stderr == ""
        return done.stdout

    first = report()
    [kept] = (work / "cache" / "charter").glob("parser-*")
    assert kept.name.startswith("parser-") and kept.stat().st_size > 1000
    assert report() == first
    kept.write_bytes(kept.read_bytes()[:500])
    assert report() == first and kept.stat().st_size > 1000
    (work / "not-a-directory").write_text("")
    env["XDG_CACHE_HOME"] = str(work / "not-a-directory")
    assert report() == first


def test_installed_script_broken_policy(work):
    Path("broken.charter").write_text('let x = user says "a"\n\nnorm a:\n    forbid assistant says "x" and xx\n')
    done = subprocess.run([str(CHARTER_SCRIPT), "check", "broken.charter", "--traces", "traces.jsonl"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr == (
        "error[E213]: unknown name `xx`\n"
        "  --> broken.charter:4:35\n"
        "  |\n"
        '4 |     forbid assistant says "x" and xx\n'
        "  |                                   ^^\n"
        "  = hint: define it with `let`, or import it with `use`\n"
        "\n"
        "1 error\n"
    )
