"""Damaged and hostile trace inputs (issue 18, items 8-11 and 14): every record is
checked or skipped with its reason, and every report stays valid, standard JSON."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHARTER = Path(sys.executable).parent / "charter"
POLICY_TEXT = """charter damaged

norm no_secrets:
    forbid assistant says "secret"

norm scored:
    when trace.meta.score > 0.5
    require assistant says "checked"
"""
SAMPLE = {"epoch": 1, "input": "", "target": "", "scores": {}, "metadata": {},
          "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a secret"}]}


def reject_constant(name: str):
    raise ValueError(f"non-standard JSON constant {name}")


def strict_json(text: str):
    """What JSON.parse accepts: no NaN, Infinity or -Infinity."""
    return json.loads(text, parse_constant=reject_constant)


@pytest.fixture
def policy(tmp_path) -> str:
    path = tmp_path / "p.charter"
    path.write_text(POLICY_TEXT)
    return str(path)


def check(policy: str, *paths: str, fmt: str = "json", stdin: bytes | None = None,
          options: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`charter check`, run as a user runs it."""
    traces = [arg for path in paths for arg in ("--traces", path)]
    return subprocess.run([str(CHARTER), "check", policy, *traces, "--format", fmt, *options],
                          input=stdin, capture_output=True, timeout=300)


def summary(done: subprocess.CompletedProcess) -> dict:
    return strict_json(done.stdout.decode())["summary"]


# --------------------------------------------------------------------------- .eval archives


def write_eval(path: Path, samples: int = 3) -> bytes:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("header.json", json.dumps({"eval": {"task": "t"}}))
        for i in range(samples):
            archive.writestr(f"samples/s{i}_epoch_1.json", json.dumps({**SAMPLE, "id": f"s{i}"}))
    return path.read_bytes()


# (signature, offset of the flags, of the version needed, of the name's length, of the name)
_HEADERS = ((b"PK\x01\x02", 8, 6, 28, 46), (b"PK\x03\x04", 6, 4, 26, 30))


def damaged(data: bytes, member: str, flags: int = 0, version: int | None = None,
            name: bytes | None = None) -> bytes:
    """`data` with `member`'s headers (local and central) given more flag bits, another
    version needed to extract it, or another name of the same length."""
    data = bytearray(data)
    for signature, flags_at, version_at, length_at, name_at in _HEADERS:
        position = 0
        while (position := data.find(signature, position)) != -1:
            length = struct.unpack_from("<H", data, position + length_at)[0]
            if data[position + name_at:position + name_at + length] == member.encode():
                struct.pack_into("<H", data, position + flags_at,
                                 struct.unpack_from("<H", data, position + flags_at)[0] | flags)
                if version is not None:
                    struct.pack_into("<H", data, position + version_at, version)
                if name is not None:
                    data[position + name_at:position + name_at + length] = name
            position += 4
    return bytes(data)


MEMBER = "samples/s1_epoch_1.json"
DAMAGES = {
    "encrypted member": ({"flags": 0x1}, "encrypted"),
    "unsupported zip version": ({"version": 99}, "zip file version"),
    "member name not UTF-8": ({"flags": 0x800, "name": b"samples/\xff\xfe" + b"x" * (len(MEMBER) - 10)},
                              "not a readable .eval archive"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_eval_archive_is_a_skipped_record_and_the_run_goes_on(tmp_path, policy, damage):
    changes, reason = DAMAGES[damage]
    good = tmp_path / "good.eval"
    bad = tmp_path / "bad.eval"
    bad.write_bytes(damaged(write_eval(good), MEMBER, **changes))
    done = check(policy, str(bad), str(good))
    assert done.returncode == 2 and b"internal error" not in done.stderr, done.stderr
    report = summary(done)
    assert report["records"]["skipped"] == 1
    assert reason in report["skipped"][0]["reason"]
    # the good archive is checked, and so are the bad one's other members when its
    # directory can be read (zipfile refuses a whole archive for a version or a name)
    assert report["traces"] == (5 if damage == "encrypted member" else 3)
    text = check(policy, str(bad), str(good), fmt="text").stdout.decode()
    assert "skipped" in text and f"{report['traces']} traces checked" in text


# --------------------------------------------------------------------------- JSONL layout


def test_broken_first_lines_do_not_make_a_jsonl_file_one_document(tmp_path, policy):
    path = tmp_path / "t.jsonl"
    good = json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]})
    path.write_text('{"messages": [\n{"broken\n' + "\n".join([good] * 1000) + "\n")
    report = summary(check(policy, str(path)))
    assert report["records"] == {"total": 1002, "checked": 1000, "skipped": 2}
    assert [s["line"] for s in report["skipped"]] == [1, 2]


