"""The native trace format: `{"id"?, "meta"?, "messages": [...]}` with OpenAI chat-format
messages, plus optional per-message `labels` and `meta`.

Unknown keys are ignored (chat logs carry many: `refusal`, `audio`, ...); a missing or
null optional field takes its default. Everything else that is not the documented shape
raises TraceFormatError naming the field by its path.
"""

from __future__ import annotations

import json

from .errors import TraceFormatError
from .model import JSON, Locator, Message, ToolCall, Trace

ROLES = ("system", "developer", "user", "assistant", "tool")

_KIND_NAMES = {str: "a string", dict: "an object", list: "an array"}


def detect(obj: JSON) -> bool:
    """A native trace is recognised by its `messages` list; `convert` checks the rest."""
    return isinstance(obj, dict) and isinstance(obj.get("messages"), list)


def convert(obj: JSON, locator: Locator | None, default_id: str) -> Trace:
    """Turn one decoded native trace into a Trace; `default_id` names a trace without an `id`."""
    if not isinstance(obj, dict):
        raise TraceFormatError(f"a trace must be an object, not {_show(obj)}")
    messages = _get(obj, "messages", "", list, required=True)
    return Trace(
        id=_get(obj, "id", "", str) or default_id,  # an empty id names nothing either
        messages=tuple(_message(message, index) for index, message in enumerate(messages)),
        meta=_get(obj, "meta", "", dict) or {},
        locator=locator,
    )


def _message(obj: JSON, index: int) -> Message:
    where = f"messages[{index}]"
    if not isinstance(obj, dict):
        raise TraceFormatError(f"{where} must be an object, not {_show(obj)}")
    role = _get(obj, "role", where, str, required=True)
    if role not in ROLES:
        raise TraceFormatError(f"{where}.role must be one of {', '.join(ROLES)}, not {_show(role)}")
    tool_calls = _get(obj, "tool_calls", where, list) or []
    return Message(
        index=index,
        role=role,
        content=_content(obj.get("content"), f"{where}.content"),
        tool_calls=tuple(_tool_call(call, f"{where}.tool_calls[{i}]") for i, call in enumerate(tool_calls)),
        labels=_labels(_get(obj, "labels", where, dict) or {}, f"{where}.labels"),
        meta=_get(obj, "meta", where, dict) or {},
        tool_call_id=_get(obj, "tool_call_id", where, str),
        name=_get(obj, "name", where, str),
    )


def _content(value: JSON, where: str) -> str:
    """The message text. Content parts that are not text (images, audio) carry nothing a
    norm can read, so they are left out; text parts are joined by newlines."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise TraceFormatError(
            f"{where} must be a string, an array of content parts, or null, not {_show(value)}"
        )
    texts = (_part_text(part, f"{where}[{i}]") for i, part in enumerate(value))
    return "\n".join(text for text in texts if text is not None)


def _part_text(part: JSON, where: str) -> str | None:
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        raise TraceFormatError(f"{where} must be a string or an object, not {_show(part)}")
    return _get(part, "text", where, str, required=True) if part.get("type") == "text" else None


def _tool_call(obj: JSON, where: str) -> ToolCall:
    """Both shapes: OpenAI's `{"id", "type", "function": {"name", "arguments"}}` and the
    simpler `{"name", "arguments", "id"?}`; they differ only in where name and arguments live."""
    if not isinstance(obj, dict):
        raise TraceFormatError(f"{where} must be an object, not {_show(obj)}")
    call_id = _get(obj, "id", where, str)
    if "function" in obj:
        obj = _get(obj, "function", where, dict, required=True)
        where = f"{where}.function"
    name = _get(obj, "name", where, str, required=True)
    return ToolCall(name=name, arguments=_arguments(obj.get("arguments"), f"{where}.arguments"), id=call_id)


def _arguments(value: JSON, where: str) -> dict[str, JSON]:
    """Arguments are an object, or (as OpenAI logs them) the JSON text of one; empty means none."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            position = (
                f"line {error.lineno} column {error.colno}" if error.lineno > 1 else f"column {error.colno}"
            )
            raise TraceFormatError(f"{where} is not valid JSON: {error.msg} at {position}") from None
        except (ValueError, RecursionError) as error:  # e.g. an integer too long to convert
            raise TraceFormatError(f"{where} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise TraceFormatError(f"{where} must be a JSON object, not {_show(value)}")
    return value


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
                f"{where}.{name} must be a number in [0, 1] or a boolean, not {_show(value)}"
            )
    return result


def _get(obj: dict, key: str, where: str, kind: type, *, required: bool = False) -> JSON:
    """`obj[key]` checked to be of `kind`; None when an optional key is missing or null."""
    value = obj.get(key)
    if value is None and not required:
        return None
    if key not in obj:
        raise TraceFormatError(f'{where or "the trace"} has no "{key}"')
    if not isinstance(value, kind):
        path = f"{where}.{key}" if where else key
        raise TraceFormatError(f"{path} must be {_KIND_NAMES[kind]}, not {_show(value)}")
    return value


def _show(value: JSON) -> str:
    """A value as it looks in the file, short enough for one line of a message."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
