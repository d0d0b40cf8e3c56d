"""Wall time and peak memory of `charter check` over a large generated corpus.

    python benchmarks/memory.py                      # a ~200 MB corpus, --jobs 1 and 2, 3 runs each
    python benchmarks/memory.py --size 1GB --runs 1  # a ~1 GB corpus (about 400k traces)
    python benchmarks/memory.py --corpus big.jsonl   # an existing corpus

The corpus is made by benchmarks/corpus.py (deterministic; kept in --workdir, and reused
when it is already there with the same size and seed). Each run is
`charter check POLICY --traces CORPUS --format FORMAT --jobs N --no-progress > /dev/null`.
For each number of jobs it prints the median wall time over the runs, the throughput,
the peak RSS of the largest process (from the kernel's rusage of the run, which counts
the worker processes too) and the peak total RSS of all the run's processes together
(sampled from /proc every 20 ms), and the speedup over the first --jobs value.

Memory stays flat whatever the corpus size: the report is streamed and nothing is kept
per trace. A 1 GB run needs about 1 GB of free disk for the corpus (the report goes to
/dev/null) and, on 2 cores, some minutes per run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402  (benchmarks/corpus.py)


def charter_command() -> list[str]:
    script = Path(sys.executable).parent / "charter"
    return [str(script)] if script.exists() else [sys.executable, "-m", "charter.cli"]


def _children(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(command: list[str], env: dict[str, str] | None = None) -> tuple[int, float, int, int, float]:
    """Run `command` with its output to /dev/null: (exit code, wall seconds, peak RSS of
    its largest process in KB, peak total RSS of its process tree in KB, sampled, CPU
    seconds of it and the processes it waited for)."""
    total_peak = 0
    done = threading.Event()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)

    def sample() -> None:
        nonlocal total_peak
        while not done.is_set():
            if os.path.exists("/proc"):
                total_peak = max(total_peak, sum(_rss_kb(p) for p in _children(process.pid)))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, wall, usage.ru_maxrss, total_peak, usage.ru_utime + usage.ru_stime


def make_corpus(path: Path, size: int | None, traces: int | None, seed: int) -> None:
    stamp = path.with_suffix(".args")
    args = f"size={size} traces={traces} seed={seed}"
    if path.exists() and stamp.exists() and stamp.read_text() == args:
        print(f"reusing {path}", file=sys.stderr)
        return
    print(f"writing {path} ({args}) ...", file=sys.stderr)
    started = time.perf_counter()
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        count, written = corpus.write(out, traces=traces, size=size, seed=seed, malformed=0.0005)
    stamp.write_text(args)
    print(f"  {count} lines, {written / 1e6:.0f} MB in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    amount = parser.add_mutually_exclusive_group()
    amount.add_argument("--size", type=corpus.parse_size, help="corpus size (default 200MB)")
    amount.add_argument("--traces", type=int, help="corpus size in traces")
    amount.add_argument("--corpus", type=Path, help="an existing corpus instead of a generated one")
    parser.add_argument("--jobs", default="1,2", help="comma-separated --jobs values (default 1,2)")
    parser.add_argument("--runs", type=int, default=3, help="runs per --jobs value; the median is shown")
    parser.add_argument("--format", default="jsonl", help="report format (default jsonl)")
    parser.add_argument("--policy", default=str(ROOT / "examples" / "acme_support.charter"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "charter-bench")
    args = parser.parse_args(argv)

    if args.corpus is not None:
        path = args.corpus
    else:
        size = args.size if args.size or args.traces else corpus.parse_size("200MB")
        args.workdir.mkdir(parents=True, exist_ok=True)
        name = f"corpus-{args.traces}t" if args.traces else f"corpus-{size}b"
        path = args.workdir / f"{name}-s{args.seed}.jsonl"
        make_corpus(path, None if args.traces else size, args.traces, args.seed)
    with open(path, "rb") as f:
        lines = sum(1 for _ in f)
    megabytes = path.stat().st_size / 1e6
    print(f"corpus: {path} — {megabytes:,.0f} MB, {lines:,} lines")
    print(f"policy: {args.policy}; format: {args.format}; {args.runs} run(s) each; {os.cpu_count()} CPUs\n")
    print(f"{'jobs':>4}  {'wall (median)':>13}  {'min':>7}  {'max':>7}  {'traces/s':>9}  "
          f"{'peak RSS':>9}  {'total RSS':>9}  {'speedup':>7}")
    base = None
    for jobs in [int(j) for j in args.jobs.split(",")]:
        command = charter_command() + ["check", args.policy, "--traces", str(path), "--format", args.format,
                                       "--jobs", str(jobs), "--no-progress"]
        walls, peaks, totals = [], [], []
        for _ in range(args.runs):
            code, wall, peak, total, _ = measure(command)
            if code not in (0, 1, 2):
                sys.exit(f"charter check failed with exit code {code}: {' '.join(command)}")
            walls.append(wall)
            peaks.append(peak)
            totals.append(total)
        median = statistics.median(walls)
        base = base or median
        print(f"{jobs:>4}  {median:>11.1f} s  {min(walls):>5.1f} s  {max(walls):>5.1f} s  "
              f"{lines / median:>9,.0f}  {max(peaks) / 1024:>6.0f} MB  {max(totals) / 1024:>6.0f} MB  "
              f"{base / median:>6.2f}x", flush=True)


if __name__ == "__main__":
    main()
