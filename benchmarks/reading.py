"""Reading traces against the parse floor, side by side in one run.

    python benchmarks/reading.py                      # 1,000 traces, 7 runs
    python benchmarks/reading.py --traces 200 --runs 5
    python benchmarks/reading.py --baseline /tmp/before/src   # the same in another source tree too

Measured on one corpus (benchmarks/corpus.py, deterministic), the runs interleaved so that
every row meets the same load on a shared machine:

- the parse floor: reading the file and decoding every line with `orjson` (and with `json`);
- `read_traces(path)`: reading, decoding, detecting each record's format and converting it
  to a Trace, which is what `charter check` and `run.py`'s Charter row do before checking;
- dict → Trace: `trace_from_json` on records decoded beforehand, which is what
  `Policy.check(dict)` pays per trace before evaluating; its floor is decoding those
  records' lines with orjson, in memory.

Each time is the median of --runs runs (min and max shown), in CPU time: reading is one
thread, and on a shared machine the time spent waiting for a core is not the reader's.
Ratios > 1 mean the row is slower than its floor. The last line is one JSON object with the ratios and the costs per
message. With --baseline SRC, the same measurement runs again in a subprocess whose
`charter` is imported from SRC (e.g. a `git worktree` of an earlier commit), and a
before/after table follows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import orjson  # noqa: E402

from run import make_corpus, parse_json, parse_orjson  # noqa: E402  (benchmarks/run.py)

import charter  # noqa: E402
from charter.traces.reader import read_traces, trace_from_json  # noqa: E402


def read_all(path: Path) -> None:
    for _ in read_traces(path):
        pass


def convert_all(records: list[dict]) -> None:
    for record in records:
        trace_from_json(record)


def decode_all(lines: list[bytes]) -> None:
    for line in lines:
        orjson.loads(line)


def cpu_times(fns: list[Callable[[], Any]], runs: int) -> list[list[float]]:
    """Each function's CPU times, the runs interleaved (a, b, c, a, b, c, ...) so that all
    meet the same spells of contention."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, into in zip(fns, times):
            started = time.process_time()
            fn()
            into.append(time.process_time() - started)
    return times


def measure(path: Path, runs: int) -> dict[str, Any]:
    """Every row's times and the corpus's size, as one JSON-able object."""
    lines = path.read_bytes().splitlines()
    records = [orjson.loads(line) for line in lines]
    messages = sum(len(trace.messages) for trace in read_traces(path))
    rows: list[tuple[str, Callable[[], Any]]] = [
        ("parse floor: orjson", lambda: parse_orjson(path)),
        ("parse floor: json", lambda: parse_json(path)),
        ("read_traces", lambda: read_all(path)),
        ("decode lines in memory: orjson", lambda: decode_all(lines)),
        ("dict -> Trace (trace_from_json)", lambda: convert_all(records)),
    ]
    for _, fn in rows:  # warm up: caches, the first allocation of every object kind
        fn()
    times = cpu_times([fn for _, fn in rows], runs)
    return {
        "charter": str(Path(charter.__file__).parent),
        "traces": len(records),
        "messages": messages,
        "runs": runs,
        "times": {name: t for (name, _), t in zip(rows, times)},
    }


def summary(result: dict[str, Any]) -> dict[str, float]:
    """The ratios and costs per message that the last line reports."""
    median = {name: statistics.median(t) for name, t in result["times"].items()}
    per_message = 1e6 / result["messages"]
    return {
        "read_traces_vs_orjson_floor": round(median["read_traces"] / median["parse floor: orjson"], 2),
        "conversion_vs_orjson_decode": round(
            median["dict -> Trace (trace_from_json)"] / median["decode lines in memory: orjson"], 2
        ),
        "read_traces_us_per_message": round(median["read_traces"] * per_message, 3),
        "conversion_us_per_message": round(median["dict -> Trace (trace_from_json)"] * per_message, 3),
        "orjson_floor_us_per_message": round(median["parse floor: orjson"] * per_message, 3),
    }


def table(result: dict[str, Any]) -> str:
    floors = {"read_traces": "parse floor: orjson", "dict -> Trace (trace_from_json)": "decode lines in memory: orjson"}
    times = result["times"]
    lines = [
        f"charter from {result['charter']}: {result['traces']} traces, {result['messages']} messages,"
        f" median of {result['runs']} runs",
        f"{'CPU time':34} {'median ms':>10} {'min':>8} {'max':>8} {'µs/msg':>8} {'× floor':>8}",
    ]
    for name, t in times.items():
        median = statistics.median(t)
        floor = floors.get(name)
        ratio = f"{median / statistics.median(times[floor]):8.2f}" if floor else f"{'':8}"
        lines.append(
            f"{name:34} {median * 1e3:10.2f} {min(t) * 1e3:8.2f} {max(t) * 1e3:8.2f}"
            f" {median * 1e6 / result['messages']:8.3f} {ratio}"
        )
    return "\n".join(lines)


def baseline(source: str, args: argparse.Namespace) -> dict[str, Any]:
    """The same measurement in a subprocess importing `charter` from `source`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}
    options = ["--traces", args.traces, "--seed", args.seed, "--runs", args.runs, "--workdir", args.workdir]
    done = subprocess.run(
        [sys.executable, __file__, *map(str, options), "--raw"], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout)


def compared(before: dict[str, float], after: dict[str, float]) -> str:
    lines = [f"{'':32} {'baseline':>10} {'this tree':>10}"]
    lines += [f"{key:32} {before[key]:10} {after[key]:10}" for key in after]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=1000, help="corpus size (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=7, help="runs per row, at least 5 (default 7)")
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "charter-bench"),
                        help="where the corpus is made (kept for the next run)")
    parser.add_argument("--baseline", metavar="SRC", help="also measure the charter package under SRC")
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)  # what --baseline reads
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5 (the figures are medians)")
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    result = measure(make_corpus(workdir, args.traces, args.seed), args.runs)
    if args.raw:
        print(json.dumps(result))
        return
    if args.baseline:
        before = baseline(args.baseline, args)
        print(table(before), end="\n\n")
        print(compared(summary(before), summary(result)), end="\n\n")
    print(table(result))
    print(json.dumps(summary(result)))


if __name__ == "__main__":
    main()
