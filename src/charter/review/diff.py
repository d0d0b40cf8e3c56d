"""Change impact: what a policy change does to the verdicts on traces we already have.

Both policies check every trace of one corpus in one pass (each record is read once).
For each norm, a trace's verdicts are summed up as `charter test` sums them (the most
severe, `verdicts.aggregate`), and the pair (old, new) counted: a norm present on one
side only counts as `absent` on the other. Unchanged pairs are counted too, so that
the transitions of a norm add up to its verdicts on each side. Trace statuses are
counted the same way. Up to K traces are kept as examples of each changed transition.

Renderers: text (for a terminal), json, and markdown sized to paste as a pull-request
comment (excerpts in a collapsible block, the whole at most `MARKDOWN_LIMIT` chars).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import attrs

from ..source.diagnostics import Diagnostic, PolicyError
from ..corpus.parallel import Checker, SkippedRecord
from ..source.text import Span
from ..traces.model import Trace
from ..traces.reader import Skipped
from ..evaluate.verdicts import AGGREGATE_ORDER, OK_KINDS, STATUS_ORDER, TraceReport, Verdict, aggregate

ABSENT = "absent"  # the norm is not in that side's policy
# What `--fail-on-change` accepts, and what each means (docs/review.md).
CHANGE_KINDS = {
    "any": "any verdict or trace status changed, or a norm was added or removed",
    "status": "some trace's status changed",
    "new-violations": "some norm went to violated or conflict on a trace where it was neither",
    "verdicts": "some norm's verdict on a trace changed (norms on both sides only)",
    "norms": "a norm was added or removed",
}
MARKDOWN_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters
EXCERPT_CHARS = 120
_BAD = frozenset({"violated", "conflict"})
_KIND_ORDER = {kind: i for i, kind in enumerate(AGGREGATE_ORDER + (ABSENT,))}
_STATUS_RANK = {kind: i for i, kind in enumerate(STATUS_ORDER + ("complied",))}


@attrs.frozen
class Side:
    """One policy of the comparison: how it was named, its hash and its norms."""

    label: str
    content_hash: str
    norms: tuple[str, ...]


@attrs.frozen
class Example:
    """A trace showing a transition: where it was read, and the act's text."""

    trace_id: str
    source: str | None
    turn: int | None
    excerpt: str
    old: tuple[str, ...]  # the norm's verdict lines on the old side
    new: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"trace": self.trace_id, "source": self.source, "turn": self.turn, "excerpt": self.excerpt,
                "old": list(self.old), "new": list(self.new)}


@attrs.define
class DiffResult:
    old: Side
    new: Side
    traces: int = 0
    changed: int = 0  # traces whose status, or the verdict of a norm on both sides, changed
    transitions: dict[str, dict[tuple[str, str], int]] = attrs.Factory(dict)
    statuses: dict[tuple[str, str], int] = attrs.Factory(dict)
    examples: dict[tuple[str, str, str], list[Example]] = attrs.Factory(dict)
    skipped: list[dict[str, Any]] = attrs.Factory(list)

    @property
    def added(self) -> list[str]:
        return [n for n in self.new.norms if n not in self.old.norms]

    @property
    def removed(self) -> list[str]:
        return [n for n in self.old.norms if n not in self.new.norms]

    def changes(self, norm: str) -> list[tuple[str, str, int]]:
        """The norm's transitions that changed something, most frequent first."""
        pairs = [(a, b, n) for (a, b), n in self.transitions.get(norm, {}).items() if a != b]
        return sorted(pairs, key=lambda t: (-t[2], _KIND_ORDER[t[0]], _KIND_ORDER[t[1]]))

    def status_changes(self) -> list[tuple[str, str, int]]:
        pairs = [(a, b, n) for (a, b), n in self.statuses.items() if a != b]
        return sorted(pairs, key=lambda t: (-t[2], _STATUS_RANK[t[0]], _STATUS_RANK[t[1]]))

    def norms_changed(self) -> list[str]:
        return [norm for norm in self.transitions if self.changes(norm)]

    def triggered(self, kinds: Iterable[str]) -> list[str]:
        """The `--fail-on-change` kinds among `kinds` that this diff sets off."""
        return [kind for kind in kinds if self._sets_off(kind)]

    def _sets_off(self, kind: str) -> bool:
        both = [n for n in self.transitions if n in self.old.norms and n in self.new.norms]
        match kind:
            case "status":
                return bool(self.status_changes())
            case "norms":
                return bool(self.added or self.removed)
            case "verdicts":
                return any(self.changes(n) for n in both)
            case "new-violations":
                return any(b in _BAD and a not in _BAD for n in self.transitions for a, b, _ in self.changes(n))
            case _:  # any
                return bool(self.norms_changed() or self.status_changes() or self.added or self.removed)

    def to_json(self) -> dict[str, Any]:
        from .. import __version__

        norms = []
        for norm in self.transitions:
            counts = self.transitions[norm]
            norms.append({
                "norm": norm,
                "changes": [{"from": a, "to": b, "traces": n,
                             "examples": [e.to_json() for e in self.examples.get((norm, a, b), [])]}
                            for a, b, n in self.changes(norm)],
                "unchanged": {a: n for (a, b), n in sorted(counts.items(), key=lambda i: _KIND_ORDER[i[0][0]])
                              if a == b},
            })
        return {
            "charter_version": __version__,
            "old": attrs.asdict(self.old, value_serializer=_lists),
            "new": attrs.asdict(self.new, value_serializer=_lists),
            "traces": self.traces,
            "changed_traces": self.changed,
            "norms_added": self.added,
            "norms_removed": self.removed,
            "norms": norms,
            "status": [{"from": a, "to": b, "traces": n} for a, b, n in self.status_changes()],
            "records": {"total": self.traces + len(self.skipped), "checked": self.traces,
                        "skipped": len(self.skipped)},
            "skipped": self.skipped,
        }


