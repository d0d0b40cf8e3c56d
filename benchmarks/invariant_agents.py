"""Charter and Invariant Guardrails side by side on agent traces: agreement first, then time.

    python benchmarks/invariant_agents.py --quick   # the example's corpus and 5x it, 3 runs
    python benchmarks/invariant_agents.py           # the corpus and 10x it, 5 runs

The corpus is examples/mail_agent/traces.jsonl (OpenAI Responses API records of an
assistant with web, file, e-mail and payment tools, exfiltration attempts among them),
and a scaled-up one: --scale times as many sessions, each the corpus's traces one after
another (2 to 8 of them, seeded), so traces are longer too.

Two sets of rules:

- **today's norms**: five norms of examples/mail_agent/mail_agent.charter, and the same
  five in Invariant's rule language (benchmarks/policy/mail_agent.gr);
- **bindings**: three rules that bind a value in one event and compare it with another
  (benchmarks/policy/mail_agent_bindings.gr, as Invariant's documentation writes them).
  Charter says these with bindings (three norms of mail_agent.charter). A sent claim is
  tied to the tool result just before it: the Invariant rule says so with a `forall`
  that no other tool output stands between the failed send's output and the claim.

Agreement: for every trace, rule by rule, the violations (norm, message, call) Invariant
reports are the ones Charter reports; any difference stops the run
and is printed. Invariant runs each rule as a policy of its own, under its default
budget of checking cycles (100 per rule and trace, INVARIANT_MAX_ITERATIONS): a rule
that runs out raises, and that trace is counted as one Invariant could not check
(the other rules' results on it are still compared). Then again with the budget lifted,
where every trace is compared.

Time: CPU time of this process (`time.process_time`), the median of --runs runs, the
checkers interleaved, the harness's own objects frozen out of the garbage collector
(`frozen_heap`); per trace, over the traces Invariant could check within its budget
(all the rules in one policy, as a user would load them), Charter checking the same
traces with the same norms. Charter checks traces already read (`charter.Trace`);
Invariant gets the same traces as OpenAI chat message lists, built before timing (its
`analyze` builds its own event objects from them, which cannot be timed apart). On the
example's corpus a row also times Charter reading the JSONL file; on the scaled corpus,
two rows time every trace, Invariant's budget lifted.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import io
import json
import logging
import os
import random
import re
import statistics
import sys
from pathlib import Path
from typing import Any, Iterable

import attrs

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLE = ROOT / "examples" / "mail_agent"
POLICY = EXAMPLE / "mail_agent.charter"
CORPUS = EXAMPLE / "traces.jsonl"
RULES = HERE / "policy" / "mail_agent.gr"
BINDING_RULES = HERE / "policy" / "mail_agent_bindings.gr"
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (benchmarks/run.py: policy blocks, timing, tables)

import charter  # noqa: E402
from charter.traces.model import Trace  # noqa: E402
from charter.traces.reader import Skipped, read_traces  # noqa: E402

TODAY = ("no_action_after_planted_instructions", "no_secrets_in_email", "transfer_limit", "https_only",
         "no_sent_claim_after_failure")
BINDINGS = ("recipient_given_by_user", "no_page_address_in_email", "sent_claim_names_a_failed_send")
Key = tuple[str, int, int | None]  # norm, message index, call index (None: a message)
BUDGET = "INVARIANT_MAX_ITERATIONS"


class Disagreement(AssertionError):
    """Charter and Invariant found different violations on a trace."""


# --------------------------------------------------------------------------- the corpus


def base_traces() -> list[Trace]:
    return [t for t in read_traces(str(CORPUS)) if not isinstance(t, Skipped)]


def scaled(traces: list[Trace], factor: int, seed: int = 0) -> list[Trace]:
    """`factor` times as many sessions, each 2 to 8 traces of `traces` one after another:
    the first one's system message, then the others' messages, call ids made unique."""
    rng = random.Random(seed)
    return [_joined(f"session-{n:04d}", rng.sample(traces, rng.randint(2, 8))) for n in range(len(traces) * factor)]


def _joined(trace_id: str, parts: list[Trace]) -> Trace:
    messages = []
    for j, part in enumerate(parts):
        for m in part.messages:
            if m.role == "system" and messages:
                continue
            calls = tuple(attrs.evolve(c, id=f"s{j}_{c.id}") for c in m.tool_calls)
            answered = f"s{j}_{m.tool_call_id}" if m.tool_call_id else None
            messages.append(attrs.evolve(m, index=len(messages), tool_calls=calls, tool_call_id=answered))
    return Trace(id=trace_id, messages=tuple(messages), meta=parts[0].meta)


def chat(trace: Trace) -> list[dict[str, Any]]:
    """The trace as the OpenAI chat message list Invariant reads, message for message."""
    out: list[dict[str, Any]] = []
    for m in trace.messages:
        message: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.tool_calls:
            message["tool_calls"] = [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                                     for c in m.tool_calls]
        if m.role == "tool":
            message["tool_call_id"] = m.tool_call_id
        out.append(message)
    return out


# --------------------------------------------------------------------------- the checkers


def charter_policy(names: Iterable[str]) -> charter.Policy:
    header, blocks = run.norm_blocks(POLICY.read_text())
    wanted = set(names)
    return charter.loads(header + "".join(b for n, b in blocks if n in wanted), name=POLICY.name)


def charter_violations(policy: charter.Policy, trace: Trace) -> set[Key]:
    return {(v.norm, v.turn, v.call) for v in policy.check(trace).verdicts if v.kind == "violated"}


def rule_texts(path: Path) -> tuple[str, list[str]]:
    """A rules file's imports and its rules, each `raise ...` with its indented body."""
    imports, rules = [], []
    for block in re.split(r"\n(?=raise )", path.read_text()):
        head, _, rest = block.partition("raise ")
        imports += [line for line in head.splitlines() if line.startswith("from ")]
        if rest:
            rules.append("raise " + rest.strip() + "\n")
    return "\n".join(imports) + "\n", rules


