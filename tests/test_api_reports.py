"""The reports over traces as a Python API (`Policy.gaps`, `coverage`, `explain`,
`why_not`): typed, read-only results that say what the commands say, from traces given
as paths, dicts or `Trace` objects. Imports only `charter` (and the CLI to compare)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

import charter
from charter.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "examples/acme_support.charter"
CORPUS = "examples/traces.jsonl"


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # the paths in reports are as given, so both sides give them alike


@pytest.fixture(scope="module")
def policy() -> charter.Policy:
    return charter.load(str(ROOT / EXAMPLE))


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.stdout


def _dicts() -> list[dict]:
    return [json.loads(line) for line in (ROOT / CORPUS).read_text().splitlines()]


# --------------------------------------------------------------------------- gaps


@pytest.mark.parametrize("output_format", ["markdown", "html", "json"])
def test_gaps_renders_what_the_command_prints(output_format):
    report = charter.load(EXAMPLE).gaps(CORPUS)
    assert report.render(output_format) == _cli("gaps", EXAMPLE, "--traces", CORPUS, "--format", output_format)


def test_gaps_questions_are_typed_rows_of_the_worklist():
    report = charter.load(EXAMPLE).gaps(CORPUS)
    assert (report.traces, report.unspecified, report.skipped) == (9, 2, ())
    by_norm = {q.norm: q for q in report.questions}
    refunds = by_norm["refund_promises"]
    assert (refunds.kind, refunds.escalate_to, refunds.reason, refunds.trace_ids) == (
        "explicit", "developer", "refunds between 30 and 90 days are undecided", ("refund-45-days",))
    crisis = by_norm["crisis_referral"]
    assert (crisis.kind, crisis.unknown, crisis.trace_ids) == ("uncertain", ("messages[*].labels.self_harm",),
                                                               ("no-label",))
    data = report.to_json()
    ids = [i.get("question") for s in data["stakeholders"] for n in s["norms"] for i in n["items"]]
    assert [q.id for q in report.questions] == ids  # the report's question IDs, where it has them


def test_gaps_from_dicts_traces_and_paths_agree(policy):
    from_path = policy.gaps(CORPUS)
    from_dicts = policy.gaps(_dicts())
    from_traces = policy.gaps([policy_trace for policy_trace in _traces()])
    assert from_dicts.questions == from_path.questions == from_traces.questions
    assert from_path.to_json()["trace_files"] == [CORPUS] and from_dicts.to_json()["trace_files"] == []


def _traces() -> list[charter.Trace]:
    from charter.traces.reader import trace_from_json

    return [trace_from_json(d) for d in _dicts()]


def test_gaps_examples_are_kept_as_asked(policy):
    assert all(len(i["examples"]) == 0 for s in policy.gaps(CORPUS, examples=0).to_json()["stakeholders"]
               for n in s["norms"] for i in n["items"])


def test_reports_are_read_only_and_hand_out_copies(policy):
    report = policy.gaps(CORPUS)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        report.traces = 0  # type: ignore[misc]
    report.to_json()["stakeholders"].clear()
    assert report.to_json()["stakeholders"]
    assert report == policy.gaps(CORPUS)


def test_a_record_that_cannot_be_read_is_skipped_and_listed(policy, tmp_path):
    corpus = tmp_path / "t.jsonl"
    lines = (ROOT / CORPUS).read_text().splitlines()
    corpus.write_text("\n".join(lines[:2] + ["{not json"] + lines[2:]) + "\n")
    for report in (policy.gaps(corpus), policy.coverage(str(corpus))):
        assert report.traces == 9
        (skipped,) = report.skipped
        assert (skipped.locator.file, skipped.locator.line) == (str(corpus), 3) and skipped.reason
    missing = policy.coverage(tmp_path / "nothing-here.jsonl")
    assert missing.traces == 0 and len(missing.skipped) == 1


def test_a_dict_that_is_not_a_trace_raises(policy):
    with pytest.raises(charter.TraceFormatError, match="messages"):
        policy.gaps([{"id": "x", "messages": "no"}])
    with pytest.raises(TypeError, match="not a trace, a dict or a path: int"):
        policy.coverage([3])  # type: ignore[list-item]


# --------------------------------------------------------------------------- coverage


@pytest.mark.parametrize("args", [(), ("-v",), ("--format", "json")])
def test_coverage_renders_what_the_command_prints(args):
    report = charter.load(EXAMPLE).coverage(CORPUS)
    output_format = "json" if "json" in args else "text"
    assert report.render(output_format, verbose="-v" in args) == _cli("coverage", EXAMPLE, "--traces", CORPUS, *args)


def test_coverage_clauses(policy):
    report = policy.coverage(_dicts())
    assert report.traces == 9 and report.percent == 88.9
    assert {c.kind for c in report.clauses} == {"norm", "case", "exception", "otherwise"}
    (never,) = report.never
    assert (never.kind, never.norm, never.exercised, never.hits, never.evaluated) == (
        "exception", "no_email_leak", False, 0, 8)
    assert never.text == "unless user mentions pii.email: permit"
    assert never.why_never == "exception in no_email_leak: never held (false at 8 acts)"
    assert all(c.why_never is None for c in report.clauses if c.exercised)


# --------------------------------------------------------------------------- explain


def test_explain_renders_what_the_command_prints(policy):
    explained = charter.load(EXAMPLE).explain(CORPUS, trace_id="refund-45-days")
    assert explained.render() == _cli("explain", EXAMPLE, "--traces", CORPUS, "--trace", "refund-45-days",
                                      "--no-color")


def test_explain_picks_verdicts(policy):
    (trace,) = [d for d in _dicts() if d["id"] == "refund-45-days"]
    explained = policy.explain(trace, "refund_promises")
    assert explained.status == "unspecified"
    (verdict,) = explained.verdicts
    assert (verdict.norm, verdict.turn, verdict.kind) == ("refund_promises", 1, "unspecified")
    assert [s.clause for s in verdict.explanation.steps][-1] == "otherwise"
    every = policy.explain(trace, turn=0, include_not_applicable=True)
    assert {v.turn for v in every.verdicts} == {0} and "not_applicable" in {v.kind for v in every.verdicts}
    assert every.report == policy.check(trace)
    data = explained.to_json()
    assert data["id"] == "refund-45-days" and [v["norm"] for v in data["verdicts"]] == ["refund_promises"]


def test_explain_names_what_is_missing(policy):
    with pytest.raises(ValueError, match="no norm `nope`; the norms are refund_promises"):
        policy.explain(_dicts()[0], "nope")
    with pytest.raises(ValueError, match=f"no trace with id 'nope' in {re.escape(CORPUS)}"):
        policy.explain(CORPUS, trace_id="nope")
    with pytest.raises(ValueError, match=f"{re.escape(CORPUS)} holds 9 traces: name one with trace_id="):
        policy.explain(CORPUS)


# --------------------------------------------------------------------------- why-not


def test_why_not_answers_are_real(policy):
    trace = {"id": "t", "meta": {"order": {"age_days": 45}}, "messages": [
        {"role": "user", "content": "Can I get my money back?"},
        {"role": "assistant", "content": "Let me check."},
    ]}
    (result,) = policy.why_not(trace, "refund_promises", turn=1)
    assert result.verdict.kind == "unspecified" and result.answers and result.stopped is None
    for answer in result.answers:
        data = answer.to_json()
        if all(c["change"] == "set" and c["fact"].startswith("trace.meta.") for c in data["changes"]):
            changed = json.loads(json.dumps(trace))
            for change in data["changes"]:
                *path, last = change["fact"].split(".")[2:]
                target = changed["meta"]
                for key in path:
                    target = target.setdefault(key, {})
                target[last] = change["value"]
            verdicts = [v for v in policy.check(changed).verdicts if v.norm == "refund_promises" and v.turn == 1]
            assert [v.kind for v in verdicts] == [answer.kind]
    assert policy.why_not(trace, "refund_promises", turn=1, target="violated")[0].answers[0].kind == "violated"
    assert json.loads(json.dumps(result.to_json()))["verdict"] == "unspecified"


def test_why_not_renders_what_the_command_prints(policy):
    printed = _cli("explain", EXAMPLE, "--traces", CORPUS, "--trace", "refund-45-days", "--norm", "refund_promises",
                   "--no-color", "--why-not")
    explained = charter.load(EXAMPLE).explain(CORPUS, "refund_promises", trace_id="refund-45-days")
    results = {r.verdict: r for r in charter.load(EXAMPLE).why_not(CORPUS, "refund_promises", trace_id="refund-45-days")}
    assert printed == explained.render(why_not=results)
    assert next(iter(results.values())).render() in printed


def test_why_not_without_turn_takes_every_applicable_verdict(policy):
    trace = _dicts()[0]
    applicable = [v for v in policy.check(trace).verdicts if v.norm == "formal_tone" and v.kind != "not_applicable"]
    results = policy.why_not(trace, "formal_tone", max_changes=1)
    assert [r.verdict for r in results] == applicable and all(r.searched_size <= 1 for r in results)


# --------------------------------------------------------------------------- docs


def test_the_docs_examples_run(capsys):
    """The python blocks of docs/api.md's reports section, run in order from the root."""
    page = (ROOT / "docs" / "api.md").read_text()
    section = page.split("## Reports over traces", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 4
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), namespace)
    assert "Qc5eadf2 developer refund_promises explicit ('refund-45-days',)" in capsys.readouterr().out
    assert os.getcwd() == str(ROOT)
