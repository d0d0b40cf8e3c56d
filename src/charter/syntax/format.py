"""`charter fmt`: the one canonical layout of a policy file, printed from its parse tree.

The printer walks lark's concrete tree (tokens spelled as the author wrote them: numbers,
regexes, paths) rather than the AST, which has already folded some spellings away. The
layout: four spaces per block level; one space around operators and after commas; one
blank line around every norm and test, none inside them; between one-line declarations at
most one blank line, kept only where the author left one; strings re-quoted canonically
(JSON escapes, characters a reviewer could not see written as `\\uXXXX`); a list that does
not fit in `MAX_WIDTH` columns, or that holds a comment, is written one item per line with
a trailing comma. Parentheses are kept exactly where the tree needs them.

Comments come back from the token stream (`parser.concrete_tree`): a comment after code
stays at the end of that line; a comment on its own line stays before the line that
followed it, at the depth of the block it was written in.

Formatting never changes meaning: `format_source` parses its own output and refuses (with
an internal-error diagnostic, leaving the file alone) unless the tree is equal to the
input's, spans aside.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import os
import pathlib
import tomllib
from typing import Iterable, Iterator, Union

import attrs
from lark import Token, Tree

from ..source.diagnostics import Diagnostic
from ..source.text import Source, Span
from . import ast
from .parser import Comment, concrete_tree, parse

INDENT = "    "
MAX_WIDTH = 100

# How tightly each construct binds, loosest first; an operand looser than its place needs
# is parenthesised.
_OR, _AND, _NOT, _PREDICATE, _VALUE = 1, 2, 3, 4, 5
_PREDICATES = frozenset({
    "compare", "in_", "not_in", "is_known", "is_unknown", "says", "says_any", "says_all",
    "matches", "mentions", "calls", "appears_in", "shares", "mentions_not_found", "answers", "failed",
})
_BINDING = {"or_expr": _OR, "and_expr": _AND, "not_": _NOT} | dict.fromkeys(_PREDICATES, _PREDICATE)
_BLOCKS = frozenset({"norm", "test"})


@attrs.frozen
class Formatted:
    """The canonical text of one source, and whether it differs from the original."""

    source: Source
    text: str

    @property
    def changed(self) -> bool:
        return self.text != self.source.text


def format_source(source: Source) -> tuple[Formatted | None, list[Diagnostic]]:
    """The canonical layout of `source`, or None and the diagnostics if it does not parse
    (or, as a safety net, if the printed text would not mean the same)."""
    original, diagnostics = parse(source)
    if original is None:
        return None, diagnostics
    tree, comments, diagnostics = concrete_tree(source)
    if tree is None:
        return None, diagnostics
    lines = source.text.split("\n")
    text = _Printer(lines, comments).file(tree)
    reparsed, _ = parse(Source(source.name, text))
    if reparsed != original:
        return None, [Diagnostic(
            "E190", "internal error: the formatted text would not mean the same; the file is left as it is",
            Span.point(source.name, 1, 1), hint="please report this with the file",
        )]
    return Formatted(source, text), []


# --------------------------------------------------------------------------- layout pieces


@attrs.frozen
class _Group:
    """A list literal: flat on its line if that fits, else one item per line."""

    items: tuple[tuple["_Piece", ...], ...]
    item_lines: tuple[tuple[int, int], ...]
    first: int
    last: int
    forced: bool


_Piece = Union[str, _Group]


@attrs.frozen
class _Line:
    """One output line: its depth, text, and the source lines it stands for."""

    level: int
    text: str
    first: int
    last: int
    column: int = 0  # of the statement in the source; 0 for the continuation of one
    comments: tuple[str, ...] = ()
    unit: str | None = None  # the kind of top-level item this line or comment starts


def _flat(pieces: Iterable[_Piece]) -> str:
    return "".join(p if isinstance(p, str) else "[" + ", ".join(_flat(i) for i in p.items) + "]"
                   for p in pieces)


def _forced(pieces: Iterable[_Piece]) -> bool:
    return any(isinstance(p, _Group) and (p.forced or any(_forced(i) for i in p.items)) for p in pieces)


def _fits(level: int, text: str) -> bool:
    return len(INDENT) * level + len(text) <= MAX_WIDTH


def _layout(pieces: list[_Piece], level: int, first: int, last: int, column: int = 0) -> list[_Line]:
    """Break lists, leftmost first, until the rest of the line fits."""
    if _fits(level, _flat(pieces)) and not _forced(pieces):
        return [_Line(level, _flat(pieces), first, last, column)]
    lines: list[_Line] = []
    current, start = "", first
    for index, piece in enumerate(pieces):
        rest = pieces[index:]
        if isinstance(piece, str):
            current += piece
            continue
        if _fits(level, current + _flat(rest)) and not _forced(rest):
            current += _flat(rest)
            break
        lines.append(_Line(level, current + "[", start, piece.first, column if not lines else 0))
        for item, (item_first, item_last) in zip(piece.items, piece.item_lines):
            lines.extend(_layout([*item, ","], level + 1, item_first, item_last))
        current, start = "]", piece.last
    lines.append(_Line(level, current, start, max(start, last), 0 if lines else column))
    return lines


# --------------------------------------------------------------------------- the printer


def _source_lines(node: Tree | Token | None) -> tuple[int, int]:
    """The first and last source line of a node's own text (its trailing newline aside)."""
    if isinstance(node, Token):
        return node.line, node.end_line or node.line
    if node is None or node.meta.empty:
        return 0, 0
    last = node.meta.line
    for child in node.children:
        if child is not None and not (isinstance(child, Tree) and child.data in _STATEMENTS):
            last = max(last, _source_lines(child)[1])
    if node.data in ("list", "json_object", "json_array", "apply", "count", "label_ref"):
        last = max(last, node.meta.end_line)
    return node.meta.line, last


