"""The closures of the forms that follow a value between messages: `appears in`,
`shares`, `answers`, `failed`, `.number` and a tool result's `.call`
(docs/language.md §6.14). They read the per-trace indexes of `charter.bindings`, kept
in the context's `scans` (so a session extends them message by message, and a
truncated session drops them), never a pair of messages.

An unknown answer (a value that is unknown, a tool result linked to no call, a failure
the trace does not report) is an atom, as a comparison with an unknown fact is: the
evaluator settles the verdict under both of its values.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Callable

from . import compiler as _compiler
from ..bindings import (Range, holds, links, locate, number_in, number_keys, pattern_keys, value_key, window,
                        word_keys)
from ..syntax import ast
from ..text.matching import compile_regex, phrase_regex
from ..text.builtins import BUILTINS

if TYPE_CHECKING:
    from .compiler import _Compiler

Fn = Callable[[Any, Any], Any]
_ids = itertools.count()
_UNLINKED = "the tool result is linked to no call"


class _Span:
    """A span of a message's text, as explanations read a match."""

    __slots__ = ("_start", "_end")

    def __init__(self, start: int, end: int):
        self._start, self._end = start, end

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end


def _record(ctx, value, source: str, index: int | None, key, matcher=None) -> None:
    """Record both ends of a binding for an explanation: the value, where the act's side
    read it, and where it stands in message `index` (None: in none), shown as a match."""
    at = None
    if index is not None:
        where = locate(ctx.view.texts[index], key, matcher)
        if where is not None:
            ctx.matches.append((index, [_Span(*where)]))
            at = (index, *where)
    ctx.bindings.append((value, source, at))


def _call_source(env) -> str:
    return f"messages[{env.turn}].tool_calls[{env.call_index}].arguments"


def _unknown(ctx, key: tuple, fact: str, why: str) -> bool | None:
    ctx.why.setdefault(fact, why)
    return ctx.atom(key, (fact,))


def answered(ctx, index: int, tool: str) -> bool | None:
    """Whether tool message `index` answers a call of `tool`; None when it is linked to no call."""
    call = links(ctx, index + 1).call_of(index)
    if call is None:
        return None
    return ctx.view.messages[call[0]].tool_calls[call[1]].name == tool


class _Events:
    """An `Events` node ready to be asked: which messages hold a value (`ask`), which is
    the latest (`latest`); one index per trace, made when first asked."""

    def __init__(self, compiler: "_Compiler", node: ast.Events, extract: Callable, text_of: Callable):
        self.node, self.extract, self.text_of = node, extract, text_of
        self.ident = next(_ids)
        self.one = compiler.subject(node.subject) if node.quantifier == "one" and node.role != "call" else None
        self.member = _member(compiler, node.filter)

    def range(self, ctx) -> Range:
        made = ctx.scans.get(("range", self.ident))
        if made is None:
            made = ctx.scans[("range", self.ident)] = Range(self.node.role, self.member, self.extract)
        return made

    def ask(self, ctx, env, key) -> tuple[bool | None, int | None]:
        """Whether the messages hold `key` (some, every, the latest, or the one), and the
        message that decided it (None for a call's arguments)."""
        node = self.node
        if node.quantifier == "one":
            text = self.text_of(ctx, env, self.one)
            if text is None:
                return False, None
            keys, found = self.extract(text)
            index = None if self.one is None else self.one(env)
            return holds(keys, found, key), index
        if node.quantifier == "latest":
            found, sure = self.range(ctx).latest(ctx, env.earlier_end)
            if not sure:
                return None, self.range(ctx).uncertain_before(env.earlier_end)
            if found is None:
                return False, None
            return self.range(ctx).holds(key, found), found
        win = window(node.range, env.earlier_end)
        if node.quantifier == "any":
            return self.range(ctx).any(ctx, key, win)
        return self.range(ctx).every(ctx, key, win)


def _member(compiler: "_Compiler", condition: ast.Expr | None) -> Callable[[Any, int], bool | None]:
    """A filter as a test of message `index`: True, False, or None (unknown)."""
    if condition is None:
        return lambda ctx, index: True
    if isinstance(condition, ast.Answers):
        tool = condition.tool.value
        return lambda ctx, index: answered(ctx, index, tool)
    hit = compiler.condition(condition).hit  # a text test (says, matches, mentions)
    return lambda ctx, index: hit(ctx, index)[0]