class Invariant:
    """Invariant's local analyzer (`invariant.analyzer.policy.LocalPolicy`, offline):
    each rule as a policy of its own, and all of them in one."""

    def __init__(self, path: Path) -> None:
        from invariant.analyzer.policy import LocalPolicy

        imports, rules = rule_texts(path)
        self.rules = [LocalPolicy.from_string(imports + rule) for rule in rules]
        self.names = [re.match(r'raise "(\w+):', rule).group(1) for rule in rules]
        self.whole = LocalPolicy.from_string(imports + "\n".join(rules))

    @classmethod
    @functools.cache
    def of(cls, path: Path) -> Invariant:
        """The rules of `path`, compiled once (Invariant takes some 0.2 s a policy)."""
        return cls(path)

    def check(self, messages: list[dict]) -> tuple[set[Key], list[str]]:
        """The violations found, and the rules that raised (ran out of budget)."""
        found: set[Key] = set()
        raised = []
        for name, policy in zip(self.names, self.rules):
            try:
                found |= {_key(error) for error in policy.analyze(messages).errors}
            except Exception:  # the budget's RuntimeError, as Invariant raises it
                raised.append(name)
        return found, raised

    def run_whole(self, messages: list[dict]) -> None:
        self.whole.analyze(messages)


def _key(error) -> Key:
    """The act an error is about: the latest of the events its variables bound (whole
    events: a message `N` or a call `N.tool_calls.K`; the spans its functions marked,
    also inside a `forall`, name parts of events)."""
    norm = str(error.args[0]).split(":")[0]
    places = []
    for r in error.ranges:
        found = re.fullmatch(r"(\d+)(?:\.tool_calls\.(\d+))?", r.json_path or "")
        if found:
            places.append((int(found.group(1)), -1 if found.group(2) is None else int(found.group(2))))
    turn, call = max(places)
    return norm, turn, None if call < 0 else call


class _OutOfBudget(logging.Filter):
    """Invariant leaves the tasks of a rule that ran out of budget to asyncio, which logs
    each one's traceback when it is collected ("Task exception was never retrieved"):
    those records are dropped, any other is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else getattr(record, "args", None)
        text = f"{record.getMessage()} {error!r}"
        return "Maximum checking cycles exceeded" not in text


def quiet() -> contextlib.AbstractContextManager:
    """Invariant's interpreter may print; the asyncio logger drops the budget's tracebacks."""
    asyncio_log = logging.getLogger("asyncio")
    if not any(isinstance(f, _OutOfBudget) for f in asyncio_log.filters):
        asyncio_log.addFilter(_OutOfBudget())
    return contextlib.redirect_stdout(io.StringIO())


@contextlib.contextmanager
def budget(cycles: int | None):
    """Invariant's budget of checking cycles per rule and trace (None: its default)."""
    before = os.environ.get(BUDGET)
    if cycles is not None:
        os.environ[BUDGET] = str(cycles)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(BUDGET, None)
        else:
            os.environ[BUDGET] = before


