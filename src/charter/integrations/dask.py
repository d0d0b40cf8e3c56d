"""Checking traces on Dask (`pip install "charter[dask]"`).

    from dask.distributed import Client
    import dask.bag as db
    from charter.integrations.dask import check_bag, bag_summary

    client = Client("tcp://scheduler:8786")
    traces = db.from_sequence(["corpus/a.jsonl", "corpus/b.jsonl"], npartitions=2)
    rows = check_bag(["policy.charter"], traces).to_dataframe()   # one row per verdict
    summary = bag_summary(["policy.charter"], traces)              # `charter check`'s summary

A bag's elements may be `Trace`s, decoded records (dicts in any format the reader knows),
JSON texts (JSONL lines, e.g. from `dask.bag.read_text`) or trace files' paths. The
policy is sent to the workers as the texts of its files and compiled once per worker
process. The labels the policy declares `from detector D` are detected on the workers,
in batches of each partition's traces; `detectors` (a `charter.detectors.settings.Settings`)
adds a mapping, a disk cache (one file the workers of one machine share), a time bound
and HTTP detectors. `check_corpus` is `charter check --engine dask`.
"""

from __future__ import annotations

import collections
import contextlib
from typing import Any, Callable, Iterable, Iterator, Sequence

import dask
import dask.bag as db
from distributed import Client, LocalCluster

from ..corpus.parallel import Checker, SkippedRecord, batches
from ..detectors.settings import Settings
from ..reports.render import WRITERS, CheckSummary, Rendered
from ..traces.model import Locator
from ._shipping import PolicyFiles, compiled, labelled, merged_summary, partial_summary, records_of, verdict_rows

__all__ = ["bag_summary", "check_bag", "check_corpus"]

# Batches in flight per worker thread (as parallel.WINDOW_PER_JOB): busy workers, bounded memory.
WINDOW_PER_THREAD = 3


def check_bag(policy: str | Sequence[str], bag: db.Bag, detectors: Settings | None = None) -> db.Bag:
    """A bag of verdict rows (dicts: trace_id, source, norm, turn, call, verdict, authority,
    severity, reason, escalate_to), one per verdict, not_applicable included; records that
    are not traces are left out (`bag_summary` lists them). `policy`: its files' paths."""
    files = dask.delayed(PolicyFiles.read(policy))
    parts = bag.to_delayed()
    return db.from_delayed([dask.delayed(_rows)(files, part, i, detectors) for i, part in enumerate(parts)])


def bag_summary(policy: str | Sequence[str], bag: db.Bag, detectors: Settings | None = None) -> CheckSummary:
    """The summary `charter check` gives of the same records: traces by status, verdicts
    by kind, and every record that is not a trace with where and why (`.to_json()`)."""
    files = dask.delayed(PolicyFiles.read(policy))
    parts = [dask.delayed(_summary)(files, part, i, detectors) for i, part in enumerate(bag.to_delayed())]
    return merged_summary(dask.compute(*parts))


def _records(elements: Iterable[Any], partition: int) -> Iterator:
    for number, element in enumerate(elements, start=1):
        yield from records_of(element, Locator(f"<partition {partition}>", number))


def _rows(files: PolicyFiles, elements: list, partition: int, detectors: Settings | None) -> list[dict[str, Any]]:
    return list(verdict_rows(compiled(files), labelled(files, _records(elements, partition), detectors)))


def _summary(files: PolicyFiles, elements: list, partition: int, detectors: Settings | None) -> dict[str, Any]:
    return partial_summary(compiled(files), labelled(files, _records(elements, partition), detectors))


# --------------------------------------------------------------------------- charter check --engine dask


@contextlib.contextmanager
def connected(scheduler: str | None, workers: int) -> Iterator[Client]:
    """A client of the scheduler at `scheduler`; without one, of a local cluster of
    `workers` single-threaded worker processes, for as long as the client is used.
    An unreachable scheduler raises OSError."""
    if scheduler is not None:
        with Client(scheduler, timeout="10s") as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            yield client


def check_corpus(client: Client, policy_paths: Sequence[str], paths: Iterable[str], output_format: str,
                 options: dict[str, Any], input_format: str | None = None,
                 on_batch: Callable[[int, int, int], None] | None = None,
                 detectors: Settings | None = None) -> Iterator[Rendered | SkippedRecord]:
    """`parallel.check_corpus` on a Dask cluster: the same batches, labelled, checked and
    rendered by the same `Checker` on the workers, yielded in input order, so the output
    is the same bytes."""
    files = client.scatter(PolicyFiles.read(policy_paths), broadcast=True)
    window = max(1, sum(client.nthreads().values())) * WINDOW_PER_THREAD
    settings = (output_format, tuple(sorted(options.items())), input_format, detectors)
    in_flight: collections.deque = collections.deque()
    for batch in batches(paths, input_format):
        in_flight.append((client.submit(_check_batch, files, settings, batch.items, pure=False), batch.size))
        while len(in_flight) >= window:
            yield from _collect(*in_flight.popleft(), on_batch)
    while in_flight:
        yield from _collect(*in_flight.popleft(), on_batch)


def _collect(future, size: int, on_batch) -> Iterator[Rendered | SkippedRecord]:
    results = future.result()
    yield from results
    if on_batch is not None:
        on_batch(len(results), sum(isinstance(r, Rendered) for r in results), size)


_checkers: dict[tuple, Checker] = {}


def _check_batch(files: PolicyFiles, settings: tuple, items: list[tuple]) -> list[Rendered | SkippedRecord]:
    key = (files.digest, settings)
    checker = _checkers.get(key)
    if checker is None:
        output_format, options, input_format, detectors = settings
        policy = compiled(files)
        checker = _checkers[key] = Checker(policy, WRITERS[output_format](None, policy=policy, **dict(options)),
                                           input_format, detectors)
    return checker.run(items)
