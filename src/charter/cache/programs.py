"""Checked policies kept between runs, so that a command reading the same policy files
again skips parsing and checking them (and importing the parser): about a third of the
start-up of `charter check` on one trace.

An entry is the pickled `Program` with the text digest of every file that went into
it, in this user's cache directory (`source.cache`). It is named by what decides how
the arguments are read (this Charter's code, Python's version, the working directory,
the arguments) and used only when every file it was made from still has the same text:
a cached program is never stale, and deleting the directory is always safe. Only
successful loads are kept; errors are found (and worded) by loading again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path

from ..check.program import Program

# Bump when what an entry holds changes shape (its code changing is caught by _code_stamp).
FORMAT = 1
MAX_ENTRIES = 64  # kept in the directory; the oldest go first
_PACKAGE = Path(__file__).resolve().parent.parent


def load_program(paths: list[str], directory: str | None) -> Program:
    """What `check.loader.load_program(paths)` returns (raising `PolicyError` the same
    way), from `directory` when an earlier run left it there (`directory` None: no cache)."""
    entry = os.path.join(directory, f"policy-{_key(paths)}.pickle") if directory is not None else None
    program = _read(entry) if entry is not None else None
    if program is not None:
        return program
    from ..check.loader import load

    digests: dict[str, str] = {}

    def read_text(path: Path) -> str:
        text = _text(path)
        digests[os.path.abspath(path)] = _digest(text)
        return text

    program = load(paths, read_text=read_text).program
    if entry is not None:
        _write(entry, (digests, program))
    return program


def _text(path: str | Path) -> str:
    return Path(path).read_text("utf-8")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _key(paths: list[str]) -> str:
    """What decides how the arguments are read besides the files' texts: a `std.NAME`
    argument is a file when one of that name exists, relative paths and the files they
    `use` are found from the working directory, and Charter's code (stdlib included)
    makes the program."""
    parts = [str(FORMAT), _code_stamp(), repr(sys.version_info[:2]), os.getcwd(),
             *(f"{p}\0{os.path.exists(p)}" for p in paths)]
    return hashlib.sha256("\0\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _code_stamp() -> str:
    """The size and modification time of every file of this Charter (its modules and
    standard library): an edited checkout or a new install gives other entries."""
    stamps = []
    for folder, _, files in os.walk(_PACKAGE):
        for name in files:
            if name.endswith((".py", ".charter", ".lark")):
                stat = os.stat(os.path.join(folder, name))
                stamps.append(f"{folder}/{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(sorted(stamps)).encode("utf-8", "surrogatepass")).hexdigest()


def _read(entry: str) -> Program | None:
    """The entry's program if every file it was made from has the same text; None for a
    missing, unreadable or outdated entry."""
    try:
        with open(entry, "rb") as file:
            digests, program = pickle.load(file)
        if all(_digest(_text(path)) == digest for path, digest in digests.items()):
            return program if isinstance(program, Program) else None
    except Exception:  # noqa: BLE001 — any entry that cannot be used is made again
        return None
    return None


def _write(entry: str, value: tuple[dict[str, str], Program]) -> None:
    """Write atomically (a reader sees the old entry or the new one), then keep only the
    newest MAX_ENTRIES. A cache that cannot be written is no cache."""
    directory = os.path.dirname(entry)
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".policy-")
    except (OSError, pickle.PicklingError, RecursionError, TypeError, AttributeError):
        return
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, entry)
        _prune(directory)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _prune(directory: str) -> None:
    entries = sorted((e for e in os.scandir(directory) if e.name.startswith("policy-")),
                     key=lambda e: e.stat().st_mtime_ns, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        os.unlink(old.path)