def test_a_pretty_printed_trace_with_an_error_is_still_one_document(tmp_path, policy):
    path = tmp_path / "t.json"
    path.write_text('{\n  "messages": [\n    {"role": "user", "content": "hi"}\n  ],\n  "id": \n}\n')
    report = summary(check(policy, str(path)))
    assert report["records"] == {"total": 1, "checked": 0, "skipped": 1}
    assert report["skipped"][0]["line"] == 6  # where the value is missing


def test_an_internal_error_still_ends_the_report_with_what_was_checked(tmp_path, policy, monkeypatch):
    """A bug met in the middle of a run (here one injected into the checker) is reported
    as an internal error, and the report before it is complete and valid."""
    from click.testing import CliRunner

    from charter.cli import main
    from charter.corpus import parallel

    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"id": f"t{i}", "messages": [{"role": "user", "content": "hi"}]}) + "\n"
                            for i in range(3)))
    one = parallel.Checker.one

    def failing_on_the_third(self, record):
        if getattr(record, "id", None) == "t2":
            raise RuntimeError("injected")
        return one(self, record)

    monkeypatch.setattr(parallel.Checker, "one", failing_on_the_third)
    for fmt in ("json", "jsonl", "sarif", "junit", "text"):
        done = CliRunner().invoke(main, ["check", policy, "--traces", str(path), "--format", fmt])
        assert done.exit_code == 2 and "internal error: RuntimeError: injected" in done.stderr
        if fmt == "json":
            assert strict_json(done.stdout)["summary"]["traces"] == 0  # the batch that failed is not counted
        elif fmt == "jsonl":
            strict_json(done.stdout.splitlines()[-1])
        elif fmt == "sarif":
            strict_json(done.stdout)
        elif fmt == "junit":
            import xml.etree.ElementTree as ET
            ET.fromstring(done.stdout)
        else:
            assert "0 records" in done.stdout


# --------------------------------------------------------------------------- memory bounds

GOOD_LINE = json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]})


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_line_longer_than_the_limit_is_skipped_unread_with_its_location(tmp_path, policy, jobs):
    path = tmp_path / "t.jsonl"
    long_line = json.dumps({"messages": [{"role": "user", "content": "a" * 5000}]})
    path.write_text(f"{GOOD_LINE}\n{long_line}\n{GOOD_LINE}\n")
    done = check(policy, str(path), options=("--max-record-bytes", "1000", "--jobs", jobs))
    report = summary(done)
    assert report["records"] == {"total": 3, "checked": 2, "skipped": 1}
    assert report["skipped"] == [{"file": str(path), "line": 2, "reason":
                                  f"the line is {len(long_line) + 1:,} bytes, more than the limit of 1,000; "
                                  "a longer record is read with --max-record-bytes"}]
    assert summary(check(policy, str(path), options=("--max-record-bytes", "10000")))["traces"] == 3


def test_a_line_longer_than_the_limit_inside_a_document_skips_the_document(tmp_path, policy):
    path = tmp_path / "t.json"
    path.write_text('{"messages": [\n  {"role": "user", "content": "' + "a" * 2000 + '"}\n]}\n')
    report = summary(check(policy, str(path), options=("--max-record-bytes", "1000")))
    assert report["records"]["skipped"] == 1 and report["skipped"][0]["line"] == 2


def test_an_eval_member_longer_than_the_limit_is_skipped_unread(tmp_path, policy):
    path = tmp_path / "big.eval"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        big = {**SAMPLE, "id": "big", "messages": [{"role": "user", "content": "a" * 100_000}]}
        archive.writestr("samples/big_epoch_1.json", json.dumps(big))
        archive.writestr("samples/s_epoch_1.json", json.dumps({**SAMPLE, "id": "s"}))
    report = summary(check(policy, str(path), options=("--max-record-bytes", "10000")))
    assert report["records"] == {"total": 2, "checked": 1, "skipped": 1}
    assert report["skipped"][0]["reason"].startswith("samples/big_epoch_1.json is 100,")


# --------------------------------------------------------------------------- standard input


def test_an_eval_archive_on_stdin_is_read_as_an_archive(tmp_path, policy):
    data = write_eval(tmp_path / "log.eval")
    for jobs in ("1", "2"):
        done = check(policy, "-", stdin=data, options=("--jobs", jobs))
        assert summary(done)["records"] == {"total": 3, "checked": 3, "skipped": 0}, done.stderr


