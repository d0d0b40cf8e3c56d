"""The native trace format: `{"id"?, "meta"?, "messages": [...]}` with OpenAI chat-format
messages, plus optional per-message `labels`, `meta` and `meta_patch` (a change to the
trace's meta from that message on), and on a tool message `error`: whether the call failed.

Unknown keys are ignored (chat logs carry many: `refusal`, `audio`, ...); a missing or
null optional field takes its default. Everything else that is not the documented shape
raises TraceFormatError naming the field by its path.

The other adapters build on the helpers here (`field`, `text`, `tool_call`, `messages`,
...), so that every format checks fields and words its errors alike.
"""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any, Literal

import msgspec

from .errors import TraceFormatError
from .model import JSON, Locator, Message, ToolCall, Trace

try:
    import orjson
except ImportError:  # an optional speed-up
    orjson = None

# What the short way decodes tool-call arguments with (it never words an error: see `decode`)
_loads = json.loads if orjson is None else orjson.loads

ROLES = ("system", "developer", "user", "assistant", "tool")

_KIND_NAMES = {str: "a string", dict: "an object", list: "an array"}


def detect(obj: JSON) -> bool:
    """A native trace is recognised by its `messages` list; `convert` checks the rest."""
    return isinstance(obj, dict) and isinstance(obj.get("messages"), list)


def convert(obj: JSON, locator: Locator | None, default_id: str) -> Trace:
    """Turn one decoded native trace into a Trace; `default_id` names a trace without an `id`."""
    require_object(obj)
    return Trace(
        id=trace_id(obj, default_id),
        messages=messages(field(obj, "messages", "", list, required=True)),
        meta=field(obj, "meta", "", dict) or {},
        locator=locator,
    )


def require_object(obj: JSON) -> None:
    if not isinstance(obj, dict):
        raise TraceFormatError(f"a trace must be an object, not {show(obj)}")


def trace_id(obj: dict, default_id: str) -> str:
    """The record's `id`; an empty or missing one names nothing, so `default_id` does."""
    return field(obj, "id", "", str) or default_id


def exchange(
    obj: dict,
    messages: tuple[Message, ...],
    request: dict | None,
    response: dict | None,
    response_at: str,
    locator: Locator | None,
    default_id: str,
) -> Trace:
    """The trace of a record holding a request and/or its response (OpenAI's and
    Anthropic's formats): named by the record's `id`, else the response's; its meta is the
    record's `meta` plus the `model` that the response, else the request, names."""
    meta = dict(field(obj, "meta", "", dict) or {})
    models = (part.get("model") for part in (response, request) if part is not None)
    model = next((model for model in models if isinstance(model, str)), None)
    if model is not None:
        meta.setdefault("model", model)
    response_id = field(response, "id", response_at, str) if response is not None else None
    return Trace(
        id=trace_id(obj, "") or response_id or default_id, messages=messages, meta=meta, locator=locator
    )


def messages(items: list, where: str = "messages", start: int = 0) -> tuple[Message, ...]:
    """Native (OpenAI chat) messages; `where` is their path in the record, `start` the
    index of the first one in the trace."""
    usual = _usual_messages(items, start)
    if usual is not None:
        return usual
    return tuple(_checked_message(item, start + i, f"{where}[{i}]") for i, item in enumerate(items))


def message(obj: JSON, index: int, where: str) -> Message:
    """One message (a session's, per message: one msgspec decode, no list around it)."""
    try:
        usual = _made((_as_message(obj),), index)
    except msgspec.ValidationError:
        usual = None
    return _checked_message(obj, index, where) if usual is None else usual[0]


# Usual input (every field there of the usual type) takes a short way that checks types
# only, and gives None for anything else; the `_checked_...` path then reads that input
# field by field, which is where every error is worded. This runs for every message of a
# corpus, so the types are checked by msgspec, in C, against the `_Usual...` structs below
# (what they accept, the detailed path makes the same of: tests/test_reading_fast.py),
# and the Python loop that makes the messages calls no helper for a message without
# tool calls.

_Score = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]  # an int is read as a float, as `_labels` does


class _UsualMessage(msgspec.Struct, gc=False):
    role: Literal[ROLES]  # type: ignore[valid-type]  (Literal[("a", "b")] is Literal["a", "b"])
    content: str | None = None
    labels: dict[str, _Score | bool] | None = None
    tool_calls: list[Any] | None = None  # either shape: `_usual_calls` reads them
    meta: dict[str, Any] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    meta_patch: dict[str, Any] | None = None
    error: Any = None  # see `failed`


