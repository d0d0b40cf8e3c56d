"""What the distributed engines share: a policy sent to workers as the texts of its files
and compiled once per worker process, the records a worker is given, the per-verdict rows
it returns, and the `charter check` summary made of partial summaries."""

from __future__ import annotations

import os
from typing import Any, Iterable, Iterator, Sequence

import attrs

from .. import Policy
from ..check.resolve import STDLIB_PREFIX, stdlib_source
from ..diagnostics import Diagnostic, PolicyError
from ..loader import load, load_program
from ..parallel import read_path
from ..report import CheckSummary, verdict_counts
from ..source import Source, Span, content_hash
from ..traces import reader
from ..traces.errors import TraceFormatError
from ..traces.model import Locator, Trace
from ..traces.reader import Skipped

# The columns of a verdict row, in order (Spark's schema follows it).
ROW_FIELDS = ("trace_id", "source", "norm", "turn", "call", "verdict", "authority", "severity",
              "reason", "escalate_to")


@attrs.frozen
class PolicyFiles:
    """A policy as its layers' texts (`std.NAME` layers by name): what is sent to workers,
    so that a worker needs neither the files nor a pickled compiled policy."""

    layers: tuple[tuple[str, str | None], ...]  # (file name, text), or ("std.NAME", None)
    digest: str

    @classmethod
    def read(cls, paths: str | Sequence[str]) -> PolicyFiles:
        """Load the policy here first, so that its errors are raised here, once."""
        paths = [paths] if isinstance(paths, str) else list(paths)
        loaded = load(paths)
        _refuse_path_imports(loaded)
        by_name = {module.source.name: module.source for module in loaded.policies}
        layers = tuple((path, None) if path not in by_name and path.startswith(STDLIB_PREFIX)
                       else (path, by_name[path].text) for path in paths)
        return cls(layers, content_hash(loaded.program.sources))

    def load(self) -> Policy:
        texts = [Source(name, text) for name, text in self.layers if text is not None]
        stdlib = [name for name, text in self.layers if text is None]
        policy = Policy(load_program(stdlib, texts))
        if policy.content_hash != self.digest:  # e.g. a std.NAME layer given after a file layer
            raise RuntimeError(f"the policy compiled on a worker is not the one sent ({self.digest}); "
                               "give the std.NAME layers first")
        return policy


def _refuse_path_imports(loaded) -> None:
    """A `use "file.charter"` import is read relative to its file, which a worker does not have."""
    for module in loaded.modules:
        if module.is_policy or _is_stdlib(module.source):
            continue
        raise PolicyError([Diagnostic(
            "E206", f"{module.source.name} is imported by path, which the distributed engines cannot send",
            Span.point(module.source.name, 1, 1),
            hint="give it as a policy layer, or check with `charter check` on one machine")])


def _is_stdlib(source: Source) -> bool:
    name = source.name
    if not (name.startswith("std/") and name.endswith(".charter")):
        return False
    own = stdlib_source(name[len("std/"):-len(".charter")])
    return own is not None and own.text == source.text


# One compiled policy per worker process, by digest: a worker compiles each policy once,
# however many partitions or batches it is given.
_compiled: dict[str, Policy] = {}


def compiled(files: PolicyFiles) -> Policy:
    policy = _compiled.get(files.digest)
    if policy is None:
        policy = _compiled[files.digest] = files.load()
    return policy


def compilations() -> int:
    """How many policies this process has compiled (the tests read it on each worker)."""
    return len(_compiled)


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
