"""Numbers that JSON cannot carry: NaN and the infinities.

Python's JSON parser reads `NaN`, `Infinity` and numbers too large for a double (`1e400`)
as floats that no standard JSON reader accepts, and that a norm cannot sensibly compare.
A trace holds none of them: each one is taken out of what the trace keeps (a key of an
object is removed, an item of an array becomes null), so that a norm reading it finds it
unknown, and the trace's `notes` say where it was. What holds one is copied, never
changed: the decoded record may be the caller's own.
"""

from __future__ import annotations

import json
import math

import attrs

from .errors import TraceFormatError
from .model import JSON, Message, ToolCall, Trace


def finite_trace(trace: Trace) -> Trace:
    """`trace` without non-finite numbers in its meta, its messages' meta or its tool
    calls' arguments (labels are already checked to be in [0, 1]). Raises
    TraceFormatError for values nested too deeply to search."""
    notes: list[str] = []
    try:
        meta = _finite(trace.meta, "trace.meta", notes)
        messages = tuple(_finite_message(message, notes) for message in trace.messages)
    except RecursionError:
        raise TraceFormatError("a value in the trace is nested too deeply to read") from None
    if not notes:
        return trace
    return attrs.evolve(trace, meta=meta, messages=messages, notes=trace.notes + tuple(notes))


def _finite_message(message: Message, notes: list[str]) -> Message:
    where = f"messages[{message.index}]"
    meta = _finite(message.meta, f"{where}.meta", notes)
    calls = tuple(
        _evolved(call, arguments=_finite(call.arguments, f"{where}.tool_calls[{i}].arguments", notes))
        for i, call in enumerate(message.tool_calls)
    )
    if all(a is b for a, b in zip(calls, message.tool_calls)):
        calls = message.tool_calls
    return _evolved(message, meta=meta, tool_calls=calls)


def _evolved(instance: Message | ToolCall, **changes: JSON) -> Message | ToolCall:
    """`instance` with `changes`, or itself when every change is what it holds already."""
    if all(getattr(instance, name) is value for name, value in changes.items()):
        return instance
    return attrs.evolve(instance, **changes)


_REMOVED = object()  # what a non-finite number becomes, before its container is rebuilt


def _finite(value: JSON, where: str, notes: list[str]) -> JSON:
    """`value`, or a copy without its non-finite numbers (each noted, by its path)."""
    if type(value) is float and not math.isfinite(value):
        notes.append(f"{where} is {json.dumps(value)}, not a finite number: it is read as unknown")
        return _REMOVED
    if type(value) is dict:
        items = {key: _finite(item, f"{where}.{key}", notes) for key, item in value.items()}
        if all(items[key] is item for key, item in value.items()):
            return value
        return {key: item for key, item in items.items() if item is not _REMOVED}
    if type(value) is list:
        items = [_finite(item, f"{where}[{i}]", notes) for i, item in enumerate(value)]
        if all(a is b for a, b in zip(items, value)):
            return value
        return [None if item is _REMOVED else item for item in items]
    return value
