"""Loading a policy whose one text test has thousands of alternatives.

    python benchmarks/large_patterns.py                       # 1,000, 4,000 and 14,000
    python benchmarks/large_patterns.py --kinds words --sizes 14000

Three kinds of pattern: `words`, a `/\\b(…)\\b/i` regex of random lower-case words;
`numbers`, a regex of 12-digit numbers; `phrases`, an `any of [...]` list of two-word
phrases. Each load is timed once, in this process (the language server loads the
policy again on every keystroke, so this is also what a keystroke costs).
"""

from __future__ import annotations

import argparse
import random
import time

import charter


def _words(count: int, rng: random.Random) -> list[str]:
    found: set[str] = set()
    while len(found) < count:
        found.add("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(5, 10))))
    return sorted(found)


def policy(kind: str, count: int) -> str:
    rng = random.Random(count)
    if kind == "words":
        test = "/\\b(" + "|".join(_words(count, rng)) + ")\\b/i"
    elif kind == "numbers":
        test = "/(" + "|".join(str(rng.randrange(10**11, 10**12)) for _ in range(count)) + ")/"
    else:
        test = "any of [" + ", ".join(f'"{w} {w[::-1]}"' for w in _words(count, rng)) + "]"
    return f"charter large by platform\npattern bad = {test}\nnorm no_bad:\n    forbid assistant mentions bad\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="words,numbers,phrases")
    parser.add_argument("--sizes", default="1000,4000,14000")
    args = parser.parse_args()
    for kind in args.kinds.split(","):
        for count in map(int, args.sizes.split(",")):
            source = policy(kind, count)
            started = time.perf_counter()
            charter.loads(source)
            print(f"{kind:8} {count:6} alternatives: load {time.perf_counter() - started:6.2f} s", flush=True)


if __name__ == "__main__":
    main()
