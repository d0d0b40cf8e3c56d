"""Corpora of any size: `--jobs N` gives the same bytes as `--jobs 1`, the records read
in batches are the records the reader reads, directories and glob patterns for
--traces, the progress bar only on a terminal, and memory that does not grow with the
corpus (peak RSS of `charter check` in a subprocess)."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import charter
import charter.reports.render
from charter.corpus import parallel
from charter.cli import main
from charter.corpus.parallel import Progress, expand_paths, progress_wanted
from charter.traces.reader import Skipped, read_traces

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "examples" / "acme_support.charter")
CHARTER_SCRIPT = Path(sys.executable).parent / "charter"
FORMATS = ["text", "json", "jsonl", "junit", "sarif"]


def _load_corpus_module():
    spec = importlib.util.spec_from_file_location("charter_bench_corpus", ROOT / "benchmarks" / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


corpus = _load_corpus_module()


def write_corpus(path: Path, traces: int, seed: int = 0, malformed: float = 0.0, max_messages: int = 30) -> Path:
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        corpus.write(out, traces=traces, seed=seed, malformed=malformed, max_messages=max_messages)
    return path


def run(*args: str, input: str | None = None, env: dict | None = None):
    result = CliRunner(env=env).invoke(main, list(args), input=input)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """A few thousand generated traces, malformed lines interleaved, in two files."""
    where = tmp_path_factory.mktemp("big")
    write_corpus(where / "a.jsonl", 1800, seed=1, malformed=0.02)
    write_corpus(where / "b.jsonl", 1200, seed=2, malformed=0.02)
    return where


# --------------------------------------------------------------------------- the corpus generator


def test_generator_is_deterministic_and_realistic(tmp_path):
    first = write_corpus(tmp_path / "1.jsonl", 300, seed=7, malformed=0.05).read_bytes()
    second = write_corpus(tmp_path / "2.jsonl", 300, seed=7, malformed=0.05).read_bytes()
    assert first == second
    assert write_corpus(tmp_path / "3.jsonl", 300, seed=8).read_bytes() != first
    records = list(read_traces(str(tmp_path / "1.jsonl")))
    traces = [r for r in records if not isinstance(r, Skipped)]
    assert len(records) == 300 and 0 < len(records) - len(traces) < 40
    assert all(2 <= len(t.messages) <= 30 for t in traces)
    assert any(call for t in traces for m in t.messages for call in m.tool_calls)
    assert any(m.labels for t in traces for m in t.messages)
    assert len({t.id for t in traces}) == len(traces)


def test_generator_command_line(tmp_path):
    out = tmp_path / "c.jsonl"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "corpus.py"), "--traces", "50", "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 50
    assert corpus.parse_size("200MB") == 200 << 20 and corpus.parse_size("1GB") == 1 << 30


# --------------------------------------------------------------------------- --jobs


@pytest.mark.parametrize("fmt", FORMATS)
def test_jobs_give_the_same_bytes(big, fmt, monkeypatch):
    monkeypatch.chdir(big)
    args = ["check", EXAMPLE, "--traces", "a.jsonl", "--traces", "b.jsonl", "--format", fmt]
    one = run(*args, "--jobs", "1")
    two = run(*args, "--jobs", "2")
    assert one.exit_code == two.exit_code == 2  # malformed lines were skipped
    assert one.stdout_bytes == two.stdout_bytes
    assert one.stderr_bytes == two.stderr_bytes
    if fmt == "json":
        summary = json.loads(one.stdout)["summary"]
        assert summary["records"]["total"] == 3000
        assert 0 < summary["records"]["skipped"] < 150
        assert [s["file"] for s in summary["skipped"]] == sorted(s["file"] for s in summary["skipped"])


def test_jobs_zero_means_one_per_cpu(big, monkeypatch):
    monkeypatch.chdir(big)
    args = ["check", EXAMPLE, "--traces", "b.jsonl", "--format", "jsonl"]
    assert run(*args, "--jobs", "0").stdout_bytes == run(*args).stdout_bytes


def test_jobs_must_not_be_negative(big):
    result = run("check", EXAMPLE, "--traces", str(big / "a.jsonl"), "--jobs", "-1")
    assert result.exit_code == 2 and "Invalid value for '--jobs'" in result.stderr


TRICKY = {
    # JSONL with a byte order mark, blank lines, CRLF, a line that is not UTF-8, JSON that is no trace
    "bom.jsonl": b"\xef\xbb\xbf" + b'{"id": "b1", "messages": [{"role": "user", "content": "hi"}]}\r\n\r\n'
                 b'\n   \n{"messages": [{"role": "assistant", "content": "mail bob@example.com"}]}\n'
                 b'\xff\xfe not utf-8\n42\n"text"\n[1, 2]\n{"id": "b2", "messages": []}\n',
    # JSONL whose first line is broken: still read line by line by the reader
    "broken-first.jsonl": b'{"id": "x", "messages": [\n{"id": "y", "messages": [{"role": "user", "content": "a"}]}\n'
                          b'{"id": "z", "messages": [{"role": "assistant", "content": "lol"}]}\n',
    # one JSON document over several lines, and an array of traces
    "one.json": b'\n{\n  "id": "one",\n  "messages": [{"role": "user", "content": "I want a refund"},\n'
                b'    {"role": "assistant", "content": "Your refund is approved."}]\n}\n',
    "array.json": b'[\n  {"id": "a1", "messages": [{"role": "user", "content": "x"}]},\n'
                  b'  {"messages": [{"role": "robot"}]},\n  {"id": "a3", "messages": []}\n]\n',
    "broken.json": b'[\n  {"id": "a1", "messages": [}\n]\n',
    "blank.jsonl": b"\n\n  \n",
    "empty.jsonl": b"",
}


def _reference(policy: charter.Policy, paths: list[str]) -> list[dict]:
    """What the reader and Policy.check make of `paths`, record by record."""
    out = []
    for path in paths:
        for record in read_traces(path):
            if isinstance(record, Skipped):
                out.append({"skipped": [record.locator.file, record.locator.line, record.reason]})
            else:
                out.append(policy.check(record).to_json(True, explain="violations"))  # check's default --explain
    return out


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_batched_records_are_the_readers_records(tmp_path, monkeypatch, jobs):
    """Lines are decoded away from the reader (in batches, maybe in a worker): the
    records, their locators and the skip reasons must be the reader's own."""
    monkeypatch.chdir(tmp_path)
    for name, data in TRICKY.items():
        Path(name).write_bytes(data)
    names = list(TRICKY) + ["missing.jsonl"]
    result = run("check", EXAMPLE, *[a for n in names for a in ("--traces", n)], "--format", "json", "--all",
                 "--jobs", jobs)
    report = json.loads(result.stdout)
    skipped = iter(report["summary"]["skipped"])
    traces = iter(report["traces"])
    got = []
    for expected in _reference(charter.load(EXAMPLE), names):
        if "skipped" in expected:
            s = next(skipped)
            got.append({"skipped": [s["file"], s["line"], s["reason"]]})
        else:
            got.append(next(traces))
    assert got == _reference(charter.load(EXAMPLE), names)
    assert next(skipped, None) is None and next(traces, None) is None


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_stdin_in_batches(big, jobs):
    data = (big / "b.jsonl").read_text()
    piped = run("check", EXAMPLE, "--traces", "-", "--format", "jsonl", "--jobs", jobs, input=data)
    from_file = run("check", EXAMPLE, "--traces", str(big / "b.jsonl"), "--format", "jsonl")
    assert piped.stdout.replace("<stdin>", "F") == from_file.stdout.replace(str(big / "b.jsonl"), "F")


