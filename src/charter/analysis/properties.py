"""Property checks of a policy over generated traces (`charter test`).

Failing properties are searched with hypothesis (`find`), which shrinks each
counterexample to a minimal trace, printed as a `test` block that reproduces it:

- conflict: a verdict is `conflict`;
- gap: a verdict is an implicit gap (the trigger holds, no case applies, no `otherwise`);
- contradiction: at an assistant turn, whatever the reply (among the policy's own
  phrases and none), some norm is violated, and no single norm is violated by all of them;
- determinism and order independence: the same verdicts twice, and with the norms,
  cases and exceptions in reverse order.

Reachability is measured on a sample of traces: a case, exception or `otherwise` that no
sampled trace reaches, a norm that never applies and an override that never takes effect
are reported with the sample size (a sample is evidence, not a proof).
"""

from __future__ import annotations

import random
from typing import Callable

import attrs
from hypothesis import HealthCheck, find, settings
from hypothesis.errors import NoSuchExample

from ..syntax import ast
from ..check.program import CheckedNorm, Program
from ..compile.compiler import CompiledPolicy, compile_program
from ..evaluate.evaluator import evaluate
from ..source.text import Span
from ..traces.model import Message, Trace
from ..evaluate.verdicts import TraceReport
from .generate import FILLER, reply_parts, traces, vocabulary
from .minimise import minimise
from .printer import as_test_block
from .prove import NormAnalysis, analyse, describe


# How many times the usual number of traces a targeted search may try before reporting
# that no trace reaches a clause, makes a norm apply or an override take effect (none is
# run for what `--prove` has shown unreachable), and before `--prove` gives up confirming
# a conflict or gap the abstraction found.
_PERSIST = 10
# How many such searches, from different seeds, for what `--prove` has shown reachable.
_SEEDS = 4


@attrs.frozen
class PropertyResult:
    """One property: `passed`, with what was tried, or failed, with a minimal trace.
    `method` says how it was settled: `sampled` (generated traces only), `proved` (over
    every combination of the atoms, `--prove`) or `refuted` (a confirmed counterexample)."""

    name: str
    passed: bool
    detail: str
    subject: str | None = None
    span: Span | None = None
    counterexample: str | None = None
    method: str = "sampled"


def check_properties(program: Program, compiled: CompiledPolicy, examples: int = 200,
                     seed: int = 0, prove: bool = False) -> list[PropertyResult]:
    """Every property, on `examples` generated traces (the same ones for every property,
    from `seed`); a failing property is searched again to shrink its counterexample.
    With `prove`, conflicts, gaps and reachability are also decided over every
    combination of each norm's atoms (analysis/prove.py)."""
    strategy = traces(vocabulary(program))
    pool = _sample(strategy, examples, seed)
    reversed_policy = compile_program(_reversed(program))
    analyses = _solved(program, analyse(program)) if prove else None

    def check(name: str, failing: Callable[[Trace], list[tuple[str, str, int | None]]],
              what: str, possible: Callable[[NormAnalysis], object] | None = None) -> PropertyResult:
        sampled = f"sampled {examples} traces, no {what}"
        suspects = {} if analyses is None or possible is None else {
            n: possible(a) for n, a in analyses.items() if (a.combinations is not None or a.solved) and possible(a)}
        if any(failing(trace) for trace in pool) or suspects:
            trace = _find(strategy, lambda t: bool(failing(t)), examples * (_PERSIST if suspects else 1), seed)
            if trace is not None:
                trace = minimise(trace, failing)
                expects = failing(trace)
                block = as_test_block(f"{name}: found by charter test", trace, expects)
                return _failed(name, what, sorted({norm for norm, _, _ in expects}), block, analyses is not None)
        if analyses is None or possible is None:
            return PropertyResult(name, True, sampled)
        return _proof(name, what, sampled, analyses, suspects, program)

    results = [
        check("conflict", lambda t: _kinds(evaluate(compiled, t), "conflict"), "conflict",
              lambda a: a.conflict),
        check("gap", lambda t: [(v.norm, "unspecified", v.turn) for v in evaluate(compiled, t).verdicts
                                if v.gap], "gap", lambda a: a.gap),
        _contradictions(program, compiled, strategy, pool, examples, seed, prove),
        check("determinism", lambda t: _differs(evaluate(compiled, t), evaluate(compiled, t)),
              "difference between two runs"),
        check("order independence", lambda t: _differs(evaluate(compiled, t), evaluate(reversed_policy, t)),
              "difference when norms, cases and exceptions are reordered"),
    ]
    return results + _reachability(program, compiled, strategy, pool, seed, analyses)


