"""Throughput of corpus checking on Dask and Spark against single-process `charter check`.

    python benchmarks/integrations.py --traces 10000 --runs 3

One generated corpus (benchmarks/corpus.py) and one policy (examples/acme_support.charter);
for each engine the median wall time of `--runs` runs after one warm-up run, as traces/s:

- `charter check` (text report) in one process (a subprocess: start-up included);
- the verdict rows `check_bag` makes, made in this process: the engines' own baseline;
- `check_bag(...).count()` on a local Dask cluster of 1 and of 2 single-threaded worker
  processes, the corpus read as lines (`dask.bag.read_text`); the cluster is started
  before timing;
- `charter check --engine dask` (the same batches and text report as the CLI) on 2 workers;
- `check_dataframe(...)` written to Spark's `noop` sink in `local[2]`; the session is
  started before timing.
"""

from __future__ import annotations

import argparse
import os
import runpy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
POLICY = str(ROOT / "examples" / "acme_support.charter")
CHARTER = str(Path(sys.executable).parent / "charter")


def median_seconds(run: Callable[[], object], runs: int) -> float:
    run()  # warm-up: workers start their Python, compile the policy
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def single_process(corpus: str) -> Callable[[], object]:
    command = [CHARTER, "check", POLICY, "--traces", corpus, "--no-progress"]
    return lambda: subprocess.run(command, stdout=subprocess.DEVNULL, check=False)


def rows_in_process(corpus: str) -> Callable[[], object]:
    """The verdict rows check_bag makes, made here in one process: the engines' baseline."""
    from charter.integrations._shipping import PolicyFiles, compiled, records_of, verdict_rows
    from charter.traces.model import Locator

    policy = compiled(PolicyFiles.read(POLICY))

    def run() -> int:
        with open(corpus, "rb") as lines:
            records = (r for n, line in enumerate(lines, 1) for r in records_of(line, Locator(corpus, n)))
            return sum(1 for _ in verdict_rows(policy, records))
    return run


def on_dask(corpus: str, runs: int, workers_counts: tuple[int, ...]) -> dict[str, float]:
    import dask.bag as db
    from distributed import Client, LocalCluster

    from charter.integrations import dask as engine

    seconds = {}
    for workers in workers_counts:
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            lines = db.read_text(corpus, blocksize="2MB")
            seconds[f"dask check_bag, {workers} worker(s)"] = median_seconds(
                lambda: engine.check_bag(POLICY, lines).count().compute(), runs)
            if workers == max(workers_counts):
                options = {"show_all": False, "color": False, "fail_on": ("violated", "conflict")}
                seconds[f"charter check --engine dask, {workers} worker(s)"] = median_seconds(
                    lambda: sum(1 for _ in engine.check_corpus(client, [POLICY], [corpus], "text", options)), runs)
    return seconds


def on_spark(corpus: str, runs: int) -> dict[str, float]:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    from charter.integrations.spark import check_dataframe

    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        lines = spark.read.text(corpus)
        run = lambda: check_dataframe(POLICY, lines, column="value").write.format("noop").mode("overwrite").save()  # noqa: E731
        return {"spark check_dataframe, local[2]": median_seconds(run, runs)}
    finally:
        spark.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-spark", action="store_true", help="skip Spark (it needs Java 17)")
    args = parser.parse_args()
    write = runpy.run_path(str(ROOT / "benchmarks" / "corpus.py"))["write"]
    with tempfile.TemporaryDirectory() as folder:
        corpus = os.path.join(folder, "corpus.jsonl")
        with open(corpus, "w", encoding="utf-8", newline="\n") as out:
            write(out, traces=args.traces, seed=0)
        size = os.path.getsize(corpus) / 1e6
        print(f"{args.traces:,} traces, {size:.1f} MB, {os.cpu_count()} CPUs, median of {args.runs} runs, "
              f"load average before: {os.getloadavg()[0]:.1f}")
        seconds = {"charter check, one process": median_seconds(single_process(corpus), args.runs),
                   "verdict rows, one process (no engine)": median_seconds(rows_in_process(corpus), args.runs)}
        seconds.update(on_dask(corpus, args.runs, (1, 2)))
        if not args.no_spark:
            seconds.update(on_spark(corpus, args.runs))
    print(f"load average after: {os.getloadavg()[0]:.1f} (other work on the machine slows every engine)")
    base = seconds["charter check, one process"]
    print(f"{'engine':<45} {'seconds':>8} {'traces/s':>9} {'vs one process':>15}")
    for name, value in seconds.items():
        print(f"{name:<45} {value:8.2f} {args.traces / value:9,.0f} {base / value:14.2f}x")


if __name__ == "__main__":
    main()
