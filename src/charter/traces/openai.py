"""OpenAI Chat Completions: request bodies, response objects, and the two together.

- A request body `{"model", "messages", ...}` is its messages, read as native messages
  (so `labels` and `meta` work here too).
- A response object `{"id", "model", "choices": [{"message", "finish_reason"}, ...]}` is
  one assistant message: `choices[0].message`. Other choices are not read.
- A request with its response, either `{"request": {...}, "response": {...}}` or a request
  body that also has `"response": {...}` or its own `"choices"`, is the request's messages
  followed by the response's `choices[0].message`.

The trace id is the record's `id`, else the response's `id` (`chatcmpl-...`); the trace
meta is the record's `meta` plus `model`; the choice's `finish_reason` goes into that
message's meta.
"""

from __future__ import annotations

import attrs

from . import native
from .errors import TraceFormatError
from .model import JSON, Locator, Message, Trace
from .native import field, path


# The keys `detect` reads besides `messages`: a record with none of them, whose messages
# hold text only, is not in this format (so the reader need not ask; see reader.py).
MARKS = frozenset({"choices", "request", "response", "model"})


def detect(obj: JSON) -> bool:
    if not isinstance(obj, dict):
        return False
    if _is_response(obj):
        return True
    if isinstance(obj.get("request"), dict) and _is_response(obj.get("response")):
        return True
    return isinstance(obj.get("messages"), list) and (
        isinstance(obj.get("model"), str) or _is_response(obj.get("response"))
    )


def _is_response(obj: JSON) -> bool:
    """A response has a `choices` list whose first choice has a `message`."""
    choices = obj.get("choices") if isinstance(obj, dict) else None
    return (
        isinstance(choices, list)
        and bool(choices)
        and isinstance(choices[0], dict)
        and "message" in choices[0]
    )


def convert(obj: JSON, locator: Locator | None, default_id: str) -> Trace:
    native.require_object(obj)
    request, request_at, response, response_at = _parts(obj)
    messages: tuple[Message, ...] = ()
    if request is not None:
        where = path(request_at, "messages")
        messages = native.messages(field(request, "messages", request_at, list, required=True), where)
    if response is not None:
        messages += (_choice(response, response_at, len(messages)),)
    return native.exchange(obj, messages, request, response, response_at, locator, default_id)


def _parts(obj: dict) -> tuple[dict | None, str, dict | None, str]:
    """The request and the response in `obj` (either may be None), with their paths."""
    if "request" in obj:
        request = field(obj, "request", "", dict, required=True)
        return request, "request", field(obj, "response", "", dict), "response"
    if "choices" in obj:
        return (obj if "messages" in obj else None), "", obj, ""
    return obj, "", field(obj, "response", "", dict), "response"


def _choice(response: dict, where: str, index: int) -> Message:
    choices_at = path(where, "choices")
    choices = field(response, "choices", where, list, required=True)
    if not choices:
        raise TraceFormatError(f"{choices_at} is empty")
    choice = choices[0]
    if not isinstance(choice, dict):
        raise TraceFormatError(f"{choices_at}[0] must be an object, not {native.show(choice)}")
    message_at = f"{choices_at}[0]"
    message = native.message(
        field(choice, "message", message_at, dict, required=True), index, f"{message_at}.message"
    )
    finish_reason = choice.get("finish_reason")
    if isinstance(finish_reason, str):
        message = attrs.evolve(message, meta={**message.meta, "finish_reason": finish_reason})
    return message