def _proof(name: str, what: str, sampled: str, analyses: dict[str, NormAnalysis],
           suspects: dict, program: Program) -> PropertyResult:
    """The outcome of `--prove` for a property no trace has refuted."""
    out_of_range = [n for n, a in analyses.items() if a.combinations is None and not a.solved]
    solved = [n for n, a in analyses.items() if a.solved]
    if suspects:
        norm, combination = next(iter(suspects.items()))
        return PropertyResult(name, True, f"{sampled}; not proved: in the abstraction `{norm}` gives {what} "
                                          f"with {describe(program, combination)}")
    if out_of_range:
        return PropertyResult(name, True, f"{sampled}; not proved: too many combinations in "
                                          + ", ".join(f"`{n}`" for n in out_of_range))
    combinations = sum(a.combinations or 0 for a in analyses.values())
    by_solver = f", and by the solver for {', '.join(f'`{n}`' for n in solved)}" if solved else ""
    return PropertyResult(name, True, f"proved: no {what} in any of {_plural(combinations, 'combination')} "
                                      f"of the atoms of {_plural(len(analyses) - len(solved), 'norm')}{by_solver}",
                          method="proved")


def _solved(program: Program, analyses: dict[str, NormAnalysis]) -> dict[str, NormAnalysis]:
    """The norms with too many combinations to enumerate, their conflicts and gaps decided
    by the solver where it is installed."""
    try:
        from ..solver.norms import solve_norm
    except ImportError:
        return analyses
    return {name: solve_norm(program, program.norm(name), a) if a.combinations is None else a
            for name, a in analyses.items()}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _settings(examples: int, shrink: bool = True) -> settings:
    return settings(max_examples=examples, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck),
                    phases=["generate", "shrink"] if shrink else ["generate"])


def _sample(strategy, examples: int, seed: int) -> list[Trace]:
    """`examples` traces drawn deterministically from `seed`."""
    pool: list[Trace] = []
    try:
        find(strategy, lambda t: pool.append(t) and False, settings=_settings(examples, shrink=False),
             random=random.Random(seed))
    except NoSuchExample:
        pass
    return pool


def _kinds(report: TraceReport, kind: str) -> list[tuple[str, str, int | None]]:
    return [(v.norm, v.kind, v.turn) for v in report.verdicts if v.kind == kind]


def _differs(first: TraceReport, second: TraceReport) -> list[tuple[str, str, int | None]]:
    rows = {(v.norm, v.turn, v.call): v for v in first.verdicts}
    return [(v.norm, v.kind, v.turn) for v in second.verdicts if rows.get((v.norm, v.turn, v.call)) != v]


def _failed(name: str, what: str, norms: list[str], block: str, prove: bool, detail: str = "") -> PropertyResult:
    subject = ", ".join(norms)
    if not prove:
        return PropertyResult(name, False, f"a trace with {what}{detail}", subject, None, block)
    return PropertyResult(name, False, f"refuted: a trace with {what}{detail} (confirmed by the evaluator)",
                          subject, None, block, "refuted")


# --------------------------------------------------------------------------- contradiction

_CONTRADICTION = "norms that no reply can satisfy together"


@attrs.frozen
class _Contradiction:
    """At the last message of `trace` (the reply), every reply tried breaks some norm
    and no norm is broken by all of them. `variants` are the trace with, for each norm
    involved, a reply that keeps it, and the verdicts the reply decides there."""

    trace: Trace
    variants: tuple[tuple[Trace, tuple[tuple[str, str, int | None], ...]], ...]

    @property
    def norms(self) -> list[str]:
        return sorted({norm for _, expects in self.variants for norm, _, _ in expects})

    def blocks(self) -> str:
        count = len(self.variants)
        return "\n".join(as_test_block(f"contradiction: reply {i} of {count}", trace, list(expects))
                         for i, (trace, expects) in enumerate(self.variants, 1))


