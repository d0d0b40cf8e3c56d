"""Checking corpora of any size: trace paths (files, directories, globs), batches of
records checked in process or in worker processes, and a progress bar.

Memory does not grow with the corpus. The main process reads the trace files line by
line and sends batches of raw lines (or, for a file that is one JSON document, the
records the reader made of it) to the checker; the checker decodes, checks and renders
each record and sends back small `report.Rendered` values (or skipped records), which
the main process writes in input order. With `--jobs 1` the checker runs in the main
process; with more, in worker processes. On Linux, when this process runs no other
thread, the workers are forked from it and use its checker (its compiled policy) as
they find it: they start in milliseconds. Elsewhere they are spawned, and each loads the
policy once from the same paths (about half a second of CPU each). Both run the same
code, so the output is the same bytes whatever the number of jobs.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import glob
import itertools
import os
import signal
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Iterator, NamedTuple

from ..detectors.settings import Settings
from ..facts.detected import labeller
from ..facts.presence import Survey
from ..reports.render import WRITERS, Rendered, ReportWriter
from ..traces import reader
from ..traces.errors import TraceFormatError
from ..traces.model import Locator, Trace
from ..traces.reader import Skipped, read_traces

if TYPE_CHECKING:  # multiprocessing and concurrent.futures cost 30 ms to import; --jobs 1 needs neither
    from concurrent.futures import Future, ProcessPoolExecutor

# What a directory given to --traces contributes: files with these endings, recursively.
TRACE_SUFFIXES = (".jsonl", ".json", ".eval")
# The file that marks a decision record's directory (`check --record`), whose JSON files
# are no traces: expanding a directory leaves such a directory out.
RECORD_MARKER = ".charter-record"
# A batch holds at most this many records, or this many bytes of them.
BATCH_RECORDS = 256
BATCH_BYTES = 1 << 20
# For worker processes, smaller batches (about a tenth of a second of work each), so that
# the workers finish together and the first results are written early; what a batch
# costs to send and receive stays small beside its checking.
WORKER_BATCH_RECORDS = 32
# Batches in flight per worker: enough to keep the workers busy, few enough to bound memory.
WINDOW_PER_JOB = 4


# --------------------------------------------------------------------------- trace paths


def expand_paths(paths: Iterable[str]) -> list[str]:
    """The trace files that --traces values name, in order: a file (or '-') as it is; a
    directory as the files under it ending in .jsonl, .json or .eval, recursively, sorted;
    a pattern with `*`, `?` or `[` (and no file of that name) as its matches, sorted
    (`**` matches any depth). Decision records (directories with a RECORD_MARKER) are
    left out. A pattern or directory that matches nothing is kept as it is, to be
    reported as a skipped record (`unreadable`)."""
    expanded: list[str] = []
    for path in paths:
        if path != "-" and not os.path.exists(path) and glob.has_magic(path):
            matches = sorted(glob.glob(path, recursive=True))
            files = [f for match in matches for f in _files_under(match)]
            expanded.extend(files or [path])
        else:
            expanded.extend(_files_under(path) or [path])
    return expanded


def _files_under(path: str) -> list[str]:
    if path == "-" or not os.path.isdir(path):
        return [path]
    found = []
    for root, dirs, files in os.walk(path):
        if RECORD_MARKER in files:
            dirs.clear()
            continue
        dirs.sort()
        found.extend(os.path.join(root, name) for name in files if name.endswith(TRACE_SUFFIXES))
    return sorted(found)


def unreadable(path: str) -> str | None:
    """Why a path that `expand_paths` kept is no trace file, for the two cases it keeps."""
    if path == "-":
        return None
    if os.path.isfile(os.path.join(path, RECORD_MARKER)):
        return "a decision record (check --record), not traces: `charter replay` reads it"
    if os.path.isdir(path):
        return f"a directory with no {', '.join(TRACE_SUFFIXES)} file in it"
    if glob.has_magic(path) and not os.path.exists(path):
        return "no file matches this pattern"
    return None


def read_path(path: str, input_format: str | None = None,
              max_record_bytes: int | None = None) -> Iterator[Trace | Skipped]:
    """`read_traces` for a path from `expand_paths`."""
    reason = unreadable(path)
    if reason is not None:
        return iter([Skipped(Locator(path), reason)])
    return read_traces(path, input_format, max_record_bytes)


def total_bytes(paths: Iterable[str]) -> int | None:
    """The size of all the inputs, when every one is a regular file (not stdin, a pipe)."""
    total = 0
    for path in paths:
        try:
            if path == "-" or not os.path.isfile(path):
                return None
            total += os.path.getsize(path)
        except OSError:
            return None
    return total


# --------------------------------------------------------------------------- batches of records


class SkippedRecord(NamedTuple):
    file: str
    line: int | None
    reason: str


class Batch(NamedTuple):
    """Records to check: ("line", file, number, bytes) raw JSONL lines, or ("record",
    Trace | Skipped) from the reader; `size` is the bytes of input they account for."""

    items: list[tuple]
    size: int


def batches(paths: Iterable[str], input_format: str | None = None,
            records: int = BATCH_RECORDS, size: int = BATCH_BYTES, max_record_bytes: int | None = None,
            ) -> Iterator[Batch]:
    items: list[tuple] = []
    pending = 0
    for path in paths:
        for item, nbytes in _items(path, input_format, max_record_bytes or reader.MAX_RECORD_BYTES):
            if item is not None:
                items.append(item)
                pending += nbytes
                if len(items) >= records or pending >= size:
                    yield Batch(items, pending)
                    items, pending = [], 0
            else:
                pending += nbytes
    if items or pending:
        yield Batch(items, pending)


def _items(path: str, input_format: str | None, limit: int) -> Iterator[tuple[tuple | None, int]]:
    """The records of one file, each with the bytes it accounts for (an item None
    accounts for bytes only). JSONL is sent on as raw lines, decoded where they are
    checked, as the reader decodes them; anything else (a file whose first non-blank
    line opens a JSON document, an Inspect .eval archive) is read by the reader, and
    the records it makes are sent on. A line longer than `limit` is a skipped record."""
    if unreadable(path) or (path != "-" and str(path).endswith(".eval")):
        yield from _read_whole(path, input_format, limit)
        return
    file = "<stdin>" if path == "-" else os.fspath(path)
    try:
        stream = reader.stdin_bytes() if path == "-" else open(path, "rb")
    except OSError as error:
        yield ("record", Skipped(Locator(file), reader.open_failure(error))), 0
        return
    try:
        if reader.is_zip(stream):
            if path != "-":
                stream.close()
            yield from _read_whole(path, input_format, limit)
            return
        lines = reader.byte_lines(stream, limit)
        head: list[bytes] | None = []  # the blank lines before the first record
        for number, line in enumerate(lines, start=1):
            blank = reader.is_blank(line)
            if head is not None and not blank:
                if type(line) is not reader.Overlong and reader.opens_document(line):  # one JSON document
                    if path != "-":
                        stream.close()
                        yield from _read_whole(path, input_format, limit)
                        return
                    adapter = None if input_format is None else reader.ADAPTERS[input_format]
                    for record in reader.read_lines(itertools.chain(head, [line], lines), file, adapter):
                        yield ("record", record), 0
                    return
                head = None
            if blank:
                if head is not None:
                    head.append(line)
                yield None, len(line)
            elif type(line) is reader.Overlong:
                yield ("record", Skipped(Locator(file, number), line.reason)), line.size
            else:
                yield ("line", file, number, line), len(line)
    finally:
        if path != "-":
            stream.close()


def _read_whole(path: str, input_format: str | None, limit: int) -> Iterator[tuple[tuple | None, int]]:
    for record in read_path(path, input_format, limit):
        yield ("record", record), 0
    yield None, _size(path)


def _line_records(line: bytes, file: str, number: int, adapter: Any) -> list[Trace | Skipped]:
    """The records of one JSONL line, as the reader makes them."""
    locator = Locator(file, number)
    try:
        value, finite = reader.decode_json(line.rstrip(reader.BLANK))
    except TraceFormatError as error:
        return [Skipped(locator, error.reason)]
    made = reader.converted_record(value, locator, str(locator), adapter, finite=finite)
    return made if isinstance(made, list) else [made]  # one record may hold several traces


def _size(path: str) -> int:
    try:
        return os.path.getsize(path) if path != "-" else 0
    except OSError:
        return 0


# --------------------------------------------------------------------------- checking a batch


class Checker:
    """Checks and renders records: in the main process, or one per worker process."""

    def __init__(self, policy: Any, writer: ReportWriter, input_format: str | None,
                 detectors: Settings | None = None):
        self.policy, self.writer = policy, writer
        self.adapter = None if input_format is None else reader.ADAPTERS[input_format]
        survey = Survey(policy.program) if policy is not None else None  # (a DiffChecker has two)
        self.survey = survey.survey if survey else None
        self.labeller = labeller(policy.program, detectors) if policy is not None else None

    def run(self, items: list[tuple]) -> list[Rendered | SkippedRecord]:
        records: list[Trace | Skipped] = []
        for item in items:
            if item[0] == "line":
                records.extend(_line_records(item[3], item[1], item[2], self.adapter))
            else:
                records.append(item[1])
        if self.labeller is not None:  # the whole batch at once: detectors are called in batches
            records = self.labeller.label_among(records)
        return [self.one(record) for record in records]

    def one(self, record: Trace | Skipped) -> Rendered | SkippedRecord:
        if isinstance(record, Skipped):
            return SkippedRecord(record.locator.file, record.locator.line, record.reason)
        rendered = self.writer.render(self.policy.check(record), record.locator)
        notes = record.notes
        if self.survey is not None:
            facts, wrong = self.survey(record)
            rendered, notes = rendered._replace(facts=facts), notes + wrong
        if notes:
            return rendered._replace(notes=tuple(f"{record.locator}: warning: {note}" for note in notes))
        return rendered


class WorkerFailure(NamedTuple):
    """An exception in a worker, sent back as data (never a traceback)."""

    kind: str
    message: str


_worker: Checker | WorkerFailure | None = None


def _report_checker(policy_paths: list[str], output_format: str, options: dict[str, Any],
                    input_format: str | None, detectors: Settings | None = None) -> Checker:
    from ..evaluate.policy import load

    policy = load(*policy_paths)
    return Checker(policy, WRITERS[output_format](None, policy=policy, **options), input_format, detectors)


def _start_checker(make: Callable[..., Checker], args: tuple) -> None:
    """A spawned worker's initializer: make its checker once (`make` is a module-level
    function, as 'spawn' requires); Ctrl-C is the main process's to handle."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _worker = make(*args)
    except BaseException as error:  # noqa: BLE001 - reported by the main process
        _worker = WorkerFailure(type(error).__name__, str(error) or repr(error))