# --------------------------------------------------------------------------- agreement


@attrs.define
class Tally:
    """One rule's counts over a corpus."""

    traces: int = 0
    violations: int = 0  # Charter's
    agreed: int = 0  # traces where both found the same violations of this rule
    raised: int = 0  # traces where Invariant's rule ran out of budget


def agreement(traces: list[Trace], cycles: int | None = None) -> tuple[dict[str, Tally], set[str]]:
    """Every trace checked by Charter and Invariant (today's rules and the binding rules); raises Disagreement on the first trace where a rule's
    violations differ. Returns the tallies per rule and the ids of the traces on which
    some Invariant rule ran out of budget."""
    policy = charter_policy(TODAY + BINDINGS)
    peers = (Invariant.of(RULES), Invariant.of(BINDING_RULES))
    tallies = {name: Tally() for name in TODAY + BINDINGS}
    unchecked: set[str] = set()
    with budget(cycles), quiet():
        for trace in traces:
            messages = chat(trace)
            want = charter_violations(policy, trace)
            for peer in peers:
                got, raised = peer.check(messages)
                unchecked |= {trace.id} if raised else set()
                for name in peer.names:
                    tally = tallies[name]
                    tally.traces += 1
                    mine = {k for k in want if k[0] == name}
                    tally.violations += len(mine)
                    if name in raised:
                        tally.raised += 1
                        continue
                    theirs = {k for k in got if k[0] == name}
                    if mine != theirs:
                        raise Disagreement(_differ(trace, name, mine, theirs))
                    tally.agreed += 1
    return tallies, unchecked


def _differ(trace: Trace, name: str, mine: set[Key], theirs: set[Key]) -> str:
    lines = [f"{trace.id}: {name}: Charter finds {sorted(mine, key=repr)}, Invariant {sorted(theirs, key=repr)}"]
    for key in sorted(mine ^ theirs, key=repr):
        m = trace.messages[key[1]]
        what = m.tool_calls[key[2]] if key[2] is not None else m.content[:160]
        lines.append(f"  message {key[1]} ({m.role}): {what}")
    return "\n".join(lines)