def _contradictions(program: Program, compiled: CompiledPolicy, strategy, pool: list[Trace], examples: int,
                    seed: int, prove: bool) -> PropertyResult:
    """Sampled: a generated trace where, at an assistant message, the norms contradict
    each other. With `prove`, decided by the solver within its bound (solver/)."""
    sampled = f"sampled {examples} traces, no {_CONTRADICTION}"
    tokens = tuple(reply_parts(vocabulary(program))[0])

    def found(trace: Trace, extra: tuple[Message, ...] = ()) -> _Contradiction | None:
        return _contradiction(compiled, trace, tokens, extra)

    if any(found(trace) for trace in pool):
        trace = _find(strategy, lambda t: found(t) is not None, examples, seed)
        if trace is not None:
            return _reported(program, minimise(trace, found), found, prove, "")
    if not prove:
        return PropertyResult("contradiction", True, sampled)
    try:
        from ..solver import decide_contradictions
    except ImportError:
        return PropertyResult("contradiction", True, f'{sampled}; not decided: the solver is not installed '
                                                     f'(pip install "charter[prove]")')
    decision = decide_contradictions(program, vocabulary(program), lambda t, replies: found(t, replies))
    if decision.status == "refuted":
        extra = tuple(decision.found.variants[i][0].messages[-1] for i in range(len(decision.found.variants)))
        trace = minimise(decision.found.trace, lambda t: found(t, extra))
        return _reported(program, trace, lambda t: found(t, extra), prove,
                         f"; found by the solver in {decision.bound}")
    if decision.status == "proved":
        return PropertyResult("contradiction", True, f"proved: no {_CONTRADICTION} in {decision.bound} "
                                                     f"(Z3, {_plural(decision.rounds, 'round')})", method="proved")
    return PropertyResult("contradiction", True, f"{sampled}; not decided in {decision.bound}: "
                                                 f"{decision.note}")


def _reported(program: Program, trace: Trace, found: Callable[[Trace], _Contradiction | None], prove: bool,
              where: str) -> PropertyResult:
    contradiction = found(trace)
    norms = contradiction.norms
    authorities = sorted({program.norm(n).authority for n in norms})
    layers = f" between the authorities {' and '.join(authorities)}" if len(authorities) > 1 else ""
    detail = f"{layers}: " + ", ".join(f"`{n}` (by {program.norm(n).authority})" for n in norms) + where
    return _failed("contradiction", _CONTRADICTION, norms, contradiction.blocks(), prove, detail)


def _contradiction(policy: CompiledPolicy, trace: Trace, tokens: tuple[str, ...],
                   extra: tuple[Message, ...] = ()) -> _Contradiction | None:
    """The first assistant message where the norms contradict each other, whatever the
    reply there: the message's own, a filler word, each token (the policy's phrases and
    regex samples, `generate.reply_parts`), all of them, `extra`, and the best the tokens
    can be put together (`repair`). A reply is text the user sees: an empty one would
    only put off a `within` window."""
    for turn, message in enumerate(trace.messages):
        if message.role == "assistant":
            contents = ([message.content] if message.content.strip() else []) + [FILLER[0], *tokens, " ".join(tokens)]
            replies = [attrs.evolve(message, content=c) for c in dict.fromkeys(contents)]
            at = _Turn(policy, trace, turn)
            found = at.contradiction(replies + [attrs.evolve(r, index=turn) for r in extra])
            if found is not None and not at.repair(message, tokens):
                return found
    return None