def _adopt_checker(checker: Checker) -> None:
    """A forked worker's initializer: the main process's checker, as it was at the fork."""
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = checker


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch is checked: the full collections that a
    growing heap sets off walk the batch's live objects again and again (a third of the
    CPU of checking one trace of 20,000 messages), and checking and rendering a record
    make no reference cycle for them to find (tests/test_collector.py). Collections
    resume between batches, for what other code made (a detector, say); a collector
    someone else turned off stays off."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _work(items: list[tuple]) -> list[Rendered | SkippedRecord] | WorkerFailure:
    if not isinstance(_worker, Checker):
        return _worker or WorkerFailure("RuntimeError", "the worker did not start")
    try:
        with _collector_paused():
            return _worker.run(items)
    except BaseException as error:  # noqa: BLE001
        return WorkerFailure(type(error).__name__, str(error))


def _raise(failure: WorkerFailure) -> None:
    """Raise in the main process what a worker raised, under the same name."""
    if failure.kind == "RecursionError":
        raise RecursionError(failure.message)
    raise type(failure.kind, (Exception,), {"__module__": "charter.worker"})(failure.message)


# --------------------------------------------------------------------------- the run


def check_corpus(
    policy: Any, policy_paths: Iterable[str], paths: Iterable[str], writer: ReportWriter,
    output_format: str, options: dict[str, Any], input_format: str | None = None, jobs: int = 1,
    on_batch: Callable[[int, int, int], None] | None = None, max_record_bytes: int | None = None,
    detectors: Settings | None = None,
) -> Iterator[Rendered | SkippedRecord]:
    """Every record of `paths`, checked and rendered by `writer` (in process) or by
    writers made from `output_format` and `options` (in `jobs` worker processes), in
    input order. `on_batch(records, traces, bytes)` is called after each batch.
    `detectors`: how labels are detected (the command line's mapping, the disk cache,
    the time bound, HTTP detectors; None: the policy's declarations, no disk cache)."""
    make = (_report_checker, (list(policy_paths), output_format, options, input_format, detectors))
    return check_batches(Checker(policy, writer, input_format, detectors), make, paths, input_format, jobs,
                         on_batch, max_record_bytes)


