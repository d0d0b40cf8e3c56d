"""Instructions per trace, counted by valgrind's callgrind: the side-by-side comparison of
benchmarks/run.py in a unit that other processes on the machine cannot stretch.

    python benchmarks/instructions.py              # 100 traces (regopy: 5), every checker
    python benchmarks/instructions.py --traces 50 --only charter handwritten
    python benchmarks/instructions.py --norms      # Charter with 5, 25 and 100 norms: linear?

Times on a shared machine move by a factor of two from one minute to the next; the
number of instructions a run executes does not (the same for the same binary, inputs
and environment, whatever else runs). Each checker runs twice under callgrind in a child
process, once warmed up on one trace and stopped, once warmed up and then run over the
first N traces of the corpus; the difference divided by N is its cost per trace, without
start-up, imports or compiling the policy. The inputs are the harness's: decoded records
of the corpus of benchmarks/corpus.py, Charter's `Policy.check(dict)` (conversion
included) against the hand-written checker on all 31 norms, and against regopy and
cedarpy on the norms they express.

Instructions are not time: Charter's generated code and closures take more cycles per
instruction than the regex engine the hand-written checker spends most of its time in,
so a ratio of instructions is lower than the ratio of times on the same machine. Both
are reported in docs/performance.md. Needs valgrind (Debian's package); prints why and
exits 0 without it. regopy 1.5.2 does not run under valgrind (its allocator, snmalloc,
aborts at load), so its row says so and its ratio is left out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# What each checker runs over a record, made by `_checker` in the child; the pairs compared.
CHECKERS = ("charter", "handwritten", "charter_12", "regopy", "charter_4", "cedarpy")
PAIRS = (("charter", "handwritten", "charter_vs_handwritten"), ("regopy", "charter_12", "regopy_vs_charter"),
         ("cedarpy", "charter_4", "cedarpy_vs_charter"))


def _checker(name: str):
    import run  # benchmarks/run.py: imports charter before regopy (see its Rego class)

    if name == "handwritten":
        return run.handwritten.check
    if name == "regopy":
        return run.Rego().check
    if name == "cedarpy":
        return run.Cedar().check
    if name.startswith("charter_n"):  # the norm-scaling policies of run.py: 5, 25, 100 norms
        return run.policy_with(count=int(name[len("charter_n"):])).check
    names = {"charter": None, "charter_12": run.REGO_NORMS, "charter_4": run.CEDAR_NORMS}[name]
    policy = run.charter.load(str(run.POLICY)) if names is None else run.policy_with(names)
    return policy.check


def child(name: str, corpus_path: Path, traces: int) -> None:
    """The measured process: warm up on the first record, then check `traces` records."""
    records = [json.loads(line) for line in corpus_path.open("rb")][:traces + 1]
    check = _checker(name)
    check(records[0])
    for record in records[1:traces + 1]:
        check(record)


class Unmeasurable(Exception):
    """The checker does not run under callgrind."""


def instructions(name: str, corpus_path: Path, traces: int) -> int:
    """Instructions the child executes, start to end, under callgrind."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__,
               "--child", name, "--corpus", str(corpus_path), "--traces", str(traces)]
    # A fixed hash seed: with a random one, start-up alone varies by millions of instructions.
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    counts = [line.split()[-1] for line in done.stderr.splitlines() if "Collected :" in line]
    if done.returncode != 0 or not counts:
        why = [line.split("==", 2)[-1].strip() for line in done.stderr.splitlines() if "terminating" in line]
        raise Unmeasurable(f"exit {done.returncode} under callgrind{': ' + why[0] if why else ''}")
    return int(counts[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=100, help="traces per checker (regopy: a twentieth)")
    parser.add_argument("--only", nargs="+", choices=CHECKERS, help="just these checkers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "charter-bench")
    parser.add_argument("--norms", nargs="*", type=int, metavar="N",
                        help="instead: Charter with N norms of the scaling policies (default 5 25 100)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.corpus, args.traces)
        return
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind): nothing measured")
        return
    import run

    args.workdir.mkdir(parents=True, exist_ok=True)
    path = run.make_corpus(args.workdir, max(1000, args.traces + 1), args.seed)
    per_trace = {}
    print("| checker | traces | instructions per trace |\n|---|---:|---:|")
    names = args.only or CHECKERS
    if args.norms is not None:
        names = [f"charter_n{count}" for count in args.norms or (5, 25, 100)]
    for name in names:
        # regopy takes about 0.1 s a trace natively, some 50 times that under callgrind
        traces = max(1, args.traces // 20) if name == "regopy" else args.traces
        try:
            per_trace[name] = (instructions(name, path, traces) - instructions(name, path, 0)) / traces
        except Unmeasurable as error:  # regopy 1.5.2: its allocator (snmalloc) aborts under valgrind
            print(f"| {name} | {traces} | not measured: {error} |", flush=True)
            continue
        print(f"| {name} | {traces} | {per_trace[name]:,.0f} |", flush=True)
    ratios = {key: round(per_trace[a] / per_trace[b], 2) for a, b, key in PAIRS
              if a in per_trace and b in per_trace}
    print(json.dumps({"instructions_per_trace": {k: round(v) for k, v in per_trace.items()}, **ratios}))


if __name__ == "__main__":
    main()
