"""Agent traces for the binding construct tests: calls with ids, results tied to them."""

from __future__ import annotations

from typing import Any


def calls(*made: tuple[str, str, dict], content: str = "") -> dict[str, Any]:
    """An assistant message making the calls (id, name, arguments)."""
    return {"role": "assistant", "content": content,
            "tool_calls": [{"id": id, "name": name, "arguments": args} for id, name, args in made]}


def result(content: str, answers: str | None, error: bool | None = None) -> dict[str, Any]:
    """A tool result answering call `answers` (None: linked to no call)."""
    message: dict[str, Any] = {"role": "tool", "content": content}
    if answers is not None:
        message["tool_call_id"] = answers
    if error is not None:
        message["error"] = error
    return message
