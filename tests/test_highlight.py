"""The Pygments lexer: found through its entry point by `pygmentize`, every token of the
example policies classified, and used by `charter explain --color`."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from pygments.token import Comment, Error, Keyword, Name, Number, Operator, String

from charter.highlight import CharterLexer

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


def test_explain_colours_the_source_lines_only_when_asked():
    args = [str(BIN / "charter"), "explain", "examples/acme_support.charter",
            "--traces", "examples/traces.jsonl", "--trace", "refund-12-days"]
    coloured = subprocess.run([*args, "--color"], cwd=REPO, capture_output=True, text=True).stdout
    plain = subprocess.run([*args, "--no-color"], cwd=REPO, capture_output=True, text=True).stdout
    assert "\x1b[34mwhen\x1b[39;49;00m asks_for_refund" in coloured
    assert "\x1b[" not in plain and "when          when asks_for_refund  => true" in plain