def test_stdin_document(tmp_path):
    result = run("check", EXAMPLE, "--traces", "-", "--format", "json", "--jobs", "2",
                 input=TRICKY["array.json"].decode())
    report = json.loads(result.stdout)
    assert [t["source"] for t in report["traces"]] == ["<stdin>:2", "<stdin>:4"]
    assert report["summary"]["skipped"][0]["line"] == 3


def _check_with_workers(path: Path, make_paths: list[str]) -> list:
    """`check_batches` in 2 workers, with a checker of EXAMPLE here and, for spawned
    workers, a recipe that loads `make_paths`."""
    policy = charter.load(EXAMPLE)
    options = {"show_all": False, "color": False, "fail_on": ()}
    checker = parallel.Checker(policy, charter.reports.render.JsonlWriter(None, policy=policy, **options), None)
    make = (parallel._report_checker, (make_paths, "jsonl", options, None))
    return list(parallel.check_batches(checker, make, [str(path)], jobs=2))


@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")
def test_workers_are_forked_with_this_checker_when_no_other_thread_runs(big):
    """Forked workers use the checker as it is here (the recipe for spawned workers names
    a policy that does not exist, and is never used); with another thread running, the
    workers are spawned and load the policy themselves, with the same output."""
    if threading.active_count() > 1:  # (earlier tests left a thread): run it alone, in a new process
        test = f"{Path(__file__).resolve()}::test_workers_are_forked_with_this_checker_when_no_other_thread_runs"
        junit = big / "alone.xml"
        alone = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}", test],
                               capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
        assert alone.returncode == 0, alone.stdout + alone.stderr
        assert 'tests="1"' in junit.read_text() and 'skipped="0"' in junit.read_text()
        return
    path = big / "b.jsonl"
    in_process = list(parallel.check_batches(
        parallel.Checker(charter.load(EXAMPLE), charter.reports.render.JsonlWriter(None, fail_on=()), None),
        (None, ()), [str(path)]))
    assert _check_with_workers(path, ["nowhere.charter"]) == in_process
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with pytest.raises(Exception) as raised:
            _check_with_workers(path, ["nowhere.charter"])
        assert type(raised.value).__name__ == "PolicyError"
        assert _check_with_workers(path, [EXAMPLE]) == in_process
    finally:
        stop.set()
        other.join()


