"""Why-not: the smallest changes to a trace's facts that would turn a verdict into another.

The candidate changes come from what the norm reads (its trigger, its cases, outcomes
and exceptions, and the norms that override it), made concrete on the trace near the
verdict's act:

- a label compared with a threshold: set to each constant, just either side of it, the
  ends of [0, 1] and of its uncertainty band, or removed;
- a metadata field (trace, message or tool-call arguments): set to each constant it is
  compared with, or removed; for numbers also one either side of each; for booleans
  both; for strings one that is none of them; true/false where it is only tested;
- for numbers (labels too), between two constants closer than that step, their middle;
- `says`: append a phrase of the list to the message, or remove every phrase of it;
- `matches`: append a sample of the regex (for a pattern `where CHECK`, a sample of the
  check's that the pattern finds), or remove every match;
- `calls`: add a call of the tool to the message, or remove every such call;
- `shares` / `mentions … not found in` (a binding): the pattern's sample said, or every
  match removed, in the messages near the act at either end.

Sets of changes are tried smallest first (one change, then two, ...), each by re-running
the evaluator on the changed trace; an answer is a set that gives another verdict while
no strict subset of it gives that verdict. The search stops at `max_size` changes or
after `max_checks` evaluations, and says so.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from re import _parser as sre_parse  # the stdlib's regex parser, to sample a string a regex matches
from typing import Any, Iterable, Iterator, Mapping

import attrs

from ..syntax import ast
from ..source.text import Span
from ..text.builtins import BUILTINS
from ..text.matching import compile_regex, phrase_regex
from ..traces.model import Message, ToolCall, Trace
from ..evaluate.evaluator import is_reply
from ..evaluate.verdicts import Verdict

MAX_SIZE = 2
MAX_CHECKS = 5000
MESSAGES_PER_READ = 2  # the messages nearest the act that a candidate change may touch
PHRASES_PER_LIST = 3
SAMPLES_PER_CHECK = 20  # a check's samples tried for one its pattern finds (a sample may be of another shape)


@attrs.frozen
class Edit:
    """One change to a trace's facts. `fact` names what it changes as explanations name
    facts (`trace.meta.order.age_days`, `messages[0].labels.self_harm`, `messages[1]`
    for text and tool calls); `key` is what two edits of one set must not both change."""

    fact: str
    action: str  # set | delete | say | unsay | call | uncall
    value: Any
    index: int | None  # the message, for message facts
    path: tuple[str, ...]  # label name, or meta path under its root
    root: str  # labels | meta | trace.meta | args | content | tool_calls
    call: int | None
    clause: Span
    key: tuple

    def apply(self, trace: Trace) -> Trace:
        if self.root == "trace.meta":
            return attrs.evolve(trace, meta=_with_path(trace.meta, self.path, self.action, self.value))
        messages = list(trace.messages)
        messages[self.index] = self._apply_message(messages[self.index])
        return attrs.evolve(trace, messages=tuple(messages))

    def _apply_message(self, message: Message) -> Message:
        match self.root:
            case "labels":
                labels = dict(message.labels)
                if self.action == "delete":
                    labels.pop(self.path[0], None)
                else:
                    labels[self.path[0]] = self.value
                return attrs.evolve(message, labels=labels)
            case "meta":
                return attrs.evolve(message, meta=_with_path(message.meta, self.path, self.action, self.value))
            case "args":
                calls = list(message.tool_calls)
                call = calls[self.call]
                calls[self.call] = attrs.evolve(
                    call, arguments=_with_path(call.arguments, self.path, self.action, self.value))
                return attrs.evolve(message, tool_calls=tuple(calls))
            case "content":
                return attrs.evolve(message, content=self._text(message.content))
        if self.action == "call":
            return attrs.evolve(message, tool_calls=message.tool_calls + (ToolCall(self.value),))
        return attrs.evolve(message, tool_calls=tuple(c for c in message.tool_calls if c.name != self.value))

    def _text(self, content: str) -> str:
        if self.action == "say":
            return f"{content} {self.value[1]}".strip()
        kept, last = [], 0
        for start, end in _spans(self.value[0], content):
            kept.append(content[last:start])
            last = end
        return " ".join("".join(kept + [content[last:]]).split())

    def to_json(self) -> dict[str, Any]:
        """The change, the value it makes (a phrase said or unsaid, a tool called; none for
        a removal), its description, and the clause that reads it."""
        value = self.value[1] if self.action in ("say", "unsay") else None if self.action == "delete" else self.value
        return {"fact": self.fact, "change": self.action, "value": value, "description": self.describe(),
                "clause": {"file": self.clause.source, "line": self.clause.line, "column": self.clause.column}}

    def describe(self) -> str:
        """The change in the policy's terms."""
        match self.action:
            case "set":
                return f"`{self.fact}` were {json.dumps(self.value, ensure_ascii=False)}"
            case "delete":
                return f"`{self.fact}` were missing"
            case "say":
                return f"{self.fact} also said “{self.value[1]}”"
            case "unsay":
                return f"{self.fact} did not say {self.value[1]}"
            case "call":
                return f"{self.fact} called `{self.value}`"
        return f"{self.fact} did not call `{self.value}`"


