"""Decision records: provenance in reports, `charter check --record`, `charter replay`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import charter
from charter.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "acme_support.charter"
CORPUS = ROOT / "examples" / "traces.jsonl"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("p").mkdir()
    shutil.copy(EXAMPLE, "p/acme.charter")
    shutil.copy(CORPUS, "traces.jsonl")
    return tmp_path


@pytest.mark.parametrize("fmt", ["json", "jsonl", "sarif"])
def test_reports_carry_the_policy_hash_and_version(work, fmt):
    out = run("check", "p/acme.charter", "--traces", "traces.jsonl", "--format", fmt).stdout
    last = json.loads(out.splitlines()[-1] if fmt == "jsonl" else out)
    found = last["runs"][0]["properties"]["provenance"] if fmt == "sarif" else last["provenance"]
    assert found == {"policy_hash": charter.load("p/acme.charter").content_hash,
                     "policy_files": ["std/pii.charter", "p/acme.charter"],
                     "charter_version": charter.__version__}


def test_junit_carries_the_hash_and_each_trace_location(work):
    out = run("check", "p/acme.charter", "--traces", "traces.jsonl", "--format", "junit").stdout
    assert f'<property name="charter.policy_hash" value="{charter.load("p/acme.charter").content_hash}" />' in out
    assert '<testcase classname="refund-45-days" name="refund_promises" file="traces.jsonl" line="2">' in out


def test_a_record_replays_to_the_same_verdicts(work):
    result = run("check", "p/acme.charter", "--traces", "traces.jsonl", "--record", "rec")
    assert result.exit_code == 1  # the corpus has violations; recording does not change the exit code
    manifest = json.loads(Path("rec/record.json").read_text())
    assert manifest["policy_hash"] == charter.load("p/acme.charter").content_hash
    assert [s["name"] for s in manifest["policy"]] == ["std/pii.charter", "p/acme.charter"]
    assert Path("rec", manifest["layers"][0]).read_text() == EXAMPLE.read_text()
    assert len(Path("rec/verdicts.jsonl").read_text().splitlines()) == 9
    Path("p/acme.charter").unlink()  # replay uses the recorded copy, not the file
    replayed = run("replay", "rec")
    assert replayed.exit_code == 0, replayed.output
    assert replayed.output.endswith("9 traces re-checked: the same verdicts as recorded\n")


def test_replay_reports_each_difference(work):
    run("check", "p/acme.charter", "--traces", "traces.jsonl", "--record", "rec")
    lines = Path("traces.jsonl").read_text().splitlines()
    lines[0] = lines[0].replace("within 5 days", "soon, lol")
    Path("traces.jsonl").write_text("\n".join(lines[:-1]) + "\n")  # one changed, the last gone
    result = run("replay", "rec", "--format", "json")
    assert result.exit_code == 1
    found = {(d["kind"], d["where"]): d["detail"] for d in json.loads(result.stdout)["differences"]}
    assert found[("verdict", "refund-12-days (traces.jsonl:1)")] == "formal_tone @ turn 1: violated, recorded complied"
    assert found[("status", "refund-12-days (traces.jsonl:1)")] == "status violated, recorded complied"
    assert found[("missing", "no-label (traces.jsonl:9)")] == "recorded, not found in the inputs now"
    assert found[("input", "traces.jsonl")].startswith("digest sha256:")


def test_a_record_keeps_imported_files_in_place(work):
    Path("p/lib").mkdir()
    Path("p/lib/words.charter").write_text('charter words\nlet rude = assistant says any of ["lol", "gonna"]\n')
    Path("p/main.charter").write_text('charter main\nuse "lib/words.charter" as w\nnorm polite:\n    forbid w.rude\n')
    run("check", "p/main.charter", "--traces", "traces.jsonl", "--record", "rec")
    shutil.rmtree("p")
    result = run("replay", "rec")
    assert result.exit_code == 0, result.output


def test_replay_runs_from_another_directory(work, monkeypatch):
    run("check", "p/acme.charter", "--traces", "traces.jsonl", "--record", "rec")
    monkeypatch.chdir("p")
    result = run("replay", "../rec")
    assert result.exit_code == 0, result.output


def test_record_refuses_a_used_directory_and_stdin(work):
    Path("rec").mkdir()
    Path("rec/x").write_text("")
    result = run("check", "p/acme.charter", "--traces", "traces.jsonl", "--record", "rec")
    assert result.exit_code == 2 and "rec is not empty" in result.output
    result = run("check", "p/acme.charter", "--traces", "-", "--record", "new")
    assert result.exit_code == 2 and "standard input cannot be replayed" in result.output


def test_replay_of_a_damaged_record(work):
    assert run("replay", "nowhere").exit_code == 2
    run("check", "p/acme.charter", "--traces", "traces.jsonl", "--record", "rec")
    Path("rec/verdicts.jsonl").write_text('{"id": "x"}\n')
    result = run("replay", "rec")
    assert result.exit_code == 2 and "rec/verdicts.jsonl:1: not a verdict row" in result.output
    Path("rec/record.json").write_text("{}")
    result = run("replay", "rec")
    assert result.exit_code == 2 and "is not a charter-record/1 manifest" in result.output


def test_replay_of_a_manifest_with_a_missing_part(work):
    run("check", "p/acme.charter", "--traces", "traces.jsonl", "--record", "rec")
    manifest = json.loads(Path("rec/record.json").read_text())
    del manifest["inputs"][0]["absolute"]
    Path("rec/record.json").write_text(json.dumps(manifest))
    result = run("replay", "rec")
    assert result.exit_code == 2 and "each entry of `inputs` needs path, absolute (strings)" in result.output
    del manifest["layers"]
    Path("rec/record.json").write_text(json.dumps(manifest))
    result = run("replay", "rec")
    assert result.exit_code == 2 and "`layers` is missing or not an array" in result.output


def test_replay_reads_with_the_recorded_input_format(work):
    Path("openai.jsonl").write_text(json.dumps({"messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "lol"}]}) + "\n")
    run("check", "p/acme.charter", "--traces", "openai.jsonl", "--input-format", "openai", "--record", "rec")
    assert json.loads(Path("rec/record.json").read_text())["input_format"] == "openai"
    result = run("replay", "rec")
    assert result.exit_code == 0, result.output


def test_a_record_inside_a_corpus_folder_is_not_read_as_traces(work):
    """Issue 19.12: a --record directory in the corpus folder was later read as
    malformed traces (record.json, verdicts.jsonl)."""
    Path("corpus").mkdir()
    shutil.copy("traces.jsonl", "corpus/traces.jsonl")
    assert run("check", "p/acme.charter", "--traces", "corpus", "--record", "corpus/rec").exit_code == 1
    assert Path("corpus/rec/.charter-record").is_file()
    again = run("check", "p/acme.charter", "--traces", "corpus", "--format", "json")
    assert again.exit_code == 1, again.stderr
    assert json.loads(again.stdout)["summary"]["records"] == {"total": 9, "checked": 9, "skipped": 0}
    alone = json.loads(run("check", "p/acme.charter", "--traces", "corpus/rec", "--format", "json").stdout)
    assert alone["summary"]["skipped"] == [{"file": "corpus/rec", "line": None, "reason":
                                           "a decision record (check --record), not traces: `charter replay` reads it"}]