class _Turn:
    """The verdicts a reply at `turn` decides: those the trace cut after it has and the
    trace before it does not."""

    def __init__(self, policy: CompiledPolicy, trace: Trace, turn: int):
        self.policy, self.trace, self.turn = policy, trace, turn
        self._before: set | None = None

    def broken(self, reply: Message) -> tuple[Trace, TraceReport, set]:
        variant = attrs.evolve(self.trace, messages=self.trace.messages[:self.turn] + (reply,))
        report = evaluate(self.policy, variant)
        broken = {(v.norm, v.turn, v.call) for v in report.verdicts if v.kind == "violated"}
        if broken and self._before is None:
            # A conversation's verdict (turn None) is the reply's to decide, whatever it was before.
            earlier = evaluate(self.policy, attrs.evolve(self.trace, messages=self.trace.messages[:self.turn]))
            self._before = {(v.norm, v.turn, v.call) for v in earlier.verdicts
                            if v.kind == "violated" and v.turn is not None}
        return variant, report, broken - (self._before or set())

    def contradiction(self, replies: list[Message]) -> _Contradiction | None:
        broken_by = []
        for reply in replies:
            variant, report, broken = self.broken(reply)
            if not broken:
                return None  # this reply keeps every norm
            broken_by.append((variant, report, broken))
        norms = [{norm for norm, _, _ in broken} for _, _, broken in broken_by]
        if set.intersection(*norms):
            return None  # a norm no reply keeps: not a contradiction between norms
        kept: dict[str, tuple] = {}  # for each norm broken somewhere, the first reply that keeps it
        for norm in sorted(set().union(*norms)):
            found = next(b for b, n in zip(broken_by, norms) if norm not in n)
            reply = found[0].messages[-1]  # two replies may differ only in their labels or metadata
            kept.setdefault(repr((reply.content, reply.labels, reply.meta)), found)
        # The norms in it: those the replies shown break (each is kept by one of them); a
        # norm that only some other reply breaks has no part in it.
        # By turn, a conversation's verdict (turn None) last.
        acts = sorted(set().union(*(broken for _, _, broken in kept.values())),
                      key=lambda a: (a[1] is None, a[1] or 0, a[0]))
        variants = []
        for variant, report, _ in kept.values():
            kinds = {(v.norm, v.turn, v.call): v.kind for v in report.verdicts}
            variants.append((variant, tuple((n, kinds[(n, t, c)], t) for n, t, c in acts if (n, t, c) in kinds)))
        return _Contradiction(broken_by[0][0], tuple(variants))

    def repair(self, message: Message, tokens: tuple[str, ...]) -> bool:
        """Whether tokens added one at a time, at the end or at the start (a regex
        anchored at the start reads the first), each where it leaves the fewest verdicts
        broken, make a reply that keeps every norm."""
        words: list[str] = [FILLER[0]]
        broken = len(self.broken(attrs.evolve(message, content=FILLER[0]))[2])
        while broken:
            tried = {tuple(w): len(self.broken(attrs.evolve(message, content=" ".join(w)))[2])
                     for t in tokens if t not in words for w in (words + [t], [t] + words)}
            best = min(tried, key=tried.__getitem__, default=None)
            if best is None or tried[best] >= broken:
                return False
            words, broken = list(best), tried[best]
        return True


# --------------------------------------------------------------------------- reachability


@attrs.frozen
class _Clause:
    kind: str
    norm: str
    span: Span
    text: str


def _clauses(policy: CompiledPolicy) -> list[_Clause]:
    found = []
    for norm in policy.norms:
        found += [_Clause("case", norm.name, clause.span, clause.text) for _, _, clause in norm.cases]
        stack = [norm.tree] if norm.tree else [node for _, node, _ in norm.cases]
        if norm.otherwise is not None:
            found.append(_Clause("otherwise", norm.name, norm.otherwise.clause.span, norm.otherwise.clause.text))
            stack.append(norm.otherwise)
        while stack:
            node = stack.pop()
            for _, child, clause in node.exceptions:
                found.append(_Clause("unless", norm.name, clause.span, clause.text))
                stack.append(child)
    return found


def _reached(report: TraceReport) -> tuple[set[Span], set[str]]:
    """The clauses whose condition held (and `otherwise` lines reached), and the norms
    that applied (including overridden ones: their acts were reached)."""
    spans, applicable = set(), set()
    for verdict in report.verdicts:
        if verdict.kind == "not_applicable":
            continue
        applicable.add(verdict.norm)
        for step in verdict.explanation.steps:
            if step.value == "true" or step.clause == "otherwise":
                spans.add(step.span)
    return spans, applicable


