"""charter.integrations.spark on a real local-mode Spark session (`local[2]`), one per module."""

from __future__ import annotations

import collections
import json
import os
import shutil
import sys

import pytest

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17 on PATH"),
]

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

import charter  # noqa: E402
from charter.integrations.spark import check_dataframe, dataframe_summary  # noqa: E402
from integration_corpus import POLICY, ROOT, row_verdicts  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this interpreter
    session = (SparkSession.builder.master("local[2]").appName("charter-tests")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_a_column_of_jsonl_lines_gives_the_verdicts_of_charter_check(spark, corpus, reference):
    lines = spark.read.text(corpus)
    assert row_verdicts(check_dataframe(POLICY, lines, column="value").collect()) == reference.verdicts
    summary = dataframe_summary(POLICY, lines, column="value").to_json()
    located = {"skipped"}
    assert {k: v for k, v in summary.items() if k not in located} == \
        {k: v for k, v in reference.summary.items() if k not in located}
    reasons = collections.Counter(s["reason"] for s in summary["skipped"])
    assert reasons == collections.Counter(s["reason"] for s in reference.summary["skipped"])
    assert all(s["file"].startswith("<partition ") and s["line"] >= 1 for s in summary["skipped"])


def test_a_column_of_file_paths_gives_exactly_the_summary_of_charter_check(spark, corpus, reference):
    paths = spark.createDataFrame([(p,) for p in corpus], "path string")  # in order, two partitions
    assert dataframe_summary(POLICY, paths, column="path").to_json() == reference.summary


def test_a_struct_column_is_checked_as_its_json(spark):
    traces = spark.read.json(str(ROOT / "examples" / "traces.jsonl"))
    structs = traces.select(F.struct(*traces.columns).alias("trace"))
    rows = check_dataframe([POLICY], structs).collect()
    policy = charter.load(POLICY)
    expected = collections.Counter()
    for line in (ROOT / "examples" / "traces.jsonl").read_text().splitlines():
        report = policy.check(json.loads(line))
        expected.update((report.trace_id, v.norm, v.turn, v.kind) for v in report.verdicts)
    assert collections.Counter((r.trace_id, r.norm, r.turn, r.verdict) for r in rows) == expected


def test_a_missing_column_is_named(spark):
    with pytest.raises(ValueError, match="no column 'trace'.*value"):
        check_dataframe(POLICY, spark.createDataFrame([("x",)], "value string"))
