"""Charter against the hand-written checker in one process, many rounds: the comparison
to run before and after a change to the evaluator.

    python benchmarks/side_by_side.py                       # 500 traces, 11 rounds
    python benchmarks/side_by_side.py --traces 200 --rounds 21
    PYTHONPATH=../other-tree/src python benchmarks/side_by_side.py   # another checkout's Charter

Each round reads and checks the corpus with Charter (`read_traces` + `Policy.check`, as
run.py's "Charter, in process" row) and then with the hand-written checker (orjson +
benchmarks/handwritten.py), after one warm-up round each and with the heap frozen out of
the garbage collector. It prints the medians of the CPU time a trace and their ratio.
run.py's `--quick` times each checker 5 times; on a noisy machine the ratio of one
round swings by several percent, so comparing two trees means running this in each, in
turn, a few times, and reading the ratios (the hand-written checker is the yardstick
both trees share).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
from pathlib import Path

import run  # benchmarks/run.py (it puts benchmarks/ on the path)


def rounds(policy, path: Path, count: int) -> tuple[list[float], list[float]]:
    """CPU seconds of each round of Charter's and of the hand-written checker's."""
    charter_times: list[float] = []
    handwritten_times: list[float] = []
    for _ in range(count):
        charter_times += run.timed(lambda: run.run_charter(policy, path), 1)
        handwritten_times += run.timed(lambda: run.run_handwritten(path), 1)
    return charter_times, handwritten_times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=500, help="traces in the corpus (default 500)")
    parser.add_argument("--rounds", type=int, default=11, help="rounds of both checkers (default 11)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "charter-bench")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = run.make_corpus(args.workdir, args.traces, args.seed)
    policy = run.charter.load(str(run.POLICY))
    rounds(policy, path, 1)  # warm: the generated code compiled, the caches filled
    gc.collect()
    gc.freeze()
    ours, theirs = rounds(policy, path, args.rounds)
    mine, hand = statistics.median(ours), statistics.median(theirs)
    ratios = [c / h for c, h in zip(ours, theirs)]
    print(f"{run.charter.__file__}: {args.traces} traces, {args.rounds} rounds")
    print(f"Charter {mine / args.traces * 1e6:.1f} µs a trace, hand-written {hand / args.traces * 1e6:.1f}; "
          f"Charter / hand-written {mine / hand:.3f} (rounds {min(ratios):.3f}-{max(ratios):.3f})")


if __name__ == "__main__":
    sys.exit(main())
