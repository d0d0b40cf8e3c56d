"""`charter test --prove`: the abstraction over-approximates the evaluator, so what it
proves unreachable no trace reaches; seeded bugs come out proved or refuted."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

import charter
from charter.analysis.generate import traces, vocabulary
from charter.analysis.properties import _clauses, _reached, check_properties
from charter.analysis.prove import MAX_COMBINATIONS, analyse
from charter.check.program import Program
from charter.check.resolve import stdlib_names
from charter.cli import main
from charter.solver.norms import solve_norm
from charter.compile.compiler import compile_program
from charter.evaluate.evaluator import evaluate
from charter.traces.model import Trace

from .strategies import cases

ROOT = Path(__file__).resolve().parents[2]
SEEDED = ROOT / "tests" / "cases" / "analysis"


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases)
def test_what_a_trace_reaches_the_abstraction_reaches(case: tuple[Program, Trace]) -> None:
    program, trace = case
    analyses = analyse(program)
    report = evaluate(compile_program(program), trace)
    plain = {(v.norm, v.turn, v.call): v.kind for v in evaluate(compile_program(attrs.evolve(
        program, norms=tuple(attrs.evolve(n, overriders=()) for n in program.norms))), trace).verdicts}
    applicable = _reached(report)[1]
    for verdict in report.verdicts:
        analysis = analyses[verdict.norm]
        if analysis.combinations is None:
            continue
        if verdict.kind == "conflict":
            assert analysis.conflict is not None
        if verdict.gap:
            assert analysis.gap is not None
        if verdict.norm in applicable:
            assert analysis.applicable
        if verdict.kind == "overridden" and plain[(verdict.norm, verdict.turn, verdict.call)] != "not_applicable":
            assert verdict.overridden_by in analysis.overrides


POLICIES = [ROOT / "examples" / "acme_support.charter", *sorted(SEEDED.glob("*.charter"))]


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_the_clauses_a_generated_trace_reaches_are_reachable_in_the_abstraction(path):
    policy = charter.load(str(path))
    analyses = analyse(policy.program)
    reachable = set().union(*(a.reached for a in analyses.values()))
    clauses = {clause.span for clause in _clauses(policy.compiled)}

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(traces(vocabulary(policy.program)))
    def clauses_reached(trace):
        assert _reached(evaluate(policy.compiled, trace))[0] & clauses <= reachable

    clauses_reached()


def prove(path: Path | str):
    policy = charter.load(str(path))
    return [r for r in check_properties(policy.program, policy.compiled, 100, prove=True)]


@pytest.mark.parametrize("name, prop, subject, method", [
    ("colliding_exceptions", "conflict", "replies", "refuted"),
    ("uncovered_range", "gap", "refunds", "refuted"),
    ("window_conflict", "conflict", "follow_up", "refuted"),
    ("dead_exception", "dead clause", "adults: unless trace.meta.age < 13: permit", "proved"),
    ("override_never", "override never applies", "casual overrides tone", "proved"),
    ("contradiction", "contradiction", "must_apologise, never_apologise", "refuted"),
])
def test_seeded_bugs_are_refuted_or_proved(name, prop, subject, method):
    path = SEEDED / f"{name}.charter"
    (failure,) = [r for r in prove(path) if not r.passed]
    assert (failure.name, failure.subject, failure.method) == (prop, subject, method)
    if failure.counterexample is not None:
        # A refutation is a real trace: pasted back into the policy, its test passes.
        results = charter.loads(path.read_text() + "\n" + failure.counterexample, name=str(path)).run_tests()
        assert results and all(r.passed for r in results)


EXAMPLES = ["acme_support.charter", *(f"{n}/{n}.charter" for n in ("shop_support", "health_info", "tutor",
                                                                   "coding_agent", "model_spec"))]


@pytest.mark.parametrize("policy", [*(f"examples/{e}" for e in EXAMPLES), *(f"std.{n}" for n in stdlib_names())])
def test_clean_policies_are_proved_where_in_range(policy):
    path = str(ROOT / policy) if policy.endswith(".charter") else policy
    results = prove(path)
    assert [r for r in results if not r.passed] == []
    loaded = charter.load(path)
    in_range = all(a.combinations is not None for a in analyse(loaded.program).values())
    for result in results:
        if result.name in ("conflict", "gap") and in_range:
            assert result.method == "proved", result


def test_regions_keep_comparisons_of_one_fact_consistent():
    policy = charter.loads(
        'charter t by developer\n'
        'norm refunds:\n'
        '    "Refund windows."\n'
        '    when user says "refund"\n'
        '    case trace.meta.age <= 30: permit\n'
        '    case trace.meta.age > 90: forbid assistant says "refunded"\n')
    (analysis,) = analyse(policy.program).values()
    assert analysis.conflict is None  # both cases never hold at once
    truth = {atom.text(policy.program): value for atom, value in analysis.gap}
    assert truth == {'user says "refund"': True, "trace.meta.age <= 30": False, "trace.meta.age > 90": False}


def test_a_norm_with_too_many_combinations_is_only_sampled():
    phrases = " or ".join(f'user says "w{i}"' for i in range(MAX_COMBINATIONS.bit_length()))
    policy = charter.loads(f'charter t by developer\nnorm wide:\n    "Wide."\n    when {phrases}\n'
                           '    forbid assistant says "no"\n')
    (analysis,) = analyse(policy.program).values()
    assert analysis.combinations is None
    results = {r.name: r for r in check_properties(policy.program, policy.compiled, 30, prove=True)}
    # The solver decides its conflicts and gaps (issue 23); without it, they are sampled.
    assert results["conflict"].method == "proved"
    assert results["conflict"].detail == ("proved: no conflict in any of 0 combinations of the atoms of 0 norms, "
                                          "and by the solver for `wide`")


def test_the_solver_refutes_a_conflict_past_the_enumeration_limit():
    phrases = " or ".join(f'user says "w{i}"' for i in range(MAX_COMBINATIONS.bit_length()))
    policy = charter.loads(f'charter t by developer\nnorm wide:\n    "Wide."\n    when {phrases}\n'
                           '    case trace.meta.age <= 30: permit\n'
                           '    case trace.meta.age > 10: forbid assistant says "no"\n'
                           '    otherwise: permit\n')
    results = {r.name: r for r in check_properties(policy.program, policy.compiled, 30, prove=True)}
    assert (results["conflict"].passed, results["conflict"].method) == (False, "refuted")
    assert results["gap"].method == "proved"


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(cases)
def test_the_solver_and_the_enumeration_agree_on_each_norm(case: tuple[Program, Trace]) -> None:
    program, _ = case
    analyses = analyse(program)
    for norm in program.norms:
        enumerated = analyses[norm.name]
        if enumerated.combinations is None:
            continue  # nothing to compare with
        solved = solve_norm(program, norm, enumerated)
        assert (solved.conflict is None, solved.gap is None) == (enumerated.conflict is None, enumerated.gap is None)


def test_charter_test_prove_from_the_command_line():
    result = CliRunner().invoke(main, ["test", "--prove", "--examples", "60", str(SEEDED / "dead_exception.charter")])
    assert result.exit_code == 1
    assert "ok    conflict                 proved: no conflict in any of" in result.stdout
    assert "FAIL  dead clause              adults: unless trace.meta.age < 13: permit: proved unreachable" \
        in result.stdout
    data = json.loads(CliRunner().invoke(main, ["test", "--prove", "--examples", "60", "--format", "json",
                                                str(SEEDED / "dead_exception.charter")]).stdout)
    assert {p["property"]: p["method"] for p in data["properties"]}["dead clause"] == "proved"