def _string(token: Token | str) -> str:
    """A string literal re-quoted canonically: JSON escapes, and `\\uXXXX` for every
    character that is not printable (so that nothing invisible hides in a policy)."""
    encoded = json.dumps(json.loads(token), ensure_ascii=False)
    return "".join(char if char.isprintable() else _escape(char) for char in encoded)


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _extra(node: Tree) -> str:
    """A test message's `labels {...}`, `meta {...}`, `failed` or `not failed`."""
    words = {"extra_labels": "labels", "extra_meta": "meta", "extra_failed": "failed", "extra_not_failed": "not failed"}
    return " ".join([words[node.data]] + [_json(c) for c in node.children])


def _json(node: Tree) -> str:
    kind = node.data
    if kind == "json_object":
        pairs = [c for c in node.children if c is not None]
        return "{" + ", ".join(f"{_string(k)}: {_json(v)}" for k, v in (p.children for p in pairs)) + "}"
    if kind == "json_array":
        return "[" + ", ".join(_json(c) for c in node.children if c is not None) + "]"
    if kind == "json_string":
        return _string(node.children[0])
    if kind == "json_number":
        return str(node.children[0])
    return {"json_true": "true", "json_false": "false", "json_null": "null"}[kind]


_SUBJECT_WORDS = {
    "current": "", "previous": "previous ", "any_all": "any ", "every_all": "every ",
    "any_earlier": "any earlier ", "every_earlier": "every earlier ",
}


def _subject(node: Tree) -> str:
    if node.data == "call_subject":
        return "call"
    if node.data == "trace_subject":
        return "trace"
    return _SUBJECT_WORDS[node.data] + str(node.children[0])


def _where(check: Tree | None) -> str:
    """` where CHECK` after a regex (a built-in check of the matched text), if written."""
    return f" where {check.children[0]}" if check is not None else ""


def _dotted(node: Tree) -> str:
    return ".".join(str(part) for part in node.children)


def _meta_path(node: Tree) -> str:
    """A declared metadata path: names as written, other keys as strings."""
    return ".".join(_string(part) if part.type == "STRING" else str(part) for part in node.children)


def _detector(node: Tree | None) -> str:
    if node is None:
        return ""
    name = node.children[0]
    return f" from detector {_string(name) if name.type == 'STRING' else name}"


def _band(node: Tree | None) -> str:
    if node is None:
        return ""
    *bounds, authority = node.children
    words = (f" uncertain between {bounds[0]} and {bounds[1]}" if node.data == "band_between"
             else f" uncertain below {bounds[0]}")
    return words + (f" escalate to {authority}" if authority is not None else "")