def _message_text(ctx, env, subject) -> str | None:
    """The text of the one message, or of the act's call's arguments (subject None)."""
    if subject is None:
        return None if env.call is None else _compiler.sent_text(ctx, env)[0]
    index = subject(env)
    return None if index is None else ctx.view.texts[index]


def appears(compiler: "_Compiler", node: ast.Appears) -> Fn:
    value, name = compiler.value(node.value)
    # Words and numbers are indexed apart, each when a value of its kind is first looked
    # up: an address never needs the messages' numbers, nor an amount their words.
    by_words = _Events(compiler, node.events, word_keys, _message_text)
    by_numbers = _Events(compiler, node.events, number_keys, _message_text)

    def appears_in(ctx, env):
        v = value(ctx, env)
        if v.__class__ is _compiler.Unknown:
            if v.derived:
                return None
            return _unknown(ctx, ("appears", ("fact", v.fact), node.events), v.fact, v.why)
        key = value_key(v)
        if key is None:
            return False
        holds, witness = (by_numbers if key[0] == "n" else by_words).ask(ctx, env, key)
        if ctx.recording:  # (unknown: the end it reached is the result linked to no call)
            _record(ctx, v, name(ctx, env) or "the policy", witness if holds is not False else None, key)
        if holds is None:
            return _unknown(ctx, ("appears", node.events, key), f"messages[{witness}].call", _UNLINKED)
        return holds

    return appears_in


def _matcher(pattern: ast.Regex | ast.ListLiteral):
    if isinstance(pattern, ast.Regex):
        check = BUILTINS[pattern.check.dotted].check if pattern.check is not None else None
        return compile_regex(pattern.source, pattern.flags, check)
    return phrase_regex(tuple(item.value for item in pattern.items))


def shares(compiler: "_Compiler", node: ast.Shares) -> Fn:
    matcher = _matcher(node.pattern)

    def extract(text: str):
        return pattern_keys(matcher, text), None

    events = _Events(compiler, node.events, extract, _message_text)
    subject = None if node.subject.which == "call" else compiler.subject(node.subject)

    negated = node.negated

    def shared(ctx, env):
        """Some match found in the range (`shares`), or some not found (`negated`)."""
        text = _message_text(ctx, env, subject)
        if text is None:
            return False
        result: bool | None = False
        for key in sorted(pattern_keys(matcher, text)):
            holds, witness = events.ask(ctx, env, key)
            if holds == negated:  # found when a miss is looked for, or missed when a find is
                continue
            if ctx.recording:
                source = _source(ctx, env, subject, text, key, matcher)
                if negated and holds is False:  # a miss has no other end
                    _record(ctx, key[1], source, None, key)
                else:
                    _record(ctx, key[1], source, witness, key, matcher)
            if holds is None:
                holds = _unknown(ctx, ("shares", node.pattern, node.events, key), f"messages[{witness}].call",
                                 _UNLINKED)
            if holds is None:
                result = None
            elif holds != negated:
                return True
        return result

    return shared


def _source(ctx, env, subject, text: str, key, matcher) -> str:
    """Where a match stands on the act's side (shown as a match), named for a binding."""
    index = None if subject is None else subject(env)
    if index is None:
        return _call_source(env)
    where = locate(text, key, matcher)
    if where is not None:
        ctx.matches.append((index, [_Span(*where)]))
    return f"messages[{index}]"


def answers(compiler: "_Compiler", node: ast.Answers) -> Fn:
    subject = compiler.subject(node.subject)
    tool = node.tool.value

    def answers_(ctx, env):
        index = subject(env)
        if index is None or ctx.view.messages[index].role != "tool":
            return False
        holds = answered(ctx, index, tool)
        if holds is None:
            fact = f"messages[{index}].call"
            return _unknown(ctx, ("answers", ("fact", fact), tool), fact, _UNLINKED)
        return holds

    return answers_


