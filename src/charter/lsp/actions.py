"""Mechanical fixes for lint findings, computed from the finding's code and span.

    C201, C202, C203  remove the unused declaration
    C204              declare the label (after the last `label`, `use` or header line)
    C205              add a description placeholder under the norm's header

Each fix is (title, edits); an edit is (start, end, new text) with 0-based (line,
character) positions, end exclusive, as the protocol counts them.
"""

from __future__ import annotations

from ..syntax import ast
from ..check.resolve import Module
from ..source.diagnostics import Diagnostic

Position = tuple[int, int]
Edit = tuple[Position, Position, str]
PLACEHOLDER = '"TODO: say what this norm is for."'


def _remove(finding: Diagnostic, module: Module) -> tuple[str, list[Edit]]:
    span = finding.span
    name = finding.message.split("`")[1] if "`" in finding.message else "it"
    end = span.end_line
    # Take one blank line with it when it stood between blank lines, so none are doubled.
    if not module.source.line(span.line - 1).strip() and not module.source.line(end + 1).strip():
        end += 1
    return f"Remove `{name}`", [((span.line - 1, 0), (end, 0), "")]


def _declare_label(finding: Diagnostic, module: Module) -> tuple[str, list[Edit]] | None:
    read = next((node for node in ast.walk(module.file)
                 if isinstance(node, ast.Label) and node.span == finding.span), None)
    if read is None:
        return None
    before = [item.span.end_line for item in module.file.items
              if isinstance(item, (ast.Use, ast.Authorities, ast.LabelDecl))]
    header = module.file.header
    line = max(before, default=header.span.end_line if header else 0)
    return f"Declare label `{read.name}`", [((line, 0), (line, 0), f"label {read.name}\n")]


def _describe(finding: Diagnostic, module: Module) -> tuple[str, list[Edit]]:
    header_line = finding.span.line
    body = next((line for line in module.source.lines[header_line:] if line.strip()), "    x")
    indent = body[: len(body) - len(body.lstrip())] or "    "
    return "Add a description placeholder", [((header_line, 0), (header_line, 0), f"{indent}{PLACEHOLDER}\n")]


_FIXES = {"C201": _remove, "C202": _remove, "C203": _remove, "C204": _declare_label, "C205": _describe}


def fix(finding: Diagnostic, module: Module) -> tuple[str, list[Edit]] | None:
    """The fix for a finding in `module`'s text, or None when it has no mechanical fix."""
    make = _FIXES.get(finding.code)
    return make(finding, module) if make else None