class _Printer:
    """Prints one file's tree, then puts the comments back."""

    def __init__(self, lines: list[str], comments: tuple[Comment, ...]):
        self.lines = lines
        self.comments = comments
        self.comment_lines = frozenset(c.line for c in comments)

    # ---- expressions, as pieces

    def expr(self, node: Tree, need: int = _OR) -> list[_Piece]:
        if node.data == "condition":
            inner = node.children[0]
            # In a value's place a bare value only stands in parentheses the author wrote;
            # they can matter (`(any user.label("x")) > 0.5` quantifies the label alone).
            return ["(", *self.expr(inner), ")"] if need >= _VALUE else self.expr(inner, need)
        pieces = self.construct(node)
        return ["(", *pieces, ")"] if _BINDING.get(node.data, _VALUE) < need else pieces

    def joined(self, nodes: Iterable[Tree], separator: str, need: int) -> list[_Piece]:
        pieces: list[_Piece] = []
        for index, node in enumerate(nodes):
            pieces.extend(([separator] if index else []) + self.expr(node, need))
        return pieces

    def construct(self, node: Tree) -> list[_Piece]:
        kind, children = node.data, node.children
        if kind == "or_expr":
            return self.joined(children, " or ", _AND)
        if kind == "and_expr":
            return self.joined(children, " and ", _NOT)
        if kind == "not_":
            # `not (age is unknown)` reads better than the equal `not age is unknown`.
            operand = children[0]
            inner = operand.children[0] if operand.data == "condition" else operand
            if inner.data in _PREDICATES:
                return ["not (", *self.construct(inner), ")"]
            return ["not ", *self.expr(operand, _NOT)]
        if kind in _PREDICATES:
            return self.predicate(kind, children)
        return self.value(node)

    def predicate(self, kind: str, children: list) -> list[_Piece]:
        if kind == "compare":
            left, op, right = children
            return [*self.expr(left, _VALUE), f" {op} ", *self.expr(right, _VALUE)]
        if kind in ("in_", "not_in"):
            word = " in " if kind == "in_" else " not in "
            return [*self.expr(children[0], _VALUE), word, *self.expr(children[1], _VALUE)]
        if kind in ("is_known", "is_unknown"):
            return [*self.expr(children[0], _VALUE), " is known" if kind == "is_known" else " is unknown"]
        if kind == "appears_in":
            return [*self.expr(children[0], _VALUE), " appears in ", *self.events(children[1])]
        subject = _subject(children[0])
        if kind == "shares":
            return [f"{subject} shares {_dotted(children[1])} with ", *self.events(children[2])]
        if kind == "mentions_not_found":
            return [f"{subject} mentions {_dotted(children[1])} not found in ", *self.events(children[2])]
        if kind == "failed":
            return [f"{subject} failed"]
        if kind == "matches":
            return [f"{subject} matches {children[1]}{_where(children[2])}"]
        if kind == "mentions":
            return [f"{subject} mentions {_dotted(children[1])}"]
        verb = {"says": " says ", "says_any": " says any of ", "says_all": " says all of ",
                "calls": " calls ", "answers": " answers "}[kind]
        return [subject + verb, *self.expr(children[1], _VALUE)]

    def value(self, node: Tree) -> list[_Piece]:
        kind, children = node.data, node.children
        if kind == "string":
            return [_string(children[0])]
        if kind == "number":
            return [str(children[0])]
        if kind in ("true", "false", "null"):
            return [kind]
        if kind == "list":
            return [self.group(node)]
        if kind == "name_ref":
            return [_dotted(children[0])]
        if kind == "apply":
            return [_dotted(children[0]) + "(",
                    *self.joined([c for c in children[1:] if c is not None], ", ", _OR), ")"]
        if kind == "count":
            return ["count(", *self.expr(children[0]), ")"]
        if kind == "label_ref":
            return [f"{_subject(children[0])}.label({_string(children[1])})"]
        if kind == "events_member":
            return ["(", *self.events(children[0]), ")" + "".join(
                f"[{_string(part)}]" if part.type == "STRING" else f".{part}" for part in children[1:])]
        if kind == "member":
            return [_subject(children[0]) + "".join(
                f"[{_string(part)}]" if part.type == "STRING" else f".{part}" for part in children[1:])]
        return [_subject(node)]

    def events(self, node: Tree) -> list[_Piece]:
        """The messages a binding reads: `any earlier tool that answers "x"`, `user`, `call`."""
        kind, children = node.data, node.children
        if kind in ("events_current", "events_previous", "events_call"):
            return [{"events_current": "", "events_previous": "previous "}.get(kind, "call")
                    + (str(children[0]) if children else "")]
        *head, role, condition = children
        words = kind.removeprefix("events_") + "".join(f" {h.data}" for h in head if h is not None)
        return [f"{words} {role}", *(self.filter(condition) if condition is not None else [])]

    def filter(self, node: Tree) -> list[_Piece]:
        kind, children = node.data, node.children
        if kind == "filter_matches":
            return [f" that matches {children[0]}{_where(children[1])}"]
        if kind == "filter_mentions":
            return [f" that mentions {_dotted(children[0])}"]
        verb = {"filter_says": "says", "filter_says_any": "says any of", "filter_says_all": "says all of",
                "filter_answers": "answers"}[kind]
        return [f" that {verb} ", *self.expr(children[0], _VALUE)]

    def group(self, node: Tree) -> _Group:
        items = [c for c in node.children if c is not None]
        first, last = node.meta.line, node.meta.end_line
        return _Group(
            tuple(tuple(self.expr(item)) for item in items),
            tuple(_source_lines(item) for item in items),
            first, last,
            forced=any(first <= line < last for line in self.comment_lines),
        )

    # ---- statements, as lines

    def statement(self, pieces: list[_Piece], node: Tree, level: int,
                  head: Tree | Token | None = None) -> list[_Line]:
        """The lines of one statement. For a block, `head` is its last part on the block's
        first line, and only those lines count as the statement's own."""
        first, last = _source_lines(node)
        if head is not None:
            last = max(first, _source_lines(head)[1])
        return _layout(pieces, level, first, last, node.meta.column)

    def outcome(self, node: Tree) -> list[_Piece]:
        kind, children = node.data, node.children
        if kind == "require":
            behaviour, within = children
            pieces: list[_Piece] = ["require ", *self.expr(behaviour)]
            if within is not None:
                count, unit = int(within.children[0]), ast.WINDOW_UNITS.get(str(within.children[1]), "turns")
                pieces.append(f" within {count} {unit[:-1] if count == 1 else unit}")
            return pieces
        if kind == "forbid":
            return ["forbid ", *self.expr(children[0])]
        if kind == "permit":
            return ["permit"] + ([" ", *self.expr(children[0])] if children[0] is not None else [])
        reason, target = children
        return [f"unspecified {_string(reason)}" + (f" escalate to {target}" if target else "")]

    def clause(self, node: Tree, level: int) -> list[_Line]:
        """An outcome, case, otherwise or unless line, and the exceptions under it."""
        kind = node.data
        if kind == "outcome_block":
            outcome, exceptions = node.children
            lines = self.statement(self.outcome(outcome), node, level, head=outcome)
        else:
            condition, outcome, exceptions = (None, *node.children) if kind == "otherwise_block" else node.children
            word = {"case_block": "case ", "unless_block": "unless ", "otherwise_block": "otherwise"}[kind]
            head = [word, *(self.expr(condition) if condition is not None else []), ": ", *self.outcome(outcome)]
            lines = self.statement(head, node, level, head=outcome)
        for unless in exceptions.children if exceptions is not None else ():
            lines.extend(self.clause(unless, level + 1))
        return lines

    def norm_line(self, node: Tree) -> list[_Line]:
        kind, children = node.data, node.children
        if kind in ("outcome_block", "case_block", "otherwise_block"):
            return self.clause(node, 1)
        text = {
            "description": lambda: _string(children[0]),
            "severity": lambda: f"severity {children[0]}",
            "overridable": lambda: f"overridable by {children[0]}",
            "scope": lambda: "on " + " ".join(str(c) for c in children),
        }
        if kind == "trigger":
            return self.statement(["when ", *self.expr(children[0])], node, 1)
        return self.statement([text[kind]()], node, 1)

    def norm(self, node: Tree) -> list[_Line]:
        default, name, authority, overrides, *body = node.children
        head = ("default " if default else "") + f"norm {name}" + (f" by {authority}" if authority else "")
        if overrides is not None:
            head += " overrides " + ", ".join(_dotted(o) for o in overrides.children)
        lines = self.statement([head + ":"], node, 0, head=overrides or authority or name)
        for line in body:
            lines.extend(self.norm_line(line))
        return lines

    def test_line(self, node: Tree) -> list[_Line]:
        kind, children = node.data, node.children
        if kind == "test_meta":
            text = f"meta {_json(children[0])}"
        elif kind == "test_message":
            role, content, *extras = children
            text = f"{role}: {_string(content)}" + "".join(f" {_extra(e)}" for e in extras)
        elif kind == "test_call":
            role, name, arguments = children
            text = f"{role} calls {name}" + (f" {_json(arguments)}" if arguments is not None else "")
        else:
            norm, verdict, turn = children
            text = f"expect {_dotted(norm)} {verdict}" + (f" at turn {turn}" if turn is not None else "")
        return self.statement([text], node, 1)

    def item(self, node: Tree) -> list[_Line]:
        kind, children = node.data, node.children
        if kind == "norm":
            return self.norm(node)
        if kind == "test":
            lines = self.statement([f"test {_string(children[0])}:"], node, 0, head=children[0])
            for line in children[1:]:
                lines.extend(self.test_line(line))
            return lines
        return self.statement(self.declaration(kind, children), node, 0)

    def declaration(self, kind: str, children: list) -> list[_Piece]:
        if kind == "header":
            name, authority = children
            return [f"charter {name}" + (f" by {authority}" if authority else "")]
        if kind == "use_std":
            module, alias = children
            return [f"use {_dotted(module)}" + (f" as {alias}" if alias else "")]
        if kind == "use_path":
            return [f"use {_string(children[0])} as {children[1]}"]
        if kind == "authorities":
            return ["authorities " + " > ".join(str(c) for c in children)]
        if kind == "let":
            name, params, body = children
            names = ", ".join(str(p) for p in params.children if p is not None) if params is not None else None
            return [f"let {name}" + (f"({names})" if names is not None else "") + " = ", *self.expr(body)]
        if kind == "pattern_regex":
            name, regex, check = children
            return [f"pattern {name} = {regex}{_where(check)}"]
        if kind == "pattern_phrases":
            return [f"pattern {children[0]} = any of ", *self.expr(children[1], _VALUE)]
        if kind == "meta_decl":
            path, fact_type = children
            return [f"meta {_meta_path(path)}", *self.fact_type(fact_type)]
        name, fact_type, detector, band = children
        return [f"label {name}", *self.fact_type(fact_type), _detector(detector), _band(band)]

    def fact_type(self, node: Tree | None) -> list[_Piece]:
        if node is None:
            return []
        if node.data == "type_name":
            return [f": {node.children[0]}"]
        return [": one of ", *self.expr(node.children[0], _VALUE)]

    # ---- the file

    def file(self, tree: Tree) -> str:
        items = [(child.data, self.item(child)) for child in tree.children if child is not None]
        lines = [attrs.evolve(line, unit=kind if index == 0 else None)
                 for kind, item_lines in items for index, line in enumerate(item_lines)]
        return _join(self.place_comments(lines), self.lines)

    def place_comments(self, lines: list[_Line]) -> list[_Line]:
        """The lines with the comments put back: after the code they followed, or as lines
        of their own before the line that came next, at the depth of their block."""
        trailing: dict[int, list[str]] = {}
        before: dict[int, list[Comment]] = {}
        for comment in self.comments:
            if self.lines[comment.line - 1][: comment.column - 1].strip():
                index = next((i for i, line in enumerate(lines) if line.first <= comment.line <= line.last),
                             max((i for i, line in enumerate(lines) if line.first <= comment.line), default=0))
                trailing.setdefault(index, []).append(comment.text)
            else:
                index = next((i for i, line in enumerate(lines) if line.last >= comment.line), len(lines))
                before.setdefault(index, []).append(comment)
        placed: list[_Line] = []
        open_blocks: list[tuple[int, int]] = []  # (source column, level) of the enclosing lines
        for index in range(len(lines) + 1):
            line = lines[index] if index < len(lines) else None
            comments = [_comment_line(c, line, open_blocks) for c in before.get(index, [])]
            unit = line.unit if line is not None else "end"
            lead = next((i for i, c in enumerate(comments) if c.level == 0), None)
            if unit is not None and lead is not None:
                # A comment just above a top-level item starts that item's paragraph.
                comments[lead] = attrs.evolve(comments[lead], unit=unit)
                unit = None
            placed.extend(comments)
            if line is None:
                break
            if line.column:
                while open_blocks and open_blocks[-1][1] >= line.level:
                    open_blocks.pop()
                open_blocks.append((line.column, line.level))
            placed.append(attrs.evolve(line, comments=tuple(trailing.get(index, ())), unit=unit))
        return placed


