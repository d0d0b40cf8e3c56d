"""`charter coverage`: which norms, cases, exceptions and `otherwise` lines a corpus
exercised, on small policies with answers worked out by hand."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import charter
from charter.cli import main
from charter.reports.coverage import CoverageCollector

ROOT = Path(__file__).resolve().parent.parent
ACME = ROOT / "examples" / "acme_support.charter"
ACME_TRACES = ROOT / "examples" / "traces.jsonl"

POLICY = textwrap.dedent("""\
    charter cov by developer

    norm refunds:
        when user says "refund"
        case trace.meta.age <= 30: permit
        case trace.meta.age > 90: forbid assistant says "approved"
        otherwise: forbid assistant says "approved"
            unless trace.meta.tier == "vip": permit
                unless trace.meta.banned == true: forbid assistant says "approved"

    norm never_fires:
        when user says "xyzzy"
        permit

    norm greeting:
        forbid assistant says "yo"
            unless user says "yo": permit
    """)


def _u(text):
    return {"role": "user", "content": text}


def _a(text):
    return {"role": "assistant", "content": text}


TRACES = [
    {"id": "A", "meta": {"age": 10}, "messages": [_u("a refund please"), _a("approved")]},
    {"id": "B", "meta": {"age": 50, "tier": "vip", "banned": False}, "messages": [_u("refund"), _a("approved")]},
    {"id": "C", "messages": [_u("hello"), _a("hi")]},
    {"id": "D", "messages": [_u("refund?"), _a("let me see")]},  # age unknown: both cases unknown
]

# (kind, line) -> (exercised, hits, evaluated, unknown), worked out by hand:
# four assistant acts; refunds applies at A, B, D (D is uncertain: its trigger holds);
# case 1 holds at A, is false at B, unknown at D; case 2 is false at A and B, unknown at D;
# the otherwise is reached at B only (through its exception, which holds there), and is
# considered wherever the cases were evaluated; the nested exception is false at B.
EXPECTED = {
    ("norm", 3): (True, 3, 4, 0),
    ("case", 5): (True, 1, 3, 1),
    ("case", 6): (False, 0, 3, 1),
    ("otherwise", 7): (True, 1, 3, 0),
    ("exception", 8): (True, 1, 1, 0),
    ("exception", 9): (False, 0, 1, 0),
    ("norm", 11): (False, 0, 4, 0),
    ("norm", 15): (True, 4, 4, 0),
    ("exception", 17): (False, 0, 4, 0),
}


def _collect(policy_text: str, traces: list[dict], name: str = "cov.charter") -> dict:
    policy = charter.loads(policy_text, name=name)
    collector = CoverageCollector(policy, ["traces.jsonl"])
    for trace in traces:
        collector.add(policy.check(trace))
    return collector.result()


def _items(data: dict) -> dict:
    return {(i["kind"], i["line"]): (i["exercised"], i["hits"], i["evaluated"], i["unknown"])
            for f in data["files"] for i in f["items"]}


def test_hand_checked_coverage():
    data = _collect(POLICY, TRACES)
    assert _items(data) == EXPECTED
    [report] = data["files"]
    assert report["file"] == "cov.charter"
    assert (report["clauses"], report["exercised"], report["percent"]) == (9, 5, 55.6)
    assert report["by_kind"] == {
        "norm": {"total": 3, "exercised": 2, "percent": 66.7},
        "case": {"total": 2, "exercised": 1, "percent": 50.0},
        "exception": {"total": 3, "exercised": 1, "percent": 33.3},
        "otherwise": {"total": 1, "exercised": 1, "percent": 100.0},
    }
    assert [(i["line"], i["text"]) for i in report["never"]] == [
        (6, 'case trace.meta.age > 90: forbid assistant says "approved"'),
        (9, 'unless trace.meta.banned == true: forbid assistant says "approved"'),
        (11, "norm never_fires:"),
        (17, 'unless user says "yo": permit'),
    ]
    assert data["total"]["exercised"] == 5 and data["traces"] == 4


def test_otherwise_reached_by_its_own_outcome():
    # without the vip exception holding, the otherwise's own outcome is on the path
    data = _collect(POLICY, [{"id": "E", "meta": {"age": 50, "tier": "basic"}, "messages": [_u("refund"), _a("ok")]}])
    items = _items(data)
    assert items[("otherwise", 7)][:2] == (True, 1)
    assert items[("exception", 8)] == (False, 0, 1, 0)
    assert items[("case", 5)] == (False, 0, 1, 0)


def test_every_clause_exercised():
    traces = TRACES + [
        {"id": "E", "meta": {"age": 120}, "messages": [_u("refund"), _a("no")]},
        {"id": "F", "meta": {"age": 50, "tier": "vip", "banned": True}, "messages": [_u("refund"), _a("no")]},
        {"id": "G", "messages": [_u("xyzzy yo"), _a("yo")]},
    ]
    data = _collect(POLICY, traces)
    assert data["files"][0]["never"] == []
    assert data["total"]["percent"] == 100.0


def test_no_traces_exercise_nothing():
    data = _collect(POLICY, [])
    assert data["total"]["exercised"] == 0 and data["total"]["percent"] == 0.0
    assert all(i["evaluated"] == 0 for i in data["files"][0]["items"])


def test_unknown_trigger_counts_as_applicable():
    text = 'charter u\n\nnorm risky:\n    when user.label("risk") >= 0.5\n    require assistant says "help"\n'
    data = _collect(text, [{"messages": [_u("hi"), _a("hello")]}], name="u.charter")
    assert _items(data)[("norm", 3)] == (True, 1, 1, 1)


def test_layered_policies_report_per_file(tmp_path):
    (tmp_path / "base.charter").write_text(
        'charter base by platform\n\nnorm no_yo:\n    forbid assistant says "yo"\n        unless user says "yo": permit\n')
    (tmp_path / "app.charter").write_text(
        'charter app by developer\n\nnorm hello:\n    when user says "hello"\n    require assistant says "hello"\n')
    (tmp_path / "t.jsonl").write_text(json.dumps({"id": "t", "messages": [_u("hello"), _a("hello")]}) + "\n")
    policy = charter.load(str(tmp_path / "base.charter"), str(tmp_path / "app.charter"))
    collector = CoverageCollector(policy)
    collector.add(policy.check({"messages": [_u("hello"), _a("hello")]}))
    data = collector.result()
    assert [(f["file"].rsplit("/", 1)[-1], f["exercised"], f["clauses"]) for f in data["files"]] == [
        ("base.charter", 1, 2), ("app.charter", 1, 1)]
    assert data["total"]["clauses"] == 3 and data["total"]["exercised"] == 2


# --------------------------------------------------------------------------- the command


def test_cli_text_on_the_example():
    result = CliRunner().invoke(main, ["coverage", str(ACME), "--traces", str(ACME_TRACES)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{ACME}: 8 of 9 clauses exercised (88.9%)" in out
    assert "  exceptions     0 of 1       0.0%" in out
    assert f"    {ACME}:23: unless user mentions pii.email: permit\n" in out
    assert "        exception in no_email_leak: never held (false at 8 acts)" in out
    assert out.rstrip().endswith("total: 8 of 9 clauses exercised (88.9%) in 1 file")


def test_cli_verbose_lists_every_clause():
    result = CliRunner().invoke(main, ["coverage", str(ACME), "--traces", str(ACME_TRACES), "-v"])
    assert result.exit_code == 0
    assert "    12  norm              3/8  norm refund_promises:" in result.output
    assert "    17  otherwise         1/3  otherwise: unspecified" in result.output
    assert "    23  exception         0/8  unless user mentions pii.email: permit   <- never" in result.output


def test_cli_json(tmp_path):
    policy = tmp_path / "cov.charter"
    policy.write_text(POLICY)
    traces = tmp_path / "t.jsonl"
    traces.write_text("".join(json.dumps(t) + "\n" for t in TRACES))
    result = CliRunner().invoke(main, ["coverage", str(policy), "--traces", str(traces), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert _items(data) == EXPECTED
    assert data["records"] == {"total": 4, "checked": 4, "skipped": 0}


def test_cli_skipped_record_exits_2(tmp_path):
    traces = tmp_path / "t.jsonl"
    traces.write_text(ACME_TRACES.read_text() + "[1, 2\n")
    result = CliRunner().invoke(main, ["coverage", str(ACME), "--traces", str(traces)])
    assert result.exit_code == 2
    assert ":10: skipped:" in result.output
    assert "8 of 9 clauses exercised" in result.output


@pytest.mark.parametrize("bad", [["--format", "html"]])
def test_cli_usage_error(bad):
    result = CliRunner().invoke(main, ["coverage", str(ACME), "--traces", str(ACME_TRACES), *bad])
    assert result.exit_code == 2


@pytest.mark.parametrize("extra", [[], ["-v"]])
def test_docs_samples_are_current(monkeypatch, extra):
    """docs/reports.md shows the real coverage reports of the shipped example."""
    monkeypatch.chdir(ROOT)
    doc = (ROOT / "docs" / "reports.md").read_text()
    command = " ".join(["$ charter coverage examples/acme_support.charter --traces examples/traces.jsonl", *extra])
    sample = doc.split(command + "\n", 1)[1].split("```", 1)[0]
    result = CliRunner().invoke(main, ["coverage", "examples/acme_support.charter",
                                       "--traces", "examples/traces.jsonl", *extra])
    assert sample == result.output
