"""The Pygments lexer: found through its entry point by `pygmentize`, every token of the
example policies classified, and used by `charter explain --color`."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from pygments.token import Comment, Error, Keyword, Name, Number, Operator, String

from charter.syntax.highlight import CharterLexer

REPO = pathlib.Path(__file__).parent.parent
BIN = pathlib.Path(sys.executable).parent


def test_pygmentize_finds_the_lexer_by_name_and_by_file_extension(tmp_path):
    policy = tmp_path / "p.charter"
    policy.write_text('norm n:  # why\n    forbid assistant says "x"\n')
    by_name = subprocess.run([str(BIN / "pygmentize"), "-l", "charter", "-f", "html", str(policy)],
                             capture_output=True, text=True, check=True).stdout
    assert '<span class="c1"># why</span>' in by_name
    assert '<span class="s2">"x"</span>' in by_name
    by_extension = subprocess.run([str(BIN / "pygmentize"), "-N", str(policy)],
                                  capture_output=True, text=True, check=True).stdout
    assert by_extension.strip() == "charter"


def test_the_example_policies_lex_without_errors():
    for path in [*REPO.glob("examples/**/*.charter"), *REPO.glob("src/charter/stdlib/*.charter")]:
        tokens = list(CharterLexer().get_tokens(path.read_text("utf-8")))
        assert not [value for kind, value in tokens if kind is Error], path


def test_each_kind_of_word_gets_its_own_token():
    text = 'default norm n by platform:\n    when user.label("x") >= 0.8 # c\n    forbid assistant matches /a\\/b/i\n'
    tokens = [(kind, value) for kind, value in CharterLexer().get_tokens(text) if value.strip()]
    assert (Keyword, "default") in tokens
    assert (Keyword.Declaration, "norm") in tokens and (Name.Function, "n") in tokens
    assert (Name.Builtin, "user") in tokens and (Operator, ">=") in tokens
    assert (Number, "0.8") in tokens and (Comment.Single, "# c") in tokens
    assert (Keyword.Reserved, "forbid") in tokens and (Operator.Word, "matches") in tokens
    assert (String.Regex, "/a\\/b/i") in tokens and (String.Double, '"x"') in tokens
    checked = list(CharterLexer().get_tokens("pattern card = /[0-9]{13,19}/ where luhn\n"))
    assert (Keyword, "where") in checked and (Name.Builtin, "luhn") in checked


def test_explain_colours_the_source_lines_only_when_asked():
    args = [str(BIN / "charter"), "explain", "examples/acme_support.charter",
            "--traces", "examples/traces.jsonl", "--trace", "refund-12-days"]
    coloured = subprocess.run([*args, "--color"], cwd=REPO, capture_output=True, text=True).stdout
    plain = subprocess.run([*args, "--no-color"], cwd=REPO, capture_output=True, text=True).stdout
    assert "\x1b[34mwhen\x1b[39;49;00m asks_for_refund" in coloured
    assert "\x1b[" not in plain and "when          when asks_for_refund  => true" in plain


# --------------------------------------------------------------------------- TextMate grammar

VSCODE = REPO / "editors" / "vscode"
TMGRAMMAR_TEST = "vscode-tmgrammar-test@0.1.3"


@pytest.fixture(scope="module")
def tmgrammar_test(request, tmp_path_factory) -> pathlib.Path:
    """vscode-tmgrammar-test from npm, installed once into pytest's cache directory (or a
    temporary one when the cache is disabled)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the TextMate grammar tests need vscode-tmgrammar-test from npm")
    cache = getattr(request.config, "cache", None)
    prefix = cache.mkdir("npm-tmgrammar") if cache is not None else tmp_path_factory.mktemp("npm-tmgrammar")
    binary = prefix / "node_modules" / ".bin" / "vscode-tmgrammar-test"
    if not binary.exists():
        subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(prefix),
                        TMGRAMMAR_TEST], check=True, capture_output=True, timeout=300)
    return binary


def run_grammar_tests(binary: pathlib.Path, pattern: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), "--compact", "--config", str(VSCODE / "package.json"), pattern],
                          cwd=VSCODE, capture_output=True, text=True, timeout=120)


# One worker runs both: two workers installing into the same cache directory at once
# replace each other's files (CI saw "No such file" and "Permission denied").
@pytest.mark.xdist_group("tmgrammar")
def test_the_textmate_grammar_passes_its_annotated_samples(tmgrammar_test):
    result = run_grammar_tests(tmgrammar_test, "tests/*.charter")
    assert result.returncode == 0, result.stdout + result.stderr
    samples = sorted(p.name for p in (VSCODE / "tests").glob("*.charter"))
    assert [line.split()[1].split("/")[-1] for line in result.stdout.splitlines()] == samples


@pytest.mark.xdist_group("tmgrammar")
def test_a_wrong_scope_in_a_sample_fails(tmgrammar_test, tmp_path):
    sample = tmp_path / "wrong.charter"
    sample.write_text('# SYNTAX TEST "source.charter"\nnorm n:\n#    ^ string.quoted.double.charter\n')
    result = run_grammar_tests(tmgrammar_test, str(sample))
    assert result.returncode != 0
    assert "Missing required scopes: [ string.quoted.double.charter ]" in result.stdout
    assert "entity.name.function.charter" in result.stdout


def test_the_extension_manifest_names_files_that_exist_and_launches_charter_lsp():
    manifest = json.loads((VSCODE / "package.json").read_text())
    contributes = manifest["contributes"]
    assert (VSCODE / manifest["main"]).is_file()
    assert (VSCODE / contributes["grammars"][0]["path"]).is_file()
    assert (VSCODE / contributes["languages"][0]["configuration"]).is_file()
    assert contributes["languages"][0]["extensions"] == [".charter"]
    server = contributes["configuration"]["properties"]
    assert (server["charter.server.command"]["default"], server["charter.server.args"]["default"]) == (
        "charter", ["lsp"])
    node = shutil.which("node")
    if node is not None:  # a syntax check of the client wiring; running it needs VS Code
        subprocess.run([node, "--check", str(VSCODE / "extension.js")], check=True)