_STATEMENTS = frozenset({
    "description", "severity", "overridable", "scope", "trigger", "outcome_block", "case_block",
    "otherwise_block", "exceptions", "unless_block", "test_meta", "test_message", "test_call", "expect",
})


def _comment_line(comment: Comment, following: _Line | None, open_blocks: list[tuple[int, int]]) -> _Line:
    """A comment on a line of its own, at the deepest enclosing block it was indented into
    (never shallower than the line that follows it)."""
    level = max((lvl for column, lvl in open_blocks if column <= comment.column), default=0)
    if following is not None:
        level = max(level, following.level) if following.column or level else following.level
    return _Line(level, comment.text, comment.line, comment.line)


def _join(lines: list[_Line], source: list[str]) -> str:
    """The output text: one blank line around norms and tests and after the header; between
    other top-level lines, one where the author left one; none inside blocks."""
    out: list[str] = []
    previous: _Line | None = None
    unit = None
    for line in lines:
        if previous is not None and _blank_between(previous, line, unit, source):
            out.append("")
        if line.unit is not None:
            unit = line.unit
        out.append(INDENT * line.level + line.text + "".join("  " + c for c in line.comments))
        previous = line
    return "\n".join(out) + "\n" if out else ""


def _blank_between(previous: _Line, line: _Line, unit: str | None, source: list[str]) -> bool:
    author_left_one = any(not source[n - 1].strip() for n in range(previous.last + 1, line.first))
    if line.unit is not None:
        return unit in _BLOCKS or unit == "header" or line.unit in _BLOCKS or author_left_one
    return previous.level == line.level == 0 and author_left_one