class _UsualRecord(msgspec.Struct, gc=False):
    messages: list[_UsualMessage]
    id: str | None = None
    meta: dict[str, Any] | None = None


def usual_trace(obj: JSON, locator: Locator | None, default_id: str) -> Trace | None:
    """What `convert` makes of `obj` when it is a usual native record, else None. Its
    messages hold text only (so no content blocks: nothing Anthropic's format would claim)."""
    try:
        record = _as_record(obj)  # (anything but an object of the usual shape is refused here)
    except msgspec.ValidationError:
        return None
    made = _made(record.messages, 0)
    if made is None:
        return None
    return Trace(record.id or default_id, made, record.meta or {}, locator)


def _usual_messages(items: list | tuple, start: int) -> tuple[Message, ...] | None:
    try:
        return _made(_as_messages(items), start)
    except msgspec.ValidationError:
        return None


_as_record = functools.partial(msgspec.convert, type=_UsualRecord)
_as_messages = functools.partial(msgspec.convert, type=list[_UsualMessage])
_as_message = functools.partial(msgspec.convert, type=_UsualMessage)


def _made(usual: list[_UsualMessage] | tuple[_UsualMessage, ...], start: int) -> tuple[Message, ...] | None:
    made = []
    append = made.append
    for index, message in enumerate(usual, start):
        calls = message.tool_calls
        if calls and (calls := _usual_calls(calls)) is None:
            return None
        append(Message(index, message.role, message.content or "", calls or (), message.labels or {},
                       message.meta or {}, message.tool_call_id, message.name, message.meta_patch or None,
                       failed(message.error)))
    return tuple(made)


def _usual_calls(items: list) -> tuple[ToolCall, ...] | None:
    """Calls in either shape (see `tool_call`) with a name and object arguments, or their JSON text."""
    calls = []
    for obj in items:
        if type(obj) is not dict:
            return None
        call_id = obj.get("id")
        if call_id is not None and type(call_id) is not str:
            return None
        if "function" in obj:
            obj = obj["function"]
            if type(obj) is not dict:
                return None
        name, value = obj.get("name"), obj.get("arguments")
        if type(name) is not str:
            return None
        if value is None or value == "":
            value = {}
        elif type(value) is str:
            try:
                value = _loads(value)
            except (ValueError, RecursionError):
                return None
        if type(value) is not dict:
            return None
        calls.append(ToolCall(name, value, call_id))
    return tuple(calls)


def _checked_message(obj: JSON, index: int, where: str) -> Message:
    if not isinstance(obj, dict):
        raise TraceFormatError(f"{where} must be an object, not {show(obj)}")
    role = field(obj, "role", where, str, required=True)
    if role not in ROLES:
        raise TraceFormatError(f"{where}.role must be one of {', '.join(ROLES)}, not {show(role)}")
    # Plain text and absent parts take the short way: no paths are formatted for errors
    # that cannot happen (this runs for every message of a corpus).
    content = obj.get("content")
    tool_calls = field(obj, "tool_calls", where, list)
    return Message(
        index=index,
        role=role,
        content=content if isinstance(content, str) else text(content, f"{where}.content"),
        tool_calls=tuple(tool_call(call, f"{where}.tool_calls[{i}]") for i, call in enumerate(tool_calls))
        if tool_calls else (),
        labels=labels(obj, where),
        meta=field(obj, "meta", where, dict) or {},
        tool_call_id=field(obj, "tool_call_id", where, str),
        name=field(obj, "name", where, str),
        meta_patch=field(obj, "meta_patch", where, dict) or None,
        error=failed(obj.get("error")),
    )


def failed(error: JSON) -> bool | None:
    """Whether a message's `error` says it failed: None where it is absent or null (not
    said: unknown), a boolean as given, and anything else (what went wrong: an object or
    a string, as logs often give it) True."""
    return None if error is None else error if type(error) is bool else True


def to_json(trace: Trace) -> dict[str, JSON]:
    """`trace` in the native form, which `convert` reads back to an equal trace."""
    return {"id": trace.id, "meta": trace.meta, "messages": [message_json(m) for m in trace.messages]}


