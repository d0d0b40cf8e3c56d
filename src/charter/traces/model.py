"""The trace model every adapter produces and the evaluator reads.

A trace is one conversation: an `id`, free-form `meta` (any JSON object) and its
`messages` in order. Message `index` is the 0-based position in `messages`: it is the
`turn` reported in verdicts.

Traces, messages and tool calls are made for every record of every corpus, so they are
mutable slotted classes, which construct about three times faster than frozen ones;
still, nothing changes them once an adapter has made them (derive a changed copy with
`attrs.evolve`). All three compare by value and, holding dicts, are not hashable.
"""

from __future__ import annotations

import functools
from typing import Any

import attrs

from .links import Links

JSON = Any


@attrs.define
class ToolCall:
    """A tool call an assistant message makes: `arguments` is a decoded JSON object; `id`
    is what a tool message answering it gives as its `tool_call_id` (see `Trace.links`)."""

    name: str
    arguments: JSON = attrs.Factory(dict)
    id: str | None = None


@attrs.define
class Message:
    """One message. `content` is the plain text (content parts joined by newlines);
    `labels` maps a label name to a number in [0, 1] or a boolean; `meta_patch` changes
    the trace's meta from this message on (a JSON merge patch, `merge_patch`)."""

    index: int
    role: str
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    labels: dict[str, float | bool] = attrs.Factory(dict)
    meta: dict[str, JSON] = attrs.Factory(dict)
    tool_call_id: str | None = None
    name: str | None = None
    meta_patch: dict[str, JSON] | None = None
    error: bool | None = None  # on a tool message: whether the call failed (None: the format does not say)


@attrs.frozen
class Locator:
    """Where a trace came from: a file and a 1-based line (None for a whole-file JSON)."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


@attrs.define
class Trace:
    """`notes` say what reading the trace left out (a number JSON cannot carry), each
    with its path in the trace; `detected` maps a detected label's fact name
    (`messages[3].labels.language`) to where its value came from (a
    `detectors.model.Source`), None when none was. Neither is part of its value."""

    id: str
    messages: tuple[Message, ...] = ()
    meta: dict[str, JSON] = attrs.Factory(dict)
    locator: Locator | None = None
    notes: tuple[str, ...] = attrs.field(default=(), eq=False)
    detected: dict[str, Any] | None = attrs.field(default=None, eq=False)  # None: none (no dict per trace read)

    @functools.cached_property
    def links(self) -> Links:
        """Which call each tool result answers, and back (made once, when first read)."""
        return Links(self.messages)


def merge_patch(target: JSON, patch: JSON) -> JSON:
    """`target` changed by `patch` as RFC 7396 says: an object patch merges key by key
    (null removes a key), anything else replaces. Neither argument is changed."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def merge_diff(source: dict[str, JSON], target: dict[str, JSON]) -> dict[str, JSON]:
    """The merge patch that turns `source` into `target` (`merge_patch(source, it) ==
    target`), for a `target` whose nulls all stand where they stood in `source`: a patch
    cannot set a null, as null removes."""
    patch: dict[str, JSON] = {key: None for key in source if key not in target}
    for key, value in target.items():
        before = source.get(key, _MISSING)
        if isinstance(before, dict) and isinstance(value, dict):
            inner = merge_diff(before, value)
            if inner:
                patch[key] = inner
        elif before is _MISSING or before != value:
            patch[key] = value
    return patch


_MISSING = object()
