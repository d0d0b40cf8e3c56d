"""What detectors cost: per message, checked with each built-in detector with a cold disk
cache and with a warm one, side by side with checking the same corpus without it.

    python benchmarks/detectors.py                      # the Model Spec examples, 5 runs
    python benchmarks/detectors.py --traces corpus.jsonl --runs 3

The corpus is /work/shared/data/model_spec_examples.jsonl by default (real conversations
that none of us wrote: their texts are nearly all distinct, so the cache does not hide
the detectors' work behind repeated texts). For each detector, two policies that differ
only in the declaration: `label L: T from detector D` (detected) and `label L: T` (not:
the label is missing, so the norm is unspecified), one norm reading L on every user and
assistant message. Timed, each the median CPU time (`time.process_time`) of --runs runs
of labelling (in batches of 256 traces, as `charter check` does) and checking every trace:

- `without`: checking with the undeclared label (no detector);
- `cold`: a new labeller and a new, empty SQLite cache: every distinct text is judged
  by the detector and written to the cache;
- `warm`: a new labeller on the cache the cold run filled: no detector call (checked).

The detector is built once, before timing (lingua loads its models in about half a
second, detect-secrets its plugins in milliseconds): it is the run's start-up, not a
per-message cost. The last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import charter
from charter.detectors.labeller import Labeller
from charter.detectors.registry import load
from charter.detectors.store import Store
from charter.facts.detected import wanted
from charter.traces.reader import Skipped, read_traces

DATA = Path("/work/shared/data/model_spec_examples.jsonl")
BATCH = 256
# detector: (the label's type, a norm reading it)
DETECTORS = {
    "language": ("string", 'require assistant.label("lang") == user.label("lang")'),
    "secrets": ("score", 'forbid assistant.label("lang") >= 0.9 or user.label("lang") >= 0.9'),
}


def policy(detector: str, detected: bool) -> charter.Policy:
    fact_type, body = DETECTORS[detector]
    source = f" from detector {detector}" if detected else ""
    return charter.loads(f"label lang: {fact_type}{source}\n\nnorm uses_it:\n    on assistant turn\n    {body}\n")


def check(policy: charter.Policy, traces: list, labeller: Labeller | None) -> int:
    verdicts = 0
    for start in range(0, len(traces), BATCH):
        batch = traces[start:start + BATCH]
        for trace in labeller.label(batch) if labeller is not None else batch:
            verdicts += len(policy.check(trace).verdicts)
    return verdicts


def median_cpu(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return statistics.median(times)


def measure(detector_name: str, traces: list, runs: int) -> dict:
    detector = load(detector_name)
    if isinstance(detector, str):
        sys.exit(f"{detector} (pip install 'charter[{detector_name}]')")
    with_it, without = policy(detector_name, True), policy(detector_name, False)
    wants = wanted(with_it.program)
    messages = sum(len(t.messages) for t in traces)
    with tempfile.TemporaryDirectory() as folder:
        counter = iter(range(10**6))
        calls: dict[str, list[int]] = {"cold": [], "warm": []}

        def labelled(kind: str, path: Callable[[], str]) -> Callable[[], int]:
            def run() -> int:
                made = Labeller(wants, load=lambda name: detector, store=Store(path()))
                done = check(with_it, traces, made)
                calls[kind].append(made.calls)
                return done
            return run

        warm_file = os.path.join(folder, "warm.sqlite3")
        check(with_it, traces, Labeller(wants, load=lambda name: detector, store=Store(warm_file)))
        seconds = {
            "without": median_cpu(lambda: check(without, traces, None), runs),
            "cold": median_cpu(labelled("cold", lambda: os.path.join(folder, f"cold-{next(counter)}.sqlite3")), runs),
            "warm": median_cpu(labelled("warm", lambda: warm_file), runs),
        }
    assert set(calls["warm"]) == {0}, calls  # a warm cache calls no detector
    distinct = len({m.content for t in traces for m in t.messages if m.role in ("user", "assistant") and m.content})
    return {"detector": detector_name, "version": detector.version, "messages": messages, "distinct_texts": distinct,
            "calls_cold": calls["cold"][0], "calls_warm": calls["warm"][0],
            **{f"us_per_message_{k}": v / messages * 1e6 for k, v in seconds.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", default=str(DATA), help="a JSONL trace file")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--detectors", default=",".join(DETECTORS), help="comma-separated, of: " + ", ".join(DETECTORS))
    args = parser.parse_args()
    traces = [r for r in read_traces(args.traces) if not isinstance(r, Skipped)]
    print(f"{len(traces)} traces from {args.traces}, median CPU time of {args.runs} runs, "
          f"load average {os.getloadavg()[0]:.1f}")
    rows = [measure(name, traces, args.runs) for name in args.detectors.split(",")]
    print(f"{'detector':<10} {'messages':>8} {'distinct':>8} {'calls cold/warm':>15} "
          f"{'µs/message: without':>20} {'cold':>8} {'warm':>8}")
    for row in rows:
        print(f"{row['detector']:<10} {row['messages']:>8} {row['distinct_texts']:>8} "
              f"{row['calls_cold']:>9}/{row['calls_warm']:<5} {row['us_per_message_without']:>20.1f} "
              f"{row['us_per_message_cold']:>8.1f} {row['us_per_message_warm']:>8.1f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
