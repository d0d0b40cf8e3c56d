"""Fuzzing the reader through `charter check` (issue 18): random corruptions of a valid
Inspect `.eval` archive, and JSONL files mixing broken and good lines. Whatever the
input: no internal error, every good record checked, every bad one skipped with its
reason, and the JSON report standard JSON (json.loads refusing NaN and Infinity)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.cli import main

POLICY = """charter fuzz

norm no_secrets:
    forbid assistant says "secret"
"""
SAMPLES = 4
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def strict_json(text: str):
    def refuse(name: str):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def checked(tmp_path: Path, traces: Path, *options: str) -> dict:
    """The JSON report of `charter check` on `traces`, after checking that the run ended
    as a run should (exit code 0, 1 or 2, never an internal error)."""
    policy = tmp_path / "p.charter"
    policy.write_text(POLICY)
    done = CliRunner().invoke(main, ["check", str(policy), "--traces", str(traces), "--format", "json", *options])
    assert done.exit_code in (0, 1, 2) and "internal error" not in done.stderr, done.stderr
    report = strict_json(done.stdout)
    records = report["summary"]["records"]
    assert records["total"] == records["checked"] + records["skipped"] == len(report["traces"]) + len(
        report["summary"]["skipped"])
    assert all(skipped["reason"] for skipped in report["summary"]["skipped"])
    assert (done.exit_code == 2) == bool(records["skipped"])
    return report


# --------------------------------------------------------------------------- .eval archives


def sample(i: int) -> dict:
    return {"id": f"s{i}", "epoch": 1, "input": "", "target": "", "scores": {}, "metadata": {},
            "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": f"reply {i}"}]}


def valid_archive(path: Path) -> tuple[bytes, list[range]]:
    """A valid archive of SAMPLES samples, and where each sample member's data lies in it."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("header.json", json.dumps({"eval": {"task": "t"}}))
        for i in range(SAMPLES):
            archive.writestr(f"samples/s{i}_epoch_1.json", json.dumps(sample(i)))
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        members = [info for info in archive.infolist() if info.filename.startswith("samples/")]
    # the data follows each member's local header (30 bytes, then its name and extra field)
    spans = [range(info.header_offset + 30 + len(info.filename) + len(info.extra),
                   info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size)
             for info in members]
    return data, spans


_corruption = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
                                         min_size=1, max_size=8)),
    st.tuples(st.just("truncate"), st.floats(0, 1, exclude_max=True)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
    # a byte of a member's fixed-size headers: its flags (encrypted, UTF-8 name), the zip
    # version it needs, its method, sizes and name length
    st.tuples(st.just("header"), st.integers(0, 2 * SAMPLES), st.integers(0, 45), st.integers(1, 255)),
)
_HEADERS = (b"PK\x03\x04", 30), (b"PK\x01\x02", 46)  # local, central: signature and size


def corrupted(data: bytes, corruption: tuple) -> bytes:
    kind = corruption[0]
    if kind == "truncate":
        return data[:int(corruption[1] * len(data))]
    if kind == "insert":
        at = int(corruption[1] * len(data))
        return data[:at] + corruption[2] + data[at:]
    if kind == "header":
        _, which, offset, mask = corruption
        starts = sorted(at for signature, size in _HEADERS for at in _found(data, signature) if offset < size)
        damaged = bytearray(data)
        damaged[starts[which % len(starts)] + offset] ^= mask
        return bytes(damaged)
    damaged = bytearray(data)
    for where, mask in corruption[1]:
        damaged[int(where * len(data))] ^= mask
    return bytes(damaged)


def _found(data: bytes, signature: bytes) -> list[int]:
    found, at = [], data.find(signature)
    while at != -1:
        found.append(at)
        at = data.find(signature, at + 1)
    return found


@FUZZ
@given(corruption=_corruption)
def test_a_randomly_corrupted_eval_archive_never_ends_the_run(tmp_path, corruption):
    data, _ = valid_archive(tmp_path / "valid.eval")
    bad = tmp_path / "bad.eval"
    bad.write_bytes(corrupted(data, corruption))
    report = checked(tmp_path, bad)
    assert {trace["id"] for trace in report["traces"]} <= {f"s{i}#1" for i in range(SAMPLES)}


@FUZZ
@given(member=st.integers(0, SAMPLES - 1), flips=st.lists(
    st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=4))
def test_corrupting_one_member_skips_that_member_only(tmp_path, member, flips):
    data, spans = valid_archive(tmp_path / "valid.eval")
    damaged = bytearray(data)
    for where, mask in flips:
        damaged[spans[member][int(where * len(spans[member]))]] ^= mask
    bad = tmp_path / "bad.eval"
    bad.write_bytes(bytes(damaged))
    report = checked(tmp_path, bad)
    others = [f"s{i}#1" for i in range(SAMPLES) if i != member]
    assert [trace["id"] for trace in report["traces"] if trace["id"] != f"s{member}#1"] == others
    skipped = report["summary"]["skipped"]
    assert [s["file"] for s in skipped] == [f"{bad}:samples/s{member}_epoch_1.json"] * len(skipped)


# --------------------------------------------------------------------------- JSONL


def good_line(i: int) -> str:
    return json.dumps({"id": f"t{i}", "messages": [{"role": "user", "content": "hi"},
                                                   {"role": "assistant", "content": f"reply {i}"}]})


_junk = st.text(st.characters(blacklist_characters="{\n\r", blacklist_categories=["Cs"]), min_size=1, max_size=40)
_bad_line = st.one_of(
    st.integers(5, 60).map(lambda n: good_line(0)[:n]),  # a truncated record
    st.sampled_from(['{"messages": 1}', '{"id": 3, "messages": []}', "[1, 2", "[", "{", "null", '"text"',
                     '{"messages": [{"role": "robot"}]}', '{"messages": [{"role": "user", "labels": {"x": 2}}]}',
                     '{"messages": [], "meta": NaN']),
    _junk.filter(lambda line: line.strip(" \t")),
).map(lambda line: line.encode()) | st.just(b"\xff\xfe not UTF-8")


@FUZZ
@given(lines=st.lists(st.one_of(st.just(None), _bad_line), min_size=1, max_size=30))
def test_jsonl_mixing_broken_and_good_lines(tmp_path, lines):
    """`None` stands for a good line. Every good line is checked, every bad line skipped
    with its own line number (once a good line follows the first, at least: a file of
    nothing but broken lines may be one broken document)."""
    text = [good_line(i).encode() if line is None else line for i, line in enumerate(lines)]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(text) + b"\n")
    report = checked(tmp_path, path)
    assert [trace["id"] for trace in report["traces"]] == [f"t{i}" for i, line in enumerate(lines) if line is None]
    if None in lines:
        assert [s["line"] for s in report["summary"]["skipped"]] == [
            number for number, line in enumerate(lines, start=1) if line is not None]