def failed(compiler: "_Compiler", node: ast.Failed) -> Fn:
    if node.subject.which == "call":
        def call_failed(ctx, env):
            if env.call is None:  # in a `within` window: no call there
                return False
            result = links(ctx).result_of(env.turn, env.call_index)
            if result is None:
                fact = f"messages[{env.turn}].tool_calls[{env.call_index}].result"
                return _unknown(ctx, ("failed", ("fact", fact)), fact, "no tool result answers the call")
            return _error(ctx, result)

        return call_failed
    subject = compiler.subject(node.subject)

    def result_failed(ctx, env):
        index = subject(env)
        return False if index is None else _error(ctx, index)

    return result_failed


def _error(ctx, index: int) -> bool | None:
    error = ctx.view.messages[index].error
    if error is None:
        fact = f"messages[{index}].error"
        return _unknown(ctx, ("failed", ("fact", fact)), fact, "the trace does not say whether the call failed")
    return error


def _nothing(text: str):
    return set(), None


def number(compiler: "_Compiler", node: ast.Number) -> tuple[Fn, Fn]:
    source = node.source
    if isinstance(source, ast.Events) and source.quantifier == "one":
        source = source.subject
    if isinstance(source, ast.Subject):
        subject, role = compiler.subject(source), source.role

        def index_of(ctx, env):
            index = subject(env)
            return index, None if index is not None else _compiler.Unknown(f"{role}.number", f"there is no {role} message")
    else:
        events = _Events(compiler, source, _nothing, _message_text)
        role = source.role

        def index_of(ctx, env):
            found, sure = events.range(ctx).latest(ctx, env.earlier_end)
            if not sure:
                return None, _compiler.Unknown(f"messages[{events.range(ctx).uncertain_before(env.earlier_end)}].call",
                                     _UNLINKED)
            if found is None:
                return None, _compiler.Unknown(f"latest {role}.number", f"no earlier {role} message passes the filter")
            return found, None

    def fact(ctx, env):
        index, missing = index_of(ctx, env)
        return missing.fact if index is None else f"messages[{index}].number"

    def value(ctx, env):
        index, missing = index_of(ctx, env)
        if index is None:
            return missing
        key = ("number", index)
        found = ctx.text_cache.get(key)
        if found is None:
            found = ctx.text_cache[key] = number_in(ctx.view.texts[index])
        if found[0] is None:
            return _compiler.Unknown(f"messages[{index}].number", found[1])
        if ctx.recording:
            ctx.record_fact(_named(f"messages[{index}].number"), env, found[0])
            _record(ctx, found[0], f"messages[{index}].number", index, ("n", float(found[0])))
        return found[0]

    return value, fact


def linked(compiler: "_Compiler", node: ast.Linked) -> tuple[Fn, Fn]:
    subject, role, path = compiler.subject(node.subject), node.subject.role, node.path
    dotted = ".".join(path)

    def call_of(ctx, env):
        index = subject(env)
        if index is None:
            return None, _compiler.Unknown(f"{role}.call.{dotted}", f"there is no {role} message")
        call = links(ctx, index + 1).call_of(index)
        if call is None:
            return None, _compiler.Unknown(f"messages[{index}].call", _UNLINKED)
        return call, None

    def fact(ctx, env):
        call, missing = call_of(ctx, env)
        if call is None:
            return missing.fact
        where = f"messages[{call[0]}].tool_calls[{call[1]}]"
        return f"{where}.name" if path == ("name",) else f"{where}.arguments.{'.'.join(path[1:])}"

    def value(ctx, env):
        call, missing = call_of(ctx, env)
        if call is None:
            return missing
        tool_call = ctx.view.messages[call[0]].tool_calls[call[1]]
        current = tool_call.name if path == ("name",) else tool_call.arguments
        for key in path[1:] if path[0] == "args" else ():
            if not isinstance(current, dict) or key not in current:
                return _compiler.Unknown(fact(ctx, env), "the field is missing")
            current = current[key]
        if ctx.recording:
            ctx.record_fact(_named(fact(ctx, env)), env, current)
        return current

    return value, fact


def _named(name: str) -> Fn:
    """A fact's namer for an explanation, which names it without the context."""
    return lambda ctx, env: name
