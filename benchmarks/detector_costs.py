"""What each built-in detector costs per message: a corpus checked with a policy whose
label the detector computes, beside the same corpus checked with the same policy and no
detector (the label declared, never computed: unknown everywhere). In process, CPU time
(as run.py measures), the runs interleaved.

    python benchmarks/detector_costs.py                      # the Model Spec corpus if it is here
    python benchmarks/detector_costs.py --synthetic 1000     # benchmarks/corpus.py's traces
    python benchmarks/detector_costs.py --corpus logs.jsonl --runs 5

Per detector: `start`, making it (importing its library, loading its models: once per
process, so once per --jobs worker); `without`, checking the corpus with no detector;
`first`, checking it with a new policy, so that each distinct text is judged once;
`again`, checking it a second time with the same policy, whose labeller remembers every
text (no detector call). `per message` is (first - without) over the messages the
detector reads (user and assistant messages with text); `per text`, over the distinct
texts it judged. The disk cache's cold and warm runs are measured with the cache.
The last line printed is one JSON object with every median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).parent))

import run  # noqa: E402  (benchmarks/ is not a package)

import charter  # noqa: E402
from charter.detectors import registry  # noqa: E402
from charter.traces.model import Trace  # noqa: E402
from charter.traces.reader import read_traces  # noqa: E402

MODEL_SPEC = Path(__file__).resolve().parents[2] / "shared" / "data" / "model_spec_examples.jsonl"

# Each detector's label, read on user and assistant messages by norms that use it.
SCORE_NORMS = ('norm reply:\n    forbid assistant.label("x") >= 0.9\n\n'
               'norm ask:\n    on user turn\n    forbid user.label("x") >= 0.9\n')
LANGUAGE_NORMS = ('norm same_language:\n    on assistant turn\n    when user.label("x") is known\n'
                  '    require assistant.label("x") == user.label("x")\n')
POLICIES = {
    "language": ("label x: string from detector language uncertain below 0.5\n", LANGUAGE_NORMS),
    "secrets": ("label x: score from detector secrets\n", SCORE_NORMS),
    "profanity": ("label x: score from detector profanity\n", SCORE_NORMS),
    "sentiment": ("label x: score from detector sentiment\n", SCORE_NORMS),
}


class Row(NamedTuple):
    detector: str
    messages: int
    texts: int
    start: float
    without: float
    first: float
    again: float

    @property
    def per_message_us(self) -> float:
        return (self.first - self.without) / self.messages * 1e6

    @property
    def per_text_us(self) -> float:
        return (self.first - self.without) / self.texts * 1e6


def policy(detector: str, detected: bool = True) -> charter.Policy:
    label, norms = POLICIES[detector]
    if not detected:
        label = label.split(" from detector")[0] + "\n"
    return charter.loads(label + "\n" + norms, name=f"{detector}.charter")


def read(path: Path) -> list[Trace]:
    return [r for r in read_traces(str(path)) if isinstance(r, Trace)]


def _read_texts(traces: list[Trace]) -> tuple[int, int]:
    read_ = [m.content for t in traces for m in t.messages if m.role in ("user", "assistant") and m.content]
    return len(read_), len(set(read_))


def _cpu(fn) -> float:
    started = time.process_time()
    fn()
    return time.process_time() - started


def measure(detector: str, traces: list[Trace], runs: int) -> Row:
    """The medians of `runs` rounds (without, first, again interleaved), and the first start."""
    messages, texts = _read_texts(traces)
    plain = policy(detector, detected=False)
    starts, withouts, firsts, agains = [], [], [], []
    for _ in range(runs):
        started = time.process_time()
        found = registry.load(detector)
        starts.append(time.process_time() - started)
        if isinstance(found, str):
            raise SystemExit(found)
        withouts.append(_cpu(lambda: list(plain.check_many(traces))))
        detected = policy(detector)
        detected.labeller.detectors[detector] = found  # started above, timed there
        firsts.append(_cpu(lambda: list(detected.check_many(traces))))
        calls = detected.labeller.calls
        agains.append(_cpu(lambda: list(detected.check_many(traces))))
        assert detected.labeller.calls == calls, "a second pass called the detector"
    # The first start imports the library: the cost a new process (a --jobs worker) pays.
    return Row(detector, messages, texts, starts[0], *(statistics.median(t) for t in (withouts, firsts, agains)))


def markdown(rows: list[Row], corpus: str) -> str:
    lines = [f"corpus: {corpus}", "",
             "| detector | messages read | distinct texts | start (s) | without (s) | first (s) | again (s) "
             "| per message (µs) | per text (µs) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| `{r.detector}` | {r.messages} | {r.texts} | {r.start:.2f} | {r.without:.3f} | {r.first:.3f} "
              f"| {r.again:.3f} | {r.per_message_us:.0f} | {r.per_text_us:.0f} |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="a JSONL corpus (default: the Model Spec examples)")
    parser.add_argument("--synthetic", type=int, metavar="TRACES", help="benchmarks/corpus.py's traces instead")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp"), help="where the synthetic corpus is written")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--detectors", nargs="+", default=list(POLICIES), choices=list(POLICIES))
    args = parser.parse_args(argv)
    path = run.make_corpus(args.workdir, args.synthetic, seed=0) if args.synthetic else (args.corpus or MODEL_SPEC)
    traces = read(path)
    rows = [measure(name, traces, args.runs) for name in args.detectors]
    print(markdown(rows, f"{path.name}, {len(traces)} traces"))
    print(json.dumps({r.detector: {**r._asdict(), "per_message_us": round(r.per_message_us, 1),
                                   "per_text_us": round(r.per_text_us, 1)} for r in rows}))


if __name__ == "__main__":
    main()
