"""Decision records: a bundle from which a run of `charter check` can be replayed.

`charter check --record DIR` writes

    DIR/.charter-record  a marker: reading a corpus directory leaves this one out
    DIR/record.json      the manifest: format, Charter version, the policy's content hash,
                         its sources (name, digest, where the copy is, whether a layer),
                         the inputs (path as given, absolute path, size, digest) and
                         the --input-format they were read with (null: detected)
    DIR/policy/...       a copy of every policy file loaded, imports at their relative
                         places (stdlib modules under policy/std/)
    DIR/verdicts.jsonl   per trace, in input order: id, source (FILE:LINE), status, and
                         each verdict that applied as [norm, turn, call, kind]

`charter replay DIR` loads the recorded policy copy, re-reads the recorded inputs,
re-checks them, and reports every difference: a policy whose hash is not the one
recorded (a stdlib module changed since: imports of `std.NAME` resolve to the installed
stdlib, not the copy), an input whose digest changed or that is gone, a trace recorded
but not found or found but not recorded, and each verdict that differs.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

import attrs

from ..corpus.parallel import RECORD_MARKER
from ..traces.model import Trace
from ..evaluate.verdicts import TraceReport

FORMAT = "charter-record/1"
MANIFEST = "record.json"
VERDICTS = "verdicts.jsonl"
POLICY_DIR = "policy"
_MANIFEST_KEYS = {"charter_version": str, "policy_hash": str, "layers": list, "policy": list, "inputs": list}


class RecordError(Exception):
    """A bundle that cannot be written or read, with the reason in words."""


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def verdict_rows(report: TraceReport) -> list[list[Any]]:
    """The verdicts a record keeps: each one that applied, as [norm, turn, call, kind]."""
    return [[v.norm, v.turn, v.call, v.kind] for v in report.verdicts if v.kind != "not_applicable"]


# --------------------------------------------------------------------------- writing


class Recorder:
    """Writes a bundle while `charter check` runs: `start`, `add` each checked trace,
    `finish`. Verdicts are streamed to disk, so memory does not grow with the corpus."""

    def __init__(self, directory: str, policy: Any, layers: Iterable[str], inputs: Iterable[str],
                 input_format: str | None = None):
        from .. import __version__

        self.directory = Path(directory)
        self.policy, self.layers, self.inputs = policy, list(layers), list(inputs)
        self.version, self.input_format = __version__, input_format
        self._verdicts: Any = None

    def start(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if any(self.directory.iterdir()):
                raise RecordError(f"{self.directory} is not empty; record into a new directory")
            (self.directory / RECORD_MARKER).write_text("a Charter decision record: not traces\n")
            sources = self._copy_policy()
            manifest = {
                "format": FORMAT, "charter_version": self.version, "policy_hash": self.policy.content_hash,
                "layers": [_copy_name(layer, sources) for layer in self.layers],
                "policy": sources, "inputs": [_input(path) for path in self.inputs],
                "input_format": self.input_format,
            }
            (self.directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
            self._verdicts = open(self.directory / VERDICTS, "w", encoding="utf-8")
        except OSError as error:
            raise RecordError(f"cannot write the record to {self.directory}: {error.strerror or error}") from None

    def add(self, trace_id: str, source: str | None, report: TraceReport) -> None:
        row = {"id": trace_id, "source": source, "status": report.status, "verdicts": verdict_rows(report)}
        self._verdicts.write(json.dumps(row, ensure_ascii=False) + "\n")

    def finish(self) -> None:
        if self._verdicts is not None:
            self._verdicts.close()

    def _copy_policy(self) -> list[dict[str, Any]]:
        """Copy every source under policy/, keeping the files' places relative to one
        another (so that `use "file"` finds its file in the copy)."""
        sources = self.policy.program.sources
        files = [s for s in sources if not s.name.startswith("std/")]
        root = os.path.commonpath([os.path.dirname(os.path.abspath(s.name)) for s in files]) if files else ""
        copied = []
        for source in sources:
            stdlib = source.name.startswith("std/")
            relative = source.name if stdlib else os.path.relpath(os.path.abspath(source.name), root)
            target = self.directory / POLICY_DIR / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source.text, "utf-8", newline="")
            copied.append({"name": source.name, "copy": f"{POLICY_DIR}/{Path(relative).as_posix()}",
                           "digest": "sha256:" + source.digest, "stdlib": stdlib})
        return copied


def _copy_name(layer: str, sources: list[dict[str, Any]]) -> str:
    """The bundle path of a policy argument (a file, or `std.NAME`)."""
    if layer.startswith("std.") and not os.path.exists(layer):
        return layer
    wanted = os.path.abspath(layer)
    return next(s["copy"] for s in sources if not s["stdlib"] and os.path.abspath(s["name"]) == wanted)


def _input(path: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": path, "absolute": os.path.abspath(path)}
    try:
        entry["bytes"] = os.path.getsize(path)
        entry["digest"] = file_digest(path)
    except OSError as error:
        entry["error"] = error.strerror or str(error)
    return entry


# --------------------------------------------------------------------------- replaying


@attrs.frozen
class Difference:
    """One thing replay found different: `kind` is policy, input, missing, new, status
    or verdict; `where` the trace or file it concerns; `detail` in words."""

    kind: str
    where: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "where": self.where, "detail": self.detail}


@attrs.define
class Replay:
    manifest: dict[str, Any]
    policy_hash: str = ""
    traces: int = 0
    differences: list[Difference] = attrs.Factory(list)
    skipped: list[str] = attrs.Factory(list)

    def to_json(self) -> dict[str, Any]:
        return {"recorded_by": self.manifest["charter_version"], "recorded_hash": self.manifest["policy_hash"],
                "policy_hash": self.policy_hash, "traces": self.traces,
                "differences": [d.to_json() for d in self.differences], "skipped": self.skipped}


def read_manifest(directory: str) -> dict[str, Any]:
    path = Path(directory, MANIFEST)
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise RecordError(f"{directory} holds no {MANIFEST}: it is not a record written by `charter check "
                          "--record`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RecordError(f"cannot read {path}: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RecordError(f"{path} is not a {FORMAT} manifest")
    for key, kind in _MANIFEST_KEYS.items():
        if not isinstance(manifest.get(key), kind):
            raise RecordError(f"{path}: `{key}` is missing or not a{'n' if kind is list else ''} "
                              f"{'array' if kind is list else 'string'}")
    for key, fields in (("policy", ("name", "copy", "digest")), ("inputs", ("path", "absolute"))):
        for entry in manifest[key]:
            if not isinstance(entry, dict) or not all(isinstance(entry.get(f), str) for f in fields):
                raise RecordError(f"{path}: each entry of `{key}` needs {', '.join(fields)} (strings)")
    return manifest


def recorded_policy_paths(directory: str, manifest: dict[str, Any]) -> list[str]:
    return [layer if layer.startswith("std.") else str(Path(directory, layer)) for layer in manifest["layers"]]


def replay(directory: str, manifest: dict[str, Any], policy: Any, records: Iterator[Any]) -> Replay:
    """Compare `records` (the inputs read again) checked with `policy` (the copy) with
    what the bundle recorded."""
    result = Replay(manifest, policy.content_hash)
    if policy.content_hash != manifest["policy_hash"]:
        result.differences.append(Difference("policy", "policy", _policy_drift(manifest, policy)))
    result.differences.extend(_input_changes(manifest))
    recorded = _recorded_verdicts(directory)
    for record in records:
        if not isinstance(record, Trace):
            result.skipped.append(f"{record.locator}: skipped: {record.reason}")
            continue
        result.traces += 1
        source = str(record.locator) if record.locator else None
        before = recorded.pop((record.id, _relative(source, manifest)), None)
        result.differences.extend(_compare(record.id, source, before, policy.check(record)))
    result.differences.extend(Difference("missing", f"{trace_id} ({source})", "recorded, not found in the inputs now")
                              for trace_id, source in recorded)
    return result


def _policy_drift(manifest: dict[str, Any], policy: Any) -> str:
    now = {s.name: "sha256:" + s.digest for s in policy.program.sources}
    changed = [s["name"] for s in manifest["policy"] if s["stdlib"] and now.get(s["name"]) != s["digest"]]
    why = f" (the installed {', '.join(changed)} differs from the recorded copy)" if changed else ""
    return f"hash {policy.content_hash}, recorded {manifest['policy_hash']}{why}"


def _input_changes(manifest: dict[str, Any]) -> Iterator[Difference]:
    for entry in manifest["inputs"]:
        path = input_path(entry)
        try:
            digest = file_digest(path)
        except OSError as error:
            yield Difference("input", entry["path"], f"cannot be read now: {error.strerror or error}")
            continue
        if digest != entry.get("digest"):
            yield Difference("input", entry["path"], f"digest {digest}, recorded {entry.get('digest')}")


def input_path(entry: dict[str, Any]) -> str:
    """Where to read a recorded input now: the path as given, else the absolute path."""
    return entry["path"] if os.path.exists(entry["path"]) else entry["absolute"]


def _relative(source: str | None, manifest: dict[str, Any]) -> str | None:
    """A source read from an absolute input path, named as it was recorded."""
    if source is None:
        return None
    for entry in manifest["inputs"]:
        if entry["path"] != entry["absolute"] and source.startswith(entry["absolute"]):
            return entry["path"] + source[len(entry["absolute"]):]
    return source


def _recorded_verdicts(directory: str) -> dict[tuple[str, str | None], dict[str, Any]]:
    path = Path(directory, VERDICTS)
    recorded = {}
    try:
        with open(path, encoding="utf-8") as stream:
            for number, line in enumerate(stream, start=1):
                row = json.loads(line)
                if not (isinstance(row["status"], str) and all(isinstance(v, list) and len(v) == 4
                                                               for v in row["verdicts"])):
                    raise TypeError("each verdict is [norm, turn, call, kind]")
                recorded[(row["id"], row["source"])] = row
    except OSError as error:
        raise RecordError(f"cannot read {path}: {error.strerror or error}") from None
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise RecordError(f"{path}:{number}: not a verdict row ({error})") from None
    return recorded


def _compare(trace_id: str, source: str | None, before: dict[str, Any] | None,
             report: TraceReport) -> Iterator[Difference]:
    where = f"{trace_id} ({source})" if source else trace_id
    if before is None:
        yield Difference("new", where, "found in the inputs now, not recorded")
        return
    if before["status"] != report.status:
        yield Difference("status", where, f"status {report.status}, recorded {before['status']}")
    then = {tuple(row[:3]): row[3] for row in before["verdicts"]}
    now = {tuple(row[:3]): row[3] for row in verdict_rows(report)}
    for key in sorted(then.keys() | now.keys(), key=repr):
        if then.get(key) != now.get(key):
            norm, turn, call = key
            at = "conversation" if turn is None else f"turn {turn}" + (f" call {call}" if call is not None else "")
            yield Difference("verdict", where, f"{norm} @ {at}: {now.get(key, 'not_applicable')}, "
                                               f"recorded {then.get(key, 'not_applicable')}")


def render_text(result: Replay) -> str:
    manifest = result.manifest
    lines = [f"replayed a record of charter {manifest['charter_version']}: policy {manifest['policy_hash'][:19]}, "
             f"{len(manifest['inputs'])} input{'s' if len(manifest['inputs']) != 1 else ''}"]
    lines += [f"{d.where}: {d.kind}: {d.detail}" for d in result.differences]
    lines += result.skipped
    count = len(result.differences)
    lines.append(f"{result.traces} trace{'s' if result.traces != 1 else ''} re-checked: "
                 + ("the same verdicts as recorded" if not count else f"{count} difference{'s' if count != 1 else ''}"))
    return "\n".join(lines) + "\n"


class RecordingWriter:
    """A report writer that also records each trace it renders; `charter check --record`
    renders in process, so every report passes through here."""

    def __init__(self, writer: Any, recorder: Recorder):
        self.writer, self.recorder = writer, recorder

    def render(self, report: TraceReport, locator: Any = None) -> Any:
        self.recorder.add(report.trace_id, report.locator, report)
        return self.writer.render(report, locator)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.writer, name)