def _lists(_instance, _field, value):
    return list(value) if isinstance(value, tuple) else value


# --------------------------------------------------------------------------- collecting


class TraceDelta(NamedTuple):
    """One trace checked with both policies, as the collector counts it: made where the
    trace is checked (a worker process with --jobs), small enough to send back."""

    statuses: tuple[str, str]
    pairs: tuple[tuple[str, str], ...]  # per norm of `DiffChecker.norms`: (old, new)
    examples: tuple[tuple[int, Example], ...]  # (norm position, example) for noteworthy changes


class DiffChecker(Checker):
    """Checks each record with both policies (in process, or one per worker process)."""

    def __init__(self, old: Any, new: Any, input_format: str | None):
        super().__init__(None, None, input_format)
        self.old_policy, self.new_policy = old, new
        self.norms = tuple(dict.fromkeys(list(old.norms) + list(new.norms)))
        self.old_norms, self.new_norms = frozenset(old.norms), frozenset(new.norms)

    def one(self, record: Trace | Skipped) -> TraceDelta | SkippedRecord:
        if isinstance(record, Skipped):
            return SkippedRecord(record.locator.file, record.locator.line, record.reason)
        return self.delta(record)

    def delta(self, trace: Trace) -> TraceDelta:
        old, new = self.old_policy.check(trace), self.new_policy.check(trace)
        old_by, new_by = _by_norm(old), _by_norm(new)
        pairs, examples = [], []
        for i, norm in enumerate(self.norms):
            pair = (_summed(norm, old_by, self.old_norms), _summed(norm, new_by, self.new_norms))
            pairs.append(pair)
            if pair[0] != pair[1] and _noteworthy(pair):
                examples.append((i, _example(trace, pair, old_by.get(norm, []), new_by.get(norm, []))))
        return TraceDelta((old.status, new.status), tuple(pairs), tuple(examples))


def diff_checker(old_paths: list[str], new_paths: list[str], input_format: str | None) -> DiffChecker:
    """A worker's DiffChecker (`--jobs`): both policies loaded from their files."""
    from ..evaluate.policy import load

    return DiffChecker(load(*old_paths), load(*new_paths), input_format)


class DiffCollector:
    """Counts the transitions of the traces checked by a `DiffChecker`."""

    def __init__(self, old: Any, new: Any, old_label: str, new_label: str, examples: int = 3):
        self.result = DiffResult(Side(old_label, old.content_hash, tuple(old.norms)),
                                 Side(new_label, new.content_hash, tuple(new.norms)))
        self.norms = tuple(dict.fromkeys(list(old.norms) + list(new.norms)))
        self.keep = examples

    def add(self, delta: TraceDelta) -> None:
        result = self.result
        result.traces += 1
        changed = _count(result.statuses, delta.statuses)
        for norm, pair in zip(self.norms, delta.pairs):
            if _count(result.transitions.setdefault(norm, {}), pair) and ABSENT not in pair:
                changed = True
        for i, example in delta.examples:
            kept = result.examples.setdefault((self.norms[i], *delta.pairs[i]), [])
            if len(kept) < self.keep:
                kept.append(example)
        result.changed += changed

    def skip(self, file: str, line: int | None, reason: str) -> None:
        self.result.skipped.append({"file": file, "line": line, "reason": reason})


def _example(trace: Trace, pair: tuple[str, str], old: list[Verdict], new: list[Verdict]) -> Example:
    turn = _changed_turn(old, new, pair)
    return Example(trace.id, str(trace.locator) if trace.locator else None, turn, _excerpt(trace, turn),
                   tuple(_plain(v) for v in old if v.kind != "not_applicable"),
                   tuple(_plain(v) for v in new if v.kind != "not_applicable"))


