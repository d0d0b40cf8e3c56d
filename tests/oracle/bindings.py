"""The oracle's bindings (docs/language.md §6.14, reference.py Q12), by brute force: every
range is the list of its messages, every link is found by walking back from the result,
and nothing is indexed."""

from __future__ import annotations

from typing import Any

from charter.bindings.values import number_in, number_keys, pattern_keys, value_key, word_keys
from charter.syntax import ast
from charter.text.matching import compile_regex, phrase_regex
from charter.traces.model import Message, Trace

from . import reference as ref

UNLINKED = "call"


def call_of(trace: Trace, index: int) -> tuple[int, int] | None:
    """The call tool message `index` answers: the latest call before it with its id."""
    wanted = trace.messages[index].tool_call_id
    if wanted is None:
        return None
    for i in range(index - 1, -1, -1):
        message = trace.messages[i]
        if message.role == "assistant":
            for k in range(len(message.tool_calls) - 1, -1, -1):
                if message.tool_calls[k].id == wanted:
                    return i, k
    return None


def result_of(trace: Trace, i: int, k: int) -> int | None:
    """The first tool message answering call `k` of message `i`."""
    return next((m.index for m in trace.messages[i + 1:]
                 if m.role == "tool" and call_of(trace, m.index) == (i, k)), None)


def membership(events: ast.Events, message: Message, env: ref.Env, ctx: ref.Ctx) -> Any:
    """Whether the message passes the range's filter: True, False, or UNKNOWN."""
    test = events.filter
    if test is None:
        return True
    if isinstance(test, ast.Answers):
        call = call_of(env.trace, message.index)
        if call is None:
            return ref.UNKNOWN
        return env.trace.messages[call[0]].tool_calls[call[1]].name == test.tool.value
    return ref.truth(test, env.bind(events.role, message), ctx)


def members(events: ast.Events, env: ref.Env, ctx: ref.Ctx) -> list[tuple[Message, Any]]:
    """The messages of the range at `env` with their membership (those certainly out left out)."""
    end = len(env.trace.messages) if env.index is None else env.index
    inside = {"earlier": lambda i: i < end, "later": lambda i: i > end, "all": lambda i: True}[events.range]
    found = [(m, membership(events, m, env, ctx)) for m in env.trace.messages
             if m.role == events.role and inside(m.index)]
    return [(m, member) for m, member in found if member is not False]


def holds(text: str, key: tuple, extract) -> bool:
    keys, words = extract(text)
    if key[0] != "ws":
        return key in keys
    size = len(key[1])
    return any(tuple(words[k:k + size]) == key[1] for k in range(len(words)))


def ask(events: ast.Events, env: ref.Env, ctx: ref.Ctx, key: tuple, extract) -> tuple[Any, int | None]:
    """Whether the range holds `key` (some, every, the latest, the one), and the message
    whose unknown membership makes it unknown."""
    if events.quantifier == "one":
        text = subject_text(events.subject, env)
        return (False if text is None else holds(text, key, extract)), None
    found = members(events, env, ctx)
    if events.quantifier == "latest":
        certain = [m for m, member in found if member is True]
        unsure = [m for m, member in found if member is ref.UNKNOWN
                  and (not certain or m.index > certain[-1].index)]
        if unsure:
            return ref.UNKNOWN, unsure[-1].index
        return (False, None) if not certain else (holds(certain[-1].content, key, extract), None)
    every = events.quantifier == "every"
    for wanted in (True, ref.UNKNOWN):
        for m, member in found:
            if member is wanted and holds(m.content, key, extract) is not every:
                if wanted is True:
                    return (not every), None
                return ref.UNKNOWN, m.index
    return every, None


def subject_text(subject: ast.Subject, env: ref.Env) -> str | None:
    """The text of a message subject, or what the act's call sends (`call`)."""
    if subject.which == "call":
        if env.call is None:
            return None
        return "\n".join(_sent(env.call[2].arguments))
    message = ref.message_of(subject, env)
    return None if message is None else message.content


