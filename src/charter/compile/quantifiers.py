"""Quantifiers over conditions of the bound message alone, read from a per-trace index.

`any earlier tool answers "fetch_url"`, `every earlier tool failed`, `count(any earlier
assistant calls "transfer")`: when a quantifier's body tests only the message it ranges over (its text, the call it answers,
whether it failed, the calls it makes; no other subject, no value of the act), the body
gives a message the same answer at every act. So each message of the role is decided
once per trace, in order and only as far as the acts ask, into the messages where the
body holds, fails, or is unknown; an act asks a bisection instead of reading every
earlier message again, so a norm stays linear in the trace.

A message on which the body is unknown (a tool result linked to no call, a failure the
trace does not report) is decided again at the act that needs it, through the atoms, as
the unindexed quantifier would: the evaluator settles the verdict under both values.
Text tests alone have their own scan (`compiler._TextScan`), which meets no unknown.
"""

from __future__ import annotations

import bisect
import itertools
from typing import Any, Callable

from ..syntax import ast

Fn = Callable[[Any, Any], Any]
_ids = itertools.count()

# What a body may hold to be indexed: conditions on a message that never change once it
# is read (the call a result answers is before it), and their parts.
_STABLE = (ast.And, ast.Or, ast.Not, ast.Literal, ast.ListLiteral, ast.Regex, ast.Name, ast.Says, ast.Matches,
           ast.Calls, ast.Answers, ast.Failed)


def indexable(body: ast.Expr) -> bool:
    """Whether a quantifier's body tests its bound message alone, with stable conditions."""
    return all(node.which == "bound" if isinstance(node, ast.Subject) else isinstance(node, _STABLE)
               for node in ast.walk(body))


class Scan:
    """One body read along one role's messages in order, once per trace: the messages on
    which it holds or fails (lists in message order), those on which it is unknown, and
    those whose answer consulted an unknown fact (`touchy`, in order: a scan in order
    would list that fact among the verdict's unknowns, even where the answer held)."""

    __slots__ = ("role", "read", "held", "failed", "unknown", "touchy", "operations")

    def __init__(self, role: str) -> None:
        self.role = role  # (a session's rollback reads it: `Context.forget`)
        self.read = 0  # how many of the role's messages were decided
        self.held: list[int] = []
        self.failed: list[int] = []
        self.unknown: set[int] = set()
        self.touchy: list[int] = []
        self.operations = 0  # messages decided and questions asked (what the linearity test counts)

    def extend(self, ctx: Any, env: Any, body: Fn, indices: list[int], end: int | None) -> None:
        """Decide the messages before `end` (None: all) not decided yet, apart from the act
        (no atom assigned: an unknown stays unknown; nothing recorded for an explanation)."""
        read = self.read
        if read >= len(indices) or (end is not None and indices[read] >= end):
            return
        try:
            with ctx.apart():
                while read < len(indices) and (end is None or indices[read] < end):
                    index = indices[read]
                    read += 1
                    ctx.consulted = {}
                    value = body(ctx, env.bind(index))
                    if value is None:
                        self.unknown.add(index)
                    else:
                        (self.held if value else self.failed).append(index)
                    if value is None or ctx.consulted:
                        self.touchy.append(index)
                    self.operations += 1
        finally:
            self.read = read

    def first(self, found: list[int], end: int | None) -> int | None:
        """The first of `found` before `end`."""
        self.operations += 1
        return found[0] if found and (end is None or found[0] < end) else None

    def before(self, found: list[int], end: int | None) -> list[int]:
        """The messages of `found` before `end`."""
        self.operations += 1
        return found if end is None else found[:bisect.bisect_left(found, end)]


def each(ctx: Any, env: Any, body: Fn, indices: list[int], every: bool) -> bool | None:
    """`any` (`every` False) or `every` of the body over the messages `indices`, read in
    order: the first answer that decides it, else unknown if one was unknown."""
    result: bool | None = every
    for index in indices:
        value = body(ctx, env.bind(index))
        if value is None:
            result = None
        elif value is not every:
            return value
    return result


def _read(ctx: Any, env: Any, key: tuple, node: ast.Quantified, body: Fn) -> tuple[Scan, int | None]:
    """The quantifier's index, read as far as the act's range ends, and where that is."""
    scan = ctx.scans.get(key)
    if scan is None:
        scan = ctx.scans[key] = Scan(node.role)
    end = env.earlier_end if node.range == "earlier" else None
    scan.extend(ctx, env, body, ctx.view.by_role.get(node.role, []), end)
    return scan, end


def quantified(node: ast.Quantified, body: Fn) -> Fn:
    """`any/every [earlier] R <body>`: a witness from the index, the unknown messages
    decided again at the act (those before the witness too)."""
    every, key = node.quantifier == "every", ("quantified", next(_ids))

    def indexed(ctx, env):
        scan, end = _read(ctx, env, key, node, body)
        witness = scan.first(scan.failed if every else scan.held, end)
        # The touchy messages up to the witness are read again as a scan in order reads them:
        # their unknown facts are consulted, and an assignment may decide at one of them.
        decided = each(ctx, env, body, scan.before(scan.touchy, end if witness is None else witness + 1), every)
        if witness is None or decided is (not every):
            return decided
        if ctx.recording:
            body(ctx, env.bind(witness))  # an explanation shows what the witness matched
        return not every

    return indexed


def counted(node: ast.Quantified, body: Fn, derived: Any) -> Fn:
    """`count(any [earlier] R <body>)`: the messages where it holds, from the index;
    `derived` (an unknown count) when a message's answer stays unknown at the act."""
    key = ("quantified", next(_ids))

    def count(ctx, env):
        scan, end = _read(ctx, env, key, node, body)
        total = len(scan.before(scan.held, end))
        for index in scan.before(scan.touchy, end):
            value = body(ctx, env.bind(index))
            if value is None:
                return derived
            if index in scan.unknown:  # (one that held without its unknown fact is in `held`)
                total += value
        return total

    return count
