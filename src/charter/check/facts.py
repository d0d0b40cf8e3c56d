"""Declared facts: the labels and metadata fields a policy reads, and their types.

A file that declares a label's type (or detector) must declare every label it reads
(E323), and one that declares a metadata field every field it reads (E324), each with a
"did you mean" from the names declared in any loaded file. A file that declares none
keeps reading whatever it names (lint C204 suggests declaring), and so does one whose
only declarations are the older `label NAME [uncertain between …]` lines. A comparison that cannot hold for a fact's
declared type (a boolean against a number, a string against an unlisted value) is E325.
"""

from __future__ import annotations

import json
from typing import Callable

import attrs

from ..source.text import Span
from ..syntax import ast
from .resolve import Module, suggest

_ORDERING = ("<", "<=", ">", ">=")
Report = Callable[[str, str, Span, "str | None"], None]


class Facts:
    """The declarations of every loaded file, and the checks of the reads against them."""

    def __init__(self, modules: list[Module], report: Report, authority: Callable[[str | None, Span], bool]):
        self.report = report
        self.labels: dict[str, ast.LabelDecl] = {}
        self.meta: dict[tuple[str, ...], ast.MetaDecl] = {}
        self.bands: dict[str, tuple[float, float]] = {}
        # The files (by source name) that declare labels / metadata, where reads are strict.
        self.strict: dict[str, set[str]] = {"label": set(), "meta": set()}
        self._reported: set[tuple[str, Span]] = set()
        for module in modules:
            for decl in module.file.of(ast.LabelDecl):
                if declares(decl):
                    self.strict["label"].add(module.source.name)
                if self._label(decl):
                    authority(decl.escalate_to, decl.span)
            for decl in module.file.of(ast.MetaDecl):
                self.strict["meta"].add(module.source.name)
                self._meta(decl)

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        if (code, span) not in self._reported:  # a `let` is checked at every norm that uses it
            self._reported.add((code, span))
            self.report(code, message, span, hint)

    # ------------------------------------------------------------------ declarations

    def _type(self, fact_type: ast.FactType | None) -> bool:
        if fact_type is None or fact_type.name == "one of" or fact_type.name in ast.FACT_TYPES:
            return True
        self.error("E322", f"unknown type `{fact_type.name}`", fact_type.span,
                   suggest(fact_type.name, ast.FACT_TYPES)
                   or "the types are " + ", ".join(ast.FACT_TYPES) + ' and `one of ["a", "b"]`')
        return False

    def _label(self, decl: ast.LabelDecl) -> bool:
        if not self._type(decl.type):
            return False
        if decl.low is not None and not (0 <= decl.low < decl.high <= 1):
            self.error("E320", f"the uncertainty band of `{decl.name}` must satisfy "
                       f"0 <= low < high <= 1, not {decl.low} and {decl.high}", decl.span)
            return False
        if decl.confidence is not None and not 0 < decl.confidence <= 1:
            self.error("E320", f"the confidence under which `{decl.name}` is uncertain must be in "
                       f"(0, 1], not {decl.confidence}", decl.span)
            return False
        if decl.low is not None and decl.type is not None and decl.type.name != "score":
            self.error("E326", f"`uncertain between` bounds a score, and `{decl.name}` is declared "
                       f"{decl.type}", decl.span, "write `uncertain below C` to doubt a detection "
                       "less confident than C")
            return False
        previous = self.labels.get(decl.name)
        if previous is not None:
            differs = [what for what, get in _MEANING if get(previous) != get(decl)
                       and (what == "band" or None not in (get(previous), get(decl)))]
            if differs:
                self.error("E321", f"label `{decl.name}` is declared again with another {differs[0]}",
                           decl.span, f"the other declaration is at {previous.span}")
                return False
            # A part one declaration leaves out, another may say (`label x` documents `label x: score`).
            decl = attrs.evolve(previous, **{f: getattr(decl, f) for f in _PARTS if getattr(previous, f) is None})
        self.labels[decl.name] = decl
        if decl.low is not None:
            self.bands[decl.name] = (float(decl.low), float(decl.high))
        return True

    def _meta(self, decl: ast.MetaDecl) -> None:
        if not self._type(decl.type):
            return
        previous = self.meta.get(decl.path)
        if previous is not None and previous.type != decl.type:
            self.error("E321", f"metadata field `{decl.dotted}` is declared again with another type",
                       decl.span, f"the other declaration is at {previous.span}")
            return
        self.meta.setdefault(decl.path, decl)

    # ------------------------------------------------------------------ reads

    def read(self, node: ast.Label | ast.Meta) -> tuple[bool, ast.FactType | None]:
        """Whether the read is allowed (reporting it if not), and the fact's declared type."""
        if isinstance(node, ast.Label):
            decl = self.labels.get(node.name)
            if decl is None and node.span.source in self.strict["label"]:
                self.error("E323", f'label "{node.name}" is not declared', node.span,
                           suggest(node.name, self.labels) or f"declare it: `label {node.name}: score`")
                return False, None
            return True, decl.type if decl is not None else None
        if node.root != "meta":
            return True, None  # a tool call's arguments are the call's, not declared facts
        decl = self.meta.get(node.path)
        if decl is not None:
            return True, decl.type
        prefix = any(path[: len(node.path)] == node.path for path in self.meta)
        if not prefix and node.span.source in self.strict["meta"]:
            dotted = ".".join(node.path)
            self.error("E324", f"metadata field `{dotted}` is not declared", node.span,
                       suggest(dotted, [d.dotted for d in self.meta.values()])
                       or f"declare it: `meta {dotted}: string` (or boolean, number, score, one of [...])")
            return False, None
        return True, None

    def expression(self, expr: ast.Expr) -> None:
        """Every fact read declared (where declaring is on), every comparison one that can hold."""
        for node in ast.walk(expr):
            match node:
                case ast.Label() | ast.Meta():
                    self.read(node)
                case ast.Compare():
                    self._compare(node)
                case ast.In(items=ast.ListLiteral() as items):
                    fact_type = self._type_of(node.value)
                    for item in items.items:
                        if fact_type is not None and isinstance(item, ast.Literal):
                            self._equality(node.value, fact_type, item)

    def condition(self, node: ast.Expr) -> None:
        """A fact standing as a condition must be able to be true or false."""
        fact_type = self._type_of(node) if isinstance(node, (ast.Label, ast.Meta)) else None
        if fact_type is not None and fact_type.name not in ("boolean", "score"):
            self.error("E325", f"{_fact_text(node)} is declared {fact_type}, so it is never true or false",
                       node.span, "compare it, e.g. `== \"value\"`, or test it with `is known`")

    def _type_of(self, node: ast.Expr) -> ast.FactType | None:
        if isinstance(node, (ast.Label, ast.Meta)):
            return self.read(node)[1]
        return None

    def _compare(self, node: ast.Compare) -> None:
        left, right = self._type_of(node.left), self._type_of(node.right)
        if left is not None and right is not None:
            if _kind(left) != _kind(right) and _kind(left) != "any" != _kind(right):
                self.error("E325", f"{_fact_text(node.left)} is declared {left} and "
                           f"{_fact_text(node.right)} {right}: they are never equal or ordered", node.span)
            return
        fact, fact_type, other = (node.left, left, node.right) if left is not None else (node.right, right, node.left)
        if fact_type is None or not isinstance(other, ast.Literal):
            return
        if node.op in _ORDERING:
            if not ast.is_number(other.value):
                return  # E225 already says so
            if _kind(fact_type) != "number":
                self.error("E325", f"`{node.op}` orders numbers, and {_fact_text(fact)} is declared "
                           f"{fact_type}", node.span, "use == or != for strings and booleans")
            elif fact_type.name == "score" and ast.is_number(other.value) and not 0 <= other.value <= 1:
                self.error("E325", f"{_fact_text(fact)} is a score in [0, 1], so this comparison with "
                           f"{other.value} is decided before reading it", other.span)
            return
        self._equality(fact, fact_type, other)

    def _equality(self, fact: ast.Expr, fact_type: ast.FactType, value: ast.Literal) -> None:
        if value.value is None or fact_type.admits(value.value):
            return  # null: a field may be null whatever its type
        hint = None
        if fact_type.name == "one of":
            choices = [c for c in fact_type.choices if isinstance(c, str)]
            hint = suggest(value.value, choices) if isinstance(value.value, str) else None
        self.error("E325", f"{_fact_text(fact)} is declared {fact_type}, so it never equals "
                   f"{json.dumps(value.value)}", value.span, hint)


def declares(decl: ast.LabelDecl) -> bool:
    """Whether a label line declares a fact (its type or detector), not only a band."""
    return decl.type is not None or decl.detector is not None


# What a label declaration says, part by part: two declarations of a label must agree on
# the band, and on every other part both of them state.
_MEANING = (
    ("band", lambda d: (d.low, d.high) if d.low is not None else None), ("type", lambda d: d.type),
    ("detector", lambda d: d.detector), ("confidence", lambda d: d.confidence),
    ("escalation", lambda d: d.escalate_to),
)
_PARTS = ("type", "detector", "confidence", "escalate_to")


def _kind(fact_type: ast.FactType) -> str:
    """The JSON kind of a type's values: number, boolean, string, or any (a mixed list)."""
    if fact_type.name in ("score", "number"):
        return "number"
    if fact_type.name != "one of":
        return fact_type.name
    kinds = {"boolean" if isinstance(c, bool) else "number" if ast.is_number(c) else "string"
             for c in fact_type.choices}
    return kinds.pop() if len(kinds) == 1 else "any"


def _fact_text(node: ast.Expr) -> str:
    if isinstance(node, ast.Label):
        return f"label `{node.name}`"
    return f"metadata `{'.'.join(node.path)}`"
