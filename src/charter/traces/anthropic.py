"""Anthropic Messages API: request bodies, response objects, and the two together.

- A request body `{"model", "system"?, "messages": [...]}`: the top-level `system`
  (a string or a list of text blocks) is a first `system` message; then the messages.
- A response object `{"id", "type": "message", "role": "assistant", "content": [...]}`
  is one assistant message.
- A request with its response, `{"request": {...}, "response": {...}}` or a request body
  with a `"response"`, is the request's messages followed by the response's message.

Content is a string or a list of blocks. `text` blocks are the message text (joined by
newlines); `tool_use` (and `server_tool_use`) blocks are tool calls, `input` their
arguments; each `tool_result` block becomes a `tool` message of its own, placed before
what remains of the message it was in (a user message is kept only if it has other
blocks, or no tool results at all). `thinking` blocks go to the message's
`meta["thinking"]` and never into its text; a `redacted_thinking` block sets
`meta["thinking_redacted"]`. Other blocks (images, documents) are not read.

A message's `labels` and `meta` (as in the native format) go to every message it
becomes: its tool results and the rest.
"""

from __future__ import annotations

import attrs

from . import native
from .errors import TraceFormatError
from .model import JSON, Locator, Message, ToolCall, Trace
from .native import field, path, show

# Block types only Anthropic's format has: they tell its messages from OpenAI's.
ANTHROPIC_BLOCKS = frozenset({"tool_use", "tool_result", "thinking", "redacted_thinking"})

_ROLES = ("user", "assistant")


# The keys `detect` reads besides `messages`: a record with none of them, whose messages
# hold text only, is not in this format (so the reader need not ask; see reader.py).
MARKS = frozenset({"type", "content", "request", "response", "system"})


def detect(obj: JSON) -> bool:
    if not isinstance(obj, dict):
        return False
    if _is_response(obj):
        return True
    if isinstance(obj.get("request"), dict) and _is_response(obj.get("response")):
        return True
    messages = obj.get("messages")
    return isinstance(messages, list) and (_is_system(obj.get("system")) or any(map(_has_blocks, messages)))


def _is_response(obj: JSON) -> bool:
    return isinstance(obj, dict) and obj.get("type") == "message" and isinstance(obj.get("content"), list)


def _is_system(value: JSON) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(b, dict) and b.get("type") == "text" for b in value)
    )


def _has_blocks(message: JSON) -> bool:
    content = message.get("content") if isinstance(message, dict) else None
    return isinstance(content, list) and any(
        isinstance(block, dict) and isinstance(block.get("type"), str) and block["type"] in ANTHROPIC_BLOCKS
        for block in content
    )


def convert(obj: JSON, locator: Locator | None, default_id: str) -> Trace:
    native.require_object(obj)
    request, request_at, response, response_at = _parts(obj)
    messages: list[Message] = []
    if request is not None:
        if request.get("system") is not None:
            system = native.text(request["system"], path(request_at, "system"))
            messages.append(Message(index=0, role="system", content=system))
        items = field(request, "messages", request_at, list, required=True)
        for i, item in enumerate(items):
            messages += _message(item, len(messages), f"{path(request_at, 'messages')}[{i}]")
    if response is not None:
        replies = _message(response, len(messages), response_at)
        stop_reason = response.get("stop_reason")
        if isinstance(stop_reason, str) and replies:
            last = replies[-1]
            replies[-1] = attrs.evolve(last, meta={**last.meta, "stop_reason": stop_reason})
        messages += replies
    return native.exchange(obj, tuple(messages), request, response, response_at, locator, default_id)


def _parts(obj: dict) -> tuple[dict | None, str, dict | None, str]:
    """The request and the response in `obj` (either may be None), with their paths."""
    if "request" in obj:
        request = field(obj, "request", "", dict, required=True)
        return request, "request", field(obj, "response", "", dict), "response"
    if _is_response(obj) and "messages" not in obj:
        return None, "", obj, ""
    return obj, "", field(obj, "response", "", dict), "response"


def _message(obj: JSON, index: int, where: str) -> list[Message]:
    """The messages one Anthropic message becomes: its tool results, then the rest."""
    if not isinstance(obj, dict):
        raise TraceFormatError(f"{where or 'the message'} must be an object, not {show(obj)}")
    role = field(obj, "role", where, str, required=True)
    if role not in _ROLES:
        raise TraceFormatError(f"{path(where, 'role')} must be user or assistant, not {show(role)}")
    content_at = path(where, "content")
    content = obj.get("content")
    labels = native.labels(obj, where)
    given = field(obj, "meta", where, dict) or {}
    meta: dict[str, JSON] = dict(given)
    if content is None or isinstance(content, str):
        return [Message(index=index, role=role, content=content or "", labels=labels, meta=meta)]
    if not isinstance(content, list):
        raise TraceFormatError(
            f"{content_at} must be a string or an array of content blocks, not {show(content)}"
        )
    texts: list[str] = []
    calls: list[ToolCall] = []
    thinking: list[str] = []
    results: list[Message] = []
    for i, block in enumerate(content):
        at = f"{content_at}[{i}]"
        if not isinstance(block, dict):
            raise TraceFormatError(f"{at} must be an object, not {show(block)}")
        kind = block.get("type")
        if kind == "text":
            texts.append(field(block, "text", at, str, required=True))
        elif kind in ("tool_use", "server_tool_use"):
            name = field(block, "name", at, str, required=True)
            arguments = native.arguments(block.get("input"), f"{at}.input")
            calls.append(ToolCall(name=name, arguments=arguments, id=field(block, "id", at, str)))
        elif kind == "tool_result":
            results.append(_tool_result(block, index + len(results), at, labels, given))
        elif kind == "thinking":
            thinking.append(field(block, "thinking", at, str, required=True))
        elif kind == "redacted_thinking":
            meta["thinking_redacted"] = True
    if thinking:
        meta["thinking"] = "\n".join(thinking)
    rest = len(results) < len(content) or not results
    if rest:
        results.append(
            Message(
                index=index + len(results),
                role=role,
                content="\n".join(texts),
                tool_calls=tuple(calls),
                labels=labels,
                meta=meta,
            )
        )
    return results


def _tool_result(block: dict, index: int, where: str, labels: dict, meta: dict[str, JSON]) -> Message:
    """A tool result, with the labels and meta of the message it is in."""
    return Message(
        index=index,
        role="tool",
        content=native.text(block.get("content"), f"{where}.content"),
        tool_call_id=field(block, "tool_use_id", where, str, required=True),
        labels=labels,
        meta={**meta, "is_error": True} if block.get("is_error") is True else dict(meta),
        error=block.get("is_error") is True,  # the API's default is false
    )
