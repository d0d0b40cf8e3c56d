"""Inspect AI eval logs: `.json` logs, `.eval` archives, and single samples.

A JSON log is one document `{"version", "eval": {"task", ...}, "samples": [...], ...}`; an
`.eval` log is a zip archive with one JSON file per sample and epoch under `samples/`
(`samples/<id>_epoch_<n>.json`) next to `header.json` (or, while the eval runs,
`_journal/start.json`), which holds `eval`. Each sample is one trace:

- id `"<sample id>#<epoch>"`;
- messages from the sample's `messages` (`ChatMessage`s: `content` a string or a list of
  content parts; `text` parts are the text, `reasoning` parts go to `meta["thinking"]`;
  assistant `tool_calls` `{"id", "function", "arguments": {...}}`; tool messages'
  `tool_call_id`, `function` (the message `name`) and `error`), with each message's
  `metadata` as its `meta` and its `labels` (as in the native format) as its labels;
- meta `{"sample_id", "epoch", "scores", "metadata", "target", "task"}` (null when absent).
"""

from __future__ import annotations

import functools
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import IO

from . import native
from .errors import TraceFormatError
from .model import JSON, Locator, Message, ToolCall, Trace
from .native import field, path, show

_ROLES = ("system", "user", "assistant", "tool")
_ATTACHMENT = "attachment://"
SAMPLES_DIR = "samples/"
HEADERS = ("header.json", "_journal/start.json")

# A trace to be: its locator and a function that converts it (raising TraceFormatError).
Part = tuple[Locator | None, Callable[[], Trace]]

# The longest record read by default: a JSONL line, an archive member (--max-record-bytes).
MAX_RECORD_BYTES = 64 << 20

# What reading a damaged zip archive can raise: zipfile has no one error for it. An
# encrypted member raises RuntimeError, an unknown version or compression
# NotImplementedError, a member name that is not UTF-8 UnicodeDecodeError (a
# ValueError), a truncated or corrupt stream any of the others.
ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, ValueError, OSError, EOFError)


# The keys `detect` reads besides `messages`: a record with none of them, whose messages
# hold text only, is not in this format (so the reader need not ask; see reader.py).
MARKS = frozenset({"eval", "samples", "epoch", "input"})


def detect(obj: JSON) -> bool:
    """A whole log (`eval` and `samples`), or one sample (`epoch`, `input`, `messages`)."""
    return isinstance(obj, dict) and (_is_log(obj) or _is_sample(obj))


def _is_log(obj: dict) -> bool:
    return isinstance(obj.get("eval"), dict) and isinstance(obj.get("samples"), list)


def _is_sample(obj: dict) -> bool:
    return "epoch" in obj and "input" in obj and isinstance(obj.get("messages"), list)


def convert(obj: JSON, locator: Locator | None, default_id: str) -> Trace:
    """One sample as a trace; a log only when it holds exactly one sample."""
    native.require_object(obj)
    if "samples" not in obj:
        return sample_trace(obj, locator, None, "")
    parts = split(obj, locator, default_id)
    if len(parts) != 1:
        raise TraceFormatError(
            f"an Inspect log holds {len(parts)} samples, not one trace: give them one at a time "
            "(`charter check` reads a whole log)"
        )
    return parts[0][1]()


def split(obj: JSON, locator: Locator | None, default_id: str) -> list[Part]:
    """The traces in a record: one per sample of a log; a sample is one."""
    native.require_object(obj)
    if "samples" not in obj:
        return [(locator, functools.partial(sample_trace, obj, locator, None, ""))]
    task = _task(obj)
    samples = field(obj, "samples", "", list, required=True)
    parts: list[Part] = []
    for i, sample in enumerate(samples):
        where = f"samples[{i}]"
        at = None if locator is None else Locator(f"{locator}:{where}")
        parts.append((at, functools.partial(sample_trace, sample, at, task, where)))
    return parts


def read_archive(stream: IO[bytes], file: str, parse: Callable[[bytes], JSON],
                 limit: int = MAX_RECORD_BYTES) -> Iterator[Part]:
    """The samples of an `.eval` archive, member by member: each member is read (at most
    `limit` bytes of it) and decoded (with `parse`) only when its function is called.
    Raises one of ARCHIVE_ERRORS when `stream` is not a readable zip archive."""
    with zipfile.ZipFile(stream) as archive:
        names = list(dict.fromkeys(archive.namelist()))  # a re-written member is listed twice
        read = functools.partial(_read_member, archive, limit=limit)
        task = next((_archive_task(read, name, parse) for name in HEADERS if name in names), None)
        for name in names:
            if name.startswith(SAMPLES_DIR) and name.endswith(".json"):
                at = Locator(f"{file}:{name}")
                yield at, functools.partial(_member_trace, read, name, at, task, parse)


