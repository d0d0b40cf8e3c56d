"""Which declared facts a corpus carries.

A misspelt fact in the traces (or a classifier that never ran) looks, to a norm, like a
fact that is always unknown: every verdict that reads it is `unspecified`. Counting, for
each declared label and metadata field, the traces it is present in shows that at once
("label `fraud_risk` appears in 0 of 19 traces"). The survey of one trace runs where
the trace is checked (a worker process with --jobs) and gives one character per
declared fact; the main process adds them up.
"""

from __future__ import annotations

import json
from typing import Any, Iterator


import attrs

from ..check.facts import declares
from ..check.program import Program
from ..detectors.model import Doubt
from ..syntax import ast
from ..traces.model import Trace

# One trace's state of a declared fact: present, present with a value of the wrong
# type somewhere (unknown there, never coerced), or absent.
PRESENT, WRONG, ABSENT = "p", "w", "-"

_MISSING = object()


class Survey:
    """The declared facts of a policy (labels declared with a type or a detector, every
    metadata field declared), looked up in one trace at a time."""

    def __init__(self, program: Program):
        self.labels = [(name, decl.type) for name, decl in sorted(program.labels.items()) if declares(decl)]
        self.meta = [(path, decl.type) for path, decl in sorted(program.meta.items())]
        self.names = tuple([("label", name) for name, _ in self.labels]
                           + [("meta", ".".join(path)) for path, _ in self.meta])

    def __bool__(self) -> bool:
        return bool(self.names)

    def survey(self, trace: Trace) -> tuple[str, tuple[str, ...]]:
        """One state character per declared fact, and a note per value of the wrong type
        (its path in the trace and what was declared)."""
        states: list[str] = []
        notes: list[str] = []
        for name, fact_type in self.labels:
            values = [(f"messages[{m.index}].labels.{name}", m.labels[name])
                      for m in trace.messages if name in m.labels and m.labels[name].__class__ is not Doubt]
            states.append(_state(values, fact_type, f"label {name}", notes))
        for path, fact_type in self.meta:
            dotted = ".".join(path)
            places = [("trace.meta", trace.meta)] + [(f"messages[{m.index}].meta", m.meta) for m in trace.messages]
            values = [(f"{where}.{dotted}", value) for where, root in places
                      if (value := _at(root, path)) is not _MISSING]
            states.append(_state(values, fact_type, f"meta {dotted}", notes))
        return "".join(states), tuple(notes)


def _at(root: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(root, dict) or key not in root:
            return _MISSING
        root = root[key]
    return root


def _state(values: list[tuple[str, Any]], fact_type: ast.FactType | None, declared: str, notes: list[str]) -> str:
    if not values:
        return ABSENT
    wrong = [(where, value) for where, value in values
             if fact_type is not None and value is not None and not fact_type.admits(value)]
    notes.extend(f"{where} is {json.dumps(value, ensure_ascii=False)[:60]}, not of the type declared "
                 f"(`{declared}: {fact_type}`): read as unknown" for where, value in wrong)
    return WRONG if wrong else PRESENT


@attrs.define
class Presence:
    """The counts of a run: per declared fact, the traces it was present in, and those
    where it had a value of the wrong type."""

    names: tuple[tuple[str, str], ...]  # ("label", name) or ("meta", dotted path)
    traces: int = 0
    present: list[int] = attrs.Factory(list)
    wrong: list[int] = attrs.Factory(list)

    def __attrs_post_init__(self) -> None:
        self.present = self.present or [0] * len(self.names)
        self.wrong = self.wrong or [0] * len(self.names)

    def add(self, states: str) -> None:
        if not states:  # a trace checked without a survey (no declared facts)
            return
        self.traces += 1
        for index, state in enumerate(states):
            if state != ABSENT:
                self.present[index] += 1
                if state == WRONG:
                    self.wrong[index] += 1

    def absent(self) -> list[str]:
        """The declared facts no trace carried (with at least one trace checked)."""
        return [_shown(name) for name, count in zip(self.names, self.present) if count == 0 and self.traces]

    def to_json(self) -> list[dict[str, Any]]:
        return [{"kind": kind, "name": name, "present": present, "wrong_type": wrong}
                for (kind, name), present, wrong in zip(self.names, self.present, self.wrong)]

    def lines(self) -> Iterator[str]:
        """The text report's lines: the counts, then a warning per fact present in none."""
        if not self.names:
            return
        counts = [f"{_shown(name)} in {present}" + (f" ({wrong} with the wrong type)" if wrong else "")
                  for name, present, wrong in zip(self.names, self.present, self.wrong)]
        yield f"facts, in how many of {self.traces} traces: " + ", ".join(counts)
        for name in self.absent():
            yield f"warning: {name} appears in 0 of {self.traces} traces"


def _shown(name: tuple[str, str]) -> str:
    return f"{name[0]} `{name[1]}`"
