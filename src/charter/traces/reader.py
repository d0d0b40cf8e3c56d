"""Reading trace files: a registry of format adapters and a streaming reader.

Adding a format is one module with `detect`, `convert` and `MARKS` and one line in
ADAPTERS.
The reader does not fail on bad input: each record it cannot read becomes a Skipped
saying where and why, and reading goes on with the next.

Formats are detected per record, by trying the adapters in the order of ADAPTERS: the
first whose `detect` recognises the record converts it. Each `detect` looks for what
only its format has, and the native format, which recognises any object with a
`messages` list, comes last; a record that only it can take (see `_usual_native`) is
not offered to the others. An Inspect `.eval` archive (a zip file) is recognised by
its extension or its first bytes and read member by member.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Generator, Iterator
from typing import IO

import attrs

from . import anthropic, huggingface, inspect_log, native, openai, responses
from .errors import TraceFormatError
from .finite import finite_trace
from .model import JSON, Locator, Trace

try:
    import orjson
except ImportError:  # an optional speed-up
    orjson = None


@attrs.frozen
class Adapter:
    """One trace format. `detect` recognises a decoded record of the format, `convert` turns
    one into a Trace, and `expects` describes the shape for when no format recognises a record.
    A format whose records can hold several traces (an Inspect log's samples) also has
    `split`, giving each trace's locator and a function that converts it. `marks` are the
    top-level keys (besides `messages`) that `detect` needs to recognise a record whose
    messages hold text only: a native record with none of any format's marks is read
    without trying the formats (so a new format must name them; the native one has none)."""

    name: str
    expects: str
    detect: Callable[[JSON], bool]
    convert: Callable[[JSON, Locator | None, str], Trace]
    split: Callable[[JSON, Locator | None, str], list[inspect_log.Part]] | None = None
    marks: frozenset[str] = attrs.field(kw_only=True)


# In the order of detection.
ADAPTERS: dict[str, Adapter] = {
    adapter.name: adapter
    for adapter in [
        Adapter(
            "inspect",
            '"eval" and "samples" (an Inspect AI log)',
            inspect_log.detect,
            inspect_log.convert,
            inspect_log.split,
            marks=inspect_log.MARKS,
        ),
        Adapter(
            "anthropic",
            '"type": "message" (an Anthropic response)',
            anthropic.detect,
            anthropic.convert,
            marks=anthropic.MARKS,
        ),
        Adapter("openai", '"choices" (an OpenAI response)', openai.detect, openai.convert, marks=openai.MARKS),
        Adapter(
            "openai-responses",
            '"object": "response" or "input" (an OpenAI Responses API response or request)',
            responses.detect,
            responses.convert,
            marks=responses.MARKS,
        ),
        Adapter(
            "huggingface",
            'a "conversations" list (ShareGPT)',
            huggingface.detect,
            huggingface.convert,
            marks=huggingface.MARKS,
        ),
        Adapter("native", 'a "messages" list', native.detect, native.convert, marks=frozenset()),
    ]
}

_ZIP_MAGIC = b"PK\x03\x04"


@attrs.frozen
class Skipped:
    """An input record that could not be read: where it is and why."""

    locator: Locator
    reason: str


def read_traces(path: str | os.PathLike[str], input_format: str | None = None,
                max_record_bytes: int | None = None) -> Iterator[Trace | Skipped]:
    """Every trace in `path` ("-" for stdin), in order, with a Skipped for each record that is
    not one. JSONL streams line by line; a file holding one JSON document (a trace spread
    over several lines, an array of traces, an Inspect JSON log) is read whole; an Inspect
    `.eval` archive (a file, or stdin) is read sample by sample. `input_format` names the
    adapter to use instead of detecting the format of each record. A line, or an archive
    member, longer than `max_record_bytes` (default MAX_RECORD_BYTES) is skipped unread."""
    adapter = None if input_format is None else _adapter(input_format)
    return _read(path, adapter, max_record_bytes or MAX_RECORD_BYTES)


def trace_from_json(obj: JSON, default_id: str = "trace") -> Trace:
    """The Trace in an already decoded record, in any known format; raises TraceFormatError."""
    return _convert(obj, None, default_id, None)


def _adapter(name: str) -> Adapter:
    try:
        return ADAPTERS[name]
    except KeyError:
        raise ValueError(f"unknown trace format {name!r}; known formats: {', '.join(ADAPTERS)}") from None


def _convert(obj: JSON, locator: Locator | None, default_id: str, adapter: Adapter | None) -> Trace:
    """Convert with the chosen adapter, or else with the first one that recognises `obj`."""
    if adapter is None and (trace := _usual_native(obj, locator, default_id)) is not None:
        return finite_trace(trace)
    return finite_trace((adapter or _detected(obj)).convert(obj, locator, default_id))


# The keys by which a format before the native one can recognise a record whose messages
# hold text only (each adapter's `marks`).
_FOREIGN_MARKS = frozenset().union(*(adapter.marks for adapter in ADAPTERS.values()))


def _usual_native(obj: JSON, locator: Locator | None, default_id: str) -> Trace | None:
    """The trace in a usual native record (the bulk of most corpora) that no other format
    can claim, read without trying the other formats one by one; None for anything else."""
    if type(obj) is dict and obj.keys().isdisjoint(_FOREIGN_MARKS):
        return native.usual_trace(obj, locator, default_id)
    return None


def _detected(obj: JSON) -> Adapter:
    for adapter in ADAPTERS.values():
        if adapter.detect(obj):
            return adapter
    *others, last = (a.expects for a in ADAPTERS.values())
    raise TraceFormatError(
        f"not a trace: expected an object with {', '.join(others)} or {last}"
        f" (formats tried: {', '.join(ADAPTERS)})"
    )


def _read(path: str | os.PathLike[str], adapter: Adapter | None, limit: int) -> Iterator[Trace | Skipped]:
    file = "<stdin>" if path == "-" else os.fspath(path)
    with contextlib.ExitStack() as stack:
        try:
            stream = stdin_bytes() if path == "-" else stack.enter_context(open(path, "rb"))
        except OSError as error:
            yield Skipped(Locator(file), open_failure(error))
            return
        if (path != "-" and file.endswith(".eval")) or is_zip(stream):
            yield from _read_archive(_seekable(stream, stack), file, adapter, limit)
            return
        yield from read_lines(byte_lines(stream, limit), file, adapter)


def stdin_bytes() -> IO[bytes] | IO[str]:
    """stdin's bytes when it has them, so that bad UTF-8 skips a line instead of ending the read."""
    return getattr(sys.stdin, "buffer", sys.stdin)


def is_zip(stream: IO[bytes] | IO[str]) -> bool:
    """Whether a stream starts as a zip archive does (peeked: nothing is consumed)."""
    peek = getattr(stream, "peek", None)
    return peek is not None and peek(len(_ZIP_MAGIC))[:len(_ZIP_MAGIC)] == _ZIP_MAGIC


def _seekable(stream: IO[bytes], stack: contextlib.ExitStack) -> IO[bytes]:
    """`stream`, or a copy of it that can seek (a zip archive is read from its end): an
    archive piped to stdin is spooled, to a temporary file past a few megabytes."""
    if stream.seekable():
        return stream
    copy = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=8 << 20))
    shutil.copyfileobj(stream, copy)
    copy.seek(0)
    return copy


