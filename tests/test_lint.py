"""`charter lint`: static findings, each with its code, place and hint."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import charter
from charter.syntax import ast
from charter.analysis.lint import CODES, lint
from charter.analysis.logic import exclusive
from charter.cli import main
from charter.check.loader import load
from charter.source.text import Source


ROOT = Path(__file__).resolve().parents[1]


def findings(text: str) -> list[tuple[str, int]]:
    return [(d.code, d.span.line) for d in lint(load(texts=[Source("p.charter", text)]))]


@pytest.mark.parametrize("text, expected", [
    ('let unused = user says "x"\nnorm n:\n    "d"\n    permit\n', [("C201", 1)]),
    ('pattern p = /x/\nnorm n:\n    "d"\n    permit\n', [("C202", 1)]),
    ('label mood\nnorm n:\n    "d"\n    permit\n', [("C203", 1)]),
    ('norm n:\n    "d"\n    forbid assistant.label("toxic") > 0.5\n', [("C204", 3)]),
    ('norm n:\n    permit\n', [("C205", 1)]),
    ('default norm a:\n    "d"\n    when user says "hi"\n    forbid assistant says "yo"\n'
     'norm b overrides a:\n    "d"\n    when not user says "hi"\n    permit\n', [("C206", 5)]),
    ('norm n:\n    "d"\n    when trace.meta.age >= 18\n    forbid assistant says "x"\n'
     '        unless trace.meta.age < 13: permit\n', [("C207", 5)]),
    ('norm n:\n    "d"\n    case user says "a": permit\n        unless not user says "a": forbid assistant says "b"\n'
     '    otherwise: permit\n', [("C207", 4)]),
    ('norm n:\n    "d"\n    case trace.meta.age <= 30: permit assistant says "ok"\n'
     '    case trace.meta.age > 10: forbid assistant says "ok"\n', [("C208", 4)]),
    ('pattern p = /[^\\s\\S]/\nnorm n:\n    "d"\n    forbid assistant mentions p\n', [("C209", 1)]),
    ('norm n:\n    "d"\n    forbid assistant matches /refund$ approved/\n', [("C209", 3)]),
])
def test_each_finding(text, expected):
    assert findings(text) == expected


@pytest.mark.parametrize("text", [
    # disjoint ranges, the same outcome, a condition that is only usually true
    'norm n:\n    "d"\n    case trace.meta.age <= 30: permit\n    case trace.meta.age > 90: forbid assistant says "x"\n',
    'norm n:\n    "d"\n    case user says "a": forbid assistant says "x"\n    case user says "b": forbid assistant says "x"\n',
    'label x\nnorm n:\n    "d"\n    when user.label("x") > 0.5\n    forbid assistant says "y"\n'
    '        unless user.label("x") > 0.9: permit\n',
    'let a = user says "a"\nnorm n:\n    "d"\n    when a or not a\n    permit\n',
    'norm n:\n    "d"\n    case trace.meta.age is unknown: forbid assistant says "x"\n'
    '    case trace.meta.age is known and trace.meta.age >= 18: permit\n    otherwise: permit\n',
])
def test_clean_policies_have_no_findings(text):
    assert findings(text) == []


def test_the_model_spec_example_is_clean():
    assert lint(load([str(ROOT / "examples" / "model_spec" / "model_spec.charter")])) == []


def _codes_named(text: str) -> set[str]:
    """The lint codes a text names, ranges (`C201–C209`) spelt out."""
    named = set(re.findall(r"\bC2\d\d\b", text))
    for first, last in re.findall(r"\bC(2\d\d)[–-]C(2\d\d)\b", text):
        named |= {f"C{n}" for n in range(int(first), int(last) + 1)}
    return named


def test_every_code_is_documented_and_every_documented_code_exists():
    used = _codes_named((ROOT / "src" / "charter" / "analysis" / "lint.py").read_text())
    assert used == set(CODES)
    assert _codes_named((ROOT / "docs" / "analysis.md").read_text()) == set(CODES)
    assert _codes_named((ROOT / "docs" / "cli.md").read_text()) == set(CODES)


def test_cli_text_json_and_exit_codes(tmp_path):
    path = tmp_path / "p.charter"
    path.write_text('let unused = user says "x"\nnorm n:\n    permit\n')
    runner = CliRunner()
    result = runner.invoke(main, ["lint", str(path)])
    assert result.exit_code == 1
    assert "warning[C201]" in result.output and f"{path}:1:1" in result.output and "hint:" in result.output
    assert result.output.rstrip().endswith("2 warnings")
    result = runner.invoke(main, ["lint", str(path), "--format", "json"])
    data = json.loads(result.output)
    assert [f["code"] for f in data["findings"]] == ["C201", "C205"]
    assert data["findings"][0] | {"file": "p"} == {
        "code": "C201", "severity": "warning", "message": "`unused` is defined but never used", "file": "p",
        "line": 1, "column": 1, "end_line": 1, "end_column": 26, "hint": "remove it, or use it in a norm"}
    path.write_text('norm n:\n    "d"\n    permit\n')
    assert runner.invoke(main, ["lint", str(path)]).exit_code == 0
    path.write_text('norm n:\n    permit nothing_here\n')
    assert runner.invoke(main, ["lint", str(path)]).exit_code == 2


# --------------------------------------------------------------------------- exclusive is sound

X = ast.Meta(ast.Subject("trace", "trace"), "meta", ("x",))
constraints = st.lists(st.tuples(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), st.integers(0, 6)),
                       min_size=1, max_size=4)


@given(constraints, constraints, st.booleans())
def test_exclusive_is_sound_on_numbers(first, second, negate):
    def condition(pairs):
        return ast.And(tuple(ast.Compare(op, X, ast.Literal(c)) for op, c in pairs))

    a, b = condition(first), condition(second)
    if negate:
        b = ast.Not(ast.Or((ast.Not(b),)))
    if exclusive(a, b):
        for value in [v / 2 for v in range(-2, 16)]:
            holds = [_compare(op, value, c) for op, c in first + second]
            assert not all(holds), (first, second, value)


def _compare(op: str, value: float, constant: int) -> bool:
    return {"<": value < constant, "<=": value <= constant, ">": value > constant, ">=": value >= constant,
            "==": value == constant, "!=": value != constant}[op]


def test_policy_api_unchanged():
    assert charter.loads('norm n:\n    permit\n').norms == ["n"]


_PIECES = st.sampled_from(["a", "b", "^", "$", "\\A", "(?:a|^)", "(?:b$)", "[^\\s\\S]", "[^a]", "x*", "\\b",
                           ".", "(?m:^)", "(?m:$)", "\n", "a?"])


@given(st.lists(_PIECES, min_size=1, max_size=6).map("".join), st.text(alphabet="abx \n", max_size=8))
def test_a_regex_said_never_to_match_matches_nothing(regex, text):
    import re2

    from charter.analysis.regex import never_matches

    if never_matches(regex) is not None:
        assert re2.search(regex, text) is None


@pytest.mark.parametrize("regex, flags", [
    ("^a$", ""), ("a|b^", ""), ("a$\\n^b", "m"), ("[^a]", ""), ("x*$", ""), ("a?^b", ""), ("\\bfoo\\b", ""),
])
def test_regexes_that_can_match_are_not_reported(regex, flags):
    from charter.analysis.regex import never_matches

    assert never_matches(regex, flags) is None
