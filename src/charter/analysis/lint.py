"""`charter lint`: static findings that need no traces.

Each finding is a warning-level Diagnostic with a stable code (C2xx), a location and a
one-line hint. The pass reads the loaded modules and the checked program; it never
changes them.

    C201 unused `let`            C205 norm without a description
    C202 unused `pattern`        C206 override that can never take effect
    C203 unused `label`          C207 exception that can never apply
    C204 label read, undeclared  C208 cases that overlap with different outcomes
                                 C209 regex that can never match
"""

from __future__ import annotations

import itertools

from ..syntax import ast
from ..check.resolve import Module
from ..source.diagnostics import Diagnostic, Severity
from ..check.loader import Loaded
from ..source.text import Span
from .logic import exclusive
from .regex import never_matches

CODES = {
    "C201": "unused let",
    "C202": "unused pattern",
    "C203": "unused label declaration",
    "C204": "label read but never declared",
    "C205": "norm without a description",
    "C206": "override that can never take effect",
    "C207": "exception that can never apply",
    "C208": "cases that overlap with different outcomes",
    "C209": "regex that can never match",
}


def _warning(code: str, message: str, span: Span, hint: str) -> Diagnostic:
    return Diagnostic(code, message, span, Severity.WARNING, hint)


def lint(loaded: Loaded) -> list[Diagnostic]:
    """Every finding for the policy files given (not for modules they only import)."""
    findings = _unused(loaded) + _labels(loaded) + _impossible_regexes(loaded)
    by_name = {n.name: n for n in loaded.program.norms}
    for norm in loaded.program.norms:
        if norm.description is None:
            findings.append(_warning("C205", f"norm `{norm.name}` has no description", norm.source.name_span,
                                     'add a line with a string saying what it is for: "Never ..."'))
        findings += _dead_exceptions(norm)
        findings += _overlapping_cases(norm)
        for name in norm.overriders:
            overrider = by_name[name]
            if exclusive(overrider.trigger, norm.trigger) or exclusive(overrider.trigger):
                findings.append(_warning(
                    "C206", f"`{name}` can never override `{norm.name}`: their triggers exclude each other",
                    overrider.source.name_span, f"remove `overrides {norm.name}`, or change one trigger"))
    return sorted(findings, key=Diagnostic.sort_key)


# --------------------------------------------------------------------------- declarations


def _references(modules: tuple[Module, ...]) -> set[tuple[int, str]]:
    """(id of the defining module, name) for every name used anywhere."""
    used: set[tuple[int, str]] = set()
    for module in modules:
        for item in module.file.items:
            for node in ast.walk(item):
                name = node.name if isinstance(node, ast.Apply) else node.pattern if isinstance(
                    node, ast.Mentions) else node if isinstance(node, ast.Name) else None
                if name is None:
                    continue
                if len(name.parts) == 1:
                    used.add((id(module), name.parts[0]))
                elif name.parts[0] in module.imports:
                    used.add((id(module.imports[name.parts[0]]), name.parts[1]))
    return used


def _unused(loaded: Loaded) -> list[Diagnostic]:
    used = _references(loaded.modules)
    found = []
    for module in loaded.policies:
        for let in module.lets.values():
            if (id(module), let.name) not in used:
                found.append(_warning("C201", f"`{let.name}` is defined but never used", let.span,
                                      "remove it, or use it in a norm"))
        for pattern in module.patterns.values():
            if (id(module), pattern.name) not in used:
                found.append(_warning("C202", f"pattern `{pattern.name}` is never mentioned", pattern.span,
                                      f"remove it, or use `mentions {pattern.name}`"))
    return found


def _labels(loaded: Loaded) -> list[Diagnostic]:
    declared = {d.name: d for m in loaded.modules for d in m.file.of(ast.LabelDecl)}
    read: dict[str, list[ast.Label]] = {}
    for module in loaded.modules:
        for node in ast.walk(module.file):
            if isinstance(node, ast.Label):
                read.setdefault(node.name, []).append(node)
    found = []
    for module in loaded.policies:
        for decl in module.file.of(ast.LabelDecl):
            if decl.name not in read:
                found.append(_warning("C203", f"label `{decl.name}` is declared but never read", decl.span,
                                      f'remove it, or read it with `.label("{decl.name}")`'))
        for node in ast.walk(module.file):
            if isinstance(node, ast.Label) and node.name not in declared:
                found.append(_warning(
                    "C204", f'label "{node.name}" is read but never declared', node.span,
                    f"declare it (`label {node.name}`, with `uncertain between A and B` if its "
                    "classifier has a band where it should not be trusted)"))
    return found


def _impossible_regexes(loaded: Loaded) -> list[Diagnostic]:
    found = []
    for module in loaded.policies:
        for node in ast.walk(module.file):
            reason = never_matches(node.source, node.flags) if isinstance(node, ast.Regex) else None
            if reason is not None:
                found.append(_warning("C209", f"this regex can never match: {reason}", node.span,
                                      "fix the regex (is an anchor misplaced, or a class inverted?), or remove it"))
    return found


# --------------------------------------------------------------------------- norm bodies


def _dead_exceptions(norm) -> list[Diagnostic]:
    """Exceptions whose condition excludes what must hold for them to be reached."""
    found = []
    roots = [(norm.body, [norm.trigger])] if isinstance(norm.body, ast.Outcome) else [
        (case.outcome, [norm.trigger, case.condition]) for case in norm.body.cases
    ] + ([(norm.body.otherwise.outcome, [norm.trigger])] if norm.body.otherwise else [])
    stack = list(roots)
    while stack:
        outcome, context = stack.pop()
        for unless in outcome.exceptions:
            if exclusive(unless.condition, *context):
                found.append(_warning(
                    "C207", "this exception can never apply: its condition excludes the conditions "
                    "under which it is reached", unless.span,
                    "remove it, or fix the condition (it contradicts the trigger or an enclosing clause)"))
            stack.append((unless.outcome, context + [unless.condition]))
    return found


def _overlapping_cases(norm) -> list[Diagnostic]:
    if not isinstance(norm.body, ast.Cases):
        return []
    found = []
    for first, second in itertools.combinations(norm.body.cases, 2):
        if first.outcome.same_decision(second.outcome):
            continue
        if not exclusive(first.condition, second.condition, norm.trigger):
            found.append(_warning(
                "C208", f"this case and the one on line {first.span.line} can both apply, with different "
                "outcomes: a trace where both hold gets `conflict`", second.span,
                "make the conditions exclude each other, or nest one as an `unless` under the other"))
    return found
