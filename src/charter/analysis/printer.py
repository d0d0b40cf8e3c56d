"""A trace printed as a Charter `test` block, ready to paste into the policy."""

from __future__ import annotations

import json

from ..traces.model import Trace


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def as_test_block(name: str, trace: Trace, expects: list[tuple[str, str, int | None]]) -> str:
    """`test "name":` with the trace's meta and messages and one `expect` line per
    (norm, verdict, turn)."""
    lines = [f"test {_json(name)}:"]
    if trace.meta:
        lines.append(f"    meta {_json(trace.meta)}")
    for message in trace.messages:
        # Always a content line, so that the calls below it join this message.
        line = f"    {message.role}: {_json(message.content)}"
        if message.labels:
            line += f" labels {_json(message.labels)}"
        if message.meta:
            line += f" meta {_json(message.meta)}"
        if message.error is not None:
            line += " failed" if message.error else " not failed"
        lines.append(line)
        for call in message.tool_calls:
            lines.append(f"    assistant calls {call.name} {_json(call.arguments)}")
    for norm, verdict, turn in expects:
        lines.append(f"    expect {norm} {verdict}" + (f" at turn {turn}" if turn is not None else ""))
    return "\n".join(lines) + "\n"


