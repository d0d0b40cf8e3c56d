"""The decision ledger: a plain-text file beside the policy, one entry per decision.

    decision Qa049654 on crisis_reply_engages
        asked: "whether the reply engages with warmth needs a human"
        by: platform, Dana Ruiz
        at: 2026-12-05T12:30:00Z
        outcome: require assistant says "you are not alone"
        why: "Pointing to help is not enough: the reply must also reach out."
        evidence: ["ms-0012", "ms-0044"]

An entry opens with `decision ID [on NORM]` at the left margin; its fields are indented
`key: value` lines. `asked`, `why` and `evidence` are JSON (a string, a string, a list of
trace IDs), so any text fits on one line; `outcome` is a Charter outcome as a norm would
say it (`permit`, `forbid B`, `require B [within N turns]`), or `keep open "REASON"
escalate to A`, or `needs fact NAME`. `#` starts a comment line. Entries are only ever
appended: the file's history is the decisions' history, and a pull request shows each new
decision as a block of added lines.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Literal

import attrs

from ..source.diagnostics import Diagnostic, PolicyError
from ..source.text import Source, Span
from ..syntax import ast
from ..syntax.parser import parse

Kind = Literal["permit", "forbid", "require", "keep-open", "needs-fact"]
QUESTION_ID = re.compile(r"Q[0-9a-f]{7}")
FIELDS = ("asked", "by", "at", "outcome", "why", "evidence")
REQUIRED = ("by", "at", "outcome", "why")
_HEADER = re.compile(r"decision(?:\s+(?P<id>\S+))?(?:\s+on\s+(?P<norm>\S+))?\s*$")
_FIELD = re.compile(r"(?P<key>[a-z_]+)\s*:\s?(?P<value>.*)$")
_KEEP_OPEN = re.compile(r'keep open\s+(?P<reason>"(?:[^"\\]|\\.)*")\s+escalate to\s+(?P<target>[A-Za-z_][\w-]*)\s*$')
_NEEDS_FACT = re.compile(r"needs fact\s+(?P<fact>\S+)\s*$")
_NOWHERE = Span.point("<command line>", 1, 1)


@attrs.frozen
class Outcome:
    """What a decision settles a question with.

    `behaviour` is Charter text (for `forbid` and `require`); `within` counts replies
    (`require ... within N turns`); `reason` and `escalate_to` are for `keep-open`;
    `fact` names the missing fact of `needs-fact`."""

    kind: Kind
    behaviour: str | None = None
    within: int | None = None
    reason: str | None = None
    escalate_to: str | None = None
    fact: str | None = None

    def text(self) -> str:
        """The outcome as the ledger writes it."""
        if self.kind == "keep-open":
            return f"keep open {json.dumps(self.reason, ensure_ascii=False)} escalate to {self.escalate_to}"
        if self.kind == "needs-fact":
            return f"needs fact {self.fact}"
        return self.policy_text() or ""

    def policy_text(self) -> str | None:
        """The outcome as a norm says it; None for `needs-fact` (no policy can say it)."""
        if self.kind == "permit":
            return "permit"
        if self.kind == "forbid":
            return f"forbid {self.behaviour}"
        if self.kind == "require":
            within = f" within {self.within} turn{'s' if self.within != 1 else ''}" if self.within else ""
            return f"require {self.behaviour}{within}"
        if self.kind == "keep-open":
            return f"unspecified {json.dumps(self.reason, ensure_ascii=False)} escalate to {self.escalate_to}"
        return None


@attrs.frozen
class Decision:
    """One ledger entry. `asked` and `norm` repeat the question for the reader; the
    question ID is what counts. `span` is where the entry starts in its ledger."""

    question: str
    authority: str
    person: str
    at: str
    outcome: Outcome
    why: str
    evidence: tuple[str, ...] = ()
    norm: str | None = None
    asked: str | None = None
    span: Span = attrs.field(default=_NOWHERE, eq=False)

    def text(self) -> str:
        """The entry as the ledger writes it (a block of lines, no blank line around)."""
        lines = [f"decision {self.question}" + (f" on {self.norm}" if self.norm else "")]
        if self.asked is not None:
            lines.append(f"    asked: {json.dumps(self.asked, ensure_ascii=False)}")
        lines += [f"    by: {self.authority}, {self.person}",
                  f"    at: {self.at}",
                  f"    outcome: {self.outcome.text()}",
                  f"    why: {json.dumps(self.why, ensure_ascii=False)}",
                  f"    evidence: {json.dumps(list(self.evidence), ensure_ascii=False)}"]
        return "\n".join(lines) + "\n"


LEDGER_HEAD = ("# Decisions on the open questions of a Charter policy: appended by `charter decide`,\n"
               "# turned into policy text by `charter amend` (docs/decisions.md).\n")


# --------------------------------------------------------------------------- reading


def read_ledger(path: str | os.PathLike[str]) -> list[Decision]:
    """Every decision of a ledger file, in file order; a missing file has none. Raises
    `PolicyError` (diagnostics with line and column) when the file cannot be read."""
    file = Path(path)
    if not file.exists():
        return []
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError([Diagnostic("D001", f"cannot read the ledger {path}: {error}", _NOWHERE)]) from None
    decisions, problems = parse_ledger(Source(str(path), text))
    if problems:
        raise PolicyError(problems, {str(path): Source(str(path), text)})
    return decisions


def parse_ledger(source: Source) -> tuple[list[Decision], list[Diagnostic]]:
    """The decisions of a ledger's text, and what is wrong with it (every problem found)."""
    decisions: list[Decision] = []
    problems: list[Diagnostic] = []
    entry: _Entry | None = None
    for number, line in enumerate(source.lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not line[0].isspace():
            if entry is not None:
                _finish(entry, decisions, problems)
            entry = _Entry(source.name, number, line, problems)
        elif entry is None:
            problems.append(_at(source.name, number, line, "D002", "a field line outside any decision",
                                "a decision starts with `decision QUESTION_ID` at the left margin"))
        else:
            entry.field(number, line)
    if entry is not None:
        _finish(entry, decisions, problems)
    return decisions, problems


def _at(file: str, number: int, line: str, code: str, message: str, hint: str | None = None,
        column: int | None = None) -> Diagnostic:
    if column is None:
        column = len(line) - len(line.lstrip()) + 1
    return Diagnostic(code, message, Span(file, number, column, number, max(column, len(line))), hint=hint)


class _Entry:
    """A decision being read: its header and the fields met so far."""

    def __init__(self, file: str, number: int, line: str, problems: list[Diagnostic]):
        self.file, self.number, self.line, self.problems = file, number, line, problems
        self.fields: dict[str, tuple[int, str, int]] = {}  # key -> (line number, value, value column)
        match = _HEADER.match(line)
        self.question = self.norm = None
        if match is None:
            self.problem(number, line, "D003", "expected `decision QUESTION_ID`",
                         "a ledger holds decisions: `decision Q1a2b3c4 on NORM`, then indented fields")
        elif not match["id"] or not QUESTION_ID.fullmatch(match["id"]):
            self.problem(number, line, "D004", f"`{match['id'] or ''}` is not a question ID",
                         "a question ID is Q and 7 hex digits, as `charter gaps` prints it",
                         column=line.find(match["id"]) + 1 if match["id"] else len(line) + 1)
        else:
            self.question, self.norm = match["id"], match["norm"]

    def problem(self, number: int, line: str, code: str, message: str, hint: str | None = None,
                column: int | None = None) -> None:
        self.problems.append(_at(self.file, number, line, code, message, hint, column))

    def field(self, number: int, line: str) -> None:
        match = _FIELD.match(line.strip())
        indent = len(line) - len(line.lstrip())
        if match is None or match["key"] not in FIELDS:
            key = match["key"] if match else line.strip().split(":")[0]
            self.problem(number, line, "D005", f"unknown field `{key}`",
                         "the fields are " + ", ".join(f"`{f}:`" for f in FIELDS))
            return
        if match["key"] in self.fields:
            self.problem(number, line, "D006", f"`{match['key']}:` given twice in one decision",
                         f"the first is on line {self.fields[match['key']][0]}")
            return
        self.fields[match["key"]] = (number, match["value"].strip(), indent + match.start("value") + 1)


def _finish(entry: _Entry, decisions: list[Decision], problems: list[Diagnostic]) -> None:
    before = len(problems)
    missing = [f for f in REQUIRED if f not in entry.fields]
    if missing:
        entry.problem(entry.number, entry.line, "D007", "this decision has no " + ", ".join(f"`{f}:`" for f in missing),
                      "every decision says `by: AUTHORITY, PERSON`, `at:`, `outcome:` and `why:`")
    values = {key: _value(entry, key) for key in entry.fields}
    if len(problems) > before or entry.question is None or None in values.values():
        return
    authority, _, person = values["by"].partition(",")
    decisions.append(Decision(
        entry.question, authority.strip(), person.strip(), values["at"], values["outcome"], values["why"],
        tuple(values.get("evidence", ())), entry.norm, values.get("asked"),
        Span(entry.file, entry.number, 1, entry.number, len(entry.line))))


def _value(entry: _Entry, key: str):
    """A field's value, read as its kind says; None (and a problem) when it cannot be."""
    number, text, column = entry.fields[key]

    def bad(code: str, message: str, hint: str) -> None:
        entry.problems.append(Diagnostic(code, message, Span(entry.file, number, column, number, column + len(text)),
                                         hint=hint))

    if key in ("asked", "why", "evidence"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        wanted = list if key == "evidence" else str
        if not isinstance(value, wanted) or (key == "evidence" and not all(isinstance(v, str) for v in value)):
            bad("D008", f"`{key}:` must be " + ("a JSON list of trace IDs" if key == "evidence" else "a string in double quotes"),
                '`evidence: ["trace-1", "trace-2"]`' if key == "evidence" else f'`{key}: "..."` (JSON escapes inside)')
            return None
        return value
    if key == "by":
        if not re.fullmatch(r"[A-Za-z_][\w-]*\s*,\s*\S.*", text):
            bad("D009", "`by:` must name an authority and a person", "`by: platform, Dana Ruiz`")
            return None
        return text
    if key == "outcome":
        outcome, problem = parse_outcome(text)
        if outcome is None:
            bad("D010", problem or "unreadable outcome",
                '`permit`, `forbid B`, `require B [within N turns]`, `keep open "REASON" escalate to A` '
                "or `needs fact NAME`")
        return outcome
    return text


def parse_outcome(text: str) -> tuple[Outcome | None, str | None]:
    """An outcome from its ledger (or command-line) text, or why it is not one."""
    text = text.strip()
    if text == "permit":
        return Outcome("permit"), None
    if (match := _KEEP_OPEN.match(text)) is not None:
        return Outcome("keep-open", reason=json.loads(match["reason"]), escalate_to=match["target"]), None
    if (match := _NEEDS_FACT.match(text)) is not None:
        return Outcome("needs-fact", fact=match["fact"]), None
    word = text.split(" ", 1)[0]
    if word not in ("forbid", "require"):
        return None, f"`{word}` is not an outcome"
    parsed, problem = _parsed_outcome(text)
    if parsed is None:
        return None, problem
    behaviour = text[len(word):].strip()
    if parsed.within is not None:
        behaviour = re.sub(r"\s+within\s+\d+\s+\w+\s*$", "", behaviour)
        if parsed.within_unit != "turns":
            return None, "a decision counts `within N turns` (replies), not messages"
    return Outcome(word, behaviour, parsed.within), None  # type: ignore[arg-type]


def _parsed_outcome(text: str) -> tuple[ast.Outcome | None, str | None]:
    """`forbid B` / `require B ...` read by the Charter parser (as a norm's body)."""
    tree, problems = parse(Source("<outcome>", f"norm decided:\n    {text}\n"))
    if tree is None or problems:
        first = problems[0] if problems else None
        return None, f"the behaviour does not parse: {first.message}" if first else "the behaviour does not parse"
    norm = tree.of(ast.Norm)[0]
    if not isinstance(norm.body, ast.Outcome) or norm.body.exceptions:
        return None, "one outcome, without `unless`"
    return norm.body, None


# --------------------------------------------------------------------------- writing


def append(path: str | os.PathLike[str], decision: Decision) -> None:
    """Add a decision at the end of a ledger (made with a short head comment if new),
    after checking the file as it stands reads cleanly (a `PolicyError` if not)."""
    file = Path(path)
    read_ledger(file)
    existing = file.read_text("utf-8") if file.exists() else ""
    separator = "\n" if existing.endswith("\n") else "\n\n" if existing else LEDGER_HEAD + "\n"
    with file.open("a", encoding="utf-8") as out:
        out.write(separator + decision.text())


def entries_text(decisions: Iterable[Decision]) -> str:
    """Several decisions as a ledger's text."""
    return LEDGER_HEAD + "".join("\n" + d.text() for d in decisions)


def now() -> str:
    """The current time as a ledger writes it (UTC, to the second)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