def _with_path(data: Any, path: tuple[str, ...], action: str, value: Any) -> dict:
    """`data` (a JSON object, or anything) with `path` set to `value` or removed."""
    data = dict(data) if isinstance(data, dict) else {}
    head, rest = path[0], path[1:]
    if not rest:
        if action == "delete":
            data.pop(head, None)
        else:
            data[head] = value
        return data
    data[head] = _with_path(data.get(head), rest, action, value)
    return data


def _spans(pattern: tuple, text: str) -> list[tuple[int, int]]:
    """Where `pattern` (("phrases", first, phrases) or ("regex", shown, source, flags,
    check)) matches `text`."""
    if pattern[0] == "phrases":
        return [m.span() for m in phrase_regex(pattern[2]).finditer(text)]
    return [(m.start(), m.end()) for m in _regex(pattern).finditer(text)]


def _regex(pattern: tuple):
    """The matcher of a ("regex", shown, source, flags, check) pattern, as the evaluator runs it."""
    _, _, source, flags, check = pattern
    return compile_regex(source, flags, BUILTINS[check].check if check is not None else None)


# --------------------------------------------------------------------------- candidates


@attrs.frozen
class _Reads:
    """What one norm reads, gathered from its expanded expressions."""

    values: dict[tuple, tuple[dict[Any, Span], Span]]  # (root, role, path) -> constant -> its clause; any clause
    texts: list[tuple[str, tuple, Span]]  # (role, pattern, clause)
    tools: list[tuple[str, str, Span]]  # (role, tool, clause)
    window: int


def _reads(program: Any, norm_name: str) -> _Reads:
    norm = program.norm(norm_name)
    roots = [norm.trigger, norm.body] + [part for name in norm.overriders
                                         for part in (program.norm(name).trigger, program.norm(name).body)]
    values: dict[tuple, tuple[dict[Any, Span], Span]] = {}
    texts: list[tuple[str, tuple, Span]] = []
    tools: list[tuple[str, str, Span]] = []
    window = 0
    for root in roots:
        if root is None:
            continue
        for node in ast.walk(root):
            match node:
                case ast.Compare() | ast.In():
                    _compared(node, values)
                case ast.Label() | ast.Meta():
                    values.setdefault(_value_key(node), ({}, node.span))
                case ast.Says():
                    texts.append((node.subject.role, _text_pattern(node.phrases), node.span))
                case ast.Matches():
                    texts.append((node.subject.role, _text_pattern(node.regex), node.span))
                case ast.Shares():  # both ends of a binding: the value said, or not, in either
                    texts += [(role, _text_pattern(node.pattern), node.span)
                              for role in dict.fromkeys((node.subject.role, node.events.role)) if role in ast.ROLES]
                case ast.Calls() if isinstance(node.tool, ast.Literal):
                    tools.append((node.subject.role, str(node.tool.value), node.span))
                case ast.Outcome(within=int() as within):
                    window = max(window, within)
    return _Reads(values, texts, tools, window)


