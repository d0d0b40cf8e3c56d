"""Helpers shared by the examples' corpus generators (`examples/*/make_corpus.py`).

A generator builds conversations in Charter's native shape (`id`, `meta`, `messages`
with `role`, `content`, optional `labels`, `meta`, `tool_calls` and `tool_call_id`)
and writes them in the log format its example uses, the way that tool would have
logged them: OpenAI chat request/response records, OpenAI Responses API requests
with their responses, Anthropic Messages requests, ShareGPT records or one Inspect AI
eval log. The generators are seeded, so running
one again rewrites its committed corpus byte for byte.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

Message = dict[str, Any]
Conversation = dict[str, Any]


class Speaker:
    """Builds the messages of one conversation, numbering tool calls as a real log would."""

    def __init__(self, trace_id: str, meta: dict[str, Any] | None = None) -> None:
        self.conversation: Conversation = {"id": trace_id, "meta": meta or {}, "messages": []}
        self._calls = 0

    def say(self, role: str, content: str, **extra: Any) -> Speaker:
        self.conversation["messages"].append({"role": role, "content": content, **extra})
        return self

    def call(self, name: str, arguments: dict[str, Any], result: str, text: str = "") -> Speaker:
        """An assistant message that calls one tool, then the tool's answer."""
        self._calls += 1
        call_id = f"call_{self.conversation['id'].replace('-', '')[:10]}{self._calls}"
        self.say("assistant", text, tool_calls=[{"id": call_id, "name": name, "arguments": arguments}])
        return self.say("tool", result, tool_call_id=call_id)

    def done(self) -> Conversation:
        return self.conversation


def chooser(seed: int) -> random.Random:
    return random.Random(seed)


# --- writers -------------------------------------------------------------------------


def native_record(conv: Conversation) -> dict[str, Any]:
    """Charter's own JSONL form, tool calls in OpenAI's shape (arguments as JSON text)."""
    return {"id": conv["id"], "meta": conv["meta"], "messages": [_openai_message(m) for m in conv["messages"]]}


def openai_record(conv: Conversation, model: str = "gpt-4o-2024-08-06") -> dict[str, Any]:
    """An OpenAI chat completion logged as request and response: the last assistant
    message is the response's choice; per-message `labels` are kept (our logging adds
    the classifier scores to the request messages)."""
    messages = [_openai_message(m) for m in conv["messages"]]
    record: dict[str, Any] = {"id": conv["id"], "meta": conv["meta"]}
    if messages and messages[-1]["role"] == "assistant":
        reply = messages.pop()
        record["request"] = {"model": model, "messages": messages, "temperature": 0.3}
        record["response"] = {
            "id": "chatcmpl-" + conv["id"].replace("-", "")[:20],
            "object": "chat.completion",
            "model": model,
            "choices": [{"index": 0, "message": reply, "finish_reason": "tool_calls" if reply.get("tool_calls") else "stop"}],
        }
    else:
        record.update({"model": model, "messages": messages})
    return record


def anthropic_record(conv: Conversation, model: str = "claude-sonnet-4-20250514") -> dict[str, Any]:
    """An Anthropic Messages request body: a top-level `system`, content blocks, tool
    calls as `tool_use` blocks and their answers as `tool_result` blocks."""
    system = [m["content"] for m in conv["messages"] if m["role"] == "system"]
    messages: list[dict[str, Any]] = []
    for m in conv["messages"]:
        if m["role"] == "system":
            continue
        if m["role"] == "tool":
            block = {"type": "tool_result", "tool_use_id": _toolu(m["tool_call_id"]), "content": m["content"]}
            messages.append({"role": "user", "content": [block]})
            continue
        blocks: list[dict[str, Any]] = [{"type": "text", "text": m["content"]}] if m["content"] else []
        if m.get("thinking"):
            blocks.insert(0, {"type": "thinking", "thinking": m["thinking"], "signature": "EqQBCgIYAhIM"})
        blocks += [{"type": "tool_use", "id": _toolu(c["id"]), "name": c["name"], "input": c["arguments"]}
                   for c in m.get("tool_calls", [])]
        messages.append({"role": m["role"], "content": blocks})
    record: dict[str, Any] = {"id": conv["id"], "meta": conv["meta"], "model": model, "max_tokens": 1024}
    if system:
        record["system"] = "\n".join(system)
    record["messages"] = messages
    return record


