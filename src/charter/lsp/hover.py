"""Hover text (Markdown) for each kind of definition.

A stdlib name's documentation is the comment block written just above it (or at the top
of its module), so stdlib and user files are documented the same way.
"""

from __future__ import annotations

from ..syntax import ast
from ..text.builtins import BUILTINS, Builtin
from ..check.resolve import Module
from .index import Definition


def _comments_above(module: Module, line: int) -> list[str]:
    """The `#` comment lines directly above 1-based `line`, without their `#`."""
    found = []
    number = line - 1
    while number > 0 and module.source.line(number).lstrip().startswith("#"):
        found.append(module.source.line(number).lstrip()[1:].strip())
        number -= 1
    return found[::-1]


def _source_text(module: Module, node) -> str:
    span = node.span
    return "\n".join(module.source.line(n) for n in range(span.line, span.end_line + 1)).strip()


def _code(text: str) -> str:
    return f"```charter\n{text}\n```"


def _norm(module: Module, norm: ast.Norm) -> list[str]:
    header = module.file.header
    authority = norm.authority or (header.authority if header else None)
    lines = [_code(f"{'default ' if norm.is_default else ''}norm {module.charter}.{norm.name}")]
    if norm.description:
        lines.append(norm.description)
    facts = [f"authority: `{authority}`" if authority else "authority: the lowest declared",
             f"severity: `{norm.severity}`", f"scope: `on {norm.scope}`"]
    if norm.overridable_by:
        facts.append(f"overridable by: `{norm.overridable_by}`")
    if norm.overrides:
        facts.append("overrides: " + ", ".join(f"`{o.dotted}`" for o in norm.overrides))
    lines.append("  \n".join(facts))
    return lines


def _check(check: Builtin) -> list[str]:
    return [_code(f"where {check.name}"), f"Built-in check: {check.doc}."]


def _pattern(module: Module, pattern: ast.PatternDecl) -> list[str]:
    if pattern.regex is None:
        expansion = "any of [" + ", ".join(f'"{p}"' for p in pattern.phrases) + "]"
    else:
        expansion = f"/{pattern.regex.source}/{pattern.regex.flags}"
        if pattern.regex.check is not None:
            expansion += f" where {pattern.regex.check.dotted}"
    lines = [_code(f"pattern {module.charter}.{pattern.name} = {expansion}")]
    check = pattern.regex.check if pattern.regex is not None else None
    if check is not None and check.dotted in BUILTINS:
        lines.append(f"`{check.dotted}`: {BUILTINS[check.dotted].doc}.")
    return lines


def hover_markdown(definition: Definition) -> str | None:
    """What to show when the pointer rests on a name denoting `definition`."""
    module, node = definition.module, definition.node
    if definition.kind == "check":
        return "\n\n".join(_check(node))
    if module is None:
        return None
    if definition.kind == "module":
        docs = _comments_above(module, _first_code_line(module))
        return "\n\n".join([_code(f"charter {module.charter}"), f"`{module.source.name}`", *(
            ["\n".join(docs)] if docs else [])])
    body = {
        "norm": lambda: _norm(module, node),
        "pattern": lambda: _pattern(module, node),
    }.get(definition.kind, lambda: [_code(_source_text(module, node))])()
    docs = _comments_above(module, node.span.line)
    return "\n\n".join(body + (["\n".join(docs)] if docs else []))


def _first_code_line(module: Module) -> int:
    """The line of the first thing that is not a comment or blank (the module's doc ends there)."""
    number = 1
    while number <= len(module.source.lines) and (
        not module.source.line(number).strip() or module.source.line(number).lstrip().startswith("#")
    ):
        number += 1
    return number
