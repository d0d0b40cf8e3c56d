"""OpenAI Responses API: request bodies, response objects, and the two together.

- A request body `{"model", "instructions"?, "input", "previous_response_id"?,
  "metadata"?, ...}`: `instructions` (a string, or a list of input items) is a first
  `system` message, as a top-level system prompt is in every format; `input` is a string
  (one user message) or a list of items.
- A response object `{"id": "resp_...", "object": "response", "output": [...],
  "status", ...}` is its output items. It echoes the request's `instructions`: they are
  read only when the record holds no request.
- A request with its response, `{"request": {...}, "response": {...}}` or a request body
  with a `"response"`, is the request's items followed by the response's.

Items, in input and output alike:
- `message` (`type` may be left out of an input message): `role` user, system, developer
  or assistant; `content` a string or a list of parts, whose `input_text` and
  `output_text` parts are the text and whose `refusal` parts give their `refusal` (what
  the user reads); other parts (images, files, audio) are left out.
- `function_call` (`call_id`, `name`, `arguments` as JSON text) and `custom_tool_call`
  (its free-text `input` becomes the argument `input`) are tool calls with `call_id` as
  their id; `function_call_output` and `custom_tool_call_output` (`call_id`, `output` a
  string or a list of parts) are `tool` messages answering the call with that id. The API
  says nothing of a failure there (an item's `status` is its own state, not the call's):
  an `error` key on the item, as in the native format (`true`/`false`, or what went
  wrong), says whether the call failed; without it, that is unknown.
- `mcp_call` (a call OpenAI made to an MCP server: `id`, `name`, `arguments`, and
  `output` or `error` once it ran) is a tool call with its `id` as id, followed by a
  `tool` message answering it, failed when the item has an `error`.
- `reasoning` goes to the message's `meta["thinking"]` (its `content` texts, else its
  `summary` texts); `encrypted_content` with no readable text sets
  `meta["thinking_redacted"]`.
- Any other item (hosted tools' calls, `item_reference`...) is left out, and the trace's
  notes say where.

The output items of one model turn are separate, where a chat message holds text and
calls together: an assistant message, its reasoning and the calls after it form one
assistant message. An assistant `message` or a `reasoning` item starts a new one unless
the current one holds only reasoning. A message item's `labels` and `meta` (as in the
native format) are its message's, a function call output's its tool message's.

The trace meta is the record's `meta` over the `metadata` of the request and of the
response, plus `model` and `previous_response_id`; the response's `status` goes into the
meta of the last message its output makes.
"""

from __future__ import annotations

import attrs

from . import native
from .errors import TraceFormatError
from .model import JSON, Locator, Message, ToolCall, Trace
from .native import field, path, show

# `detect` never takes a record with a `messages` list (see _OTHERS), so the native
# record the reader reads without asking is never one of these (reader.py).
MARKS: frozenset[str] = frozenset()

# Keys of the formats before the native one: a record holding one is not a request body.
_OTHERS = frozenset({"messages", "conversations", "choices", "epoch", "samples", "eval"})

_ROLES = ("user", "system", "developer", "assistant")
_CALLS = frozenset({"function_call", "custom_tool_call"})
_OUTPUTS = frozenset({"function_call_output", "custom_tool_call_output"})
_TEXT_PARTS = frozenset({"input_text", "output_text"})


def detect(obj: JSON) -> bool:
    if not isinstance(obj, dict):
        return False
    if _is_response(obj):
        return True
    if isinstance(obj.get("request"), dict):
        return _is_request(obj["request"]) and _is_response(obj.get("response"))
    return _is_request(obj)


def _is_response(obj: JSON) -> bool:
    return isinstance(obj, dict) and obj.get("object") == "response" and isinstance(obj.get("output"), list)


def _is_request(obj: dict) -> bool:
    return isinstance(obj.get("input"), str | list) and obj.keys().isdisjoint(_OTHERS)