def test_worker_failures_are_data_not_tracebacks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(parallel, "_worker", None)
    sigint = signal.getsignal(signal.SIGINT)  # a worker ignores Ctrl-C; this process must not
    try:
        _worker_failures()
    finally:
        signal.signal(signal.SIGINT, sigint)


def _worker_failures() -> None:
    parallel._start_checker(parallel._report_checker, (["nowhere.charter"], "jsonl", {}, None))
    failure = parallel._work([("line", "f", 1, b"{}")])
    assert isinstance(failure, parallel.WorkerFailure) and failure.kind == "PolicyError"
    with pytest.raises(Exception) as raised:
        parallel._raise(failure)
    assert type(raised.value).__name__ == "PolicyError"
    with pytest.raises(RecursionError):
        parallel._raise(parallel.WorkerFailure("RecursionError", "too deep"))
    parallel._start_checker(parallel._report_checker,
                            ([EXAMPLE], "jsonl", {"show_all": False, "color": False, "fail_on": ()}, None))
    [rendered] = parallel._work([("line", "f.jsonl", 3, b'{"id": "w", "messages": []}\n')])
    assert rendered.status == "complied" and rendered.text.startswith('{"id": "w", "status": "complied"')
    assert isinstance(parallel._work([("record", "not a record")]), parallel.WorkerFailure)