def agreement_table(tallies: dict[str, Tally]) -> str:
    lines = ["| rule | kind | traces | violations | same violations | Invariant out of budget |",
             "|---|---|---:|---:|---:|---:|"]
    for name, t in tallies.items():
        kind = "today" if name in TODAY else "bindings"
        lines.append(f"| `{name}` | {kind} | {t.traces} | {t.violations} | {t.agreed} | {t.raised} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- timing


@contextlib.contextmanager
def frozen_heap():
    """The harness's own objects (the corpora, the chat lists, the compiled rules, what
    the agreement left) moved out of the collector's sight while the checkers are timed.
    Otherwise every full collection walks them: Charter's binding norms keep their
    indexes for a trace's whole check, so they reach the oldest generation and trigger
    full collections, and a heap of 21,000 chat messages made them 4-5x slower than in a
    process of their own (gc off: 100 against 530 µs a trace, 10x corpus)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def timings(traces: list[Trace], unchecked: set[str], runs: int, lifted: int,
            path: Path | None = None) -> tuple[list[run.Row], dict[str, float]]:
    """Charter and Invariant per trace: on the traces Invariant could check within its
    budget, today's rules and the binding rules each in one Invariant policy (and, when
    the traces are the file `path`, Charter reading it too); then today's rules on every
    trace, Invariant's budget lifted."""
    checked = [t for t in traces if t.id not in unchecked]
    chats = {t.id: chat(t) for t in traces}
    turns, every = sum(len(t.messages) for t in checked), sum(len(t.messages) for t in traces)
    policy, bound_policy = charter_policy(TODAY), charter_policy(BINDINGS)
    today, bindings = Invariant.of(RULES), Invariant.of(BINDING_RULES)
    n = len(TODAY)
    rows = [
        (f"Charter, {n} norms", lambda: [policy.check(t) for t in checked], len(checked), turns, n, "charter.Trace"),
        (f"Invariant, the same {n} rules", lambda: [today.run_whole(chats[t.id]) for t in checked], len(checked),
         turns, n, "chat messages"),
        (f"Invariant, {len(BINDINGS)} binding rules", lambda: [bindings.run_whole(chats[t.id]) for t in checked],
         len(checked), turns, len(BINDINGS), "chat messages"),
        (f"Charter, the {len(BINDINGS)} binding norms", lambda: [bound_policy.check(t) for t in checked], len(checked),
         turns, len(BINDINGS), "charter.Trace"),
    ]
    if path is not None:
        rows.append((f"Charter, {n} norms, reading the file", lambda: run.run_charter(policy, path), len(traces),
                     every, n, "read_traces + Policy.check"))
    with quiet(), frozen_heap():
        measured = run.measured(rows, runs)
        if unchecked:
            with budget(lifted):
                measured += run.measured([
                    (f"Charter, {n} norms, every trace", lambda: [policy.check(t) for t in traces], len(traces), every,
                     n, "charter.Trace"),
                    (f"Invariant, the same {n} rules, every trace", lambda: [today.run_whole(chats[t.id]) for t in traces],
                     len(traces), every, n, "budget lifted"),
                ], runs)
    ours, theirs, bound, ours_bound = measured[:4]
    ratios = {"invariant_vs_charter": round(theirs.median / ours.median, 1),
              "charter_us_per_trace": round(ours.per_trace * 1e6, 1),
              "invariant_us_per_trace": round(theirs.per_trace * 1e6, 1),
              "invariant_bindings_us_per_trace": round(bound.per_trace * 1e6, 1),
              "charter_bindings_us_per_trace": round(ours_bound.per_trace * 1e6, 1),
              "invariant_vs_charter_bindings": round(bound.median / ours_bound.median, 1)}
    if path is not None:
        ratios["invariant_vs_charter_reading"] = round(theirs.median / measured[4].median, 1)
    if unchecked:
        ratios["invariant_vs_charter_budget_lifted"] = round(measured[-1].median / measured[-2].median, 1)
    return measured, ratios


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 runs, the corpus scaled 5x")
    parser.add_argument("--runs", type=int, help="runs per measurement (default 5; --quick: 3)")
    parser.add_argument("--scale", type=int, help="sessions of the scaled corpus per trace (default 10; --quick: 5)")
    parser.add_argument("--lifted", type=int, default=10**9,
                        help="the lifted budget of checking cycles for the second agreement (default 10^9)")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 5)
    scale = args.scale or (5 if args.quick else 10)
    base = base_traces()
    corpora = {"corpus": base, f"{scale}x": scaled(base, scale)}
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load average {load:.2f}; {runs} runs each; Invariant's default budget: "
          f"{os.environ.get(BUDGET, '100')} checking cycles per rule and trace", flush=True)
    summary: dict[str, Any] = {"load_average": round(load, 2), "runs": runs}
    for label, traces in corpora.items():
        messages = sum(len(t.messages) for t in traces)
        print(f"\n## {label}: {len(traces):,} traces, {messages:,} messages "
              f"({statistics.mean(len(t.messages) for t in traces):.1f} per trace, longest {max(len(t.messages) for t in traces)})\n")
        tallies, unchecked = agreement(traces)
        print("Agreement, Invariant's default budget:\n")
        print(agreement_table(tallies))
        print(f"\nInvariant could not check {len(unchecked)} of {len(traces)} traces within its budget "
              "(some rule ran out of checking cycles); all other verdicts are the same.")
        lifted, none_left = agreement(traces, args.lifted)
        assert not none_left, none_left
        print(f"With the budget lifted ({args.lifted:,} cycles), all {len(traces)} traces: "
              f"{sum(t.agreed for t in lifted.values()):,} rule-trace pairs, the same violations.\n")
        rows, ratios = timings(traces, unchecked, runs, args.lifted, CORPUS if traces is base else None)
        print(run.table(rows))
        summary[label] = {"traces": len(traces), "unchecked_by_invariant": len(unchecked), **ratios}
    print()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
