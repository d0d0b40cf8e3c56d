"""Checking traces on Spark (`pip install "charter[spark]"`).

    from pyspark.sql import SparkSession
    from charter.integrations.spark import check_dataframe, dataframe_summary

    spark = SparkSession.builder.getOrCreate()
    traces = spark.read.text("corpus/*.jsonl")                      # a column `value`
    verdicts = check_dataframe(["policy.charter"], traces, column="value")
    verdicts.groupBy("norm", "verdict").count().show()
    summary = dataframe_summary(["policy.charter"], traces, column="value")

The column holds one trace per row: a JSON text (a JSONL line, in any format the reader
knows), a struct/map (turned into JSON first), or the path of a trace file (a text not
opening with `{` or `[`), read as `charter check` reads it. Rows are checked with
`mapInArrow`; the policy is sent as the texts of its files and compiled once per Python
worker process (Spark reuses them). The labels the policy declares `from detector D` are
detected there, in batches of each partition's traces; `detectors` (a
`charter.detectors.settings.Settings`) adds a mapping, a disk cache (one file the workers
of one machine share), a time bound and HTTP detectors.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator, Sequence

import pyarrow as pa
from pyspark import TaskContext
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from ..detectors.settings import Settings
from ..reports.render import CheckSummary
from ..traces.model import Locator
from ._shipping import (
    ROW_FIELDS, PolicyFiles, compiled, labelled, merged_summary, partial_summary, records_of, verdict_rows,
)

__all__ = ["VERDICT_SCHEMA", "check_dataframe", "dataframe_summary"]

_INTEGERS = {"turn", "call"}
VERDICT_SCHEMA = ", ".join(f"{name} {'int' if name in _INTEGERS else 'string'}" for name in ROW_FIELDS)
_ARROW_SCHEMA = pa.schema([(name, pa.int32() if name in _INTEGERS else pa.string()) for name in ROW_FIELDS])
_SUMMARY_SCHEMA = "partition int, summary string"
_ARROW_SUMMARY_SCHEMA = pa.schema([("partition", pa.int32()), ("summary", pa.string())])


def check_dataframe(policy: str | Sequence[str], df: DataFrame, column: str = "trace",
                    detectors: Settings | None = None) -> DataFrame:
    """A DataFrame of verdict rows (VERDICT_SCHEMA: trace_id, source, norm, turn, call,
    verdict, authority, severity, reason, escalate_to), one per verdict, not_applicable
    included; rows of `column` that are not traces are left out (`dataframe_summary` lists
    them). `policy`: its files' paths."""
    files = PolicyFiles.read(policy)

    def check(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        rows = verdict_rows(compiled(files), labelled(files, _records(batches), detectors))
        for chunk in _chunks(rows, 4096):
            yield pa.RecordBatch.from_pylist(chunk, schema=_ARROW_SCHEMA)

    return _traces(df, column).mapInArrow(check, VERDICT_SCHEMA)


def dataframe_summary(policy: str | Sequence[str], df: DataFrame, column: str = "trace",
                      detectors: Settings | None = None) -> CheckSummary:
    """The summary `charter check` gives of the same records (`.to_json()`); skipped rows
    are located as `<partition P>:ROW`."""
    files = PolicyFiles.read(policy)

    def summarise(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        part = partial_summary(compiled(files), labelled(files, _records(batches), detectors))
        yield pa.RecordBatch.from_pylist([{"partition": TaskContext.get().partitionId(),
                                           "summary": json.dumps(part)}], schema=_ARROW_SUMMARY_SCHEMA)

    parts = _traces(df, column).mapInArrow(summarise, _SUMMARY_SCHEMA).collect()
    return merged_summary(json.loads(row.summary) for row in sorted(parts, key=lambda row: row.partition))


def _traces(df: DataFrame, column: str) -> DataFrame:
    if column not in df.columns:
        raise ValueError(f"the DataFrame has no column {column!r}; its columns are {', '.join(df.columns)}")
    value = F.col(column)
    if not isinstance(df.schema[column].dataType, StringType):
        value = F.to_json(value)
    return df.select(value.alias("trace"))


def _records(batches: Iterable[pa.RecordBatch]) -> Iterator:
    partition = f"<partition {TaskContext.get().partitionId()}>"
    number = 0
    for batch in batches:
        for text in batch.column(0).to_pylist():
            number += 1
            yield from records_of(text, Locator(partition, number))


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