def _read_archive(stream: IO[bytes], file: str, adapter: Adapter | None, limit: int) -> Iterator[Trace | Skipped]:
    """An Inspect `.eval` archive: a trace or a Skipped for each sample member."""
    if adapter is not None and adapter.name != "inspect":
        yield Skipped(Locator(file), f"a zip archive is read as an Inspect .eval log, not as {adapter.name}")
        return
    try:
        for locator, make in inspect_log.read_archive(stream, file, parse_json, limit):
            yield _made(make, locator)
    except inspect_log.ARCHIVE_ERRORS as error:
        yield Skipped(Locator(file), f"not a readable .eval archive (a zip file): {error}")


def open_failure(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "file not found"
    if isinstance(error, IsADirectoryError):
        return "is a directory, not a file"
    return f"cannot open: {error.strerror}"


MAX_RECORD_BYTES = inspect_log.MAX_RECORD_BYTES


@attrs.frozen
class Overlong:
    """A line longer than the limit, left unread: its size in bytes, and the limit."""

    size: int
    limit: int

    @property
    def reason(self) -> str:
        return inspect_log.too_long("the line", self.size, self.limit)


def byte_lines(stream: IO[bytes] | IO[str], limit: int = MAX_RECORD_BYTES) -> Iterator[bytes | Overlong]:
    """The lines as bytes whatever the stream (a replaced sys.stdin yields str), without
    the UTF-8 byte order mark some editors put at the start. A line longer than `limit`
    bytes is an Overlong: it is read in blocks and dropped, never held whole."""
    for number, line in enumerate(iter(functools.partial(stream.readline, limit + 1), stream.read(0))):
        if isinstance(line, str):
            line = line.encode("utf-8", "surrogatepass")
        if len(line) > limit and line[-1:] != b"\n":
            yield Overlong(len(line) + _rest_of_line(stream), limit)
        else:
            yield line.removeprefix(codecs.BOM_UTF8) if number == 0 else line


def _rest_of_line(stream: IO[bytes] | IO[str]) -> int:
    """Read to the end of the line in blocks; how many bytes (or characters) that was."""
    size = 0
    while block := stream.readline(1 << 20):
        size += len(block)
        if block[-1:] in (b"\n", "\n"):
            break
    return size


BLANK = b" \t\r\n"  # JSON's whitespace


def is_blank(line: bytes | Overlong) -> bool:
    return type(line) is not Overlong and not line.strip(BLANK)


def read_lines(lines: Iterator[bytes | Overlong], file: str, adapter: Adapter | None) -> Iterator[Trace | Skipped]:
    """JSONL, one record per non-blank line; unless the first non-blank line opens an
    array, or opens an object it does not close, which makes the input one JSON document
    (but see `_document_or_records`)."""
    numbered = enumerate(lines, start=1)
    first = next(((number, line) for number, line in numbered if not is_blank(line)), None)
    if first is None:
        return
    records: Iterator[tuple[int, bytes | Overlong]] = itertools.chain([first], numbered)
    if type(first[1]) is not Overlong and opens_document(first[1]):
        records = yield from _document_or_records(first, numbered, file, adapter)
    for number, line in records:
        if is_blank(line):
            continue
        locator = Locator(file, number)
        if type(line) is Overlong:
            yield Skipped(locator, line.reason)
            continue
        try:
            value, finite = decode_json(line.rstrip(BLANK))
        except TraceFormatError as error:
            yield Skipped(locator, error.reason)
        else:
            yield from converted_record(value, locator, str(locator), adapter, finite=finite)


def _document_or_records(
    first: tuple[int, bytes], numbered: Iterator[tuple[int, bytes | Overlong]], file: str, adapter: Adapter | None
) -> Generator[Trace | Skipped, None, Iterator[tuple[int, bytes | Overlong]]]:
    """After a first line that opens a document: read the document, and return no lines;
    or, when a later line is a record by itself (JSONL whose first records are broken),
    return every line from the first, to be read one by one. After an object's first
    line that is decided at the first such line; an array is read whole, and is JSONL
    only when it is not valid JSON (its elements may each stand on a line of their own)."""
    start, line = first
    buffered = [(start, line)]
    array = line.lstrip(BLANK)[:1] == b"["
    if not array:
        for number, text in numbered:
            buffered.append((number, text))
            if _is_record_line(text):
                return itertools.chain(buffered, numbered)
    buffered.extend(numbered)
    overlong = next(((n, text) for n, text in buffered if type(text) is Overlong), None)
    if overlong is not None:
        yield Skipped(Locator(file, overlong[0]), overlong[1].reason)
        return iter(())
    data = b"".join(text for _, text in buffered)
    if array and any(_is_record_line(text) for _, text in buffered[1:]) and not _is_json(data):
        return iter(buffered)
    yield from _read_document(data, start, file, adapter)
    return iter(())


def _is_json(data: bytes) -> bool:
    try:
        parse_json(data)
    except TraceFormatError:
        return False
    return True


def _is_record_line(line: bytes | Overlong) -> bool:
    """Whether a line is, by itself, a record a format recognises: an object starting at
    its first column (a pretty-printed document indents what is inside it)."""
    if type(line) is Overlong or line[:1] != b"{":
        return False
    try:
        value = parse_json(line)
    except TraceFormatError:
        return False
    return any(adapter.detect(value) for adapter in ADAPTERS.values())


def opens_document(line: bytes) -> bool:
    start = line.lstrip(BLANK)[:1]
    if start != b"{":
        return start == b"["
    try:
        parse_json(line)
    except TraceFormatError:
        return True
    return False


def _read_document(
    data: bytes, first_line: int, file: str, adapter: Adapter | None
) -> Iterator[Trace | Skipped]:
    """One JSON document starting at `first_line`: a trace, or an array of traces whose
    locators are the lines the elements start on."""
    try:
        value, finite = decode_json(data)
    except _NotJSON as error:
        yield Skipped(Locator(file, first_line + error.line - 1), error.reason)
        return
    if not isinstance(value, list):
        yield from converted_record(value, Locator(file), file, adapter, finite=finite)
        return
    for index, (element, line) in enumerate(zip(value, _element_lines(data.decode()), strict=True)):
        locator = Locator(file, first_line + line - 1)
        yield from converted_record(element, locator, f"{file}#{index}", adapter, context=f"element {index}: ",
                                    finite=finite)


def converted_record(
    value: JSON, locator: Locator, default_id: str, adapter: Adapter | None, context: str = "",
    finite: bool = False,
) -> list[Trace | Skipped]:
    """The traces in one decoded record (one, or an Inspect log's samples), with a Skipped
    for the record, or for each of its traces, that cannot be read. Unless the record is
    known to be `finite` (see `decode_json`), its traces are searched for numbers JSON
    cannot carry (see `finite.py`)."""
    ready = _as_is if finite else finite_trace
    try:
        if adapter is None and (trace := _usual_native(value, locator, default_id)) is not None:
            return [ready(trace)]
        adapter = adapter or _detected(value)
        if adapter.split is None:
            return [ready(adapter.convert(value, locator, default_id))]
        parts = adapter.split(value, locator, default_id)
    except TraceFormatError as error:
        return [Skipped(locator, context + error.reason)]
    return [_made(make, at, context) for at, make in parts]


def _as_is(trace: Trace) -> Trace:
    return trace


def _made(make: Callable[[], Trace], locator: Locator, context: str = "") -> Trace | Skipped:
    try:
        return finite_trace(make())
    except TraceFormatError as error:
        return Skipped(locator, context + error.reason)


_JSON_SPACE = re.compile(r"[ \t\r\n]*")


def _element_lines(text: str) -> Iterator[int]:
    """The 1-based line each element of the valid JSON array `text` starts on, so that
    locators point into the file."""
    decoder = json.JSONDecoder()
    position = _JSON_SPACE.match(text).end() + 1  # past "["
    line, counted = 1, 0
    while True:
        position = _JSON_SPACE.match(text, position).end()
        if text[position] == "]":
            return
        line += text.count("\n", counted, position)
        counted = position
        yield line
        _, end = decoder.raw_decode(text, position)
        position = _JSON_SPACE.match(text, end).end()
        if text[position] == ",":
            position += 1


class _NotJSON(TraceFormatError):
    """Input that is not JSON text; `line` is the line of it (from 1) where that shows."""

    def __init__(self, reason: str, line: int = 1):
        super().__init__(reason)
        self.line = line


def parse_json(data: bytes) -> JSON:
    """Decode UTF-8 JSON text. orjson when installed, for speed; but when it refuses, the
    standard parser has the last word, so what is accepted (NaN, lone surrogates) and
    every error message are the same with or without orjson. (One difference remains:
    orjson reads an integer beyond 64 bits as a float.)"""
    return decode_json(data)[0]


def decode_json(data: bytes) -> tuple[JSON, bool]:
    """`parse_json`'s value, and whether it is known to hold finite numbers only (orjson
    refuses NaN, Infinity and 1e400; the standard parser reads them as floats)."""
    if orjson is not None:  # (it checks the UTF-8 itself)
        try:  # not contextlib.suppress: entering it costs more than a small record's decoding
            return orjson.loads(data), True
        except orjson.JSONDecodeError:
            pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _NotJSON(f"not valid UTF-8: {error.reason}", data.count(b"\n", 0, error.start) + 1) from None
    try:
        return json.loads(text), False
    except json.JSONDecodeError as error:
        # json's "Unterminated string starting at" already ends in "at"
        raise _NotJSON(f"not valid JSON: {error.msg.removesuffix(' at')} at column {error.colno}",
                       error.lineno) from None
    except (ValueError, RecursionError) as error:  # an integer too long, nesting too deep
        raise _NotJSON(f"not decodable as JSON: {error}") from None