def _member_trace(
    read: Callable[[str], bytes], name: str, locator: Locator, task: str | None, parse: Callable[[bytes], JSON]
) -> Trace:
    return sample_trace(parse(read(name)), locator, task, "")


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A member's bytes; never more than `limit` of them (a small archive can hold a
    member that inflates to gigabytes)."""
    try:
        with archive.open(name) as member:
            data = member.read(limit + 1)
    except ARCHIVE_ERRORS as error:
        raise TraceFormatError(f"cannot read {name} from the archive: {error}") from None
    if len(data) > limit:
        raise TraceFormatError(too_long(name, archive.getinfo(name).file_size, limit))
    return data


def too_long(what: str, size: int, limit: int) -> str:
    return (f"{what} is {size:,} bytes, more than the limit of {limit:,}; "
            "a longer record is read with --max-record-bytes")


def _archive_task(read: Callable[[str], bytes], name: str, parse: Callable[[bytes], JSON]) -> str | None:
    """The task name in a header member; None when it cannot be read."""
    try:
        return _task(parse(read(name)))
    except TraceFormatError:
        return None


def _task(log: JSON) -> str | None:
    spec = log.get("eval") if isinstance(log, dict) else None
    task = spec.get("task") if isinstance(spec, dict) else None
    return task if isinstance(task, str) else None


def sample_trace(sample: JSON, locator: Locator | None, task: str | None, where: str) -> Trace:
    """One sample (at path `where` in its record) as a trace."""
    if not isinstance(sample, dict):
        raise TraceFormatError(f"{where or 'a sample'} must be an object, not {show(sample)}")
    sample_id = _required(sample, "id", where, (str, int), "a string or an integer")
    epoch = _required(sample, "epoch", where, int, "an integer")
    attachments = field(sample, "attachments", where, dict) or {}
    items = field(sample, "messages", where, list, required=True)
    messages_at = path(where, "messages")
    return Trace(
        id=f"{sample_id}#{epoch}",
        messages=tuple(_message(m, i, f"{messages_at}[{i}]", attachments) for i, m in enumerate(items)),
        meta={
            "sample_id": sample_id,
            "epoch": epoch,
            "scores": sample.get("scores"),
            "metadata": sample.get("metadata"),
            "target": sample.get("target"),
            "task": task,
        },
        locator=locator,
    )


def _required(obj: dict, key: str, where: str, kind: type | tuple[type, ...], name: str) -> JSON:
    if key not in obj:
        raise TraceFormatError(f'{where or "the sample"} has no "{key}"')
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TraceFormatError(f"{path(where, key)} must be {name}, not {show(value)}")
    return value


def _message(obj: JSON, index: int, where: str, attachments: dict[str, JSON]) -> Message:
    if not isinstance(obj, dict):
        raise TraceFormatError(f"{where} must be an object, not {show(obj)}")
    role = field(obj, "role", where, str, required=True)
    if role not in _ROLES:
        raise TraceFormatError(f"{where}.role must be one of {', '.join(_ROLES)}, not {show(role)}")
    meta = dict(field(obj, "metadata", where, dict) or {})
    texts, thinking, redacted = _content(obj.get("content"), f"{where}.content")
    if thinking:
        meta["thinking"] = "\n".join(_resolve(t, attachments) for t in thinking)
    if redacted:
        meta["thinking_redacted"] = True
    calls = field(obj, "tool_calls", where, list) if role == "assistant" else None
    failed = None
    if role == "tool":  # Inspect's `error` is null, or what went wrong
        failed = isinstance(obj.get("error"), dict)
        if failed:
            meta["error"] = obj["error"]
    return Message(
        index=index,
        role=role,
        labels=native.labels(obj, where),
        content="\n".join(_resolve(t, attachments) for t in texts),
        tool_calls=tuple(_tool_call(call, f"{where}.tool_calls[{i}]") for i, call in enumerate(calls or [])),
        meta=meta,
        tool_call_id=field(obj, "tool_call_id", where, str) if role == "tool" else None,
        name=field(obj, "function", where, str) if role == "tool" else None,
        error=failed,
    )


def _content(value: JSON, where: str) -> tuple[list[str], list[str], bool]:
    """The texts, the reasoning texts, and whether some reasoning is redacted."""
    if value is None:
        return [], [], False
    if isinstance(value, str):
        return [value], [], False
    if not isinstance(value, list):
        raise TraceFormatError(f"{where} must be a string or an array of content parts, not {show(value)}")
    texts, thinking, redacted = [], [], False
    for i, part in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(part, dict):
            raise TraceFormatError(f"{at} must be an object, not {show(part)}")
        if part.get("type") == "text":
            texts.append(field(part, "text", at, str, required=True))
        elif part.get("type") == "reasoning":
            if part.get("redacted") is True:  # the reasoning is encrypted; a summary may be readable
                redacted = True
                reasoning = field(part, "summary", at, str)
            else:
                reasoning = field(part, "reasoning", at, str, required=True)
            if reasoning:
                thinking.append(reasoning)
    return texts, thinking, redacted


def _tool_call(obj: JSON, where: str) -> ToolCall:
    if not isinstance(obj, dict):
        raise TraceFormatError(f"{where} must be an object, not {show(obj)}")
    return ToolCall(
        name=field(obj, "function", where, str, required=True),
        arguments=native.arguments(obj.get("arguments"), f"{where}.arguments"),
        id=field(obj, "id", where, str),
    )


def _resolve(text: str, attachments: dict[str, JSON]) -> str:
    """Inspect may store long text once, in the sample's `attachments`, and refer to it."""
    if text.startswith(_ATTACHMENT):
        value = attachments.get(text[len(_ATTACHMENT) :])
        if isinstance(value, str):
            return value
    return text