def _text_pattern(node: ast.Expr) -> tuple:
    """A text test's pattern: ("phrases", first, phrases) or ("regex", shown, source, flags, check)."""
    if isinstance(node, ast.Regex):
        check = node.check.dotted if node.check is not None else None
        return ("regex", f"/{node.source}/{node.flags}", node.source, node.flags, check)
    phrases = tuple(_phrases(node))
    return ("phrases", phrases[0], phrases)


def _value_key(node: ast.Label | ast.Meta) -> tuple:
    if isinstance(node, ast.Label):
        return ("labels", node.subject.role, (node.name,))
    if node.subject.which == "trace":
        return ("trace.meta", "trace", node.path)
    return (node.root, node.subject.role, node.path)


def _compared(node: ast.Compare | ast.In, values: dict) -> None:
    """Record, for the fact a comparison reads, the constants it compares it with."""
    sides = (node.left, node.right) if isinstance(node, ast.Compare) else (node.value, node.items)
    literals = [item for side in sides for item in getattr(side, "items", (side,)) if isinstance(item, ast.Literal)]
    for fact in (side for side in sides if isinstance(side, (ast.Label, ast.Meta))):
        found, _ = values.setdefault(_value_key(fact), ({}, node.span))
        for literal in literals:
            found.setdefault(literal.value, node.span)


def _phrases(node: ast.Expr) -> list[str]:
    if isinstance(node, ast.Literal):
        return [str(node.value)]
    return [str(i.value) for i in getattr(node, "items", ()) if isinstance(i, ast.Literal)]


def candidates(program: Any, trace: Trace, verdict: Verdict) -> list[Edit]:
    """Every single change worth trying for `verdict` on `trace`."""
    reads = _reads(program, verdict.norm)
    near = _nearby(trace, verdict.turn, reads.window)
    edits: list[Edit] = []
    for (root, role, path), (constants, clause) in reads.values.items():
        edits += _value_edits(root, role, path, constants, clause, trace, verdict, near, program.bands)
    for role, pattern, clause in reads.texts:
        for index in near(role):
            edits += _text_edits(pattern, index, trace.messages[index], clause)
    for role, tool, clause in reads.tools:
        for index in near(role if role in ast.ROLES else "assistant"):
            edits += _tool_edits(tool, index, trace.messages[index], clause)
    return list(dict.fromkeys(edits))


def _nearby(trace: Trace, turn: int | None, window: int):
    """The messages of a role that a change may touch: the `MESSAGES_PER_READ` nearest
    the act (up to the end of its `within` window), or the last ones for the conversation."""
    def near(role: str) -> list[int]:
        last = len(trace.messages) - 1 if turn is None else _window_end(trace, turn, window)
        eligible = [m.index for m in trace.messages if m.role == role and m.index <= last]
        anchor = last if turn is None else turn
        return sorted(eligible, key=lambda i: (abs(i - anchor), -i))[:MESSAGES_PER_READ]
    return near


def _window_end(trace: Trace, turn: int, size: int) -> int:
    """The last message a `within size turns` window after `turn` reaches (a `messages`
    window of that size ends no later), or the act's own without a window."""
    if not size:
        return turn
    replies = [m.index for m in trace.messages[turn + 1:] if is_reply(m)]
    return replies[size - 1] if len(replies) >= size else len(trace.messages) - 1


def _value_edits(root, role, path, constants, clause, trace, verdict, near, bands) -> Iterator[Edit]:
    if root == "trace.meta":
        targets = [(None, None, "trace.meta." + ".".join(path))]
    elif root == "args":
        if verdict.turn is None or verdict.call is None:
            return
        targets = [(verdict.turn, verdict.call,
                    f"messages[{verdict.turn}].tool_calls[{verdict.call}].arguments.{'.'.join(path)}")]
    else:
        targets = [(i, None, f"messages[{i}].{root}.{'.'.join(path)}") for i in near(role)]
    choices = _label_values(constants, bands.get(path[0])) if root == "labels" else _meta_values(constants)
    for index, call, fact in targets:
        key = (fact,)
        yield Edit(fact, "delete", None, index, path, root, call, clause, key)
        for value, origin in choices.items():
            yield Edit(fact, "set", value, index, path, root, call, constants.get(origin, clause), key)


