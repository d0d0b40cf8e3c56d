"""Charter against the alternatives, side by side on one corpus in one run.

    python benchmarks/run.py --quick          # under a minute: the ratios, as JSON on the last line
    python benchmarks/run.py                  # the full table: 5 runs, corpus and norm scaling
    python benchmarks/run.py --traces 20000   # a larger base corpus (scaling goes to 16x this)

The corpus is made by benchmarks/corpus.py (deterministic); the policy is
benchmarks/policy/support.charter (31 norms, every construct). Measured, each from the
corpus file to verdicts:

- the parse floor: reading and decoding every line with `json` and with `orjson`;
- hand-written Python (benchmarks/handwritten.py): the same checks written directly;
- Charter in process (`read_traces` + `Policy.check`), and the CLI with its peak RSS:
  `charter check` on --cli-traces traces with `--format text` and `jsonl` (and `jsonl
  --jobs 2`), on one trace of --long messages with `text` and `json`, and start-up
  (checking one trace, the policy cached) beside `python -c pass`;
- OPA through regopy (benchmarks/policy/support.rego, 12 of the norms) and Cedar through
  cedarpy (benchmarks/policy/support.cedar, the 4 norms Cedar can express), each against
  Charter running exactly those norms on the same sample of traces;
- `Session.add`, per message, over 50 traces, and over the first and the last 2,000
  messages of one session of 10,000 (whether a message costs more as a session grows).

Before timing, the verdicts are compared: Charter and the hand-written checker on every
trace, regopy and cedarpy with Charter on the sample; any disagreement stops the run
(`agreement` is what tests/test_benchmarks.py runs). Each time is the median of --runs
runs (min and max shown), the runs of the checkers compared interleaved so that they
meet the same load, each run repeating its checker until it lasts 0.1 s (`MIN_VALUE_S`);
ratios > 1 mean the first named is slower. Times in process are CPU
times of the harness (`time.process_time`); the CLI rows are wall-clock times of a child
process, start-up included. The RSS column is
the peak RSS of `charter check` (all its processes together, sampled); for the
rows timed inside the harness, how much the harness's peak grew while the row ran (0:
it stayed within the peak reached before).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POLICY = HERE / "policy" / "support.charter"
SHOP = ROOT / "examples" / "shop_support" / "shop_support.charter"  # the start-up row's policy
REGO = HERE / "policy" / "support.rego"
CEDAR = HERE / "policy" / "support.cedar"
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402  (benchmarks/corpus.py)
import handwritten  # noqa: E402
import memory  # noqa: E402

import charter  # noqa: E402
from charter.traces.reader import Skipped, read_traces  # noqa: E402

# The norms each peer's policy implements.
REGO_NORMS = ("refund_promises", "no_email_leak", "crisis_referral", "formal_tone", "casual_when_asked",
              "concise_replies", "no_nagging", "chargebacks_escalate", "order_tools_need_an_id",
              "help_center_queries", "old_orders_get_no_refund_tool", "thanked_the_customer")
CEDAR_NORMS = ("order_tools_need_an_id", "help_center_queries", "old_orders_get_no_refund_tool",
               "self_harm_score_needed")
CEDAR_TOOL_NORMS = CEDAR_NORMS[:3]

Verdicts = dict[tuple[str, Any, Any], str]


class Disagreement(AssertionError):
    """Two checkers gave different verdicts on a trace."""


# --------------------------------------------------------------------------- policies


def norm_blocks(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The policy's header (everything before the first norm) and its norms as (name, text)
    blocks; a block runs to the next line that is not indented or blank."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if re.match(r"(default )?norm \w+", line)]
    blocks = []
    for start in starts:
        end = start + 1
        while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
            end += 1
        name = re.match(r"(?:default )?norm (\w+)", lines[start]).group(1)
        blocks.append((name, "".join(lines[start:end]).rstrip() + "\n\n"))
    return "".join(lines[:starts[0]]), blocks


def policy_with(names: Iterable[str] | None = None, count: int | None = None) -> charter.Policy:
    """The benchmark policy cut down to the named norms, or grown (by renamed copies of
    its norms, in order) or cut to `count` norms."""
    header, blocks = norm_blocks(POLICY.read_text())
    if names is not None:
        wanted = set(names)
        chosen = [block for name, block in blocks if name in wanted]
    else:
        chosen = []
        for copy in range(-(-count // len(blocks))):
            chosen.extend(block if copy == 0 else _renamed(block, blocks, copy) for _, block in blocks)
        chosen = chosen[:count]
    return charter.loads(header + "".join(chosen), name=f"{POLICY.stem}.charter")


def _renamed(block: str, blocks: list[tuple[str, str]], copy: int) -> str:
    for name, _ in blocks:
        block = re.sub(rf"\b(norm|overrides) {name}\b", rf"\1 {name}_copy{copy}", block)
    return block


# --------------------------------------------------------------------------- the checkers


def charter_verdicts(report: charter.TraceReport) -> Verdicts:
    return {(v.norm, v.turn, v.call): v.kind for v in report.verdicts}


class Rego:
    """The Rego policy in one rego-cpp interpreter; a query per trace. (regopy is imported
    only here, after charter: with regopy 1.5.2 imported first, google-re2 aborts on its
    first compile. Its memory also grows by about 12 MB per query, for good.)"""

    def __init__(self) -> None:
        import regopy

        self.interpreter = regopy.Interpreter()
        self.interpreter.add_module("charter_bench", REGO.read_text())

    def check(self, record: dict) -> Verdicts:
        self.interpreter.set_input(record)
        output = self.interpreter.query("x = data.charter_bench.verdicts")
        bindings = json.loads(str(output))["bindings"]["x"]
        return {(norm, turn, call): kind for norm, turn, call, kind in bindings}


class Cedar:
    """The Cedar policies; a batch of requests per trace, one per norm and act."""

    def __init__(self) -> None:
        import cedarpy

        text = CEDAR.read_text()
        self.cedarpy = cedarpy
        self.policies = cedarpy.PolicySet.from_str(text)
        # cedarpy names policies policy0, policy1, ... in order; the @id says what each marks.
        self.marks = {f"policy{i}": mark.split(":")[1] for i, mark in enumerate(re.findall(r'@id\("([^"]+)"\)', text))}

    def check(self, record: dict) -> Verdicts:
        requests, keys = [], []
        resource_attrs = {}
        age = ((record.get("meta") or {}).get("order") or {}).get("age_days")
        if isinstance(age, int) and not isinstance(age, bool):
            resource_attrs["age_days"] = age
        for i, message in enumerate(record["messages"]):
            if message["role"] == "user":
                context = {"labels": sorted(message.get("labels") or {})}
                requests.append(_request("self_harm_score_needed", context))
                keys.append(("self_harm_score_needed", i, None))
            for k, call in enumerate(message.get("tool_calls") or []):
                context = {"name": call["function"]["name"], "args": handwritten._arguments(call)}
                for norm in CEDAR_TOOL_NORMS:
                    requests.append(_request(norm, context))
                    keys.append((norm, i, k))
        entities = [{"uid": {"type": "Trace", "id": "t"}, "attrs": resource_attrs, "parents": []}]
        results = self.cedarpy.is_authorized_batch(requests, self.policies, entities) if requests else []
        return {key: self._kind(result) for key, result in zip(keys, results)}

    def _kind(self, result) -> str:
        if result.allowed:
            return "complied"
        marks = {self.marks[reason] for reason in result.diagnostics.reasons}
        return "violated" if "violated" in marks else "unspecified" if "unknown" in marks else "not_applicable"


def _request(norm: str, context: dict) -> dict:
    return {"principal": 'Assistant::"bot"', "action": f'Action::"{norm}"', "resource": 'Trace::"t"',
            "context": context}


# --------------------------------------------------------------------------- agreement


def agreement(path: Path, samples: dict[str, int]) -> dict[str, int]:
    """Compare verdicts: Charter with the hand-written checker on every trace of `path`,
    each peer with Charter (on its norms) on the first `samples[peer]` traces. Raises
    Disagreement naming the first difference; returns the verdicts compared per pair."""
    policy = charter.load(str(POLICY))
    records = [json.loads(line) for line in path.open("rb")]
    compared = {"handwritten": 0, "regopy": 0, "cedarpy": 0}
    expected = [charter_verdicts(policy.check(record)) for record in records]
    for record, want in zip(records, expected):
        _same(record["id"], "handwritten", want, handwritten.check(record))
        compared["handwritten"] += len(want)
    for name, peer, norms in (("regopy", Rego(), REGO_NORMS), ("cedarpy", Cedar(), CEDAR_NORMS)):
        for record, want in zip(records[:samples[name]], expected):
            want = {key: kind for key, kind in want.items() if key[0] in norms}
            _same(record["id"], name, want, peer.check(record))
            compared[name] += len(want)
    return compared


def _same(trace: str, who: str, want: Verdicts, got: Verdicts) -> None:
    if want != got:
        key = sorted(set(want) | set(got), key=repr)
        first = next(k for k in key if want.get(k) != got.get(k))
        raise Disagreement(f"{trace}: {first}: Charter says {want.get(first)}, {who} says {got.get(first)}")


# --------------------------------------------------------------------------- timing


# Each timed value lasts at least this long (pyperf calibrates its loops likewise): a run
# of a few milliseconds just after a peer's long one pays to refill the caches that run
# emptied (about 1 ms a run: Charter's 75 mail-agent traces took 3.2-3.8 ms right after
# Invariant's and 2.4-2.6 ms next), which a run of 0.1 s spreads thin.
MIN_VALUE_S = 0.1


def timed(fn: Callable[[], Any], runs: int, loops: int = 1) -> list[float]:
    """CPU seconds of this process per call of `fn`, one value per run of `loops` calls:
    every checker timed in process runs on this one thread (or, for a peer, on threads of
    this process, which count too), and on a shared machine other processes stretch
    wall-clock times far more than CPU times."""
    times = []
    for _ in range(runs):
        started = time.process_time()
        for _ in range(loops):
            fn()
        times.append((time.process_time() - started) / loops)
    return times


def loops_for(once: float) -> int:
    """How many calls of a function that took `once` seconds make a timed value last
    `MIN_VALUE_S`."""
    return max(1, math.ceil(MIN_VALUE_S / once)) if once > 0 else 1


def timed_together(fns: list[Callable[[], Any]], runs: int, loops: list[int] | None = None) -> list[list[float]]:
    """Each function's times per call, the runs interleaved (a, b, c, a, b, c, ...) so
    that on a shared machine every checker meets the same spells of load, each run of
    `loops` calls (by default, as many as last `MIN_VALUE_S`, one call timed to know)."""
    loops = loops or [loops_for(*timed(fn, 1)) for fn in fns]
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, n, into in zip(fns, loops, times):
            into.extend(timed(fn, 1, n))
    return times


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measured(rows: list[tuple[str, Callable[[], Any], int, int, int, str]], runs: int) -> list["Row"]:
    """Rows (name, function, traces, turns, norms, note) timed together in this process.
    The RSS of each is how much the harness's peak grew during its first run (the peers
    run after Charter, so that growth is theirs)."""
    rss, loops = [], []
    for _, fn, *_ in rows:
        before = peak_rss_mb()
        loops.append(loops_for(*timed(fn, 1)))
        rss.append(peak_rss_mb() - before)
    times = timed_together([fn for _, fn, *_ in rows], runs, loops)
    return [Row(name, t, traces, turns, norms, note, grew)
            for (name, _, traces, turns, norms, note), t, grew in zip(rows, times, rss)]


def parse_json(path: Path) -> None:
    with path.open("rb") as lines:
        for line in lines:
            json.loads(line)


def parse_orjson(path: Path) -> None:
    import orjson

    with path.open("rb") as lines:
        for line in lines:
            orjson.loads(line)


def run_handwritten(path: Path) -> None:
    import orjson

    with path.open("rb") as lines:
        for line in lines:
            handwritten.check(orjson.loads(line))


def run_charter(policy: charter.Policy, path: Path) -> None:
    for trace in read_traces(str(path)):
        if not isinstance(trace, Skipped):
            policy.check(trace)


def run_sessions(policy: charter.Policy, records: list[dict]) -> None:
    for record in records:
        session = policy.session(meta=record.get("meta"), id=record["id"])
        for message in record["messages"]:
            session.add(message)


def session_block_times(policy: charter.Policy, records: list[dict], messages: int, block: int) -> list[float]:
    """CPU seconds each `block` of messages took in one session of `messages` messages
    (the corpus's conversations one after another): the cost of a message must not grow
    with the session's length. The cyclic garbage collector is off meanwhile, as `timeit`
    has it: a full collection scans every live object of the process (the harness's
    corpus too) and doubles the time of whichever block it falls in."""
    joined = list(itertools.islice((m for r in itertools.cycle(records) for m in r["messages"]), messages))
    session = policy.session(meta=records[0].get("meta"), id="long session")
    times = []
    gc.collect()
    gc.disable()
    try:
        for start in range(0, messages, block):
            started = time.process_time()
            for message in joined[start:start + block]:
                session.add(message)
            times.append(time.process_time() - started)
    finally:
        gc.enable()
    return times


def session_growth(policy: charter.Policy, records: list[dict], runs: int,
                   messages: int = 10_000, block: int = 2_000) -> tuple[float, float]:
    """µs a message at the start of a long session (its first `block` messages) and at
    message 8,000 (its last block), medians of `runs` sessions."""
    runs_times = [session_block_times(policy, records, messages, block) for _ in range(runs)]
    first = statistics.median(times[0] for times in runs_times) / block * 1e6
    last = statistics.median(times[-1] for times in runs_times) / block * 1e6
    return first, last


def run_each(check: Callable[[dict], Any], records: list[dict]) -> None:
    for record in records:
        check(record)


class Row:
    """One line of the table: a median time over some traces, turns and norms."""

    def __init__(self, name: str, times: list[float], traces: int, turns: int, norms: int, note: str = "",
                 rss_mb: float | None = None):
        self.name, self.times, self.traces, self.turns, self.norms = name, times, traces, turns, norms
        self.note, self.rss_mb = note, rss_mb
        self.median = statistics.median(times)

    @property
    def per_trace(self) -> float:
        return self.median / self.traces

    def line(self) -> str:
        rss = f"{self.rss_mb:.0f}" if self.rss_mb is not None else ""
        return (f"| {self.name} | {self.norms} | {self.traces:,} | {self.median * 1000:,.1f} "
                f"({min(self.times) * 1000:,.1f}–{max(self.times) * 1000:,.1f}) | "
                f"{self.traces / self.median:,.0f} | {self.turns / self.median:,.0f} | {rss} | {self.note} |")


def table(rows: list[Row]) -> str:
    head = ("| checker | norms | traces | ms median (min–max) | traces/s | turns/s | RSS MB | note |\n"
            "|---|---:|---:|---:|---:|---:|---:|---|")
    return "\n".join([head] + [r.line() for r in rows])


class Cli(NamedTuple):
    """A command to time (`charter check` and its arguments, or any argv) as a row."""

    name: str
    argv: list[str]
    traces: int
    turns: int
    norms: int
    note: str = "start-up and report included"


def check_argv(path: Path, *options: str) -> list[str]:
    return memory.charter_command() + ["check", str(POLICY), "--traces", str(path), *options, "--no-progress"]


def installed_env(workdir: Path) -> dict[str, str]:
    """The environment of the commands: bytecode cached, as an installed package has it
    (where PYTHONDONTWRITEBYTECODE is set, as on the machine of these runs, every run
    would compile Charter's sources again, some 50 ms of start-up)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": str(workdir / "pycache")}


def cli_rows(commands: list[Cli], runs: int, workdir: Path) -> tuple[list[Row], list[list[float]]]:
    """The commands run in turn, round after round (so that they meet the same spells of
    load): a row of wall-clock times each, with the peak RSS of its process tree, and
    each command's CPU times (its own and its workers'), which the ratios use: on a
    loaded machine a child's wall time is mostly time spent waiting for a core."""
    walls: list[list[float]] = [[] for _ in commands]
    cpus: list[list[float]] = [[] for _ in commands]
    peaks = [0] * len(commands)
    for _ in range(runs):
        for i, command in enumerate(commands):
            code, wall, _, total, cpu = memory.measure(command.argv, installed_env(workdir))
            if code not in (0, 1):
                sys.exit(f"{command.name} failed with exit code {code}: {' '.join(command.argv)}")
            walls[i].append(wall)
            cpus[i].append(cpu)
            # Sampled from /proc: the kernel's peak for a child forked from this (large)
            # harness counts the harness's pages that the child had before it exec'd.
            peaks[i] = max(peaks[i], total)
    rows = [Row(c.name, w, c.traces, c.turns, c.norms, c.note, peak / 1024)
            for c, w, peak in zip(commands, walls, peaks)]
    return rows, cpus


def cli_commands(args: argparse.Namespace, records: list[dict], norms: int) -> list[Cli]:
    """`charter check` on --cli-traces traces, text against jsonl (--jobs 1 and 2); on one
    trace of --long messages, text against json; and start-up, against Python's own:
    checking one trace with a policy the cache already holds (a first run warms it)."""
    corpus = make_corpus(args.workdir, args.cli_traces, args.seed)
    turns = sum(1 for line in corpus.open("rb") for _ in json.loads(line)["messages"])
    long = long_trace(args.workdir, records, args.long)
    one = make_corpus(args.workdir, 1, args.seed)
    startup = memory.charter_command() + ["check", str(SHOP), "--traces", str(one)]
    memory.measure(startup, installed_env(args.workdir))  # the policy cached, the bytecode written
    return [
        Cli("charter check --format text", check_argv(corpus, "--format", "text"), args.cli_traces, turns, norms),
        Cli("charter check --format jsonl", check_argv(corpus, "--format", "jsonl"), args.cli_traces, turns, norms),
        Cli("charter check --format jsonl --jobs 2", check_argv(corpus, "--format", "jsonl", "--jobs", "2"),
            args.cli_traces, turns, norms),
        Cli(f"long trace ({args.long:,} messages) --format text", check_argv(long, "--format", "text"), 1,
            args.long, norms),
        Cli(f"long trace ({args.long:,} messages) --format json", check_argv(long, "--format", "json"), 1,
            args.long, norms),
        Cli("start-up: python -c pass", [sys.executable, "-c", "pass"], 0, 0, 0, "the interpreter alone"),
        Cli("start-up: charter check, 1 trace", startup, 1, len(json.loads(one.read_text())["messages"]),
            len(charter.load(str(SHOP)).norms), "examples/shop_support, policy cached"),
    ]


def cpu_ratio(cpus: list[list[float]], slower: int, faster: int) -> float:
    return round(statistics.median(cpus[slower]) / statistics.median(cpus[faster]), 2)


def long_trace(workdir: Path, records: list[dict], messages: int) -> Path:
    """One trace of `messages` messages: the corpus's conversations one after another
    (the norms that read earlier messages then read thousands of them)."""
    path = workdir / f"long-{messages}m.jsonl"
    if not path.exists():
        joined: list[dict] = []
        for record in itertools.cycle(records):
            joined.extend(record["messages"])
            if len(joined) >= messages:
                break
        path.write_text(json.dumps({"id": "long", "meta": records[0].get("meta"), "messages": joined[:messages]}) + "\n")
    return path


# --------------------------------------------------------------------------- the run


def make_corpus(workdir: Path, traces: int, seed: int) -> Path:
    path = workdir / f"bench-{traces}t-s{seed}.jsonl"
    if not path.exists():
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            corpus.write(out, traces=traces, seed=seed)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small corpus, no scaling: under a minute")
    parser.add_argument("--traces", type=int, help="base corpus size (default 1000; --quick: 200)")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement; the median is shown")
    parser.add_argument("--sample", type=int, help="traces for regopy (default 50; --quick: 10)")
    parser.add_argument("--cedar-sample", type=int, help="traces for cedarpy (default 500; --quick: 100)")
    parser.add_argument("--cli-traces", type=int, default=2000,
                        help="traces of the corpus `charter check` runs on (default 2000)")
    parser.add_argument("--long", type=int, default=20_000, help="messages of the long trace (default 20000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "charter-bench")
    args = parser.parse_args(argv)
    traces = args.traces or (200 if args.quick else 1000)
    # Each peer runs on as many traces as its speed allows: regopy takes about 0.1 s a
    # trace, cedarpy under 1 ms. On a sample of a few milliseconds, Charter's run would
    # be timed mostly on caches just cooled by the peer's run before it.
    samples = {"regopy": args.sample or (10 if args.quick else 50),
               "cedarpy": min(traces, args.cedar_sample or (100 if args.quick else 500))}
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = make_corpus(args.workdir, traces, args.seed)
    records = [json.loads(line) for line in path.open("rb")]
    turns = sum(len(r["messages"]) for r in records)
    load = os.getloadavg()[0]
    print(f"corpus: {path} — {traces:,} traces, {turns:,} messages; {os.cpu_count()} CPUs, "
          f"load average {load:.2f}; {args.runs} runs each", flush=True)

    compared = agreement(path, samples)
    print(f"agreement: {compared['handwritten']:,} verdicts with the hand-written checker, "
          f"{compared['regopy']:,} with regopy, {compared['cedarpy']:,} with cedarpy — all the same", flush=True)

    policy = charter.load(str(POLICY))
    norms = len(policy.norms)
    runs = args.runs
    rows = measured([
        ("parse floor: json", lambda: parse_json(path), traces, turns, 0, ""),
        ("parse floor: orjson", lambda: parse_orjson(path), traces, turns, 0, ""),
        ("hand-written Python", lambda: run_handwritten(path), traces, turns, norms, "orjson"),
        ("Charter, in process", lambda: run_charter(policy, path), traces, turns, norms,
         "read_traces + Policy.check"),
    ], runs)
    floor, hand, own = rows[1], rows[2], rows[3]
    cli, cpus = cli_rows(cli_commands(args, records, norms), 3 if args.quick else runs, args.workdir)
    rows += cli

    peer_rows = []
    for name, peer, names, sample in (("regopy (OPA)", Rego(), REGO_NORMS, samples["regopy"]),
                                      ("cedarpy (Cedar)", Cedar(), CEDAR_NORMS, samples["cedarpy"])):
        subset, peers = policy_with(names), records[:sample]
        peer_turns = sum(len(r["messages"]) for r in peers)
        ours, theirs = measured([
            (f"Charter, same {len(names)} norms", lambda: run_each(subset.check, peers), sample, peer_turns,
             len(names), "decoded records"),
            (name, lambda: run_each(peer.check, peers), sample, peer_turns, len(names), "decoded records"),
        ], runs)
        peer_rows.append((ours, theirs))
        rows += [ours, theirs]

    session_records = records[:50]
    messages = sum(len(r["messages"]) for r in session_records)
    (session,) = measured([("Session.add", lambda: run_sessions(policy, session_records), len(session_records),
                            messages, norms, "per message, in process")], runs)
    rows.append(session)
    at_start, at_8000 = session_growth(policy, records, 3 if args.quick else runs)
    print(f"one long session: {at_start:.1f} µs a message over messages 0–2,000, "
          f"{at_8000:.1f} µs over 8,000–10,000", flush=True)

    print()
    print(table(rows))
    if not args.quick:
        print()
        print(scaling_by_size(args.workdir, traces, args.seed, policy, max(3, runs // 2)))
        print()
        print(scaling_by_norms(path, traces, turns, max(3, runs // 2)))
    summary = {
        "charter_vs_handwritten": round(own.median / hand.median, 2),
        "regopy_vs_charter": round(peer_rows[0][1].median / peer_rows[0][0].median, 1),
        "cedarpy_vs_charter": round(peer_rows[1][1].median / peer_rows[1][0].median, 1),
        "charter_vs_parse_floor": round(own.median / floor.median, 2),
        "session_us_per_message": round(session.median / messages * 1e6, 1),
        "session_us_at_start": round(at_start, 1),
        "session_us_at_8000": round(at_8000, 1),
        "session_growth": round(at_8000 / at_start, 2),
        "charter_traces_per_s": round(traces / own.median),
        "handwritten_traces_per_s": round(traces / hand.median),
        "jsonl_vs_text": cpu_ratio(cpus, 1, 0),
        "long_trace_json_vs_text": cpu_ratio(cpus, 4, 3),
        "jobs2_speedup": round(cli[1].median / cli[2].median, 2),
        "startup_s": round(cli[6].median, 3),
        "startup_cpu_s": round(statistics.median(cpus[6]), 3),
        "python_startup_s": round(cli[5].median, 3),
        "traces": traces, "norms": norms, "runs": runs, "load_average": round(load, 2),
        "harness_peak_rss_mb": round(peak_rss_mb()),
    }
    print()
    print(json.dumps(summary))


def scaling_by_size(workdir: Path, traces: int, seed: int, policy: charter.Policy, runs: int) -> str:
    """Charter and hand-written time, and the CLI's peak RSS, at 1x, 4x and 16x the corpus."""
    lines = ["| corpus | traces | Charter s (median) | per trace µs | hand-written s | ratio | "
             "`charter check` peak RSS MB |", "|---|---:|---:|---:|---:|---:|---:|"]
    for factor in (1, 4, 16):
        path = make_corpus(workdir, traces * factor, seed)
        own, hand = map(statistics.median, timed_together(
            [lambda: run_charter(policy, path), lambda: run_handwritten(path)], runs))
        count = traces * factor
        (cli,), _ = cli_rows([Cli("", check_argv(path, "--format", "jsonl"), count, 0, 0)], 1, workdir)
        lines.append(f"| {factor}× | {count:,} | {own:.2f} | {own / count * 1e6:,.0f} | {hand:.2f} | "
                     f"{own / hand:.1f} | {cli.rss_mb:.0f} |")
    return "\n".join(lines)


def scaling_by_norms(path: Path, traces: int, turns: int, runs: int) -> str:
    """Charter's time with 5, 25 and 100 norms (100: renamed copies of the 31)."""
    lines = ["| norms | Charter s (median) | per norm and trace µs | traces/s |", "|---:|---:|---:|---:|"]
    for count in (5, 25, 100):
        policy = policy_with(count=count)
        median = statistics.median(timed(lambda: run_charter(policy, path), runs))
        lines.append(f"| {count} | {median:.2f} | {median / traces / count * 1e6:,.1f} | {traces / median:,.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
