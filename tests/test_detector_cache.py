"""Detectors that cache on disk, are bounded in time, and say where a value came from.

The cache is a real SQLite file; the detectors are real in-process objects or a real
plugin found through its entry point (a dist-info directory on sys.path) that appends a
line to a file at every call, so calls made in --jobs workers are counted too.
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import textwrap
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

import charter
from charter.cli import main
from charter.detectors.labeller import Labeller, Wanted
from charter.detectors.model import CACHE, CALL, TRACE, Detection, Doubt, Source, Unavailable
from charter.detectors.store import TEXT, Store
from charter.facts.detected import labeller
from charter.detectors.settings import Settings
from charter.reports.render import render_derivation
from charter.traces.model import Message, Trace


class Counting:
    """A score per text (its share of capital letters); counts calls and texts judged."""

    name, version = "caps", "1"

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.calls = 0

    def detect(self, texts):
        self.calls += 1
        self.texts += texts
        return [None if t == "???" else Detection(sum(c.isupper() for c in t) / len(t), 0.9) for t in texts]


class Sleepy:
    """On a batch with a text containing "slow", waits until `release` is set (at most
    `seconds`); else a score of 0.5. `finished` is set when a slow call has ended."""

    name, version = "sleepy", "1"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.release, self.finished = threading.Event(), threading.Event()

    def detect(self, texts):
        if any("slow" in t for t in texts):
            self.release.wait(self.seconds)
            self.finished.set()
        return [Detection(0.5) for _ in texts]


def _trace(*texts: str, id_: str = "t") -> Trace:
    return Trace(id_, tuple(Message(i, "assistant", text) for i, text in enumerate(texts)))


def _labeller(detector, store=None, timeout=None) -> Labeller:
    return Labeller([Wanted("caps", detector.name, frozenset({"assistant"}))], load=lambda name: detector,
                    store=store, timeout=timeout)


TEXTS = ["HELLO there", "quiet", "LOUD", "???", "HELLO there"]


def test_a_second_run_over_the_same_texts_calls_no_detector(tmp_path):
    path = str(tmp_path / "answers.sqlite3")
    cold_detector, warm_detector = Counting(), Counting()
    cold = _labeller(cold_detector, Store(path)).label([_trace(*TEXTS)])
    assert cold_detector.calls == 1 and sorted(cold_detector.texts) == sorted(set(TEXTS))
    warm = _labeller(warm_detector, Store(path)).label([_trace(*TEXTS)])  # a new run: nothing in memory
    assert warm_detector.calls == 0 and warm_detector.texts == []
    assert [m.labels for m in warm[0].messages] == [m.labels for m in cold[0].messages]
    assert {s.origin for s in cold[0].detected.values()} == {CALL}
    assert {s.origin for s in warm[0].detected.values()} == {CACHE}
    assert warm[0].detected["messages[2].labels.caps"] == Source("caps", "1", CACHE, 1.0, 0.9)
    assert warm[0].messages[3].labels["caps"] == Doubt("detector `caps` could not judge this text")


def test_a_new_version_or_another_detector_is_asked_again(tmp_path):
    path = str(tmp_path / "answers.sqlite3")
    _labeller(Counting(), Store(path)).label([_trace("ABC")])
    newer = Counting()
    newer.version = "2"
    _labeller(newer, Store(path)).label([_trace("ABC")])
    assert newer.calls == 1


def test_failures_and_time_outs_are_not_kept(tmp_path):
    path = str(tmp_path / "answers.sqlite3")
    [trace] = _labeller(Sleepy(1.0), Store(path), timeout=0.1).label([_trace("slow one")])
    assert trace.messages[0].labels["caps"] == Doubt("detector `sleepy` timed out after 0.1 s")
    assert Store(path).get("sleepy", "1", TEXT, ["slow one"]) == {}


@pytest.mark.parametrize("break_it", ["corrupt", "directory is a file"])
def test_a_cache_that_cannot_be_used_is_a_warning_and_a_run_without_it(tmp_path, break_it):
    path = tmp_path / "answers.sqlite3"
    if break_it == "corrupt":
        path.write_bytes(b"this is not a database, just some bytes " * 100)
    else:
        (tmp_path / "file").write_text("")
        path = tmp_path / "file" / "answers.sqlite3"
    store = Store(str(path))
    detector = Counting()
    [trace] = _labeller(detector, store).label([_trace("LOUD")])
    assert trace.messages[0].labels["caps"] == 1.0 and detector.calls == 1
    assert store.problem.startswith(f"the detector cache {path} cannot be used (")
    assert trace.notes == (store.problem,)  # said once, on the batch's first trace
    [again] = _labeller(Counting(), store).label([_trace("LOUD")])
    assert again.messages[0].labels["caps"] == 1.0


def _put(path: str, worker: int) -> None:
    store = Store(path)
    for start in range(0, 200, 20):
        store.put("caps", "1", TEXT, {f"{worker}-{i}": Detection(i / 200) for i in range(start, start + 20)})


def test_worker_processes_write_one_file_at_once(tmp_path):
    path = str(tmp_path / "answers.sqlite3")
    Store(path).usable()  # made (in WAL mode) before the processes race
    processes = [multiprocessing.get_context("fork").Process(target=_put, args=(path, w)) for w in range(4)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(60)
    assert [p.exitcode for p in processes] == [0] * 4
    found = Store(path).get("caps", "1", TEXT, [f"{w}-{i}" for w in range(4) for i in range(200)])
    assert len(found) == 800 and found["3-100"] == Detection(0.5)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.booleans(), st.text(max_size=8), st.floats(allow_nan=False, allow_infinity=False),
                          st.none()), min_size=1, max_size=8), st.floats(0, 1) | st.none())
def test_an_answer_comes_back_from_the_cache_as_it_went_in(tmp_path_factory, values, confidence):
    path = str(tmp_path_factory.mktemp("cache") / "answers.sqlite3")
    answers = {f"text {i}": None if v is None else Detection(v, confidence) for i, v in enumerate(values)}
    Store(path).put("d", "1", TEXT, answers)
    assert Store(path).get("d", "1", TEXT, answers) == answers


# --------------------------------------------------------------------------- the time bound


def test_a_call_that_takes_too_long_is_unknown_naming_the_detector_and_not_run_twice_at_once():
    detector = Sleepy(60)  # until the test releases it
    labeller = _labeller(detector, timeout=0.1)
    started = time.monotonic()
    [slow] = labeller.label([_trace("slow reply", "fast reply")])
    assert time.monotonic() - started < 10  # not the detector's time
    assert [m.labels["caps"] for m in slow.messages] == [Doubt("detector `sleepy` timed out after 0.1 s")] * 2
    assert slow.notes == ("messages[0].labels.caps: detector `sleepy` timed out after 0.1 s",
                          "messages[1].labels.caps: detector `sleepy` timed out after 0.1 s")
    [busy] = labeller.label([_trace("another")])  # the slow call still runs
    assert busy.messages[0].labels["caps"].why == \
        "detector `sleepy` is still busy with a call that took longer than 0.1 s"
    detector.release.set()
    assert detector.finished.wait(10)
    deadline = time.monotonic() + 10
    while (later := labeller.label([_trace("and another")])[0].messages[0].labels["caps"]) != 0.5:
        assert time.monotonic() < deadline, later  # the labeller has not yet seen the call end
        time.sleep(0.01)


def test_an_unavailable_detector_costs_its_batch_without_asking_text_by_text():
    class Down:
        name, version, calls = "down", "1", 0

        def detect(self, texts):
            self.calls += 1
            raise Unavailable("the service answered HTTP 503")

    detector = Down()
    [trace] = _labeller(detector).label([_trace("a", "b", "c")])
    assert detector.calls == 1
    assert trace.messages[2].labels["caps"].why == "detector `down` is unavailable: the service answered HTTP 503"


@pytest.mark.parametrize("answer, why", [
    (Detection(float("nan")), "detector `odd` answered nan, not a number, a boolean or a string"),
    (Detection(0.5, 1.5), "detector `odd` answered a confidence of 1.5, not in [0, 1]"),
    (Detection([1]), "detector `odd` answered [1], not a number, a boolean or a string"),
    ("yes", "detector `odd` answered 'yes', not a Detection"),
])
def test_an_answer_out_of_shape_is_unknown_never_a_guess(answer, why):
    class Odd:
        name, version = "odd", "1"

        def detect(self, texts):
            return [answer for _ in texts]

    [trace] = _labeller(Odd()).label([_trace("x")])
    assert trace.messages[0].labels["caps"] == Doubt(why)


# --------------------------------------------------------------------------- through charter check

PLUGIN = '''
import os, time
from charter.detectors.model import Detection

class Caps:
    name, version = "caps", "1"

    def detect(self, texts):
        with open(os.environ["CAPS_CALLS"], "a") as calls:
            calls.write(f"{len(texts)}\\n")
        if any("slow" in t for t in texts):
            time.sleep(3)
        return [Detection(sum(c.isupper() for c in t) / max(len(t), 1)) for t in texts]
'''

POLICY = '''label caps: score from detector caps uncertain between 0.4 and 0.6
norm calm:
    forbid assistant.label("caps") > 0.5
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """The `caps` plugin installed on sys.path (found by this process and its workers)."""
    (tmp_path / "caps_plugin.py").write_text(PLUGIN)
    info = tmp_path / "caps_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: caps-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[charter.detectors]\ncaps = caps_plugin:Caps\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("CAPS_CALLS", str(calls))
    policy = tmp_path / "p.charter"
    policy.write_text(POLICY)
    traces = tmp_path / "t.jsonl"
    replies = ["STOP SHOUTING", "Sure, here it is.", "Fine, OK.", "STOP SHOUTING", "HeLLo"] * 20
    traces.write_text("".join(json.dumps({"id": f"r{i}", "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": reply}]}) + "\n"
        for i, reply in enumerate(replies)))
    return str(policy), str(traces), calls


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def _check(policy, traces, *options) -> tuple[dict, str]:
    result = CliRunner().invoke(main, ["check", policy, "--traces", traces, "--format", "json", "--explain", "all",
                                       *options])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    return {(t["id"], v["norm"]): v for t in report["traces"] for v in t["verdicts"]}, result.stderr


def _origins(verdicts: dict) -> set[str]:
    return {f["detected"]["from"] for v in verdicts.values() for f in v["explanation"]["facts"] if "detected" in f}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_charter_check_twice_calls_the_detector_only_the_first_time(plugin, tmp_path, jobs):
    policy, traces, calls = plugin
    cache = str(tmp_path / "answers.sqlite3")
    cold, _ = _check(policy, traces, "--detector-cache", cache, "-j", jobs)
    judged = sum(map(int, calls.read_text().split()))
    assert judged == 4 if jobs == "1" else judged >= 4  # four distinct texts, once per process at most
    made = calls.read_text()
    warm, _ = _check(policy, traces, "--detector-cache", cache, "-j", jobs)
    assert calls.read_text() == made  # no call at all
    assert {k: v["verdict"] for k, v in warm.items()} == {k: v["verdict"] for k, v in cold.items()}
    assert cold[("r0", "calm")]["verdict"] == "violated" and cold[("r1", "calm")]["verdict"] == "complied"
    # With two workers, one may find in the cache what the other has just written.
    assert (_origins(cold) == {CALL} if jobs == "1" else CALL in _origins(cold) <= {CALL, CACHE})
    assert _origins(warm) == {CACHE}
    [fact] = warm[("r0", "calm")]["explanation"]["facts"]
    assert fact == {"fact": "messages[1].labels.caps", "value": 12 / 13, "known": True,
                    "detected": {"detector": "caps", "version": "1", "from": "cache", "value": 12 / 13, "confidence": None}}
    _check(policy, traces, "--no-detector-cache", "-j", jobs)
    assert calls.read_text() != made


def test_a_band_score_from_the_cache_is_unspecified_with_its_source(plugin, tmp_path):
    policy, traces, _ = plugin
    verdicts, _ = _check(policy, traces, "--no-detector-cache")
    hello = verdicts[("r4", "calm")]  # "HeLLo": 0.6, on the band's edge, so known; "Fine, OK." 0.33
    assert hello["verdict"] == "violated"
    Path(policy).write_text(POLICY.replace("0.4 and 0.6", "0.3 and 0.7"))
    verdicts, _ = _check(policy, traces, "--no-detector-cache")
    [fact] = verdicts[("r4", "calm")]["explanation"]["facts"]
    assert verdicts[("r4", "calm")]["verdict"] == "unspecified"
    assert fact["known"] is False and fact["why_unknown"] == "detector `caps` said 0.60, inside the uncertainty band (0.3, 0.7)"
    assert fact["detected"] == {"detector": "caps", "version": "1", "from": "call", "value": 0.6, "confidence": None}


def test_a_detector_that_sleeps_past_the_time_bound_leaves_its_labels_unknown(plugin, tmp_path):
    policy, traces, _ = plugin
    slow = tmp_path / "slow.jsonl"
    slow.write_text(json.dumps({"id": "slow", "messages": [{"role": "assistant", "content": "so slow"}]}) + "\n")
    started = time.monotonic()
    verdicts, stderr = _check(policy, str(slow), "--detector-timeout", "0.3", "--no-detector-cache")
    assert time.monotonic() - started < 2.5  # the detector sleeps 3 s
    verdict = verdicts[("slow", "calm")]
    assert verdict["verdict"] == "unspecified"
    assert verdict["explanation"]["facts"][0]["why_unknown"] == "detector `caps` timed out after 0.3 s"
    assert "messages[0].labels.caps: detector `caps` timed out after 0.3 s" in stderr


def test_a_corrupt_cache_file_is_a_warning_once_and_the_run_goes_on(plugin, tmp_path):
    policy, traces, calls = plugin
    cache = tmp_path / "answers.sqlite3"
    cache.write_bytes(b"garbage" * 1000)
    verdicts, stderr = _check(policy, traces, "--detector-cache", str(cache))
    assert stderr.count(f"warning: the detector cache {cache} cannot be used (file is not a database)") == 1
    assert verdicts[("r0", "calm")]["verdict"] == "violated" and "Traceback" not in stderr


def test_the_text_explanation_names_the_detector_version_and_origin(tmp_path):
    policy = charter.loads(POLICY)
    made = labeller(policy.program, Settings(cache=str(tmp_path / "c.sqlite3")))
    made.detectors["caps"] = Counting()  # in process: the plugin of the tests above is not installed here
    [trace] = made.label([_trace("LOUD")])
    [verdict] = policy.check(trace).verdicts
    text = render_derivation(verdict, trace)
    assert "fact  messages[0].labels.caps = 1.0 (detector `caps` 1 said 1.0 with confidence 0.90, " \
           "called this run)" in text, text
    carried = _trace("LOUD")
    carried.messages[0].labels["caps"] = 0.2
    [kept] = made.label([carried])
    [verdict] = policy.check(kept).verdicts
    assert kept.detected == {"messages[0].labels.caps": Source("caps", None, TRACE)}
    assert "= 0.2 (carried by the trace (detector `caps` not called))" in render_derivation(verdict, kept)


def test_the_benchmark_measures_a_warm_run_that_calls_no_detector():
    import runpy

    bench = runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "detectors.py"))
    traces = [_trace("password = 'hunter2hunter2'", "fine", id_="a"), _trace("fine", "AKIAIOSFODNN7EXAMPLE", id_="b")]
    row = bench["measure"]("secrets", traces, 1)
    assert (row["messages"], row["distinct_texts"], row["calls_cold"], row["calls_warm"]) == (4, 3, 1, 0)


BUILT_IN_TEXTS = {
    "language": "Bonjour, je voudrais savoir comment réinitialiser mon mot de passe, s'il vous plaît, "
                "car je ne peux plus me connecter à mon compte depuis hier soir.",
    "secrets": 'Use AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" for the deploy.',
    "profanity": "You are a stupid useless idiot.",
    "sentiment": "I am so grateful, this was wonderful help!",
}


@pytest.mark.parametrize("name", sorted(BUILT_IN_TEXTS))
def test_each_built_in_detector_is_called_cold_and_not_at_all_warm(tmp_path, name):
    path = str(tmp_path / "answers.sqlite3")
    trace = _trace(BUILT_IN_TEXTS[name], "Thank you.")
    runs = []
    for _ in range(2):  # two runs, each with a new labeller: nothing kept in memory between them
        labelling = Labeller([Wanted("x", name, frozenset({"assistant"}))], store=Store(path))
        [labelled] = labelling.label([trace])
        runs.append((labelling.calls, [m.labels.get("x") for m in labelled.messages],
                     {s.origin for s in labelled.detected.values()}))
    (cold_calls, cold_labels, cold_from), (warm_calls, warm_labels, warm_from) = runs
    assert cold_calls >= 1 and cold_from == {CALL}
    assert warm_calls == 0 and warm_from == {CACHE} and warm_labels == cold_labels