def _label_values(constants: dict[Any, Span], band: tuple[float, float] | None) -> dict[Any, Any]:
    """Label values to try, each with the constant it was derived from (None: none)."""
    numbers: dict[Any, Any] = {0.0: None, 1.0: None}
    boundaries = _numbers(constants)
    for value, origin in ({b: b for b in boundaries} | _around(boundaries, 0.05)).items():
        numbers.setdefault(round(min(1.0, max(0.0, value)), 4), origin)
    if band is not None:
        numbers.setdefault(band[0], None)
        numbers.setdefault(band[1], None)
    values = dict(sorted(numbers.items()))
    return values | _booleans(constants)


def _meta_values(constants: dict[Any, Span]) -> dict[Any, Any]:
    """Metadata values to try, each with the constant it was derived from (None: none)."""
    found: dict[Any, Any] = {value: value for value in sorted(constants, key=repr)}
    found |= {value: origin for value, origin in _around(_numbers(constants), 1).items() if value not in found}
    strings = [value for value in constants if isinstance(value, str)]
    if strings:
        found.setdefault(_other_string(strings), None)
    return found | _booleans(constants)


def _numbers(constants: dict[Any, Span]) -> list[int | float]:
    return sorted(v for v in constants if ast.is_number(v))


def _around(numbers: list[int | float], step: int | float) -> dict[Any, Any]:
    """Both sides of each boundary (`step` away), and the middle of two boundaries no
    more than `step` apart (which neither side reaches), each with its boundary."""
    found: dict[Any, Any] = {}
    for low, high in zip(numbers, numbers[1:]):
        if 0 < high - low <= step:
            found.setdefault(low + (high - low) / 2, low)
    for value in numbers:
        for near in (value - step, value + step):
            found.setdefault(near, value)
    return found


def _booleans(constants: dict[Any, Span]) -> dict[Any, Any]:
    """true and false, where a boolean is compared or only the value's truth is tested."""
    tested = all(value is None for value in constants)
    return {True: None, False: None} if tested or any(isinstance(v, bool) for v in constants) else {}


def _other_string(strings: list[str]) -> str:
    """A string none of `strings` is."""
    return next(f"other{n or ''}" for n in itertools.count() if f"other{n or ''}" not in strings)


def _text_edits(pattern: tuple, index: int, message: Message, clause: Span) -> Iterator[Edit]:
    fact = f"message {index} ({message.role})"
    key = (fact, "text", pattern[1])
    matched = _spans(pattern, message.content)
    if matched:
        shown = ", ".join(f"“{message.content[a:b]}”" for a, b in matched[:3])
        yield Edit(fact, "unsay", (pattern, shown), index, (), "content", None, clause, key)
        return
    if pattern[0] == "phrases":
        for phrase in pattern[2][:PHRASES_PER_LIST]:
            yield Edit(fact, "say", (pattern, phrase), index, (), "content", None, clause, key)
    else:
        sample = regex_sample(pattern[2], pattern[3]) if pattern[4] is None else checked_sample(pattern)
        if sample is not None:
            yield Edit(fact, "say", (pattern, sample), index, (), "content", None, clause, key)


def _tool_edits(tool: str, index: int, message: Message, clause: Span) -> Iterator[Edit]:
    fact = f"message {index} ({message.role})"
    action = "uncall" if any(c.name == tool for c in message.tool_calls) else "call"
    yield Edit(fact, action, tool, index, (), "tool_calls", None, clause, (fact, "tool", tool))


# --------------------------------------------------------------------------- sampling a regex


