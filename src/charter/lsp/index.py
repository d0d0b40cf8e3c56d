"""Where every name of a loaded policy is defined and where it is used.

The checker expands names away; the editor needs them back. `build_index` walks the
resolved modules (the document, the files it `use`s, the stdlib modules) once and records
each definition (its whole declaration and the span of its name) and each occurrence of a
name (a reference, or the definition's own name), so hover, go to definition and find
references are lookups by position.
"""

from __future__ import annotations

import re

import attrs

from ..syntax import ast
from ..text.builtins import BUILTINS
from ..check.resolve import Module
from ..source.text import NOWHERE, Source, Span

@attrs.frozen
class Definition:
    """A named thing: `kind` is let, pattern, norm, label, module, check (a built-in) or
    test. Identity is the place its name is written."""

    kind: str
    name: str
    name_span: Span
    span: Span = attrs.field(eq=False)
    module: Module | None = attrs.field(eq=False, repr=False, default=None)
    node: object = attrs.field(eq=False, repr=False, default=None)


@attrs.frozen
class Occurrence:
    """A name written at `span`, denoting `definition` (its own declaration included)."""

    span: Span
    definition: Definition


def contains(span: Span, line: int, column: int) -> bool:
    """Whether the 1-based (line, column) lies in `span` (end inclusive)."""
    return (span.line, span.column) <= (line, column) <= (span.end_line, span.end_column)


def _extent(span: Span) -> tuple[int, int]:
    return (span.end_line - span.line, span.end_column - span.column)


@attrs.define
class Index:
    """Definitions and occurrences across every module of one analysis."""

    definitions: list[Definition] = attrs.Factory(list)
    occurrences: list[Occurrence] = attrs.Factory(list)

    def at(self, source: str, line: int, column: int) -> Occurrence | None:
        """The innermost occurrence at a 1-based position of `source`."""
        found = [o for o in self.occurrences if o.span.source == source and contains(o.span, line, column)]
        return min(found, key=lambda o: _extent(o.span), default=None)

    def uses(self, definition: Definition) -> list[Span]:
        """Every place `definition` is written, its declaration first."""
        spans = [o.span for o in self.occurrences if o.definition == definition]
        return sorted(set(spans), key=lambda s: (s != definition.name_span, s))


def name_span(source: Source, span: Span, name: str) -> Span:
    """Where `name` is written on the first line of a declaration (after its keyword)."""
    line = source.line(span.line)
    found = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)").search(line, span.column)
    if found is None:
        return Span(span.source, span.line, span.column, span.line, span.column)
    return Span(span.source, span.line, found.start() + 1, span.line, found.end())


def _part_span(name: ast.Name, index: int) -> Span:
    """The span of one part of a dotted name written on one line (`pii` in `pii.email`)."""
    start = name.span.column + sum(len(p) + 1 for p in name.parts[:index])
    return Span(name.span.source, name.span.line, start, name.span.line, start + len(name.parts[index]) - 1)


class _Builder:
    def __init__(self, modules: list[Module]):
        self.index = Index()
        self.modules = modules
        self._module_defs: dict[int, Definition] = {}
        self._table_defs: dict[tuple[int, str, str], Definition] = {}
        self._labels: dict[str, Definition] = {}
        # Layers loaded together name each other's norms by charter, without `use`.
        self._layers = {m.charter: m for m in modules if m.is_policy}
        self._checks = {name: Definition("check", name, NOWHERE, NOWHERE, None, builtin)
                        for name, builtin in BUILTINS.items()}

    def build(self) -> Index:
        for module in self.modules:
            self._declare(module)
        for module in self.modules:
            self._refer(module)
        return self.index

    # ------------------------------------------------------------------ definitions

    def _define(self, definition: Definition, key: tuple | None = None) -> None:
        self.index.definitions.append(definition)
        self.index.occurrences.append(Occurrence(definition.name_span, definition))
        if key is not None:
            self._table_defs[key] = definition

    def _declare(self, module: Module) -> None:
        top = Span(module.source.name, 1, 1, 1, 1)
        self._module_defs[id(module)] = Definition("module", module.charter, top, top, module, module.file)
        tables = (("let", module.lets), ("pattern", module.patterns), ("norm", module.norms))
        for kind, table in tables:
            for name, node in table.items():
                where = node.name_span if kind == "norm" else name_span(module.source, node.span, name)
                self._define(Definition(kind, name, where, node.span, module, node), (id(module), kind, name))
        for decl in module.file.of(ast.LabelDecl):
            label = Definition("label", decl.name, name_span(module.source, decl.span, decl.name),
                               decl.span, module, decl)
            self._define(label)
            self._labels.setdefault(decl.name, label)
        for block in module.file.of(ast.TestBlock):
            header = Span(block.span.source, block.span.line, block.span.column, block.span.line,
                          len(module.source.line(block.span.line)))
            self._define(Definition("test", block.name, header, block.span, module, block))

    # ------------------------------------------------------------------ references

    def _refer(self, module: Module) -> None:
        for use in module.file.of(ast.Use):
            imported = module.imports.get(use.alias)
            if imported is not None:
                self._occur(use.span, self._module_defs[id(imported)])
        for item in module.file.items:
            params = set(item.params or ()) if isinstance(item, ast.Let) else set()
            for parent in ast.walk(item):
                if isinstance(parent, ast.Label):
                    self._occur(parent.span, self._labels.get(parent.name))
                for child in ast.children(parent):
                    if isinstance(child, ast.Name) and not (len(child.parts) == 1 and child.parts[0] in params):
                        self._name(module, child, _kinds_for(parent, child))

    def _name(self, module: Module, name: ast.Name, kinds: tuple[str, ...]) -> None:
        if kinds == ("check",):
            self._occur(name.span, self._checks.get(name.dotted))
            return
        owner = module
        if len(name.parts) == 2:
            owner = module.imports.get(name.parts[0]) or self._layers.get(name.parts[0])
            if owner is None:
                return
            self._occur(_part_span(name, 0), self._module_defs[id(owner)])
        last = _part_span(name, len(name.parts) - 1)
        for kind in kinds:
            found = self._table_defs.get((id(owner), kind, name.parts[-1]))
            if found is not None:
                self._occur(last, found)
                return

    def _occur(self, span: Span, definition: Definition | None) -> None:
        if definition is not None:
            self.index.occurrences.append(Occurrence(span, definition))


def _kinds_for(parent, child: ast.Name) -> tuple[str, ...]:
    """What a name can denote where it is written."""
    if isinstance(parent, ast.Regex):
        return ("check",)
    if isinstance(parent, ast.Mentions):
        return ("pattern",)
    if isinstance(parent, ast.Expect) or isinstance(parent, ast.Norm) and any(child is o for o in parent.overrides):
        return ("norm",)
    return ("let", "pattern")


def build_index(modules: list[Module]) -> Index:
    """The index of every module loaded for one document."""
    return _Builder(modules).build()
