"""What the distributed engines share: a policy sent to workers as the texts of its files
and compiled once per worker process, the records a worker is given with the labels the
run detects (one `Labeller` per worker process, policy and `Settings`, called on batches
of a partition's traces), the per-verdict rows it returns, and the `charter check`
summary made of partial summaries."""

from __future__ import annotations

import collections
import os
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import attrs

from .. import Policy
from ..check.resolve import read_file
from ..check.loader import load
from ..corpus.parallel import BATCH_RECORDS, read_path
from ..detectors.labeller import Labeller
from ..detectors.settings import Settings
from ..facts.detected import labeller
from ..reports.render import CheckSummary, verdict_counts
from ..source.text import content_hash
from ..traces import reader
from ..traces.errors import TraceFormatError
from ..traces.model import Locator, Trace
from ..traces.reader import Skipped

# The columns of a verdict row, in order (Spark's schema follows it).
ROW_FIELDS = ("trace_id", "source", "norm", "turn", "call", "verdict", "authority", "severity",
              "reason", "escalate_to")


@attrs.frozen
class PolicyFiles:
    """A policy as the texts of the files it was loaded from (imports included; stdlib
    modules by name): what is sent to workers, so that a worker needs neither the files
    nor a pickled compiled policy. Loaded from these texts, the policy is the same, down
    to the file names in its explanations."""

    paths: tuple[str, ...]  # the policy arguments: files and `std.NAME`
    texts: tuple[tuple[str, str], ...]  # (path as the loader read it, text)
    digest: str  # the policy's content hash

    @classmethod
    def read(cls, paths: str | Sequence[str]) -> PolicyFiles:
        """Load the policy here first, so that its errors are raised here, once."""
        paths = (paths,) if isinstance(paths, str) else tuple(paths)
        texts: dict[str, str] = {}

        def recording(path: Path) -> str:
            texts[str(path)] = text = read_file(path)
            return text

        program = load(list(paths), read_text=recording).program
        return cls(paths, tuple(texts.items()), content_hash(program.sources))

    def load(self) -> Policy:
        texts = dict(self.texts)

        def sent(path: Path) -> str:
            try:
                return texts[str(path)]
            except KeyError:
                raise FileNotFoundError(f"{path} was not sent with the policy") from None

        return Policy(load(list(self.paths), read_text=sent).program)


# One compiled policy per worker process, by digest: a worker compiles each policy once,
# however many partitions or batches it is given.
_compiled: dict[str, Policy] = {}
_compilations: collections.Counter[str] = collections.Counter()


_compiling = threading.Lock()  # a worker with several threads still compiles once


def compiled(files: PolicyFiles) -> Policy:
    policy = _compiled.get(files.digest)
    if policy is None:
        with _compiling:
            policy = _compiled.get(files.digest)
            if policy is None:
                policy = _compiled[files.digest] = files.load()
                _compilations[files.digest] += 1
    return policy


def compilations(digest: str) -> int:
    """How many times this process has compiled the policy with this content hash (the
    tests read it on each worker)."""
    return _compilations[digest]


# The labeller of each policy and detector settings in this worker process (None: the
# run detects no label), so that its memory of texts judged serves every partition.
_labellers: dict[tuple[str, Settings], Labeller | None] = {}
_labelling = threading.Lock()


def labelled(files: PolicyFiles, records: Iterable[Trace | Skipped],
             detectors: Settings | None = None) -> Iterator[Trace | Skipped]:
    """The records, their traces with the labels the policy's declarations (and
    `detectors`' mapping) detect, BATCH_RECORDS at a time: each detector is called on
    the distinct texts of a batch that neither this worker nor the disk cache has judged."""
    key = (files.digest, detectors or Settings())
    policy = compiled(files)
    with _labelling:
        if key not in _labellers:
            _labellers[key] = labeller(policy.program, key[1])
    made = _labellers[key]
    if made is None:
        yield from records
        return
    batch: list[Trace | Skipped] = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH_RECORDS:
            yield from made.label_among(batch)
            batch = []
    yield from made.label_among(batch)


# --------------------------------------------------------------------------- records


def records_of(element: Any, locator: Locator, paths: bool = True) -> list[Trace | Skipped]:
    """The traces in one element of a bag or one cell of a column: a `Trace`; a decoded
    record (a dict, in any format the reader knows); a JSON text (one JSONL line); or, when
    `paths`, a text not opening with `{` or `[` is the path of a trace file, read as
    `charter check` reads it. `locator` names the element."""
    if element is None:
        return [Skipped(locator, "null, not a trace")]
    if isinstance(element, Trace):
        return [element]
    if isinstance(element, dict):
        return reader.converted_record(element, locator, str(locator), None)
    if isinstance(element, (str, bytes)):
        text = element.encode("utf-8", "surrogatepass") if isinstance(element, str) else element
        if not paths or text.lstrip(reader.BLANK)[:1] in (b"{", b"["):
            try:
                value = reader.parse_json(text.strip(reader.BLANK))
            except TraceFormatError as error:
                return [Skipped(locator, error.reason)]
            return reader.converted_record(value, locator, str(locator), None)
        return list(read_path(os.fsdecode(text)))
    return [Skipped(locator, f"expected a trace, a JSON record or a trace file's path, not {type(element).__name__}")]


# --------------------------------------------------------------------------- rows and summaries


def verdict_rows(policy: Policy, records: Iterable[Trace | Skipped]) -> Iterator[dict[str, Any]]:
    """One row per verdict (not_applicable included, as `charter check --all` lists them)."""
    for record in records:
        if isinstance(record, Skipped):
            continue
        report = policy.check(record)
        source = str(record.locator) if record.locator else None
        for v in report.verdicts:
            yield {"trace_id": report.trace_id, "source": source, "norm": v.norm, "turn": v.turn,
                   "call": v.call, "verdict": v.kind, "authority": v.authority, "severity": v.severity,
                   "reason": v.reason, "escalate_to": v.escalate_to}


def partial_summary(policy: Policy, records: Iterable[Trace | Skipped]) -> dict[str, Any]:
    """The summary of some records, as plain data to send back and merge in order."""
    summary = CheckSummary()
    for record in records:
        if isinstance(record, Skipped):
            summary.skip(record.locator.file, record.locator.line, record.reason)
        else:
            report = policy.check(record)
            summary.add_counts(report.status, verdict_counts(report.verdicts))
    return attrs.asdict(summary)


def merged_summary(partials: Iterable[dict[str, Any]]) -> CheckSummary:
    """Partial summaries, in input order, as the one `charter check` makes."""
    total = CheckSummary()
    for part in partials:
        total.checked += part["checked"]
        for kind, count in part["statuses"].items():
            total.statuses[kind] = total.statuses.get(kind, 0) + count
        for kind, count in part["verdicts"].items():
            total.verdicts[kind] = total.verdicts.get(kind, 0) + count
        total.skipped.extend(part["skipped"])
    return total