def peak_rss_mb(*args: str) -> float:
    """The peak resident memory of `charter check ARGS...` in MB, measured by a fresh
    parent (so that no earlier child of this process counts)."""
    measure = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,"
               " stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", measure, str(CHARTER), "check", *args],
                          capture_output=True, text=True, timeout=600)
    return int(done.stdout) / 1024


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_skipped_records_are_streamed_not_kept(tmp_path, policy, fmt):
    """300,000 malformed lines: the reasons go to the report as they come (before, the
    summary kept every one: 935 MB for a million in JSON)."""
    path = tmp_path / "malformed.jsonl"
    path.write_text("".join(f"not json {i}\n" for i in range(300_000)))
    assert peak_rss_mb(policy, "--traces", str(path), "--format", fmt) < 100
    if fmt == "json":
        report = summary(check(policy, str(path)))
        assert report["records"]["skipped"] == len(report["skipped"]) == 300_000
        assert report["skipped"][-1] == {"file": str(path), "line": 300_000,
                                         "reason": "not valid JSON: Expecting value at column 1"}


# --------------------------------------------------------------------------- numbers JSON cannot carry

NON_FINITE = ('{"id": "inf", "meta": {"score": 1e400}, "messages": [{"role": "assistant", "content": "hi"}]}\n'
              '{"id": "nan", "meta": {"score": NaN}, "messages": [{"role": "assistant", "content": "hi",'
              ' "meta": {"x": [1, -Infinity]}, "tool_calls": [{"name": "f", "arguments": {"n": Infinity}}]}]}\n')


@pytest.mark.parametrize("fmt", ["json", "jsonl", "sarif"])
def test_a_non_finite_number_is_reported_with_its_location_and_read_as_unknown(tmp_path, policy, fmt):
    path = tmp_path / "t.jsonl"
    path.write_text(NON_FINITE)
    done = check(policy, str(path), fmt=fmt, options=("--all",))
    reports = [strict_json(line) for line in done.stdout.decode().splitlines()] if fmt == "jsonl" \
        else [strict_json(done.stdout.decode())]
    assert done.stderr.decode().splitlines() == [
        f"{path}:1: warning: trace.meta.score is Infinity, not a finite number: it is read as unknown",
        f"{path}:2: warning: trace.meta.score is NaN, not a finite number: it is read as unknown",
        f"{path}:2: warning: messages[0].meta.x[1] is -Infinity, not a finite number: it is read as unknown",
        f"{path}:2: warning: messages[0].tool_calls[0].arguments.n is Infinity, not a finite number:"
        " it is read as unknown",
    ]
    if fmt == "json":
        assert [t["status"] for t in reports[0]["traces"]] == ["unspecified", "unspecified"]
        scored = reports[0]["traces"][1]["verdicts"][-1]
        assert scored["unknown"] == ["trace.meta.score"]


def test_the_python_api_reads_a_non_finite_number_as_unknown():
    import charter

    policy = charter.loads(POLICY_TEXT)
    report = policy.check({"meta": {"score": float("nan")}, "messages": [{"role": "assistant", "content": "hi"}]})
    assert report.status == "unspecified"
    assert strict_json(json.dumps(report.to_json()))


def test_a_report_of_a_trace_made_in_python_is_standard_json():
    """A Trace built by hand does not pass through the reader: the writer still writes
    standard JSON (null, as JSON.stringify does)."""
    import io

    import charter
    from charter.reports.render import CheckSummary, JsonWriter
    from charter.traces.model import Message, Trace

    policy = charter.loads(POLICY_TEXT)
    out = io.StringIO()
    writer = JsonWriter(out, show_all=True, policy=policy)
    writer.start()
    writer.trace(policy.check(Trace("t", (Message(0, "assistant", "hi"),), {"score": float("inf")})))
    writer.finish(CheckSummary())
    facts = strict_json(out.getvalue())["traces"][0]["verdicts"][-1]["explanation"]["facts"]
    assert facts == [{"fact": "trace.meta.score", "value": None, "known": True}]


def test_a_malformed_trace_dict_raises_the_exported_trace_format_error():
    import charter

    with pytest.raises(charter.TraceFormatError) as caught:
        charter.loads(POLICY_TEXT).check({"messages": [{"role": "robot"}]})
    assert caught.value.reason.startswith("messages[0].role must be one of")
    assert isinstance(caught.value, ValueError)


def test_a_broken_array_line_before_jsonl_records_is_one_skipped_line(tmp_path, policy):
    path = tmp_path / "t.jsonl"
    path.write_text("[1, 2\n" + "\n".join([GOOD_LINE] * 10) + "\n")
    assert summary(check(policy, str(path)))["records"] == {"total": 11, "checked": 10, "skipped": 1}
    array = tmp_path / "a.json"  # a valid array whose elements stand on lines of their own is one document
    array.write_text("[\n" + ",\n".join([GOOD_LINE] * 3) + "\n]\n")
    assert summary(check(policy, str(array)))["records"] == {"total": 3, "checked": 3, "skipped": 0}
