"""Text matching with and without its prefilters, side by side in one run.

    python benchmarks/textmatch.py                 # 200 traces, 7 runs
    python benchmarks/textmatch.py --traces 1000 --runs 9
    python benchmarks/textmatch.py --non-ascii     # typographic text (the corpus is ASCII)

Every regex and phrase list of benchmarks/policy/support.charter and of the stdlib
modules is run over every message text of the benchmark corpus (benchmarks/corpus.py),
four ways, the four interleaved in each run so that they meet the same load:

- bare: the matchers as they were before the prefilters: RE2 asked for every capture
  group and given `str`, and Python's `re` with a pair of word-boundary tests per phrase;
- engine: today's matchers with the prefilter switched off (RE2 without capture groups
  and ASCII text passed as bytes; one pair of word-boundary tests per phrase list);
- prefiltered: today's matchers, `search(text)`;
- shared fold: each matcher's generated search (`text_search`, its prefilter written
  out inline), as a check calls it, with one `fold(text)` per text shared by all the
  matchers (its cost is included).

Before timing, every matcher's result on every text is compared with the bare one
(same span), and any difference stops the run. Each time is the median of --runs runs
(min and max shown); ratios > 1 mean bare is slower. Each text is tested against every
pattern, not only those a policy would apply to its role, so the mix of hits and misses
differs somewhat from a real check.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402  (benchmarks/corpus.py)
import re2  # noqa: E402

from charter.text import matching as textmatch  # noqa: E402
from charter.syntax.ast import Literal, ListLiteral, Matches, PatternDecl, Says, walk  # noqa: E402
from charter.text.builtins import BUILTINS  # noqa: E402
from charter.source.text import Source  # noqa: E402
from charter.syntax.parser import parse  # noqa: E402

POLICIES = [HERE / "policy" / "support.charter",
            *sorted((HERE.parent / "src" / "charter" / "stdlib").glob("*.charter"))]


def message_texts(traces: int, seed: int, non_ascii: bool = False) -> list[str]:
    """The corpus's message texts; with `non_ascii`, with typographic apostrophes and
    an em dash, as many real replies have (the corpus itself is ASCII)."""
    out = io.StringIO()
    corpus.write(out, traces=traces, seed=seed)
    texts = [textmatch.matchable(m.get("content")) for line in out.getvalue().splitlines()
             for m in json.loads(line)["messages"]]
    return [t.replace("'", "\u2019") + " \u2014" for t in texts] if non_ascii else texts


def policy_tests() -> tuple[list[tuple[str, str, str | None]], list[tuple[str, ...]]]:
    """The distinct regexes (source, flags, check) and phrase lists of POLICIES, each
    phrase list as the evaluator compiles it (`all of` gives one list per phrase)."""
    regexes, phrase_lists = set(), set()
    for path in POLICIES:
        tree, diagnostics = parse(Source(str(path), path.read_text(encoding="utf-8")))
        assert tree is not None, diagnostics
        for node in walk(tree):
            if isinstance(node, PatternDecl) and node.phrases:
                phrase_lists.add(node.phrases)
            regex = node.regex if isinstance(node, (Matches, PatternDecl)) else None
            if regex is not None:
                regexes.add((regex.source, regex.flags, regex.check.dotted if regex.check else None))
            if isinstance(node, Says):
                phrase_lists.update(_says_lists(node))
    return sorted(regexes, key=str), sorted(phrase_lists)


def _says_lists(node: Says) -> list[tuple[str, ...]]:
    if isinstance(node.phrases, Literal):
        return [(node.phrases.value,)]
    if not isinstance(node.phrases, ListLiteral):
        return []  # a name: its pattern declaration is collected on its own
    texts = tuple(item.value for item in node.phrases.items)
    return [(t,) for t in texts] if node.mode == "all" else [texts]


# ---- the matchers before the prefilters (the baseline)


class BareRegex:
    """RE2 as compile_regex used it before: capture groups on, `str` text."""

    def __init__(self, source: str, flags: str, check: Callable[[str], bool] | None):
        options = re2.Options()
        options.log_errors = False
        prefix = "".join(textmatch.REGEX_FLAGS[f] for f in sorted(set(flags)))
        self.regex, self.check = re2.compile(prefix + source, options), check

    def search(self, text: str):
        if self.check is None:
            return self.regex.search(text)
        pos = 0
        while (found := self.regex.search(text, pos)) is not None:
            if self.check(found.group()):
                return found
            start, pos = found.span()
            pos = pos if pos > start else pos + 1
        return None


def bare_phrases(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """The alternation phrase_regex built before: each phrase between its own pair of
    word-boundary tests."""
    bodies = (r"\s+".join(re.escape(w) for w in p.split()) for p in sorted(set(phrases), key=lambda p: (-len(p), p)))
    return re.compile("|".join(rf"(?<!\w){b}(?!\w)" if b else "(?!)" for b in bodies), re.IGNORECASE)


def without_prefilter(matcher):
    """The same matcher with its prefilter switched off (a benchmark-only reach inside)."""
    engine = object.__new__(type(matcher))
    for cls in type(matcher).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            setattr(engine, slot, getattr(matcher, slot))
    engine._need = None
    return engine


# ---- timing


def run_all(matchers, texts: list[str]) -> float:
    start = time.perf_counter()
    for text in texts:
        for m in matchers:
            m.search(text)
    return time.perf_counter() - start


def run_all_shared(matchers, texts: list[str]) -> float:
    searches = [textmatch.text_search([m]) for m in matchers]
    start = time.perf_counter()
    fold = textmatch.fold
    for text in texts:
        folded = fold(text)
        for found in searches:
            found(text, folded)
    return time.perf_counter() - start


def agree(name: str, bare, others, texts: list[str]) -> None:
    for text in texts:
        expected = bare.search(text)
        expected = None if expected is None else expected.span()
        folded = textmatch.fold(text)
        for other in others:
            holds, matches = textmatch.text_search([other])(text, folded)
            for got in (other.search(text), matches[0] if holds else None):
                if (None if got is None else got.span()) != expected:
                    sys.exit(f"disagreement on {name} for {text!r}: {got} != {expected}")


def measure(kinds: dict[str, tuple[list, list, list]], texts: list[str], runs: int) -> dict:
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(runs):
        for kind, (bare, engine, new) in kinds.items():
            for way, matchers, runner in (("bare", bare, run_all), ("engine", engine, run_all),
                                          ("prefiltered", new, run_all),
                                          ("shared fold", new, run_all_shared)):
                times.setdefault((kind, way), []).append(runner(matchers, texts))
    return times


def report(times: dict, kinds: dict, texts: list[str]) -> Iterator[str]:
    yield f"{'tests':<10} {'way':<13} {'median ms':>10} {'min':>8} {'max':>8} {'us/search':>10} {'bare/this':>10}"
    summary = {}
    for kind, (bare, _, _) in kinds.items():
        base = statistics.median(times[(kind, "bare")])
        for way in ("bare", "engine", "prefiltered", "shared fold"):
            runs = times[(kind, way)]
            median = statistics.median(runs)
            per = median / (len(texts) * len(bare)) * 1e6
            yield (f"{kind:<10} {way:<13} {median * 1e3:>10.1f} {min(runs) * 1e3:>8.1f} "
                   f"{max(runs) * 1e3:>8.1f} {per:>10.2f} {base / median:>10.2f}")
            summary[f"{kind}_{way.replace(' ', '_')}_speedup"] = round(base / median, 2)
    yield json.dumps(summary)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (at least 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--non-ascii", action="store_true", help="make every text non-ASCII (see message_texts)")
    args = parser.parse_args(argv)
    texts = message_texts(args.traces, args.seed, args.non_ascii)
    regexes, phrase_lists = policy_tests()
    kinds = {
        "regexes": ([BareRegex(s, f, BUILTINS[c].check if c else None) for s, f, c in regexes],
                    [textmatch.compile_regex(s, f, BUILTINS[c].check if c else None) for s, f, c in regexes]),
        "phrases": ([bare_phrases(p) for p in phrase_lists], [textmatch.phrase_regex(p) for p in phrase_lists]),
    }
    kinds = {k: (bare, [without_prefilter(m) for m in new], new) for k, (bare, new) in kinds.items()}
    for kind, (bare, engine, new) in kinds.items():
        for b, e, n in zip(bare, engine, new):
            agree(kind, b, (e, n), texts)
    print(f"{len(texts):,} message texts ({sum(t.isascii() for t in texts):,} ASCII) from {args.traces:,} "
          f"traces; {len(regexes)} regexes, {len(phrase_lists)} phrase lists; all results agree; "
          f"{max(args.runs, 5)} runs", flush=True)
    times = measure(kinds, texts, max(args.runs, 5))
    for line in report(times, kinds, texts):
        print(line)


if __name__ == "__main__":
    main()