def _sent(value: Any):
    """The strings and numbers among a call's arguments, depth first (the contract's words)."""
    if isinstance(value, (dict, list)):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _sent(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def _words(text: str):
    """A message's words and numbers, and its words in order."""
    words, found = word_keys(text)
    return words | number_keys(text)[0], found


def _matcher(pattern: ast.Regex | ast.ListLiteral):
    if isinstance(pattern, ast.Regex):
        return compile_regex(pattern.source, pattern.flags)
    return phrase_regex(tuple(item.value for item in pattern.items))


def _link_key(kind: str, index: int, extra: Any) -> tuple:
    return (kind, ("fact", f"messages[{index}].{UNLINKED}"), ("bind", repr(extra)))


def truth(expr: ast.Expr, env: ref.Env, ctx: ref.Ctx) -> Any:
    """`appears in`, `shares`, `answers`, `failed` under the resolution in `ctx`."""
    match expr:
        case ast.Appears():
            v = ref.value(expr.value, env, ctx)
            if v.value is ref.UNKNOWN:
                return ctx.keyed(("appears", ("fact", v.fact), ("bind", repr(expr.events))))
            key = value_key(v.value)
            if key is None:
                return False
            result, unsure = ask(expr.events, env, ctx, key, _words)
            return ctx.keyed(_link_key("appears", unsure, (expr.events, key))) if result is ref.UNKNOWN else result
        case ast.Shares():
            text = subject_text(expr.subject, env)
            if text is None:
                return False
            matcher = _matcher(expr.pattern)
            extract = lambda t: (pattern_keys(matcher, t), None)  # noqa: E731
            result: Any = False
            for key in sorted(pattern_keys(matcher, text)):
                found, unsure = ask(expr.events, env, ctx, key, extract)
                if found is ref.UNKNOWN:
                    found = ctx.keyed(_link_key("shares", unsure, (expr.pattern, expr.events, key)))
                if expr.negated:
                    found = ref.k_not(found)
                if found is True:
                    return True
                if found is ref.UNKNOWN:
                    result = ref.UNKNOWN
            return result
        case ast.Answers():
            message = ref.message_of(expr.subject, env)
            if message is None or message.role != "tool":
                return False
            call = call_of(env.trace, message.index)
            if call is None:
                return ctx.keyed(("answers", ("fact", f"messages[{message.index}].call"), ("bind", expr.tool.value)))
            return env.trace.messages[call[0]].tool_calls[call[1]].name == expr.tool.value
        case ast.Failed():
            if expr.subject.which == "call":
                if env.call is None:
                    return False
                i, k, _ = env.call
                result = result_of(env.trace, i, k)
                if result is None:
                    return ctx.keyed(("failed", ("fact", f"messages[{i}].tool_calls[{k}].result"), None))
                return _error(env.trace.messages[result], ctx)
            message = ref.message_of(expr.subject, env)
            return False if message is None else _error(message, ctx)
    raise TypeError(expr)


def _error(message: Message, ctx: ref.Ctx) -> Any:
    if message.error is None:
        return ctx.keyed(("failed", ("fact", f"messages[{message.index}].error"), None))
    return message.error


def value(expr: ast.Number | ast.Linked, env: ref.Env) -> ref.Val:
    """`.number` and a result's `.call.…`."""
    if isinstance(expr, ast.Linked):
        return _linked(expr, env)
    source = expr.source
    if isinstance(source, ast.Events) and source.quantifier == "one":
        source = source.subject
    if isinstance(source, ast.Subject):
        message = ref.message_of(source, env)
        if message is None:
            return ref.Val(ref.UNKNOWN, f"{source.role}.number")
    else:
        found = members(source, env, ref.Ctx(None, None))
        certain = [m for m, member in found if member is True]
        unsure = [m for m, member in found if member is ref.UNKNOWN and (not certain or m.index > certain[-1].index)]
        if unsure:
            return ref.Val(ref.UNKNOWN, f"messages[{unsure[-1].index}].call")
        if not certain:
            return ref.Val(ref.UNKNOWN, f"latest {source.role}.number")
        message = certain[-1]
    number, _ = number_in(message.content)
    fact = f"messages[{message.index}].number"
    return ref.Val(ref.UNKNOWN if number is None else number, fact)


def _linked(expr: ast.Linked, env: ref.Env) -> ref.Val:
    message = ref.message_of(expr.subject, env)
    dotted = ".".join(expr.path)
    if message is None:
        return ref.Val(ref.UNKNOWN, f"{expr.subject.role}.call.{dotted}")
    call = call_of(env.trace, message.index)
    if call is None:
        return ref.Val(ref.UNKNOWN, f"messages[{message.index}].call")
    tool_call = env.trace.messages[call[0]].tool_calls[call[1]]
    where = f"messages[{call[0]}].tool_calls[{call[1]}]"
    if expr.path == ("name",):
        return ref.Val(tool_call.name, f"{where}.name")
    fact = f"{where}.arguments.{'.'.join(expr.path[1:])}"
    current = tool_call.arguments
    for step in expr.path[1:]:
        if not isinstance(current, dict) or step not in current:
            return ref.Val(ref.UNKNOWN, fact)
        current = current[step]
    return ref.Val(current, fact)


def atoms(expr: ast.Expr, env: ref.Env, program) -> set:
    """Every atom a binding may consult at `env`: what it consults when every other atom is unknown."""
    ctx = _Collecting(program)
    truth(expr, env, ctx)
    return ctx.seen


class _Collecting:
    """A context (as `ref.Ctx`) that answers every atom UNKNOWN and remembers them all."""

    def __init__(self, program) -> None:
        self.program, self.resolution = program, None
        self.seen: set = set()

    def keyed(self, key):
        self.seen.add(key)
        return ref.UNKNOWN

    def atom(self, op, left, right):
        return self.keyed(ref.atom_key(op, left, right))
