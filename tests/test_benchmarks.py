"""The benchmark harness's agreement checks, on a small corpus: Charter, the hand-written
checker, regopy (OPA) and cedarpy (Cedar) give the same verdicts. Agreement is a
correctness property of the benchmark; timings are never asserted here."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


def _load(name: str):
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"charter_bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Charter (and its google-re2) must be imported before regopy: regopy 1.5.2 carries its
# own RE2 symbols, and with it imported first, compiling a regex in google-re2 aborts the
# process ("free(): invalid pointer").
run = _load("run")
# The peers are the `bench` extra (pip install -e '.[dev,bench]').
pytest.importorskip("regopy", reason="regopy (OPA) is in the bench extra")
pytest.importorskip("cedarpy", reason="cedarpy (Cedar) is in the bench extra")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return run.make_corpus(tmp_path_factory.mktemp("bench"), 150, seed=3)


def test_every_checker_agrees_with_charter(small):
    compared = run.agreement(small, {"regopy": 12, "cedarpy": 40})
    assert compared["handwritten"] > 20_000
    assert compared["regopy"] > 300 and compared["cedarpy"] > 150


def test_a_wrong_verdict_is_caught(small, monkeypatch):
    real = run.handwritten.check

    def lenient(record):  # forgets that e-mail addresses leak
        return {key: "complied" if key[0] == "no_email_leak" else kind for key, kind in real(record).items()}

    monkeypatch.setattr(run.handwritten, "check", lenient)
    with pytest.raises(run.Disagreement, match="no_email_leak.*Charter says violated, handwritten says complied"):
        run.agreement(small, {"regopy": 0, "cedarpy": 0})


def test_the_policy_touches_every_scope_and_has_enough_norms():
    policy = run.charter.load(str(run.POLICY))
    assert len(policy.norms) >= 25
    text = run.POLICY.read_text()
    for construct in ("on user turn", "on tool call", "on conversation", "within", "unless", "otherwise",
                      "overrides", "uncertain between", "count(", "previous assistant", "every earlier",
                      "is unknown", "is known", "not in", "mentions", "matches", "says all of", ".words"):
        assert construct in text, construct


def test_norm_scaling_policies_have_the_asked_number_of_norms():
    assert [len(run.policy_with(count=n).norms) for n in (5, 25, 100)] == [5, 25, 100]
    assert sorted(run.policy_with(names=run.CEDAR_NORMS).norms) == sorted(run.CEDAR_NORMS)


instructions = _load("instructions")


@pytest.mark.parametrize("name", [*instructions.CHECKERS, "charter_n5"])
def test_each_checker_the_instruction_count_measures_checks_the_traces(name, small, monkeypatch):
    """The child process's workload, run here without valgrind: every checker gets its
    records and checks them (a checker that fails to load or to check fails here)."""
    seen = []
    real = instructions._checker

    def counted(which):
        check = real(which)
        def verdicts(record):
            result = check(record)  # Charter's report, or the peer's mapping of verdicts
            seen.append(len(getattr(result, "verdicts", result)))

        return verdicts

    monkeypatch.setattr(instructions, "_checker", counted)
    instructions.main(["--child", name, "--corpus", str(small), "--traces", "3"])
    assert len(seen) == 4  # the warm-up and three traces
    assert min(seen) > 0  # every trace got verdicts


def test_the_ratios_pair_each_peer_with_charter_on_its_norms():
    assert {(a, b) for a, b, _ in instructions.PAIRS} == {
        ("charter", "handwritten"), ("regopy", "charter_12"), ("cedarpy", "charter_4")}


# --------------------------------------------------------------------------- Invariant Guardrails

agents = _load("invariant_agents")


@pytest.fixture(scope="module")
def agent_slice() -> list:
    """The first session of each kind in the example's corpus (`page-injection-followed-01`
    ...), and a few long ones joined from them (where Invariant's rules with two event
    variables run out of their default budget)."""
    pytest.importorskip("invariant.analyzer", reason="invariant-ai (Invariant Guardrails) is in the bench extra")
    base = agents.base_traces()
    first = {t.id.rsplit("-", 1)[0]: t for t in reversed(base)}
    return list(first.values()) + agents.scaled(base, 1, seed=5)[:3]


def test_invariant_finds_the_violations_charter_finds_binding_rules_included(agent_slice):
    tallies, unchecked = agents.agreement(agent_slice)
    assert all(t.violations > 0 for t in tallies.values()), tallies
    assert all(t.agreed + t.raised == len(agent_slice) for t in tallies.values())
    assert unchecked and len(unchecked) < len(agent_slice)  # the long ones, only
    lifted, none = agents.agreement(agent_slice, cycles=10**9)
    assert not none and all(t.agreed == len(agent_slice) for t in lifted.values())


def test_a_claim_is_tied_to_the_result_just_before_it_in_both(agent_slice):
    """session-0138 of the 2x corpus: a send fails, a later send to the same address does
    not, then the claim. Neither flags it: the Invariant rule's `forall` keeps only the
    failed output with no other tool output between it and the claim (without it, the
    rule flagged any earlier failed send naming the recipient)."""
    (trace,) = [t for t in agents.scaled(agents.base_traces(), 2) if t.id == "session-0138"]
    tallies, unchecked = agents.agreement([trace], cycles=10**9)
    claims = tallies["sent_claim_names_a_failed_send"]
    assert not unchecked and claims.agreed == 1 and claims.violations == 0
    assert tallies["no_sent_claim_after_failure"].violations > 0  # a failure before the claim, not its send's


def test_a_rule_that_differs_from_the_norm_is_caught(agent_slice, tmp_path, monkeypatch):
    rules = tmp_path / "rules.gr"
    rules.write_text(agents.RULES.read_text().replace("amount > 1000", "amount > 100"))
    monkeypatch.setattr(agents, "RULES", rules)
    payments = [t for t in agent_slice if t.id.startswith("pay-confirmed")]
    with pytest.raises(agents.Disagreement, match=r"transfer_limit: Charter finds \[\], Invariant \[\('transfer_limit'"):
        agents.agreement(payments)


def test_the_scaled_corpus_keeps_each_result_tied_to_its_call():
    base = agents.base_traces()
    for trace in agents.scaled(base, 1, seed=5)[:20]:
        assert not trace.links.unlinked
        assert [m.index for m in trace.messages] == list(range(len(trace.messages)))
        assert sum(m.role == "system" for m in trace.messages) == 1


def test_side_by_side_times_both_checkers_round_after_round(tmp_path, capsys):
    side = _load("side_by_side")
    path = run.make_corpus(tmp_path, 5, seed=3)
    ours, theirs = side.rounds(run.charter.load(str(run.POLICY)), path, 3)
    assert len(ours) == len(theirs) == 3 and min(ours + theirs) > 0
    side.main(["--traces", "5", "--rounds", "2", "--workdir", str(tmp_path)])
    report = capsys.readouterr().out.splitlines()
    assert report[0].endswith("5 traces, 2 rounds")
    assert re.fullmatch(r"Charter [\d.]+ µs a trace, hand-written [\d.]+; Charter / hand-written [\d.]+ "
                        r"\(rounds [\d.]+-[\d.]+\)", report[1])