# --------------------------------------------------------------------------- directories and globs


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = '{{"id": "{}", "messages": [{{"role": "user", "content": "hi"}}]}}\n'
    files = {"logs/b.jsonl": "b", "logs/a.jsonl": "a", "logs/sub/c.json": "c", "logs/sub/deeper/d.jsonl": "d",
             "logs/z/e.jsonl": "e", "logs/notes.txt": None, "logs/sub/f.JSONL": None, "other/g.jsonl": "g"}
    for name, trace_id in files.items():
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text(line.format(trace_id) if trace_id else "not a trace\n")
    Path("logs/empty").mkdir()
    return tmp_path


def _ids(*args: str) -> tuple[int, list[str], dict]:
    result = run("check", EXAMPLE, *args, "--format", "json")
    report = json.loads(result.stdout)
    return result.exit_code, [t["id"] for t in report["traces"]], report["summary"]


def test_directory_is_read_recursively_in_sorted_order(tree):
    code, ids, summary = _ids("--traces", "logs")
    assert code == 0 and summary["skipped"] == []
    assert ids == ["a", "b", "c", "d", "e"]  # logs/a, logs/b, logs/sub/c, logs/sub/deeper/d, logs/z/e
    assert expand_paths(["logs"]) == [os.path.join("logs", *p) for p in
                                      (["a.jsonl"], ["b.jsonl"], ["sub", "c.json"], ["sub", "deeper", "d.jsonl"],
                                       ["z", "e.jsonl"])]


def test_glob_patterns(tree):
    assert _ids("--traces", "logs/*.jsonl")[1] == ["a", "b"]
    assert _ids("--traces", "logs/**/*.jsonl")[1] == ["a", "b", "d", "e"]
    assert _ids("--traces", "*/[ab].jsonl", "--traces", "other/*")[1] == ["a", "b", "g"]
    assert _ids("--traces", "logs/s?b")[1] == ["c", "d"]  # a pattern matching a directory


def test_pattern_or_directory_with_nothing_in_it_is_skipped(tree):
    code, ids, summary = _ids("--traces", "logs/*.parquet", "--traces", "logs/empty", "--traces", "logs/a.jsonl")
    assert code == 2 and ids == ["a"]
    assert summary["skipped"] == [
        {"file": "logs/*.parquet", "line": None, "reason": "no file matches this pattern"},
        {"file": "logs/empty", "line": None, "reason": "a directory with no .jsonl, .json, .eval file in it"},
    ]


def test_a_file_whose_name_looks_like_a_pattern(tree):
    Path("odd[1].jsonl").write_text('{"id": "odd", "messages": []}\n')
    assert _ids("--traces", "odd[1].jsonl")[1] == ["odd"]


def test_explain_takes_directories_too(tree):
    result = run("explain", EXAMPLE, "--traces", "logs", "--trace", "d", "--all")
    assert result.exit_code == 0 and result.stdout.startswith("trace d: ")


# --------------------------------------------------------------------------- progress


