"""The checked-policy cache (charter/cache/programs.py): a second load of the same files
comes from the cache, and a changed file, an error or a damaged entry never gives a
stale or wrong program."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from charter import PolicyError
from charter.cache.programs import load_program
from charter.check.loader import load_program as load_uncached

POLICY = """charter shop
use "lib.charter" as lib

norm polite:
    forbid lib.rude
"""
LIB = """charter lib
let rude = assistant says any of ["idiot", "stupid"]
"""


@pytest.fixture
def policy(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "lib.charter").write_text(LIB)
    (tmp_path / "shop.charter").write_text(POLICY)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "shop.charter"


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("policy-*.pickle"))


def test_a_second_load_comes_from_the_cache_and_equals_a_fresh_one(policy, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    first = load_program(["shop.charter", "std.pii"], str(cache))
    (entry,) = entries(cache)
    second = load_program(["shop.charter", "std.pii"], str(cache))
    assert second is not first and second == first == load_uncached(["shop.charter", "std.pii"])
    assert entries(cache) == [entry]


@pytest.mark.parametrize("edited, old, new", [("shop.charter", "forbid lib.rude", 'forbid assistant says "dumb"'),
                                               ("lib.charter", "stupid", "dumb")])
def test_an_edited_file_or_one_it_uses_is_read_again(policy, tmp_path, edited, old, new):
    cache = tmp_path / "cache"
    cache.mkdir()
    assert "dumb" not in repr(load_program(["shop.charter"], str(cache)))
    path = tmp_path / edited
    path.write_text(path.read_text().replace(old, new))
    again = load_program(["shop.charter"], str(cache))
    assert again == load_uncached(["shop.charter"]) and "dumb" in repr(again)


def test_errors_are_not_cached_and_say_the_same(policy, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    policy.write_text(POLICY.replace("lib.rude", "lib.rood"))
    with pytest.raises(PolicyError) as cached:
        load_program(["shop.charter"], str(cache))
    with pytest.raises(PolicyError) as fresh:
        load_uncached(["shop.charter"])
    assert [str(d) for d in cached.value.diagnostics] == [str(d) for d in fresh.value.diagnostics]
    assert entries(cache) == []


def test_a_damaged_entry_is_made_again(policy, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    load_program(["shop.charter"], str(cache))
    (entry,) = entries(cache)
    entry.write_bytes(entry.read_bytes()[:100])
    assert load_program(["shop.charter"], str(cache)) == load_uncached(["shop.charter"])
    assert entry.stat().st_size > 100


def test_without_a_cache_directory_it_loads(policy, tmp_path):
    assert load_program(["shop.charter"], None) == load_uncached(["shop.charter"])
    assert load_program(["shop.charter"], str(tmp_path / "missing")) == load_uncached(["shop.charter"])


def test_the_command_line_uses_it_and_then_needs_no_parser(policy, tmp_path):
    """`charter check` keeps the program; a run that finds it never imports lark."""
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    trace = tmp_path / "t.jsonl"
    trace.write_text('{"id": "t", "messages": [{"role": "user", "content": "hi"}, '
                     '{"role": "assistant", "content": "you idiot"}]}\n')
    command = [sys.executable, "-m", "charter.cli", "check", "shop.charter", "--traces", str(trace)]
    first = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert first.returncode == 1 and "violated" in first.stdout
    assert len(entries(tmp_path / "xdg" / "charter")) == 1
    probe = ("import runpy, sys\nsys.argv = " + repr(command[2:]) + "\n"
             "try:\n    runpy.run_module('charter.cli', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print('lark' in sys.modules, file=sys.stderr)\n")
    second = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert second.stdout == first.stdout
    assert second.stderr.strip().splitlines()[-1] == "False"
