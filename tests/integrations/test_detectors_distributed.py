"""Detectors on Dask (a real local cluster of two worker processes) and Spark (`local[2]`):
labels detected on the workers, in batches per partition, through an HTTP detector whose
server (on localhost, in this process) counts what it is asked; the workers share one
disk cache, so a run with fresh labellers asks nothing."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import dask.bag as db
import pytest
from click.testing import CliRunner
from distributed import Client, LocalCluster

from charter.cli import main
from charter.detectors.endpoint import Service
from charter.detectors.settings import Settings
from charter.integrations.dask import bag_summary, check_bag

from moderation_server import serving

POLICY = '''label harassment: score from detector tox
norm no_insults:
    forbid assistant.label("harassment") > 0.5
'''
REPLIES = ["You idiot.", "Happy to help.", "Here is your refund.", "What an idiot question."]


def _record(i: int) -> dict:
    return {"id": f"r{i}", "messages": [{"role": "user", "content": "hi"},
                                        {"role": "assistant", "content": REPLIES[i % len(REPLIES)]}]}


RECORDS = [_record(i) for i in range(40)]
COUNTS = {"complied": 20, "violated": 20, "conflict": 0, "not_applicable": 0, "overridden": 0, "pending": 0,
          "unspecified": 0}
EXPECTED = {f"r{i}": "violated" if "idiot" in REPLIES[i % len(REPLIES)] else "complied" for i in range(40)}


@pytest.fixture(scope="module")
def server():
    with serving() as running:
        yield running


@pytest.fixture
def setup(server, tmp_path):
    httpd, base = server
    httpd.requests.clear()
    policy = tmp_path / "p.charter"
    policy.write_text(POLICY)
    service = Service("tox", f"{base}/score", kind="json", request_field="texts", scores="data.scores.*.toxic")
    return httpd, str(policy), Settings(cache=str(tmp_path / "answers.sqlite3"), services=(service,))


def _asked(httpd) -> list[str]:
    return [text for _, body, _ in httpd.requests for text in body["texts"]]


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            yield client


def test_a_bag_is_labelled_on_the_workers_and_a_second_run_reads_the_shared_cache(client, setup):
    httpd, policy, settings = setup
    bag = db.from_sequence(RECORDS, npartitions=4)
    rows = check_bag(policy, bag, settings).compute()
    assert {r["trace_id"]: r["verdict"] for r in rows} == EXPECTED
    asked = _asked(httpd)
    assert set(asked) == set(REPLIES) and len(asked) <= 2 * len(REPLIES)  # at most once per worker
    assert all(len(body["texts"]) <= len(REPLIES) for _, body, _ in httpd.requests)  # a partition's distinct texts
    fresh = Settings(settings.mapping, settings.cache, 59.0, settings.services)  # new labellers, no memory
    assert bag_summary(policy, bag, fresh).to_json()["verdicts"] == COUNTS
    assert _asked(httpd) == asked  # the workers read the disk cache


def test_charter_check_on_dask_detects_with_the_command_lines_settings(client, setup, tmp_path):
    httpd, policy, settings = setup
    traces = tmp_path / "t.jsonl"
    traces.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    config = tmp_path / "detectors.toml"
    service = settings.services[0]
    config.write_text(f'[detectors.insults]\nkind = "json"\nurl = "{service.url}"\nrequest_field = "texts"\n'
                      f'scores = "data.scores.*.toxic"\n')
    plain = tmp_path / "plain.charter"
    plain.write_text(POLICY.split("\n", 1)[1])  # no declaration: the command line maps the label
    result = CliRunner().invoke(main, ["check", str(plain), "--traces", str(traces), "--format", "json",
                                       "--engine", "dask", "--scheduler", client.scheduler.address,
                                       "--detector", "harassment=insults", "--detector-config", str(config),
                                       "--detector-cache", str(tmp_path / "cli.sqlite3")])
    report = json.loads(result.stdout)
    assert {t["id"]: t["verdicts"][0]["verdict"] for t in report["traces"]} == EXPECTED
    assert set(_asked(httpd)) == set(REPLIES)


@pytest.mark.spark
@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17 on PATH")
def test_a_dataframe_is_labelled_on_the_workers_and_a_second_run_reads_the_shared_cache(setup):
    from pyspark.sql import SparkSession

    from charter.integrations.spark import check_dataframe, dataframe_summary

    httpd, policy, settings = setup
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (SparkSession.builder.master("local[2]").appName("charter-detector-tests")
             .config("spark.ui.enabled", "false").getOrCreate())
    try:
        df = spark.createDataFrame([(json.dumps(r),) for r in RECORDS], "trace string").repartition(2)
        rows = check_dataframe(policy, df, detectors=settings).collect()
        assert {r.trace_id: r.verdict for r in rows} == EXPECTED
        asked = _asked(httpd)
        assert set(asked) == set(REPLIES) and len(asked) <= 2 * len(REPLIES)
        fresh = Settings(settings.mapping, settings.cache, 59.0, settings.services)
        assert dataframe_summary(policy, df, detectors=fresh).to_json()["verdicts"] == COUNTS
        assert _asked(httpd) == asked
    finally:
        spark.stop()
    assert Path(settings.cache).exists()
