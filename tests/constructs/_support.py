"""Small helpers shared by the construct tests: policies from text, traces from messages,
and verdicts picked out of a report."""

from __future__ import annotations

import textwrap
from typing import Any

import charter
from charter import Policy, TraceReport, Verdict


def policy(text: str, name: str = "test.charter") -> Policy:
    """A policy from (indented) Charter text."""
    return charter.loads(textwrap.dedent(text).lstrip("\n"), name=name)


def msg(role: str, content: str = "", *, labels: dict | None = None, meta: dict | None = None,
        calls: list[tuple[str, dict]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": role, "content": content}
    if labels is not None:
        message["labels"] = labels
    if meta is not None:
        message["meta"] = meta
    if calls:
        message["tool_calls"] = [{"name": name, "arguments": args} for name, args in calls]
    return message


def user(content: str = "", **extra) -> dict[str, Any]:
    return msg("user", content, **extra)


def assistant(content: str = "", **extra) -> dict[str, Any]:
    return msg("assistant", content, **extra)


def system(content: str = "", **extra) -> dict[str, Any]:
    return msg("system", content, **extra)


def developer(content: str = "", **extra) -> dict[str, Any]:
    return msg("developer", content, **extra)


def tool(content: str = "", **extra) -> dict[str, Any]:
    return msg("tool", content, **extra)


def trace(*messages: dict, meta: dict | None = None, id: str = "t") -> dict[str, Any]:
    return {"id": id, "meta": meta or {}, "messages": list(messages)}


def check(p: Policy, *messages: dict, meta: dict | None = None, id: str = "t") -> TraceReport:
    return p.check(trace(*messages, meta=meta, id=id))


def of(report: TraceReport, norm: str) -> list[Verdict]:
    return [v for v in report.verdicts if v.norm == norm]


def kinds(report: TraceReport, norm: str) -> list[tuple[int | None, str]]:
    """(turn, kind) for each act of `norm`, in report order."""
    return [(v.turn, v.kind) for v in of(report, norm)]


def one(report: TraceReport, norm: str) -> Verdict:
    """The single verdict of `norm` (a conversation-scope norm, or a one-act trace)."""
    found = of(report, norm)
    assert len(found) == 1, f"expected one verdict of {norm}, got {found}"
    return found[0]


def at(report: TraceReport, norm: str, turn: int) -> Verdict:
    found = [v for v in of(report, norm) if v.turn == turn]
    assert len(found) == 1, f"expected one verdict of {norm} at turn {turn}, got {found}"
    return found[0]


def searched_texts(monkeypatch) -> list[str]:
    """The texts text tests search from now on, one entry per search (text tests
    compiled after the call)."""
    from charter.compile import compiler

    searched: list[str] = []
    made = compiler.text_search

    def counting(patterns):
        found = made(patterns)
        return lambda text, folded: searched.append(text) or found(text, folded)

    monkeypatch.setattr(compiler, "text_search", counting)
    return searched