def _noteworthy(pair: tuple[str, str]) -> bool:
    """A change worth an example: between two verdicts, or a norm added or removed
    where it did not pass (an added norm that passes everywhere is no news)."""
    return ABSENT not in pair or (pair[0] if pair[1] == ABSENT else pair[1]) not in OK_KINDS


def _count(counts: dict, pair: tuple[str, str]) -> bool:
    counts[pair] = counts.get(pair, 0) + 1
    return pair[0] != pair[1]


def _by_norm(report: TraceReport) -> dict[str, list[Verdict]]:
    by: dict[str, list[Verdict]] = {}
    for verdict in report.verdicts:
        by.setdefault(verdict.norm, []).append(verdict)
    return by


def _summed(norm: str, by_norm: dict[str, list[Verdict]], norms: frozenset[str]) -> str:
    if norm not in norms:
        return ABSENT
    return aggregate(v.kind for v in by_norm.get(norm, []))


def _changed_turn(old: list[Verdict], new: list[Verdict], pair: tuple[str, str]) -> int | None:
    """The first act whose verdict went from the old kind to the new one (else the first
    act with the new kind, or the old one for a removed norm): the excerpt to show."""
    before = {(v.turn, v.call): v.kind for v in old}
    for verdict in new:
        if verdict.kind == pair[1] and before.get((verdict.turn, verdict.call), ABSENT) == pair[0]:
            return verdict.turn
    kind, verdicts = (pair[0], old) if pair[1] == ABSENT else (pair[1], new)
    return next((v.turn for v in verdicts if v.kind == kind), None)


def _excerpt(trace: Trace, turn: int | None) -> str:
    """The act's message (the last message for a conversation-wide verdict), on one line:
    its text, then its tool calls (a tool-call norm's act often has no text at all)."""
    if not trace.messages:
        return ""
    message = trace.messages[turn if turn is not None and turn < len(trace.messages) else -1]
    calls = [f"[calls {c.name} {json.dumps(c.arguments, ensure_ascii=False, sort_keys=True)}]"
             for c in message.tool_calls]
    text = " ".join(" ".join([message.content, *calls]).split())
    if len(text) > EXCERPT_CHARS:
        text = text[:EXCERPT_CHARS - 1] + "…"
    return f"{message.role}: {text}"


def _plain(verdict: Verdict) -> str:
    from ..reports.render import _plain_line

    return _plain_line(verdict)


# --------------------------------------------------------------------------- policies at a git revision


_USE_PATH = re.compile(r'^\s*use\s+"((?:[^"\\]|\\.)*)"', re.MULTILINE)
_COMMAND_LINE = Span.point("<command line>", 1, 1)


def materialise_revision(paths: Iterable[str], rev: str, into: str) -> list[str]:
    """Write the policy files at git revision `rev` under the directory `into`, with the
    files they import with `use "file"` (found in their text at that revision, followed
    transitively), keeping their paths relative to the current directory; return the
    paths to load. Raises PolicyError when git cannot give a file."""
    wanted = [os.path.normpath(p) for p in paths]
    for path in wanted:
        if os.path.isabs(path) or path.startswith(".."):
            raise PolicyError([Diagnostic("E001", f"--old-rev/--new-rev: {path} is outside the current "
                                          "directory; give policy paths inside the repository, relative",
                                          _COMMAND_LINE)], {})
    seen: set[str] = set()
    pending = list(wanted)
    while pending:
        path = pending.pop()
        if path in seen or path.startswith("std."):
            continue
        seen.add(path)
        text = _git_show(rev, path)
        target = Path(into, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
        base = os.path.dirname(path)
        pending.extend(os.path.normpath(os.path.join(base, m)) for m in _USE_PATH.findall(text))
    return [p if p.startswith("std.") else os.path.join(into, p) for p in wanted]


def _git_show(rev: str, path: str) -> str:
    try:
        done = subprocess.run(["git", "show", f"{rev}:./{path}"], capture_output=True, check=False)
    except OSError as error:
        raise PolicyError([Diagnostic("E001", f"cannot run git: {error}", _COMMAND_LINE)], {}) from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise PolicyError([Diagnostic("E001", f"cannot read {path} at revision {rev}: "
                                      f"{said[-1] if said else 'git failed'}", _COMMAND_LINE)], {})
    try:
        return done.stdout.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PolicyError([Diagnostic("E001", f"cannot read {path} at revision {rev}: {error}",
                                      _COMMAND_LINE)], {}) from None


def revision_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="charter-rev-")


# --------------------------------------------------------------------------- rendering


def _arrow(a: str, b: str) -> str:
    return f"{a} → {b}"