_CATEGORY_SAMPLES = {
    sre_parse.CATEGORY_DIGIT: "0", sre_parse.CATEGORY_NOT_DIGIT: "a", sre_parse.CATEGORY_SPACE: " ",
    sre_parse.CATEGORY_NOT_SPACE: "a", sre_parse.CATEGORY_WORD: "a", sre_parse.CATEGORY_NOT_WORD: " ",
}


def regex_sample(source: str, flags: str) -> str | None:
    """A short text the policy's regex matches (confirmed on RE2), or None."""
    try:
        text = _build(sre_parse.parse(source))
        return text if compile_regex(source, flags).search(f" {text} ") else None
    except (re.error, ValueError, KeyError, TypeError):
        return None


def checked_sample(pattern: tuple) -> str | None:
    """A text of the pattern's check (its `sample`) that the checked pattern finds, or None."""
    sample, matcher = BUILTINS[pattern[4]].sample, _regex(pattern)
    for seed in range(SAMPLES_PER_CHECK):
        text = sample(random.Random(seed))
        if matcher.search(f" {text} "):
            return text
    return None


def _build(items: Iterable) -> str:
    return "".join(_piece(op, av) for op, av in items)


def _piece(op, av) -> str:
    if op is sre_parse.LITERAL:
        return chr(av)
    if op in (sre_parse.NOT_LITERAL, sre_parse.ANY):
        return "a" if av != ord("a") else "b"
    if op is sre_parse.IN:
        return _piece(*next(item for item in av if item[0] is not sre_parse.NEGATE))
    if op is sre_parse.RANGE:
        return chr(av[0])
    if op is sre_parse.CATEGORY:
        return _CATEGORY_SAMPLES[av]
    if op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT", None)):
        return _build(av[2]) * max(av[0], 0)
    if op is sre_parse.SUBPATTERN:
        return _build(av[3])
    if op is sre_parse.BRANCH:
        return _build(av[1][0])
    if op is sre_parse.AT:
        return ""
    raise ValueError(f"cannot sample {op}")


# --------------------------------------------------------------------------- the search


@attrs.frozen
class Answer:
    """A smallest set of changes that gives the verdict's act another verdict."""

    edits: tuple[Edit, ...]
    kind: str  # the verdict the changed trace gets

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.kind, "changes": [e.to_json() for e in self.edits]}


@attrs.frozen
class WhyNot:
    """The answers for one verdict, smallest first; for each unknown fact it read, the
    verdict each value tried gives (`settles`); and how far the search went."""

    verdict: Verdict
    answers: tuple[Answer, ...]
    settles: tuple[tuple[str, tuple[tuple[Edit, str], ...]], ...]  # (fact, ((change, verdict), ...))
    checks: int  # changed traces checked
    candidates: int  # single changes considered
    searched_size: int  # the most changes made together
    stopped: str | None = None  # why the search stopped short
    _sources: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False, alias="sources")

    def render(self, limit: int = 10) -> str:
        """The answers as `charter explain --why-not` prints them, each with the clauses
        that read the facts it changes."""
        v = self.verdict
        lines = []
        for answer in self.answers[:limit]:
            changes = " and ".join(e.describe() for e in answer.edits)
            clauses = "; ".join(dict.fromkeys(_clause(e.clause, self._sources) for e in answer.edits))
            lines.append(f"  {answer.kind} if {changes}  [{clauses}]")
        if len(self.answers) > limit:
            lines.append(f"  … and {len(self.answers) - limit} more")
        if not self.answers:
            lines.append(f"  no change of at most {self.searched_size or 1} fact"
                         f"{'s' if self.searched_size != 1 else ''} among the {self.candidates} the norm reads "
                         f"near this act turns it into another verdict")
        if self.settles:
            lines.append("  unknown facts, and what each value would give:")
            for fact, tried in self.settles:
                values = ", ".join(f"{'missing' if e.action == 'delete' else json.dumps(e.value)} → {kind}"
                                   for e, kind in tried)
                lines.append(f"    `{fact}`: {values}")
        head = f"why not? {v.norm} at {'the conversation' if v.turn is None else f'turn {v.turn}'}: {v.kind}"
        checked = f"{self.checks} changed trace{'s' if self.checks != 1 else ''} checked"
        footer = f"  ({checked}" + (f"; {self.stopped}" if self.stopped else "") + ")"
        return "\n".join([head] + lines + [footer])

    def to_json(self) -> dict[str, Any]:
        v = self.verdict
        return {
            "norm": v.norm, "turn": v.turn, "call": v.call, "verdict": v.kind,
            "answers": [a.to_json() for a in self.answers],
            "unknown": [{"fact": fact, "tried": [{**e.to_json(), "verdict": kind} for e, kind in tried]}
                        for fact, tried in self.settles],
            "checks": self.checks, "candidates": self.candidates,
            "searched_size": self.searched_size, "stopped": self.stopped,
        }