# --------------------------------------------------------------------------- files


@attrs.frozen
class FileResult:
    """What `charter fmt` found for one path: the formatted text, or why there is none."""

    source: Source
    formatted: Formatted | None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def path(self) -> str:
        return self.source.name

    @property
    def changed(self) -> bool:
        return self.formatted is not None and self.formatted.changed

    def diff(self) -> str:
        """A unified diff from the file to its formatted text."""
        assert self.formatted is not None
        return "".join(difflib.unified_diff(
            self.source.text.splitlines(keepends=True),
            self.formatted.text.splitlines(keepends=True),
            fromfile=f"{self.path} (original)", tofile=f"{self.path} (formatted)",
        ))


def policy_files(paths: Iterable[str], exclude: Iterable[str] = ()) -> Iterator[str]:
    """The files named, and every `.charter` file below the directories named (hidden
    directories skipped), minus those excluded (`exclude` globs, matched against the path
    as given or the name, and the `[tool.charter.fmt] exclude` globs of the nearest
    pyproject.toml, matched against the path from its directory); `-` stands for stdin."""
    excluded = _Exclusions(tuple(exclude), *_configured_exclusions())
    for path in paths:
        if path == "-" or not os.path.isdir(path):
            if path == "-" or not excluded(path):
                yield path
            continue
        for directory, subdirectories, files in os.walk(path):
            subdirectories[:] = sorted(d for d in subdirectories
                                       if not d.startswith(".") and not excluded(os.path.join(directory, d)))
            for name in sorted(files):
                file = os.path.normpath(os.path.join(directory, name))
                if name.endswith(".charter") and not excluded(file):
                    yield file