def _transition_line(result: DiffResult, norm: str) -> str:
    return f"{norm}: " + ", ".join(f"{_arrow(a, b)} {n}" for a, b, n in result.changes(norm))


def _skipped(result: DiffResult) -> str:
    count = len(result.skipped)
    return f"{count} record{'s' if count != 1 else ''} skipped"


def _headline(result: DiffResult) -> str:
    skipped = f", {_skipped(result)}" if result.skipped else ""
    return (f"{result.traces} trace{'s' if result.traces != 1 else ''} checked with both policies{skipped}: "
            f"{result.changed} changed")


def render_text(result: DiffResult) -> str:
    lines = [_headline(result),
             f"old: {result.old.label}  {result.old.content_hash[:19]}",
             f"new: {result.new.label}  {result.new.content_hash[:19]}"]
    if result.added:
        lines.append("norms added: " + ", ".join(result.added))
    if result.removed:
        lines.append("norms removed: " + ", ".join(result.removed))
    changed = result.norms_changed()
    lines.append("\nverdict transitions (traces):" if changed else "\nno verdict changed")
    lines += ["  " + _transition_line(result, norm) for norm in changed]
    status = result.status_changes()
    if status:
        lines.append("trace status: " + ", ".join(f"{_arrow(a, b)} {n}" for a, b, n in status))
    for norm in changed:
        for a, b, _ in result.changes(norm):
            shown = result.examples.get((norm, a, b), [])
            if shown:
                lines.append(f"\n{norm} {_arrow(a, b)}:")
            for example in shown:
                where = f" ({example.source})" if example.source else ""
                at = "" if example.turn is None else f" turn {example.turn}"
                lines.append(f"  {example.trace_id}{where}{at}: {example.excerpt}")
    for record in result.skipped:
        where = record["file"] if record["line"] is None else f"{record['file']}:{record['line']}"
        lines.append(f"{where}: skipped: {record['reason']}")
    return "\n".join(lines) + "\n"


def render_markdown(result: DiffResult, limit: int = MARKDOWN_LIMIT) -> str:
    """A pull-request comment: the counts, a table of transitions, the excerpts folded
    away; examples, then table rows, are dropped to keep within `limit` characters."""
    examples = _markdown_examples(result)
    rows = _markdown_rows(result)
    while True:
        text = _markdown(result, rows, examples)
        if len(text) <= limit or (not examples and len(rows) <= 1):
            return text
        if examples:
            examples = examples[:len(examples) // 2]
        else:
            rows = rows[:len(rows) // 2]


def _markdown(result: DiffResult, rows: list[str], examples: list[str]) -> str:
    shown_rows = len(rows)
    all_rows = sum(len(result.changes(n)) for n in result.norms_changed())
    head = [
        "### Charter: policy change impact", "",
        f"**{result.traces}** traces checked with both policies, **{result.changed}** changed"
        + (f", {_skipped(result)}" if result.skipped else "") + ".  ",
        f"old `{result.old.label}` `{result.old.content_hash[:19]}` → new `{result.new.label}` "
        f"`{result.new.content_hash[:19]}`", "",
    ]
    if result.added or result.removed:
        head += [f"Norms added: {_codes(result.added) or 'none'}; removed: {_codes(result.removed) or 'none'}.", ""]
    if rows:
        head += ["| norm | verdict (per trace) | traces |", "|---|---|--:|"] + rows
        if shown_rows < all_rows:
            head.append(f"| … | {all_rows - shown_rows} more transitions (see `--format json`) | |")
        head.append("")
    else:
        head += ["No verdict changed.", ""]
    status = result.status_changes()
    if status:
        head += ["Trace status: " + ", ".join(f"{_arrow(a, b)} **{n}**" for a, b, n in status) + ".", ""]
    if examples:
        head += [f"<details><summary>Examples ({len(examples)})</summary>", ""] + examples + ["</details>", ""]
    return "\n".join(head)


def _codes(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _markdown_rows(result: DiffResult) -> list[str]:
    return [f"| `{norm}` | {_arrow(a, b)} | {n} |"
            for norm in result.norms_changed() for a, b, n in result.changes(norm)]


def _markdown_examples(result: DiffResult) -> list[str]:
    out = []
    for norm in result.norms_changed():
        for a, b, _ in result.changes(norm):
            for example in result.examples.get((norm, a, b), []):
                where = f" ({example.source})" if example.source else ""
                at = "" if example.turn is None else f", turn {example.turn}"
                excerpt = _md_escape(example.excerpt)
                out.append(f"- `{norm}` {_arrow(a, b)}: `{example.trace_id}`{where}{at}: {excerpt}")
    return out


def _md_escape(text: str) -> str:
    """Text that cannot open HTML or markdown structure inside a list item."""
    return re.sub(r"([\\`*_<>\[\]|#])", r"\\\1", text)
