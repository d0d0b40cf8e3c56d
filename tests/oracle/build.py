"""Small constructors for checked programs and traces, shared by the oracle's unit tests and
the hypothesis strategies (they build `Program`s directly, without the parser or checker)."""

from __future__ import annotations

from typing import Any

from charter.syntax import ast
from charter.check.program import CheckedNorm, Program
from charter.source.text import NOWHERE
from charter.traces.model import Message, ToolCall, Trace

AUTHORITIES = ("platform", "developer", "user")


def checked_norm(name: str, body: ast.Body, *, scope: str = "assistant turn",
                 trigger: ast.Expr | None = None, authority: str = "developer",
                 is_default: bool = False, overriders: tuple[str, ...] = ()) -> CheckedNorm:
    """A checked norm as the checker would produce it (severity medium, charter `gen`)."""
    source = ast.Norm(name=name, body=body, is_default=is_default, authority=authority,
                      scope=scope, trigger=trigger)
    return CheckedNorm(
        name=name, charter="gen", authority=authority, severity="medium", scope=scope,
        trigger=trigger, body=body, is_default=is_default, description=None,
        overriders=tuple(sorted(overriders)), span=NOWHERE, source=source,
    )


def program(*norms: CheckedNorm, bands: dict[str, tuple[float, float]] | None = None,
            labels: tuple[ast.LabelDecl, ...] = ()) -> Program:
    return Program(authorities=AUTHORITIES, norms=tuple(norms), bands=dict(bands or {}),
                   labels={decl.name: decl for decl in labels})


def message(index: int, role: str, content: str = "", *, labels: dict[str, Any] | None = None,
            calls: tuple[tuple[str, dict[str, Any]], ...] = (),
            meta: dict[str, Any] | None = None) -> Message:
    """A message; `calls` are `(name, arguments)` pairs."""
    return Message(index=index, role=role, content=content,
                   tool_calls=tuple(ToolCall(name, args) for name, args in calls),
                   labels=dict(labels or {}), meta=dict(meta or {}))


def trace(*messages: tuple, meta: dict[str, Any] | None = None) -> Trace:
    """A trace from `(role, content)` or `(role, content, {keyword arguments of message})`
    tuples, indexed in order."""
    built = tuple(message(i, m[0], m[1], **(m[2] if len(m) > 2 else {}))
                  for i, m in enumerate(messages))
    return Trace(id="t", messages=built, meta=dict(meta or {}))
