"""`charter diff`: transitions between two policies over one corpus."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter import Policy, load
from charter.cli import main
from charter.review.diff import ABSENT, MARKDOWN_LIMIT, DiffChecker, DiffCollector, render_markdown
from charter.evaluate.verdicts import aggregate
from property.strategies import programs, traces

ROOT = Path(__file__).resolve().parent.parent
OLD = "examples/acme_support.charter"
NEW = "docs/review/acme_support_v2.charter"
CORPUS = "examples/traces.jsonl"


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _diff_json(*args: str) -> dict:
    result = _run("diff", *args, "--format", "json")
    return json.loads(result.output)


def test_example_change(monkeypatch):
    monkeypatch.chdir(ROOT)
    data = _diff_json(OLD, "--new", NEW, "--traces", CORPUS)
    assert data["traces"] == 9 and data["changed_traces"] == 2
    assert data["norms_added"] == ["no_promised_dates"] and data["norms_removed"] == []
    refunds = next(n for n in data["norms"] if n["norm"] == "refund_promises")
    assert [(c["from"], c["to"], c["traces"]) for c in refunds["changes"]] == [("unspecified", "complied", 1)]
    assert refunds["changes"][0]["examples"][0]["trace"] == "refund-45-days"
    assert refunds["changes"][0]["examples"][0]["source"] == "examples/traces.jsonl:2"
    added = next(n for n in data["norms"] if n["norm"] == "no_promised_dates")
    violated = next(c for c in added["changes"] if c["to"] == "violated")
    assert violated["from"] == ABSENT and {e["trace"] for e in violated["examples"]} == {
        "refund-12-days", "refund-120-days"}
    assert {(s["from"], s["to"]) for s in data["status"]} == {("unspecified", "complied"), ("complied", "violated")}
    assert data["old"]["content_hash"] == load(OLD).content_hash


def test_fail_on_change_kinds(monkeypatch):
    monkeypatch.chdir(ROOT)
    base = [OLD, "--new", NEW, "--traces", CORPUS, "--fail-on-change"]
    assert _run("diff", *base, "new-violations").exit_code == 1
    assert _run("diff", *base, "norms").exit_code == 1
    same = _run("diff", OLD, "--new", OLD, "--traces", CORPUS, "--fail-on-change", "any")
    assert same.exit_code == 0 and "no verdict changed" in same.output
    bad = _run("diff", *base, "everything")
    assert bad.exit_code == 2 and "choose from any, status" in bad.output


def test_examples_are_capped(monkeypatch):
    monkeypatch.chdir(ROOT)
    data = _diff_json(OLD, "--new", NEW, "--traces", CORPUS, "--examples", "1")
    assert all(len(c["examples"]) <= 1 for n in data["norms"] for c in n["changes"])


def test_markdown_stays_under_the_limit():
    old, new = Policy(_program_forbidding("lol")), Policy(_program_forbidding("hello"))
    collector, checker = DiffCollector(old, new, "old", "new", examples=1000), DiffChecker(old, new, None)
    from charter.traces.model import Message, Trace

    for i in range(3000):
        text = ("lol " if i % 2 else "hello ") + "x" * 200
        collector.add(checker.delta(Trace(f"t{i}", (Message(0, "assistant", text),))))
    text = render_markdown(collector.result, limit=20_000)
    assert len(text) <= 20_000 and "| `n0` | violated → complied |" in text
    assert len(render_markdown(collector.result)) <= MARKDOWN_LIMIT


def _program_forbidding(word: str):
    from charter.syntax import ast
    from oracle.build import checked_norm, program

    says = ast.Says(ast.Subject("assistant"), "one", ast.Literal(word))
    return program(checked_norm("n0", ast.Outcome("forbid", says)))


def test_old_rev_reads_imports_at_that_revision(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["init", "-q"], check=True)
    Path("lib.charter").write_text('charter lib\nlet rude = assistant says "lol"\n')
    Path("p.charter").write_text('charter p\nuse "lib.charter" as lib\nnorm polite:\n    forbid lib.rude\n')
    Path("t.jsonl").write_text(json.dumps({"id": "a", "messages": [
        {"role": "assistant", "content": "ok lol"}]}) + "\n" + json.dumps({"id": "b", "messages": [
            {"role": "assistant", "content": "ok hello"}]}) + "\n")
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "v1"], check=True)
    Path("lib.charter").write_text('charter lib\nlet rude = assistant says "hello"\n')
    data = _diff_json("p.charter", "--old-rev", "HEAD", "--traces", "t.jsonl")
    polite = data["norms"][0]
    assert {(c["from"], c["to"]) for c in polite["changes"]} == {("violated", "complied"), ("complied", "violated")}
    missing = _run("diff", "p.charter", "--old-rev", "nosuchrev", "--traces", "t.jsonl")
    assert missing.exit_code == 2 and "cannot read p.charter at revision nosuchrev" in missing.output


def test_needs_a_new_side(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = _run("diff", OLD, "--traces", CORPUS)
    assert result.exit_code == 2 and "--new" in result.output


# --------------------------------------------------------------------------- properties


def _named(corpus):
    """The traces with distinct ids (`trace.id` is a fact policies may read)."""
    return [trace.__class__(f"t{i}", trace.messages, trace.meta) for i, trace in enumerate(corpus)]


def _collect(old, new, corpus):
    old, new = Policy(old), Policy(new)
    collector, checker = DiffCollector(old, new, "old", "new"), DiffChecker(old, new, None)
    for trace in _named(corpus):
        collector.add(checker.delta(trace))
    return collector.result


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.lists(traces(), max_size=4))
def test_a_policy_against_itself_changes_nothing(program, corpus):
    result = _collect(program, program, corpus)
    assert result.changed == 0 and not result.status_changes() and not result.norms_changed()
    assert result.triggered(["any", "status", "new-violations", "verdicts", "norms"]) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), programs(), st.lists(traces(), max_size=4))
def test_transitions_add_up_to_each_side(old, new, corpus):
    corpus = _named(corpus)
    result = _collect(old, new, corpus)
    for side, program, index in (("old", old, 0), ("new", new, 1)):
        policy = Policy(program)
        for norm in result.transitions:
            counted = Counter()
            for pair, n in result.transitions[norm].items():
                counted[pair[index]] += n
            expected = Counter(
                aggregate(v.kind for v in policy.check(t).verdicts if v.norm == norm)
                if norm in policy.norms else ABSENT for t in corpus)
            assert counted == expected, (side, norm)
        statuses = Counter()
        for pair, n in result.statuses.items():
            statuses[pair[index]] += n
        assert statuses == Counter(policy.check(t).status for t in corpus)


def test_cli_help_lists_the_kinds():
    result = subprocess.run([sys.executable, "-m", "charter.cli", "diff", "--help"], capture_output=True,
                            text=True, cwd=ROOT)
    assert "new-violations" in result.stdout and "--old-rev" in result.stdout


# --------------------------------------------------------------------------- docs/review.md


_HASH = re.compile(r"sha256:[0-9a-f]{12,64}")


def _doc_commands(text: str) -> list[tuple[str, str]]:
    """Each `$ charter …` line of a text block of the page, with the output pasted under it."""
    found = []
    for block in re.findall(r"```text\n(.*?)```", text, re.DOTALL):
        if block.startswith("$ charter "):
            command, _, output = block.partition("\n")
            found.append((command[2:], output))
    return found


def test_review_page_shows_real_output(tmp_path, monkeypatch):
    """docs/review.md: every command, run in order in a copy of the files it names, prints
    what is pasted (policy hashes aside: they move with the stdlib, and are tested above)."""
    for path in (OLD, NEW, CORPUS):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, tmp_path / path)
    monkeypatch.chdir(tmp_path)
    commands = _doc_commands((ROOT / "docs" / "review.md").read_text())
    assert [c.split()[1] for c, _ in commands] == ["diff", "diff", "explain", "explain", "explain", "check", "replay"]
    for command, pasted in commands:
        result = CliRunner().invoke(main, shlex.split(command)[1:], catch_exceptions=False)
        assert _HASH.sub("sha256:…", result.stdout) == _HASH.sub("sha256:…", pasted), command


def test_jobs_give_the_same_report(monkeypatch):
    monkeypatch.chdir(ROOT)
    args = ["diff", OLD, "--new", NEW, "--traces", CORPUS, "--traces", CORPUS, "--format", "json"]
    one, two = _run(*args), _run(*args, "--jobs", "2")
    assert one.stdout == two.stdout and json.loads(two.stdout)["traces"] == 18


def test_an_example_of_a_tool_call_norm_shows_the_call(tmp_path):
    """A tool-call act often has no text: the example shows the call, name and arguments."""
    old = tmp_path / "old.charter"
    old.write_text('norm refunds:\n    "d"\n    on tool call\n    when call.name == "refund"\n    permit\n')
    new = tmp_path / "new.charter"
    new.write_text('norm refunds:\n    "d"\n    on tool call\n    when call.name == "refund"\n'
                   '    forbid call.args.amount > 100\n')
    traces = tmp_path / "t.jsonl"
    traces.write_text(json.dumps({"id": "big", "messages": [
        {"role": "user", "content": "Refund me"},
        {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {
            "name": "refund", "arguments": json.dumps({"order": "A1", "amount": 500})}}]},
    ]}) + "\n")
    text = _run("diff", str(old), "--new", str(new), "--traces", str(traces)).output
    assert 'big (' in text and 'turn 1: assistant: [calls refund {"amount": 500, "order": "A1"}]' in text
