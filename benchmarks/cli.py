"""`charter check` end to end: start-up, and whole runs with --jobs 1 and 2, side by side.

    python benchmarks/cli.py                          # 1,000 traces, jsonl, --jobs 1 and 2, 5 runs
    python benchmarks/cli.py --traces 1000 5000 --formats jsonl text json --runs 7
    python benchmarks/cli.py --against /tmp/before/src   # the same runs with another source tree
    python benchmarks/cli.py --traces --runs 15          # start-up only

Each row is one command (`charter check benchmarks/policy/support.charter --traces
CORPUS --format F --jobs N --no-progress > /dev/null`, and `charter --help` and a check of
one trace for start-up); the rows are run in turn, round after round (a, b, c, a, b, c,
…), so that on a shared machine they meet the same spells of load. Each shows the median
wall time with min and max, and the median CPU time of the command and its worker
processes. With --against, every command runs with this checkout's `charter` and with
PYTHONPATH set to each other source tree, interleaved too.

Before timing, the output of every command over the corpus is compared: the same bytes
whatever --jobs, or the run stops; with --against, a note says which source trees write
other bytes than this checkout. The corpus is benchmarks/corpus.py's (deterministic), written once to --workdir.
The last line printed is one JSON object with every median.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).parent))

import memory  # noqa: E402  (benchmarks/ is not a package)
import run  # noqa: E402

POLICY = run.POLICY


class Command(NamedTuple):
    name: str
    argv: list[str]
    pythonpath: str | None  # the source tree to run, None for this installation's


class Times(NamedTuple):
    wall: list[float]
    cpu: list[float]


def timed(command: Command, stdout: int | None = subprocess.DEVNULL) -> tuple[float, float, bytes | None]:
    """Wall and CPU seconds of one run (the command and the worker processes it waited
    for), and its output when `stdout` is a pipe."""
    env = dict(os.environ)
    if command.pythonpath is not None:
        env["PYTHONPATH"] = command.pythonpath
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command.argv, stdout=stdout, stderr=subprocess.PIPE, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"{command.name} failed with exit code {done.returncode}: {done.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def commands(corpora: dict[int, Path], formats: list[str], jobs: list[int], trees: list[str | None],
             one_trace: Path) -> list[Command]:
    charter = memory.charter_command()
    made = []
    for tree in trees:
        label = "" if tree is None else f" [{tree}]"
        made.append(Command("charter --help" + label, charter + ["--help"], tree))
        made.append(Command("check, 1 trace" + label, charter + [
            "check", str(POLICY), "--traces", str(one_trace), "--format", "jsonl", "--no-progress"], tree))
        for traces, path in corpora.items():
            for output_format in formats:
                for n in jobs:
                    made.append(Command(
                        f"check {traces:,} traces --format {output_format} --jobs {n}{label}",
                        charter + ["check", str(POLICY), "--traces", str(path), "--format", output_format,
                                   "--jobs", str(n), "--no-progress"], tree))
    return made


def agree(made: list[Command]) -> list[str]:
    """The same output from every command of a source tree over the same corpus and
    format, whatever --jobs (else the run stops); the notes say where the trees differ."""
    digests: dict[tuple[str | None, str], tuple[str, str]] = {}
    for command in made:
        if "--jobs" not in command.argv:
            continue
        _, _, out = timed(command, subprocess.PIPE)
        run_of = " ".join(command.argv[command.argv.index("--traces"):command.argv.index("--jobs")])
        digest = hashlib.sha256(out or b"").hexdigest()
        seen = digests.setdefault((command.pythonpath, run_of), (digest, command.name))
        if seen[0] != digest:
            sys.exit(f"different output: {command.name!r} and {seen[1]!r}")
    first = {run_of: seen for (tree, run_of), seen in reversed(digests.items())}
    return [f"note: {name!r} writes other bytes than {first[run_of][1]!r}"
            for (tree, run_of), (digest, name) in digests.items() if digest != first[run_of][0]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, nargs="*", default=[1000],
                        help="corpus sizes (default 1000; none: start-up only)")
    parser.add_argument("--formats", nargs="+", default=["jsonl"], choices=["text", "json", "jsonl", "junit", "sarif"])
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=5, help="rounds; the median is shown (default 5)")
    parser.add_argument("--against", metavar="SRC", action="append", default=[],
                        help="also run the CLI of this source tree (PYTHONPATH=SRC); repeatable")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "charter-bench")
    args = parser.parse_args(argv)

    args.workdir.mkdir(parents=True, exist_ok=True)
    corpora = {n: run.make_corpus(args.workdir, n, args.seed) for n in args.traces}
    trees = [None] + [str(Path(tree).resolve()) for tree in args.against]
    made = commands(corpora, args.formats, args.jobs, trees, run.make_corpus(args.workdir, 1, args.seed))
    notes = agree(made)
    times = {c.name: Times([], []) for c in made}
    load = os.getloadavg()[0]
    for _ in range(args.runs):
        for command in made:
            wall, cpu, _ = timed(command)
            times[command.name].wall.append(wall)
            times[command.name].cpu.append(cpu)

    print(*notes, sep="\n")
    print(f"{args.runs} rounds; load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end\n")
    print("| command | wall s median (min–max) | CPU s median |\n|---|---:|---:|")
    for name, t in times.items():
        print(f"| {name} | {statistics.median(t.wall):.3f} ({min(t.wall):.3f}–{max(t.wall):.3f}) "
              f"| {statistics.median(t.cpu):.3f} |")
    print(json.dumps({name: round(statistics.median(t.wall), 3) for name, t in times.items()}))


if __name__ == "__main__":
    main()
