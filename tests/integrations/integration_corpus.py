"""Helpers of the integration tests: a generated corpus of more than 10k traces split in
files, and what single-process `charter check` makes of it (the reference every engine
must equal)."""

from __future__ import annotations

import collections
import json
import runpy
from pathlib import Path

from click.testing import CliRunner

from charter.cli import main

ROOT = Path(__file__).resolve().parents[2]
POLICY = str(ROOT / "examples" / "acme_support.charter")
# benchmarks/corpus.py's generator, imported (not copied): seeded, so the same bytes every run.
write_corpus = runpy.run_path(str(ROOT / "benchmarks" / "corpus.py"))["write"]
TRACES_PER_FILE = 2600
FILES = 4
VERDICT_KEYS = ("norm", "turn", "call", "verdict", "authority", "severity", "reason", "escalate_to")


def make_corpus(folder: Path) -> list[str]:
    """4 × 2600 short traces (10,400 lines), 1% of them malformed."""
    paths = []
    for i in range(FILES):
        path = folder / f"part-{i}.jsonl"
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            write_corpus(out, traces=TRACES_PER_FILE, seed=i, malformed=0.01, max_messages=8)
        paths.append(str(path))
    return paths


def check_locally(paths: list[str], *options: str) -> str:
    """The stdout of `charter check --format jsonl --all` (exit 2: the corpus has malformed lines)."""
    args = ["check", POLICY, *[a for p in paths for a in ("--traces", p)], "--format", "jsonl", "--all",
            "--no-progress", *options]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output[-2000:]
    return result.stdout


class Reference:
    """The jsonl report of `charter check --all`: its bytes, its verdicts and its summary."""

    def __init__(self, output: str):
        self.output = output
        lines = [json.loads(line) for line in output.splitlines()]
        self.summary = lines[-1]["summary"]
        self.verdicts = collections.Counter(
            (trace["id"], *(v[k] for k in VERDICT_KEYS)) for trace in lines[:-1] for v in trace["verdicts"])


def row_verdicts(rows) -> collections.Counter:
    """Verdict rows (dicts or Spark Rows) as the multiset `Reference.verdicts` is."""
    return collections.Counter((row["trace_id"], *(row[k] for k in VERDICT_KEYS)) for row in rows)