def check_batches(
    checker: Checker, make: tuple[Callable[..., Checker], tuple], paths: Iterable[str],
    input_format: str | None = None, jobs: int = 1, on_batch: Callable[[int, int, int], None] | None = None,
    max_record_bytes: int | None = None,
) -> Iterator[Any]:
    """Every record of `paths` through `checker.run` (in process), or in each of `jobs`
    worker processes through `checker` (forked) or the checker `make[0](*make[1])` makes
    (spawned), in input order. A record longer than `max_record_bytes` is skipped unread."""
    if jobs <= 1:
        for batch in batches(paths, input_format, max_record_bytes=max_record_bytes):
            with _collector_paused():
                results = checker.run(batch.items)
            yield from results
            _report(on_batch, results, batch.size)
        return
    pool = _pool(jobs, checker, make)
    in_flight: collections.deque[tuple[Future, int]] = collections.deque()
    try:
        for batch in batches(paths, input_format, WORKER_BATCH_RECORDS, max_record_bytes=max_record_bytes):
            in_flight.append((pool.submit(_work, batch.items), batch.size))
            while len(in_flight) >= jobs * WINDOW_PER_JOB:
                yield from _collect(in_flight.popleft(), on_batch)
        while in_flight:
            yield from _collect(in_flight.popleft(), on_batch)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _pool(jobs: int, checker: Checker, make: tuple[Callable[..., Checker], tuple]) -> ProcessPoolExecutor:
    """`jobs` worker processes, forked where that is safe: on Linux (macOS's system
    libraries do not survive a fork), from a process with no other thread (a fork copies
    only the thread that forks, with whatever locks the others held)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if sys.platform == "linux" and threading.active_count() == 1:
        return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_adopt_checker, initargs=(checker,))
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_checker, initargs=make)


def _collect(entry: tuple[Future, int], on_batch) -> Iterator[Rendered | SkippedRecord]:
    future, size = entry
    results = future.result()
    if isinstance(results, WorkerFailure):
        _raise(results)
    yield from results
    _report(on_batch, results, size)


def _report(on_batch, results: list, size: int) -> None:
    if on_batch is not None:
        traces = sum(1 for r in results if isinstance(r, Rendered))
        on_batch(len(results), traces, size)


# --------------------------------------------------------------------------- progress


def progress_wanted(stream: IO[str], disabled: bool = False) -> bool:
    """A progress bar only for a person watching: `stream` is a terminal, not --no-progress,
    and not in CI (the CI environment variable set to anything but empty)."""
    if disabled or os.environ.get("CI"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """One status line on a terminal: records, traces/s, and when the input's size is
    known, the share read and the time left. Redrawn at most ten times a second."""

    INTERVAL = 0.1

    def __init__(self, stream: IO[str], total: int | None, clock: Callable[[], float] = time.monotonic):
        self.stream, self.total, self.clock = stream, total, clock
        self.records = self.traces = self.done = 0
        self.started = clock()
        self.drawn_at: float | None = None
        self.visible = False

    def advance(self, records: int, traces: int, size: int) -> None:
        self.records += records
        self.traces += traces
        self.done += size
        now = self.clock()
        if self.drawn_at is None or now - self.drawn_at >= self.INTERVAL:
            self.draw(now)

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.traces / elapsed
        text = f"{self.records:,} records  {rate:,.0f} traces/s"
        if self.total:
            share = min(self.done / self.total, 1.0)
            filled = int(share * 20)
            text = f"[{'#' * filled}{'.' * (20 - filled)}] {share:4.0%}  " + text
            if 0 < share < 1:
                text += f"  ETA {_duration(elapsed * (1 - share) / share)}"
        return text

    def draw(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        self.stream.write("\r" + self.line(now) + "\x1b[K")
        self.stream.flush()
        self.drawn_at, self.visible = now, True

    def clear(self) -> None:
        """Take the line away (before other output on the same terminal)."""
        if self.visible:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.visible = False


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
