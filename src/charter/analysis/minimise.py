"""A counterexample cut down to what its failure needs.

Hypothesis shrinks a trace through the strategy that drew it, which cannot remove a
message from the middle of an exchange or a fact it did not draw last, and a trace
the solver found was never drawn at all. So a failing trace is then reduced greedily,
one deletion at a time, for as long as it still fails: a message, a tool call, a label,
a metadata entry (of the trace or of a message), a word of a message. What is left is
1-minimal: removing any single one of those makes the failure go away.
"""

from __future__ import annotations

from typing import Callable, Iterator

import attrs

from ..traces.model import Message, Trace


def minimise(trace: Trace, fails: Callable[[Trace], object]) -> Trace:
    """The trace with every deletion made that keeps `fails(trace)` true."""
    changed = True
    while changed:
        changed = False
        for smaller in _deletions(trace):
            if fails(smaller):
                trace, changed = smaller, True
                break
    return trace


def _deletions(trace: Trace) -> Iterator[Trace]:
    """Each trace one deletion away, the biggest deletions first."""
    messages = trace.messages
    for i in range(len(messages)):
        yield _with(trace, messages[:i] + messages[i + 1:])
    for meta in _without_each(trace.meta):
        yield attrs.evolve(trace, meta=meta)
    for i, message in enumerate(messages):
        for changed in _message_deletions(message):
            yield _with(trace, messages[:i] + (changed,) + messages[i + 1:])


def _message_deletions(message: Message) -> Iterator[Message]:
    calls = message.tool_calls
    for k in range(len(calls)):
        yield attrs.evolve(message, tool_calls=calls[:k] + calls[k + 1:])
    for name in message.labels:
        yield attrs.evolve(message, labels={k: v for k, v in message.labels.items() if k != name})
    for meta in _without_each(message.meta):
        yield attrs.evolve(message, meta=meta)
    words = message.content.split(" ") if message.content else []
    for k in range(len(words)):
        yield attrs.evolve(message, content=" ".join(words[:k] + words[k + 1:]))


def _without_each(data: dict) -> Iterator[dict]:
    """The dict with one entry removed, nested entries included."""
    for key, value in data.items():
        yield {k: v for k, v in data.items() if k != key}
        if isinstance(value, dict):
            for inner in _without_each(value):
                yield {**data, key: inner}


def _with(trace: Trace, messages: tuple[Message, ...]) -> Trace:
    return attrs.evolve(trace, messages=tuple(attrs.evolve(m, index=i) for i, m in enumerate(messages)))
