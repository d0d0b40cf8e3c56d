"""charter.integrations.dask on a real local Dask cluster of two worker processes."""

from __future__ import annotations

import json

import dask.bag as db
import pytest
from click.testing import CliRunner
from distributed import Client, LocalCluster

import charter
from charter.cli import main
from charter.source.diagnostics import PolicyError
from charter.integrations import _shipping
from charter.integrations.dask import bag_summary, check_bag

from integration_corpus import POLICY, check_locally, row_verdicts


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            yield client


def test_a_bag_of_trace_files_gives_the_verdicts_and_summary_of_charter_check(client, corpus, reference):
    bag = db.from_sequence(corpus, npartitions=len(corpus))
    rows = check_bag([POLICY], bag).compute()
    assert sum(reference.verdicts.values()) > 50_000
    assert row_verdicts(rows) == reference.verdicts
    assert bag_summary([POLICY], bag).to_json() == reference.summary
    assert reference.summary["traces"] > 10_000 and reference.summary["records"]["skipped"] > 0


def test_each_worker_compiles_the_policy_once(client):
    trace = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello."}]}
    assert check_bag([POLICY], db.from_sequence([trace] * 48, npartitions=12)).count().compute() > 48
    compiled = client.run(_shipping.compilations, charter.load(POLICY).content_hash)
    assert len(compiled) == 2 and set(compiled.values()) == {1}


def test_charter_check_on_dask_writes_the_same_report(client, corpus, reference):
    assert check_locally(corpus, "--engine", "dask", "--scheduler", client.scheduler.address) == reference.output


def test_a_bag_of_records_in_memory(client):
    records = [
        {"id": "promise", "messages": [{"role": "user", "content": "I want a refund"},
                                       {"role": "assistant", "content": "I will refund you today."}]},
        '{"id": "line", "messages": [{"role": "user", "content": "hello"}]}',
        {"no": "messages"},
        charter.Trace("object", (charter.Message(0, "user", "hi"),)),
    ]
    bag = db.from_sequence(records, npartitions=2)
    rows = check_bag(POLICY, bag).compute()
    policy = charter.load(POLICY)
    traces = (records[0], json.loads(records[1]), records[3])
    expected = [v.kind for trace in traces for v in policy.check(trace).verdicts]
    assert sorted(row["verdict"] for row in rows) == sorted(expected)
    assert {row["trace_id"] for row in rows} == {"promise", "line", "object"}
    summary = bag_summary(POLICY, bag).to_json()
    assert summary["traces"] == 3
    assert [(s["file"], s["line"]) for s in summary["skipped"]] == [("<partition 1>", 1)]
    assert summary["skipped"][0]["reason"].startswith("not a trace")


def test_policy_errors_are_raised_before_anything_is_sent(tmp_path):
    broken = tmp_path / "broken.charter"
    broken.write_text("charter broken\nnorm x {\n")
    with pytest.raises(PolicyError):
        check_bag(str(broken), db.from_sequence([], npartitions=1))


def test_the_policy_travels_as_texts_with_its_imports(client, tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "words.charter").write_text('charter words\nlet promise = assistant says "refund"\n')
    main_file = tmp_path / "main.charter"
    main_file.write_text('charter main by developer\nauthorities developer > user\n'
                         'use "lib/words.charter" as words\nnorm no_promise:\n    forbid words.promise\n')
    trace = {"id": "t", "messages": [{"role": "user", "content": "hi"},
                                     {"role": "assistant", "content": "A refund it is."}]}
    expected = charter.load(str(main_file)).check(trace).verdicts
    rows = check_bag(str(main_file), db.from_sequence([trace], npartitions=1))
    (tmp_path / "lib" / "words.charter").unlink()  # the workers never read the files
    main_file.unlink()
    assert [(r["norm"], r["turn"], r["verdict"]) for r in rows.compute()] == \
        [(v.norm, v.turn, v.kind) for v in expected] == [("no_promise", 1, "violated")]


def test_the_cli_says_when_dask_is_given_with_record(tmp_path, corpus):
    result = CliRunner().invoke(main, ["check", POLICY, "--traces", corpus[0], "--engine", "dask",
                                       "--record", str(tmp_path / "bundle")])
    assert result.exit_code == 2 and "--record" in result.output


def test_an_unreachable_scheduler_is_an_error_not_a_traceback(corpus):
    result = CliRunner().invoke(main, ["check", POLICY, "--traces", corpus[0], "--engine", "dask",
                                       "--scheduler", "tcp://127.0.0.1:9", "--no-progress"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--scheduler" in result.output and "127.0.0.1:9" in result.output