def _reachability(program: Program, policy: CompiledPolicy, strategy, pool: list[Trace],
                  seed: int, analyses: dict[str, NormAnalysis] | None) -> list[PropertyResult]:
    # An override takes effect where the norm would otherwise apply.
    without = compile_program(attrs.evolve(program, norms=tuple(
        attrs.evolve(n, overriders=()) for n in program.norms)))

    def reached(trace: Trace) -> tuple[set[Span], set[str], set[tuple[str, str]]]:
        report = evaluate(policy, trace)
        spans, applicable = _reached(report)
        plain = {(v.norm, v.turn, v.call): v.kind for v in evaluate(without, trace).verdicts}
        overrides = {(v.overridden_by, v.norm) for v in report.verdicts if v.kind == "overridden"
                     and plain[(v.norm, v.turn, v.call)] != "not_applicable"}
        return spans, applicable, overrides

    seen: tuple[set, set, set] = (set(), set(), set())
    for trace in pool:
        for found, more in zip(seen, reached(trace)):
            found.update(more)
    reach = _Reach(program, analyses, len(pool))

    def witnessed(kind: int, item, possible: bool | None) -> bool:
        """In the sample, or found by a search; where `--prove` says it is reachable, by
        searches from several seeds (one search can get stuck away from a rare case)."""
        if item in seen[kind] or possible is False:
            return item in seen[kind]
        return any(_find(strategy, lambda t: item in reached(t)[kind], len(pool) * _PERSIST, seed + attempt,
                         shrink=False) is not None for attempt in range(1, _SEEDS + 1 if possible else 2))

    results = []
    for clause in _clauses(policy):
        possible = reach.possible(clause.norm, lambda a: clause.span in a.reached)
        results.append(reach.result("dead clause", witnessed(0, clause.span, possible), possible, clause.norm,
                                    f"{clause.norm}: {clause.text}", clause.span, "reached", "none reached it"))
    for norm in program.norms:
        possible = reach.possible(norm.name, lambda a: a.applicable)
        results.append(reach.result(
            "norm never applicable", witnessed(1, norm.name, possible), possible, norm.name, norm.name,
            norm.span, "applied", "it never applied"))
        for overrider in norm.overriders:
            possible = reach.possible(norm.name, lambda a: overrider in a.overrides)
            results.append(reach.result(
                "override never applies", witnessed(2, (overrider, norm.name), possible), possible, norm.name,
                f"{overrider} overrides {norm.name}", norm.span, "took effect", "it never took effect"))
    return results


@attrs.frozen
class _Reach:
    """Reachability results: a trace that reaches a thing proves it reachable; without one,
    `--prove` can prove it unreachable, else the sample is all the evidence there is."""

    program: Program
    analyses: dict[str, NormAnalysis] | None
    examples: int

    def possible(self, norm: str, test: Callable[[NormAnalysis], bool]) -> bool | None:
        """Whether some combination of the norm's atoms reaches it (None: not analysed)."""
        analysis = None if self.analyses is None else self.analyses[norm]
        return None if analysis is None or analysis.combinations is None else test(analysis)

    def result(self, name: str, reached: bool, possible: bool | None, norm: str, subject: str,
               span: Span, yes: str, no: str) -> PropertyResult:
        sample = f"sampled {self.examples} traces"
        if reached:
            if self.analyses is None:
                return PropertyResult(name, True, f"{sample}; {yes}", subject, span)
            return PropertyResult(name, True, f"proved by a trace: {yes}", subject, span, method="proved")
        if possible is False:
            analysis = self.analyses[norm]
            return PropertyResult(name, False, f"proved unreachable: none of the "
                                               f"{_plural(analysis.combinations, 'combination')} of the "
                                               f"{_plural(analysis.atoms, 'atom')} of `{norm}` reaches it",
                                  subject, span, method="proved")
        note = "; the abstraction reaches it, but no trace found did" if possible else ""
        return PropertyResult(name, False, f"{sample}; {no}{note}", subject, span)


def _find(strategy, condition: Callable[[Trace], bool], examples: int, seed: int,
          shrink: bool = True) -> Trace | None:
    """A trace where `condition` holds (shrunk to a minimal one), if a search finds one."""
    try:
        return find(strategy, condition, settings=_settings(examples, shrink), random=random.Random(seed))
    except NoSuchExample:
        return None


# --------------------------------------------------------------------------- reordering


def _reversed(program: Program) -> Program:
    """The same policy with its norms, cases and exceptions in reverse order."""
    return attrs.evolve(program, norms=tuple(_reverse_norm(n) for n in reversed(program.norms)))


def _reverse_norm(norm: CheckedNorm) -> CheckedNorm:
    if isinstance(norm.body, ast.Outcome):
        return attrs.evolve(norm, body=_reverse_outcome(norm.body))
    cases = tuple(attrs.evolve(c, outcome=_reverse_outcome(c.outcome)) for c in reversed(norm.body.cases))
    otherwise = norm.body.otherwise
    if otherwise is not None:
        otherwise = attrs.evolve(otherwise, outcome=_reverse_outcome(otherwise.outcome))
    return attrs.evolve(norm, body=attrs.evolve(norm.body, cases=cases, otherwise=otherwise))


def _reverse_outcome(outcome: ast.Outcome) -> ast.Outcome:
    return attrs.evolve(outcome, exceptions=tuple(
        attrs.evolve(u, outcome=_reverse_outcome(u.outcome)) for u in reversed(outcome.exceptions)))