def message_json(message: Message) -> dict[str, JSON]:
    """One message in the native form; fields at their default are left out."""
    data: dict[str, JSON] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        data["tool_calls"] = [{"name": c.name, "arguments": c.arguments, **({"id": c.id} if c.id else {})}
                              for c in message.tool_calls]
    # A detector's doubt (an unknown label) is not trace data: unknown is written as absent.
    labels = {name: value for name, value in message.labels.items() if isinstance(value, (bool, int, float, str))}
    optional = {"labels": labels, "meta": message.meta, "tool_call_id": message.tool_call_id,
                "name": message.name, "meta_patch": message.meta_patch}
    data.update((key, value) for key, value in optional.items() if value)
    if message.error is not None:
        data["error"] = message.error
    return data


def labels(obj: dict, where: str) -> dict[str, float | bool]:
    """The message's `labels` (every format reads them where the native one does)."""
    found = field(obj, "labels", where, dict)
    return _labels(found, f"{where}.labels") if found else {}


def text(value: JSON, where: str) -> str:
    """The message text. Content parts that are not text (images, audio) carry nothing a
    norm can read, so they are left out; text parts are joined by newlines."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise TraceFormatError(
            f"{where} must be a string, an array of content parts, or null, not {show(value)}"
        )
    texts = (_part_text(part, f"{where}[{i}]") for i, part in enumerate(value))
    return "\n".join(t for t in texts if t is not None)


def _part_text(part: JSON, where: str) -> str | None:
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        raise TraceFormatError(f"{where} must be a string or an object, not {show(part)}")
    return field(part, "text", where, str, required=True) if part.get("type") == "text" else None


def tool_call(obj: JSON, where: str) -> ToolCall:
    """Both shapes: OpenAI's `{"id", "type", "function": {"name", "arguments"}}` and the
    simpler `{"name", "arguments", "id"?}`; they differ only in where name and arguments live."""
    if not isinstance(obj, dict):
        raise TraceFormatError(f"{where} must be an object, not {show(obj)}")
    call_id = field(obj, "id", where, str)
    if "function" in obj:
        obj = field(obj, "function", where, dict, required=True)
        where = f"{where}.function"
    name = field(obj, "name", where, str, required=True)
    return ToolCall(name=name, arguments=arguments(obj.get("arguments"), f"{where}.arguments"), id=call_id)


def arguments(value: JSON, where: str) -> dict[str, JSON]:
    """Arguments are an object, or (as OpenAI logs them) the JSON text of one; empty means none."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        value = decode(value, where)
    if not isinstance(value, dict):
        raise TraceFormatError(f"{where} must be a JSON object, not {show(value)}")
    return value


def decode(value: str, where: str) -> JSON:
    """The JSON value in the string field at `where`: orjson's when installed and it
    accepts the text (faster), else the standard parser's, which words every error."""
    if orjson is not None:
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        position = f"column {error.colno}"
        if error.lineno > 1:
            position = f"line {error.lineno} {position}"
        raise TraceFormatError(f"{where} is not valid JSON: {error.msg} at {position}") from None
    except (ValueError, RecursionError) as error:  # e.g. an integer too long to convert
        raise TraceFormatError(f"{where} is not valid JSON: {error}") from None


def _labels(labels: dict[str, JSON], where: str) -> dict[str, float | bool]:
    """Scores are probabilities in [0, 1] (as floats) or yes/no booleans."""
    result: dict[str, float | bool] = {}
    for name, value in labels.items():
        if isinstance(value, bool):
            result[name] = value
        elif isinstance(value, int | float) and 0 <= value <= 1:
            result[name] = float(value)
        else:
            raise TraceFormatError(
                f"{where}.{name} must be a number in [0, 1] or a boolean, not {show(value)}"
            )
    return result


def field(obj: dict, key: str, where: str, kind: type, *, required: bool = False) -> JSON:
    """`obj[key]` checked to be of `kind` (str, dict or list); None when an optional key is
    missing or null. `where` is the path of `obj` ("" for the record itself)."""
    value = obj.get(key)
    if value is None and not required:
        return None
    if key not in obj:
        raise TraceFormatError(f'{where or "the trace"} has no "{key}"')
    if not isinstance(value, kind):
        raise TraceFormatError(f"{path(where, key)} must be {_KIND_NAMES[kind]}, not {show(value)}")
    return value


def path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def show(value: JSON) -> str:
    """A value as it looks in the file, short enough for one line of a message."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    shown = json.dumps(value, ensure_ascii=False)
    return shown if len(shown) <= 60 else shown[:57] + "..."