def verdict_on(policy: Any, trace: Trace, verdict: Verdict) -> str:
    """The verdict of `verdict`'s norm at its act on `trace` (not_applicable if none)."""
    for other in policy.check(trace).verdicts:
        if (other.norm, other.turn, other.call) == (verdict.norm, verdict.turn, verdict.call):
            return other.kind
    return "not_applicable"


def apply(edits: Iterable[Edit], trace: Trace) -> Trace:
    """`trace` with `edits` made (removals of text before additions)."""
    for edit in sorted(edits, key=lambda e: e.action != "unsay"):
        trace = edit.apply(trace)
    return trace


def why_not(policy: Any, trace: Trace, verdict: Verdict, target: str | None = None,
            max_size: int = MAX_SIZE, max_checks: int = MAX_CHECKS) -> WhyNot:
    """The smallest sets of changes to `trace` that turn `verdict` into another verdict
    (into `target`, when given), each confirmed by the evaluator."""
    edits = candidates(policy.program, trace, verdict)
    answers: list[Answer] = []
    outcome: dict[frozenset[int], str] = {frozenset(): verdict.kind}
    found: set[str] = set()
    searched = 0
    stopped = None
    for size in range(1, max_size + 1):
        new_kinds: set[str] = set()
        for combo in itertools.combinations(range(len(edits)), size):
            if len({edits[i].key for i in combo}) < size:
                continue
            if len(outcome) > max_checks:
                stopped = f"stopped after {max_checks} checks (--max-checks)"
                break
            kind = verdict_on(policy, apply([edits[i] for i in combo], trace), verdict)
            chosen = frozenset(combo)
            outcome[chosen] = kind
            if kind == verdict.kind or (target is not None and kind != target) or kind in found:
                continue
            if not any(outcome.get(frozenset(sub)) == kind for n in range(1, size)
                       for sub in itertools.combinations(combo, n)):
                answers.append(Answer(tuple(edits[i] for i in combo), kind))
                new_kinds.add(kind)
        if stopped:
            break
        searched = size
        found |= new_kinds
        if target is not None and target in found:
            break
    return WhyNot(verdict, tuple(answers), _settles(verdict, edits, outcome), len(outcome) - 1,
                  len(edits), searched, stopped, {s.name: s for s in policy.program.sources})


def _settles(verdict: Verdict, edits: list[Edit], outcome: dict[frozenset[int], str]) -> tuple:
    """For each unknown fact of the verdict: each value tried and the verdict it gives."""
    tried: dict[str, list[tuple[Edit, str]]] = {}
    for i, edit in enumerate(edits):
        if edit.fact in verdict.unknown and frozenset([i]) in outcome:
            tried.setdefault(edit.fact, []).append((edit, outcome[frozenset([i])]))
    return tuple((fact, tuple(pairs)) for fact, pairs in tried.items())


def _clause(span: Span, sources: Mapping[str, Any]) -> str:
    source = sources.get(span.source)
    text = source.line(span.line).strip() if source is not None else ""
    return f"line {span.line}: {text}" if text else f"line {span.line}"