def test_no_progress_when_not_a_terminal(big):
    result = run("check", EXAMPLE, "--traces", str(big / "b.jsonl"), "--format", "jsonl", env={"CI": None})
    assert "\r" not in result.stderr and "traces/s" not in result.stderr
    assert result.stderr.count("skipped") == len(result.stderr.splitlines())


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_wanted(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert progress_wanted(_Terminal())
    assert not progress_wanted(_Terminal(), disabled=True)
    assert not progress_wanted(io.StringIO())
    monkeypatch.setenv("CI", "1")
    assert not progress_wanted(_Terminal())
    monkeypatch.setenv("CI", "")
    assert progress_wanted(_Terminal())


def test_progress_line():
    now = [100.0]
    stream = _Terminal()
    progress = Progress(stream, total=1000, clock=lambda: now[0])
    now[0] = 102.0
    progress.advance(records=300, traces=250, size=250)
    assert stream.getvalue() == "\r[#####...............]  25%  300 records  125 traces/s  ETA 0:06\x1b[K"
    now[0] = 102.05
    progress.advance(records=10, traces=10, size=10)  # within 0.1 s: not redrawn
    assert stream.getvalue().count("\r") == 1
    progress.clear()
    assert stream.getvalue().endswith("\r\x1b[K") and not progress.visible
    unknown = Progress(_Terminal(), total=None, clock=lambda: 101.0)
    assert unknown.line(101.0).startswith("0 records  0 traces/s") and "ETA" not in unknown.line(101.0)


def _run_on_a_terminal(args: list[str], env: dict, out: Path) -> tuple[int, str, bytes]:
    """Run the installed script with its standard error on a pseudo-terminal (and its
    standard output to a file)."""
    primary, secondary = pty.openpty()
    with open(out, "wb") as stdout_file:
        process = subprocess.Popen([str(CHARTER_SCRIPT), *args], stdout=stdout_file, stderr=secondary,
                                   stdin=subprocess.DEVNULL, env=env)
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    process.wait(timeout=60)
    os.close(primary)
    return process.returncode, seen.decode("utf-8", "replace"), out.read_bytes()


@pytest.mark.skipif(not CHARTER_SCRIPT.exists(), reason="the charter script is not installed")
@pytest.mark.parametrize("ci, flag, shown", [(None, [], True), ("1", [], False), ("true", [], False),
                                             (None, ["--no-progress"], False)])
def test_progress_bar_on_a_terminal_only(big, tmp_path, ci, flag, shown):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    args = ["check", EXAMPLE, "--traces", str(big / "a.jsonl"), "--format", "jsonl", *flag]
    code, terminal, stdout = _run_on_a_terminal(args, env, tmp_path / "out.jsonl")
    assert code == 2
    assert ("traces/s" in terminal) == shown
    assert ("records" in terminal and "%" in terminal) == shown
    if shown:
        assert terminal.rstrip("\n").endswith("\r\x1b[K") or "\r\x1b[K" in terminal  # the bar is cleared
    assert b"traces/s" not in stdout and b"\r" not in stdout
    assert stdout.endswith(b"}}\n")


# --------------------------------------------------------------------------- memory


def peak_rss_mb(args: list[str]) -> tuple[int, float]:
    """Run the charter script in a fresh process whose only child it is, so that the
    kernel's RUSAGE_CHILDREN peak is this run's (workers included): (exit code, MB)."""
    probe = ("import resource, subprocess, sys; "
             "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode; "
             "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", probe, str(CHARTER_SCRIPT), *args],
                          capture_output=True, text=True, timeout=600)
    code, kilobytes = done.stdout.split()
    return int(code), int(kilobytes) / 1024


# Measured (2 CPUs, Python 3.11): streaming, `charter check --format jsonl` peaks at about
# 37 MB whatever the corpus (--jobs 2: about 39 MB in its largest process). Keeping the
# reports instead peaks at about 240 MB for 20k of these small traces and 1.1 GB for 100k.
RSS_BOUND_MB = 150


def _memory_case(tmp_path: Path, traces: int, jobs: str) -> None:
    path = write_corpus(tmp_path / "corpus.jsonl", traces, seed=3, malformed=0.001, max_messages=4)
    code, peak = peak_rss_mb(["check", EXAMPLE, "--traces", str(path), "--format", "jsonl", "--jobs", jobs,
                              "--no-progress"])
    assert code in (1, 2)
    assert peak < RSS_BOUND_MB, f"peak RSS {peak:.0f} MB over {traces} traces"


@pytest.mark.skipif(not CHARTER_SCRIPT.exists(), reason="the charter script is not installed")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_memory_does_not_grow_with_the_corpus(tmp_path, jobs):
    _memory_case(tmp_path, 20_000, jobs)


@pytest.mark.skipif(os.environ.get("CHARTER_SLOW") != "1", reason="slow (about 30 s): set CHARTER_SLOW=1")
@pytest.mark.skipif(not CHARTER_SCRIPT.exists(), reason="the charter script is not installed")
def test_memory_over_100k_traces(tmp_path):
    _memory_case(tmp_path, 100_000, "1")
