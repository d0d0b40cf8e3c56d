"""The example folders (examples/*/): each policy is lint-clean and passes its inline tests,
its corpus gives the summary counts in its expected_summary.json, the output pasted in its
README is what the command prints today, the layered example's illegal layer fails to
load, and the Model Spec table in its README is recomputed and has no wrong settled verdict."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import charter
from charter.analysis.lint import lint
from charter.cli import main
from charter.check.loader import load

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
MODEL_SPEC_CORPUS = ROOT.parent / "shared" / "data" / "model_spec_examples.jsonl"
LAYERS = ["platform.charter", "developer.charter", "user.charter"]

# name -> (policy files, trace file), relative to examples/NAME/
FOLDERS = {
    "shop_support": (["shop_support.charter"], "traces.jsonl"),
    "health_info": (["health_info.charter"], "traces.jsonl"),
    "tutor": (["tutor.charter"], "traces.jsonl"),
    "coding_agent": (["coding_agent.charter"], "agent_runs.json"),
    "mail_agent": (["mail_agent.charter"], "traces.jsonl"),
    "layered": (LAYERS, "traces.jsonl"),
    "model_spec": (["model_spec.charter"], "../../../shared/data/model_spec_examples.jsonl"),
}
ALL_KINDS = {"complied", "violated", "unspecified", "not_applicable", "overridden", "pending"}


def needs_corpus(name: str):
    missing = name == "model_spec" and not MODEL_SPEC_CORPUS.exists()
    return pytest.mark.skipif(missing, reason=f"{MODEL_SPEC_CORPUS} is not here (shared data)")


EXAMPLE_PARAMS = [pytest.param(name, marks=needs_corpus(name)) for name in FOLDERS]


def policy_args(name: str) -> list[str]:
    return [f"examples/{name}/{p}" for p in FOLDERS[name][0]]


def traces_arg(name: str) -> str:
    if name == "model_spec":
        return "../shared/data/model_spec_examples.jsonl"
    return f"examples/{name}/{FOLDERS[name][1]}"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # the READMEs show commands run from the repository root


@pytest.fixture(scope="module")
def reports() -> dict[str, dict]:
    """`charter check --format json` of every example whose corpus is here."""
    out = {}
    for name in FOLDERS:
        if name == "model_spec" and not MODEL_SPEC_CORPUS.exists():
            continue
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(ROOT)
            code, stdout, _ = run("check", *policy_args(name), "--traces", traces_arg(name), "--format", "json")
        assert code in (0, 1), stdout[-2000:]
        out[name] = json.loads(stdout)
    return out


@pytest.mark.parametrize("name", EXAMPLE_PARAMS)
def test_the_summary_is_the_expected_one(name, reports):
    expected = json.loads((EXAMPLES / name / "expected_summary.json").read_text("utf-8"))
    assert reports[name]["summary"] == expected


@pytest.mark.parametrize("name", [n for n in FOLDERS if n != "model_spec"])
def test_the_corpus_is_big_enough_and_shows_every_verdict_kind(name, reports):
    summary = reports[name]["summary"]
    assert summary["traces"] >= 50 and summary["records"]["skipped"] == 0
    shown = {kind for kind, count in summary["verdicts"].items() if count}
    assert shown >= ALL_KINDS - ({"overridden"} if name == "health_info" else set())
    unspecified = [v for t in reports[name]["traces"] for v in t["verdicts"] if v["verdict"] == "unspecified"]
    assert any(v["escalate_to"] for v in unspecified), "an explicit unspecified, escalated"


@pytest.mark.parametrize("name", list(FOLDERS) + ["acme_support"])
def test_lint_is_clean_and_inline_tests_pass(name):
    paths = [str(EXAMPLES / "acme_support.charter")] if name == "acme_support" else \
        [str(EXAMPLES / name / p) for p in FOLDERS[name][0]]
    assert lint(load(paths)) == []
    results = charter.load(*paths).run_tests()
    assert results and all(r.passed for r in results), [r.name for r in results if not r.passed]


@pytest.mark.parametrize("name", [n for n in FOLDERS if n != "model_spec"])  # its table is checked below
def test_the_readme_shows_the_real_output(name):
    """Every ```text block of the README that starts with `$ charter ...` is that
    command's output today (standard output, then standard error)."""
    readme = (EXAMPLES / name / "README.md").read_text("utf-8")
    blocks = re.findall(r"```text\n\$ (charter [^\n]*)\n(.*?)```", readme, re.S)
    assert blocks, "the README pastes the output of a command"
    for command, pasted in blocks:
        _, stdout, stderr = run(*command.split()[1:])
        assert stdout + stderr == pasted, command


def test_the_illegal_layer_fails_to_load_with_e313_and_e312():
    layers = [str(EXAMPLES / "layered" / p) for p in ("platform.charter", "developer.charter", "illegal_user.charter")]
    with pytest.raises(charter.PolicyError) as caught:
        charter.load(*layers)
    assert sorted(d.code for d in caught.value.diagnostics) == ["E312", "E313"]
    code, _, stderr = run("check", *layers[:2], "examples/layered/illegal_user.charter",
                          "--traces", "examples/layered/traces.jsonl")
    assert code == 2 and "error[E313]" in stderr and "error[E312]" in stderr


# --------------------------------------------------------------------------- the Model Spec table


def _agreement():
    spec = importlib.util.spec_from_file_location("agreement", EXAMPLES / "model_spec" / "agreement.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_corpus("model_spec")
def test_the_model_spec_table_is_the_one_in_the_readme_and_never_wrong(reports):
    agreement = _agreement()
    lines = [json.dumps(t) for t in reports["model_spec"]["traces"]]
    with MODEL_SPEC_CORPUS.open(encoding="utf-8") as corpus:
        counts = agreement.table(lines, corpus)
    readme = (EXAMPLES / "model_spec" / "README.md").read_text("utf-8")
    assert agreement.markdown(counts) in readme
    assert counts["all"]["disagree"] == 0 and counts["all"]["agree"] > 0 and counts["all"]["unspecified"] > 0


@needs_corpus("model_spec")
def test_no_violated_model_spec_trace_is_labelled_good(reports):
    labels = {json.loads(line)["id"]: json.loads(line)["meta"]["label"] for line in MODEL_SPEC_CORPUS.open()}
    violated = [t["id"] for t in reports["model_spec"]["traces"] if t["status"] == "violated"]
    assert violated and all(labels[i] == "BAD" for i in violated)


# --------------------------------------------------------------------------- the agent's corpus


def test_the_mail_agent_corpus_is_responses_records_whose_results_all_have_their_call():
    """Every record is read as the OpenAI Responses format, and every function call
    output is tied to the call that produced it (the README says none is unlinked)."""
    from charter.traces.reader import Skipped, read_traces
    from charter.traces.responses import detect

    path = EXAMPLES / "mail_agent" / "traces.jsonl"
    assert all(detect(json.loads(line)) for line in path.open(encoding="utf-8"))
    traces = [t for t in read_traces(str(path)) if not isinstance(t, Skipped)]
    results = [m for t in traces for m in t.messages if m.role == "tool"]
    assert len(traces) == 75 and len(results) > 100
    assert all(t.links.call_of(m.index) is not None for t in traces for m in t.messages if m.role == "tool")
    assert not any(t.links.unlinked for t in traces)