@attrs.frozen
class _Exclusions:
    """Whether a path is excluded, by the command line's globs or the configured ones."""

    given: tuple[str, ...]
    configured: tuple[str, ...] = ()
    base: str = "."

    def __call__(self, path: str) -> bool:
        relative = os.path.relpath(os.path.abspath(path), self.base)
        return _matches(os.path.normpath(path), self.given) or _matches(relative, self.configured)


def _matches(path: str, globs: tuple[str, ...]) -> bool:
    """A glob matches the path, a directory above it (`tests/cases/errors`), or its name."""
    posix = pathlib.PurePath(path).as_posix()
    return any(fnmatch.fnmatch(posix, g) or fnmatch.fnmatch(posix, g.rstrip("/") + "/*")
               or fnmatch.fnmatch(posix.rsplit("/", 1)[-1], g) for g in globs)


def _configured_exclusions() -> tuple[tuple[str, ...], str]:
    """`[tool.charter.fmt] exclude` from the nearest pyproject.toml at or above the
    current directory, and that file's directory."""
    directory = pathlib.Path.cwd()
    for candidate in (directory, *directory.parents):
        config = candidate / "pyproject.toml"
        if config.is_file():
            try:
                settings = tomllib.loads(config.read_text("utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                return (), str(candidate)
            globs = settings.get("tool", {}).get("charter", {}).get("fmt", {}).get("exclude", [])
            return tuple(str(g) for g in globs if isinstance(g, str)), str(candidate)
    return (), "."


def format_text(path: str, text: str) -> FileResult:
    """Format one file's text (not written anywhere)."""
    source = Source(path, text)
    formatted, diagnostics = format_source(source)
    return FileResult(source, formatted, tuple(diagnostics))