def convert(obj: JSON, locator: Locator | None, default_id: str) -> Trace:
    native.require_object(obj)
    request, request_at, response, response_at = _parts(obj)
    turns = _Turns()
    told = request if request is not None else response
    told_at = request_at if request is not None else response_at
    if told is not None and told.get("instructions") is not None:
        turns.instructions(told["instructions"], path(told_at, "instructions"))
    if request is not None:
        turns.input(request, request_at)
    turns.close()  # a response's output is a turn of its own
    if response is not None:
        before = len(turns.messages)
        turns.items(field(response, "output", response_at, list, required=True), path(response_at, "output"))
        turns.close()
        status = response.get("status")
        if isinstance(status, str) and len(turns.messages) > before:
            last = turns.messages[-1]
            turns.messages[-1] = attrs.evolve(last, meta={**last.meta, "status": status})
    trace = native.exchange(obj, tuple(turns.messages), request, response, response_at, locator, default_id)
    return attrs.evolve(trace, meta=_meta(trace.meta, request, response), notes=tuple(turns.notes))


def _parts(obj: dict) -> tuple[dict | None, str, dict | None, str]:
    """The request and the response in `obj` (either may be None), with their paths."""
    if "request" in obj:
        request = field(obj, "request", "", dict, required=True)
        return request, "request", field(obj, "response", "", dict), "response"
    if _is_response(obj):
        return None, "", obj, ""
    return obj, "", field(obj, "response", "", dict), "response"


def _meta(meta: dict[str, JSON], request: dict | None, response: dict | None) -> dict[str, JSON]:
    """The record's meta over the parts' `metadata`, with `previous_response_id`."""
    merged: dict[str, JSON] = {}
    for part in (request, response):
        if part is not None and isinstance(part.get("metadata"), dict):
            merged.update(part["metadata"])
    merged.update(meta)
    previous = next((p.get("previous_response_id") for p in (request, response)
                     if p is not None and isinstance(p.get("previous_response_id"), str)), None)
    if previous is not None:
        merged.setdefault("previous_response_id", previous)
    return merged


@attrs.define
class _Reply:
    """The assistant message being made of consecutive output items."""

    texts: list[str] = attrs.Factory(list)
    calls: list[ToolCall] = attrs.Factory(list)
    thinking: list[str] = attrs.Factory(list)
    redacted: bool = False
    labels: dict[str, float | bool] = attrs.Factory(dict)
    meta: dict[str, JSON] = attrs.Factory(dict)

    def said(self) -> bool:
        return bool(self.texts or self.calls)


