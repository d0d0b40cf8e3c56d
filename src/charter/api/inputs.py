"""Traces as callers hand them over: `Trace` objects, dicts in the native JSON form, or
paths (a file, a directory, a glob pattern, as `charter check --traces` reads them), one
or an iterable of them."""

from __future__ import annotations

import os
from typing import Any, Iterable, Iterator, Mapping, Union

from ..corpus.parallel import expand_paths, read_path
from ..traces.model import Trace
from ..traces.reader import Skipped, trace_from_json

Path = Union[str, "os.PathLike[str]"]
TraceLike = Union[Trace, Mapping[str, Any]]
Traces = Union[TraceLike, Path, Iterable[Union[TraceLike, Path]]]


def read(traces: Traces, input_format: str | None = None,
         paths: list[str] | None = None) -> Iterator[Trace | Skipped]:
    """Every trace, in order; a record of a file that cannot be read is a `Skipped`, and a
    dict that is not a trace raises `TraceFormatError`. Each path met is appended to
    `paths` (for the reports that name their inputs)."""
    items = (traces,) if isinstance(traces, (Trace, Mapping, str, os.PathLike)) else traces
    for item in items:
        if isinstance(item, Trace):
            yield item
        elif isinstance(item, Mapping):
            yield trace_from_json(item if isinstance(item, dict) else dict(item))
        elif isinstance(item, (str, os.PathLike)):
            path = os.fspath(item)
            if paths is not None:
                paths.append(path)
            for file in expand_paths([path]):
                yield from read_path(file, input_format)
        else:
            raise TypeError(f"not a trace, a dict or a path: {type(item).__name__}")


def one(trace: Traces, trace_id: str | None = None, input_format: str | None = None) -> Trace:
    """The trace `trace` is; for a path, the first trace with `trace_id` in it (read until
    found), or without `trace_id` the only trace it holds."""
    if isinstance(trace, (Trace, Mapping)):
        return next(read(trace))
    found: list[Trace] = []
    skipped: list[Skipped] = []
    for record in read(trace, input_format):
        if isinstance(record, Skipped):
            skipped.append(record)
        elif trace_id is None or record.id == trace_id:
            found.append(record)
            if trace_id is not None:
                return record
    if len(found) == 1:
        return found[0]
    where = _names(trace)
    note = f" ({len(skipped)} skipped, the first at {skipped[0].locator}: {skipped[0].reason})" if skipped else ""
    if trace_id is not None:
        raise ValueError(f"no trace with id {trace_id!r} in {where}{note}")
    raise ValueError(f"{where} holds {len(found)} traces{note}: name one with trace_id=")


def _names(traces: Traces) -> str:
    """The paths among `traces`, as an error names them."""
    if isinstance(traces, (str, os.PathLike)):
        return os.fspath(traces)
    if isinstance(traces, (Trace, Mapping)):
        return "the trace given"
    named = ", ".join(os.fspath(t) if isinstance(t, (str, os.PathLike)) else "a trace given" for t in traces)
    return named or "the traces given"  # (an iterator is spent by now)
