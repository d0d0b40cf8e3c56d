"""Every standard-library module loads, lints clean and passes `charter test` (its inline
tests and the generated-trace properties), through the CLI as a user runs it; and the
modules that use labels or authorities read them the way docs/stdlib.md says."""

from __future__ import annotations

import pathlib
import re
from importlib import resources

import pytest
from click.testing import CliRunner

import charter
from charter.cli import main

MODULES = sorted(p.name.removesuffix(".charter") for p in resources.files("charter.stdlib").iterdir()
                 if p.name.endswith(".charter"))


def test_the_documented_modules_ship():
    assert MODULES == ["chain_of_command", "civility", "honesty", "language", "pii", "safety", "secrets", "tone", "tools"]


@pytest.mark.parametrize("module", MODULES)
def test_module_lints_clean(module):
    result = CliRunner().invoke(main, ["lint", f"std.{module}"])
    assert result.exit_code == 0, result.output
    assert "no findings" in result.output


@pytest.mark.parametrize("module", MODULES)
def test_module_passes_charter_test(module):
    result = CliRunner().invoke(main, ["test", f"std.{module}", "--examples", "100", "--prove"])
    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.output


@pytest.mark.parametrize("module", MODULES)
def test_module_has_a_header_comment_and_inline_tests(module):
    text = resources.files("charter.stdlib").joinpath(f"{module}.charter").read_text("utf-8")
    assert text.startswith(f"# std.{module} — ")
    assert text.count('\ntest "') >= 3


def test_a_user_layer_can_relax_a_guideline_default_but_not_a_root_norm(tmp_path):
    chain = "charter mine by user\nauthorities root > system > developer > user > guideline\n"
    relax = tmp_path / "relax.charter"
    relax.write_text(chain + 'norm swear_ok overrides be_professional:\n    "ok"\n    permit\n')
    report = charter.load("std.chain_of_command", str(relax)).check(
        {"id": "t", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "damn"}]})
    assert {v.norm: v.kind for v in report.verdicts}["be_professional"] == "overridden"
    lift = tmp_path / "lift.charter"
    lift.write_text(chain + 'norm leak_ok overrides no_privileged_disclosure:\n    "no"\n    permit\n')
    with pytest.raises(charter.PolicyError) as caught:
        charter.load("std.chain_of_command", str(lift))
    assert [d.code for d in caught.value.diagnostics if d.code.startswith("E3")], caught.value.diagnostics


def test_a_layer_cannot_put_a_band_on_the_safety_labels(tmp_path):
    layer = tmp_path / "band.charter"
    layer.write_text("use std.safety\nlabel self_harm uncertain between 0.2 and 0.9\n")
    with pytest.raises(charter.PolicyError) as caught:
        charter.load(str(layer))
    assert [d.code for d in caught.value.diagnostics] == ["E321"]


def _doc_blocks() -> list[str]:
    page = pathlib.Path(__file__).resolve().parents[2] / "docs" / "stdlib.md"
    return re.findall(r"```charter\n(.*?)```", page.read_text("utf-8"), re.S)


def test_the_examples_of_the_stdlib_page_load(tmp_path):
    blocks = _doc_blocks()
    assert len(blocks) == 2
    (tmp_path / "tools.charter").write_text(blocks[0])
    assert all(r.passed for r in charter.load(str(tmp_path / "tools.charter")).run_tests())
    (tmp_path / "tone.charter").write_text(blocks[1])
    report = charter.load("std.tone", str(tmp_path / "tone.charter")).check(
        {"id": "t", "messages": [{"role": "user", "content": "hi"},
                                 {"role": "assistant", "content": "PLEASE READ THE MANUAL"}]})
    assert {v.norm: v.kind for v in report.verdicts}["no_shouting"] == "overridden"
