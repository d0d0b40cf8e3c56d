"""Hugging Face chat data sets: ShareGPT records, and `messages` records.

A ShareGPT record is `{"id"?, "system"?, "conversations": [{"from", "value"}, ...]}`.
`from` names the speaker (see ROLES); a `function_call` turn is an assistant message
whose `value` is the JSON text of a call `{"name", "arguments"}` (or of a list of them).
A top-level `system` string is a first system message. A turn's `labels` and `meta` (as
in the native format) are its message's. ShareGPT names no calls; where a record does (a
call's `id`, a tool turn's `tool_call_id`), they are read as in the native format.

A record in the other common layout, `{"messages": [{"role", "content"}, ...]}`, is a
native trace; detection leaves it to the native format, and this one reads it the same
way when it is forced.
"""

from __future__ import annotations

from . import native
from .errors import TraceFormatError
from .model import JSON, Locator, Message, Trace
from .native import field, show

# ShareGPT's speaker names (`from`), with the role each becomes.
ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
    "function_call": "assistant",
    "tool": "tool",
    "observation": "tool",
    "function_response": "tool",
}


# The keys `detect` reads besides `messages`: a record with none of them, whose messages
# hold text only, is not in this format (so the reader need not ask; see reader.py).
MARKS = frozenset({"conversations"})


def detect(obj: JSON) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("conversations"), list)


def convert(obj: JSON, locator: Locator | None, default_id: str) -> Trace:
    native.require_object(obj)
    if "conversations" not in obj and "messages" in obj:
        return native.convert(obj, locator, default_id)
    turns = field(obj, "conversations", "", list, required=True)
    messages: list[Message] = []
    system = field(obj, "system", "", str)
    if system:
        messages.append(Message(index=0, role="system", content=system))
    for i, turn in enumerate(turns):
        messages.append(_turn(turn, len(messages), f"conversations[{i}]"))
    return Trace(
        id=_record_id(obj) or default_id,
        messages=tuple(messages),
        meta=field(obj, "meta", "", dict) or {},
        locator=locator,
    )


def _record_id(obj: dict) -> str:
    """Data sets number their records as often as they name them."""
    value = obj.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return native.trace_id(obj, "")


def _turn(obj: JSON, index: int, where: str) -> Message:
    if not isinstance(obj, dict):
        raise TraceFormatError(f"{where} must be an object, not {show(obj)}")
    speaker = field(obj, "from", where, str, required=True)
    if speaker not in ROLES:
        raise TraceFormatError(f"{where}.from must be one of {', '.join(ROLES)}, not {show(speaker)}")
    value = field(obj, "value", where, str) or ""
    labels, meta = native.labels(obj, where), field(obj, "meta", where, dict) or {}
    if speaker != "function_call":
        role = ROLES[speaker]
        answers = field(obj, "tool_call_id", where, str) if role == "tool" else None
        return Message(index=index, role=role, content=value, labels=labels, meta=meta, tool_call_id=answers)
    calls = native.decode(value, f"{where}.value")
    if isinstance(calls, dict):
        tool_calls = (native.tool_call(calls, f"{where}.value"),)
    elif isinstance(calls, list):
        tool_calls = tuple(native.tool_call(call, f"{where}.value[{i}]") for i, call in enumerate(calls))
    else:
        raise TraceFormatError(f"{where}.value must be the JSON text of a call or of a list of calls")
    return Message(index=index, role="assistant", tool_calls=tool_calls, labels=labels, meta=meta)