class _Turns:
    """The messages items make, in order, and notes on the items left out."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.notes: list[str] = []
        self._reply: _Reply | None = None

    def instructions(self, value: JSON, where: str) -> None:
        if isinstance(value, str):
            self._add(Message(index=0, role="system", content=value))
        elif isinstance(value, list):
            self.items(value, where)
        else:
            raise TraceFormatError(f"{where} must be a string or an array of input items, not {show(value)}")

    def input(self, request: dict, where: str) -> None:
        value = request.get("input")
        if isinstance(value, str):
            self._add(Message(index=0, role="user", content=value))
        elif isinstance(value, list):
            self.items(value, path(where, "input"))
        elif "input" not in request:
            raise TraceFormatError(f'{where or "the trace"} has no "input"')
        else:
            raise TraceFormatError(f"{path(where, 'input')} must be a string or an array of items, not {show(value)}")

    def items(self, items: list, where: str) -> None:
        for i, item in enumerate(items):
            self._item(item, f"{where}[{i}]")

    def close(self) -> None:
        """End the assistant message being made, if any."""
        reply, self._reply = self._reply, None
        if reply is None:
            return
        meta = dict(reply.meta)
        if reply.thinking:
            meta["thinking"] = "\n".join(reply.thinking)
        if reply.redacted:
            meta["thinking_redacted"] = True
        self.messages.append(Message(index=len(self.messages), role="assistant", content="\n".join(reply.texts),
                                     tool_calls=tuple(reply.calls), labels=reply.labels, meta=meta))

    def _add(self, message: Message) -> None:
        self.close()
        self.messages.append(attrs.evolve(message, index=len(self.messages)))

    def _open(self, fresh: bool) -> _Reply:
        """The assistant message to add to; a new one when `fresh` and the current one says something."""
        if self._reply is not None and fresh and self._reply.said():
            self.close()
        if self._reply is None:
            self._reply = _Reply()
        return self._reply

    def _item(self, item: JSON, where: str) -> None:
        if not isinstance(item, dict):
            raise TraceFormatError(f"{where} must be an object, not {show(item)}")
        kind = field(item, "type", where, str) or ("message" if "role" in item else None)
        if kind == "message":
            self._message(item, where)
        elif kind in _CALLS:
            self._open(fresh=False).calls.append(_call(item, kind, where))
        elif kind in _OUTPUTS:
            self._add(Message(
                index=0, role="tool", content=_text(item.get("output"), path(where, "output")),
                tool_call_id=field(item, "call_id", where, str), labels=native.labels(item, where),
                meta=field(item, "meta", where, dict) or {}, error=_error(item),
            ))
        elif kind == "reasoning":
            self._reasoning(item, where)
        elif kind == "mcp_call":
            self._mcp_call(item, where)
        else:
            what = "with no type" if kind is None else f'of type "{kind}"'
            self.notes.append(f"{where} is an item {what}, which is not read: it is left out")

    def _message(self, item: dict, where: str) -> None:
        role = field(item, "role", where, str, required=True)
        if role not in _ROLES:
            raise TraceFormatError(f"{path(where, 'role')} must be one of {', '.join(_ROLES)}, not {show(role)}")
        text = _text(item.get("content"), path(where, "content"))
        labels, meta = native.labels(item, where), field(item, "meta", where, dict) or {}
        if role != "assistant":
            self._add(Message(index=0, role=role, content=text, labels=labels, meta=meta))
            return
        reply = self._open(fresh=True)
        reply.texts.append(text)
        reply.labels.update(labels)
        reply.meta.update(meta)

    def _mcp_call(self, item: dict, where: str) -> None:
        """A call OpenAI made to an MCP server, holding its result once it has one."""
        call = ToolCall(name=field(item, "name", where, str, required=True),
                        arguments=native.arguments(item.get("arguments"), path(where, "arguments")),
                        id=field(item, "id", where, str))
        self._open(fresh=False).calls.append(call)
        output, error = field(item, "output", where, str), item.get("error")
        if output is not None or error is not None:
            self._add(Message(index=0, role="tool", content=output or (error if isinstance(error, str) else ""),
                              tool_call_id=call.id, error=error is not None))

    def _reasoning(self, item: dict, where: str) -> None:
        readable = _texts(item, "content", where) or _texts(item, "summary", where)
        reply = self._open(fresh=True)
        reply.thinking += readable
        if item.get("encrypted_content") and not readable:
            reply.redacted = True


def _error(item: dict) -> bool | None:
    """Whether a call output reports a failure: its `error` key, as the native format has
    it (the API has no such field: an output item's `status` is the item's own state)."""
    return native.failed(item.get("error"))


def _call(item: dict, kind: str, where: str) -> ToolCall:
    name = field(item, "name", where, str, required=True)
    if kind == "custom_tool_call":
        arguments = {"input": field(item, "input", where, str) or ""}
    else:
        arguments = native.arguments(item.get("arguments"), path(where, "arguments"))
    return ToolCall(name=name, arguments=arguments, id=field(item, "call_id", where, str))


def _text(value: JSON, where: str) -> str:
    """A message's content, or a call output: a string, or a list of parts."""
    if value is None or isinstance(value, str):
        return value or ""
    if not isinstance(value, list):
        raise TraceFormatError(f"{where} must be a string or an array of content parts, not {show(value)}")
    texts = []
    for i, part in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(part, dict):
            raise TraceFormatError(f"{at} must be an object, not {show(part)}")
        kind = part.get("type")
        if kind in _TEXT_PARTS:
            texts.append(field(part, "text", at, str, required=True))
        elif kind == "refusal":
            texts.append(field(part, "refusal", at, str, required=True))
    return "\n".join(texts)


def _texts(item: dict, key: str, where: str) -> list[str]:
    """The `text` of each part in the reasoning item's list `key`."""
    parts = field(item, key, where, list) or []
    at = path(where, key)
    texts = []
    for i, part in enumerate(parts):
        if not isinstance(part, dict):
            raise TraceFormatError(f"{at}[{i}] must be an object, not {show(part)}")
        texts.append(field(part, "text", f"{at}[{i}]", str, required=True))
    return texts