def responses_record(conv: Conversation, model: str = "gpt-4.1-2025-04-14") -> dict[str, Any]:
    """An OpenAI Responses API request body (`instructions` from the system message, the
    rest as `input` items) with its response, whose `output` is the model's last turn:
    the assistant items after the last user message or function call output. A
    conversation that ends on a tool's output was logged before the model answered: the
    request body alone."""
    system = [m["content"] for m in conv["messages"] if m["role"] == "system"]
    items = [item for m in conv["messages"] if m["role"] != "system" for item in _responses_items(m)]
    turn = len(items)
    while turn and items[turn - 1].get("type") in ("message", "function_call") and items[turn - 1].get("role", "assistant") == "assistant":
        turn -= 1
    request: dict[str, Any] = {"model": model, "instructions": "\n".join(system), "input": items[:turn],
                               "tools": [{"type": "function", "name": name} for name in _tools(conv)]}
    record: dict[str, Any] = {"id": conv["id"], "meta": conv["meta"]}
    if turn == len(items):
        return record | request
    key = conv["id"].replace("-", "")
    response = {"id": "resp_" + key[:24], "object": "response", "status": "completed", "model": model,
                "output": [{**item, "id": f"{_ITEM_IDS[item['type']]}_{key[:16]}{i}", "status": "completed"}
                           for i, item in enumerate(items[turn:])]}
    return record | {"request": request, "response": response}


_ITEM_IDS = {"message": "msg", "function_call": "fc"}  # how OpenAI names output items


def _tools(conv: Conversation) -> list[str]:
    return sorted({c["name"] for m in conv["messages"] for c in m.get("tool_calls", [])})


def _responses_items(m: Message) -> list[dict[str, Any]]:
    """A message as Responses items: a user message in the short form, an assistant's
    text as a `message` item of `output_text` parts, its calls as `function_call` items,
    a tool's answer as a `function_call_output`."""
    if m["role"] == "tool":
        return [{"type": "function_call_output", "call_id": m["tool_call_id"], "output": m["content"]}]
    if m["role"] != "assistant":
        return [{"role": m["role"], "content": m["content"]}]
    items: list[dict[str, Any]] = []
    if m["content"]:
        items.append({"type": "message", "role": "assistant",
                      "content": [{"type": "output_text", "text": m["content"], "annotations": []}]})
    items += [{"type": "function_call", "call_id": c["id"], "name": c["name"], "arguments": json.dumps(c["arguments"])}
              for c in m.get("tool_calls", [])]
    return items


def _toolu(call_id: str) -> str:
    """Anthropic names tool uses `toolu_…`."""
    return "toolu_01" + call_id.removeprefix("call_")


_SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt", "tool": "observation"}


def sharegpt_record(conv: Conversation) -> dict[str, Any]:
    """A ShareGPT record (`conversations` of `from`/`value` turns), as chat data sets hold them."""
    turns = [{"from": _SHAREGPT_FROM[m["role"]], "value": m["content"]} for m in conv["messages"]]
    return {"id": conv["id"], "meta": conv["meta"], "conversations": turns}


def inspect_log(convs: list[Conversation], task: str, model: str) -> dict[str, Any]:
    """One Inspect AI eval log (`.json`): a sample per conversation, its `meta` as the
    sample's `metadata`."""
    samples = []
    for conv in convs:
        first_user = next((m["content"] for m in conv["messages"] if m["role"] == "user"), "")
        samples.append({
            "id": conv["id"], "epoch": 1, "input": first_user, "target": "",
            "messages": [_inspect_message(m) for m in conv["messages"]],
            "scores": {}, "metadata": conv["meta"],
        })
    return {
        "version": 2, "status": "success",
        "eval": {"task": task, "model": model, "dataset": {"name": task, "samples": len(samples)}},
        "plan": {"name": "plan", "steps": [{"solver": "basic_agent", "params": {}}]},
        "results": {"total_samples": len(samples), "completed_samples": len(samples), "scores": []},
        "samples": samples,
    }


def _openai_message(m: Message) -> dict[str, Any]:
    out = {k: v for k, v in m.items() if k not in ("tool_calls", "thinking")}
    if m.get("tool_calls"):
        out["content"] = m["content"] or None
        out["tool_calls"] = [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
            for c in m["tool_calls"]
        ]
    return out


def _inspect_message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m["role"], "content": m["content"]}
    if m.get("thinking"):
        out["content"] = [{"type": "reasoning", "reasoning": m["thinking"]}, {"type": "text", "text": m["content"]}]
    if m.get("tool_calls"):
        out["tool_calls"] = [{"id": c["id"], "function": c["name"], "arguments": c["arguments"]} for c in m["tool_calls"]]
    if m["role"] == "tool":
        out["tool_call_id"] = m["tool_call_id"]
    return out


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")


def write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", "utf-8")
