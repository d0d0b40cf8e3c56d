"""Issue 20's acceptance, from the command line on the shipped Model Spec example and its
corpus: gaps -> decide (three authorities, one below the question's target) -> amend
(previewed, then written) -> check, test --prove, gaps again -> amend again (nothing)."""

from __future__ import annotations

import json
import shlex
import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from charter.cli import main
from charter.evaluate.verdicts import aggregate

ROOT = Path(__file__).resolve().parent.parent
MODEL_SPEC = ROOT / "examples" / "model_spec" / "model_spec.charter"
CORPUS = ROOT.parent / "shared" / "data" / "model_spec_examples.jsonl"

pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason="the Model Spec corpus is not here")


def _run(*args: str, codes: tuple[int, ...] = (0,)) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code in codes, result.output
    return result.stdout


def _open_questions(policy: str) -> dict[str, str]:
    """norm -> question ID of every item `charter gaps` lists."""
    data = json.loads(_run("gaps", policy, "--traces", str(CORPUS), "--format", "json"))
    return {n["norm"]: i["question"] for s in data["stakeholders"] for n in s["norms"] for i in n["items"]}


def _verdicts(policy: str) -> dict[tuple[str, str], str]:
    """(trace, norm) -> the norm's verdicts on the trace summed up, as `charter diff` sums them."""
    data = json.loads(_run("check", policy, "--traces", str(CORPUS), "--format", "json", codes=(0, 1)))
    kinds: dict[tuple[str, str], list[str]] = {}
    for trace in data["traces"]:
        for verdict in trace["verdicts"]:
            kinds.setdefault((trace["id"], verdict["norm"]), []).append(verdict["verdict"])
    return {key: aggregate(found) for key, found in kinds.items()}


def test_the_decision_loop_on_the_model_spec(tmp_path):
    policy = str(tmp_path / "model_spec.charter")
    shutil.copy(MODEL_SPEC, policy)
    ledger = str(tmp_path / "decisions.ledger")
    before = _open_questions(policy)
    assert len(before) == 5
    verdicts_before = _verdicts(policy)

    def decide(norm: str, authority: str, person: str, *outcome: str) -> str:
        return _run("decide", before[norm], policy, "--traces", str(CORPUS), "--ledger", ledger,
                    "--as", authority, "--by", person, *outcome, "--why", f"{person} decided")

    assert "to apply" in decide("eating_disorder_disclosure", "platform", "Dana Ruiz",
                                "--forbid", 'assistant says any of ["skip every meal", "skip meals", "calories a day"]')
    assert "to apply" in decide("private_prompt_requests", "developer", "Lee Chen",  # its target
                                "--forbid", 'assistant says any of ["my instructions say", "my system prompt says"]')
    assert "a proposal, not applied" in decide("honest_about_being_an_ai", "user", "Sam Okafor", "--permit")

    preview = json.loads(_run("amend", policy, "--traces", str(CORPUS), "--ledger", ledger, "--dry-run",
                              "--format", "json"))
    assert [d["status"] for d in preview["decisions"]] == ["apply", "apply", "proposal"]
    assert preview["problems"] == [] and preview["written"] == []
    assert Path(policy).read_text() == MODEL_SPEC.read_text()  # a dry run writes nothing
    previewed = {n["norm"]: Counter({(c["from"], c["to"]): c["traces"] for c in n["changes"]})
                 for n in preview["diff"]["norms"] if n["changes"]}

    written = json.loads(_run("amend", policy, "--traces", str(CORPUS), "--ledger", ledger, "--format", "json"))
    assert written["written"] == [policy] and written["diff"] == preview["diff"]

    # in `charter fmt` layout, every comment kept, and each edit marked
    _run("fmt", "--check", policy)
    text = Path(policy).read_text()
    comments = [line.strip() for line in MODEL_SPEC.read_text().splitlines() if line.strip().startswith("#")]
    assert all(comment in text for comment in comments)
    assert text.count(": decided by ") == 2

    # charter check shows exactly the previewed verdict changes
    verdicts_after = _verdicts(policy)
    observed: dict[str, Counter] = {}
    for (trace, norm), kind in verdicts_after.items():
        old = verdicts_before.get((trace, norm))
        if old != kind:
            observed.setdefault(norm, Counter())[(old, kind)] += 1
    assert observed == previewed
    assert set(previewed) == {"eating_disorder_disclosure", "private_prompt_requests"}

    # the new inline tests pass, and --prove finds no conflict or gap
    tests = _run("test", "--prove", policy, "--format", "json")
    results = json.loads(tests)
    assert all(t["passed"] for t in results["tests"]) and len(results["tests"]) == MODEL_SPEC.read_text().count('\ntest "') + 6
    proved = {p["property"]: p for p in results["properties"]}
    assert proved["conflict"]["passed"] and proved["gap"]["passed"]
    assert proved["conflict"]["method"] == proved["gap"]["method"] == "proved"

    # three questions are left: the two nobody decided, and the one only proposed
    after = _open_questions(policy)
    assert after == {norm: before[norm] for norm in
                     ("crisis_reply_engages", "honest_about_being_an_ai", "no_unprompted_profanity")}

    # applying the ledger again changes nothing
    amended = Path(policy).read_text()
    again = json.loads(_run("amend", policy, "--traces", str(CORPUS), "--ledger", ledger, "--format", "json"))
    assert [d["status"] for d in again["decisions"]] == ["applied", "applied", "proposal"]
    assert again["written"] == [] and again["edits"] == [] and Path(policy).read_text() == amended
    print(f"open questions {len(before)} -> {len(after)}; verdict changes previewed "
          f"{sum(sum(c.values()) for c in previewed.values())}, observed {sum(sum(c.values()) for c in observed.values())}")


def _blocks(page: str) -> dict[str, str]:
    """The page's ```text blocks that show a command, by their first line."""
    found = {}
    for block in page.split("```text\n")[1:]:
        body = block.split("```", 1)[0]
        if body.startswith("$ "):
            found[body.split("\n", 1)[0]] = body
    return found


def test_the_walkthrough_in_docs_is_real_output(tmp_path, monkeypatch):
    """docs/decisions.md: the decide lines and the dry run are what the commands print, run
    as the page runs them (in a copy of the repository beside ../shared/data)."""
    (tmp_path / "main" / "examples" / "model_spec").mkdir(parents=True)
    (tmp_path / "shared").symlink_to(CORPUS.parent.parent)
    shutil.copy(MODEL_SPEC, tmp_path / "main" / "examples" / "model_spec")
    monkeypatch.chdir(tmp_path / "main")
    page = (ROOT / "docs" / "decisions.md").read_text()
    blocks = _blocks(page)
    decide = next(b for first, b in blocks.items() if first.startswith("$ charter decide Q71779dc"))
    commands, shown = [], []
    for line in decide.splitlines():
        if line.startswith("$ "):
            commands.append(line[2:])
        elif line.startswith("    "):
            commands[-1] += " " + line.strip()
        else:
            shown.append(line)
    printed = [_run(*shlex.split(c.replace(" \\ ", " "))[1:]).rstrip("\n") for c in commands]
    assert printed == shown
    # the ledger as the page shows it (its times), then the dry run
    ledger = page.split("The ledger they wrote, as a pull request shows it:\n\n```text\n", 1)[1].split("```", 1)[0]
    Path("examples/model_spec/decisions.ledger").write_text(ledger)
    dry = next(b for first, b in blocks.items() if first.endswith("--dry-run"))
    first, expected = dry.split("\n", 1)
    assert _run(*shlex.split(first[2:])[1:]) == expected
