"""`charter fmt`: golden layouts, the CLI's modes and exit codes, and three properties over
generated policies written sloppily: formatting is idempotent, keeps the parse tree, and
keeps every verdict."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import charter
from charter.syntax import ast
from charter.source.text import Source
from charter.syntax.format import format_source
from charter.syntax.parser import parse
from property.strategies import SCOPES, Where, bodies, conditions, traces

CASES = pathlib.Path(__file__).parent / "cases" / "fmt"
REPO = pathlib.Path(__file__).parent.parent


def fmt(text: str, name: str = "x.charter") -> str:
    formatted, diagnostics = format_source(Source(name, text))
    assert formatted is not None, diagnostics
    return formatted.text


# --------------------------------------------------------------------------- goldens


@pytest.mark.parametrize("before", sorted(CASES.glob("*.charter")), ids=lambda p: p.stem)
def test_golden_layout(before: pathlib.Path):
    after = before.with_suffix(".formatted").read_text("utf-8")
    assert fmt(before.read_text("utf-8")) == after
    assert fmt(after) == after


def test_comments_stay_where_they_were():
    text = fmt((CASES / "comments.charter").read_text("utf-8"))
    assert "use std.pii as p  # alias\n" in text
    assert "# about b\nlet b" in text
    assert 'let c = [  # open\n    "a",  # a\n    # own\n    "b",\n]\n' in text
    assert "        unless user mentions pii.email: permit  # tr\n" in text
    assert "    # end of n\n\n# before test\ntest" in text
    assert text.endswith("# eof\n")


def test_parentheses_only_where_the_tree_needs_them():
    assert fmt("let a = ((x or y)) and (z)\n") == "let a = (x or y) and z\n"
    assert fmt("let a = x or (y or z)\n") == "let a = x or (y or z)\n"
    assert fmt("let a = (user says \"x\") == true\n") == 'let a = (user says "x") == true\n'
    assert fmt("let a = not (user says \"x\")\n") == 'let a = not (user says "x")\n'


def test_the_repository_policies_format_to_the_same_meaning():
    for path in [*REPO.glob("examples/**/*.charter"), *REPO.glob("src/charter/stdlib/*.charter")]:
        text = path.read_text("utf-8")
        if parse(Source(str(path), text))[0] is None:
            continue  # work in progress; `charter fmt` reports it, as tested below
        once = fmt(text, str(path))
        assert fmt(once, str(path)) == once
        assert parse(Source(str(path), once))[0] == parse(Source(str(path), text))[0]


# --------------------------------------------------------------------------- the command


def run(*args: str, cwd: pathlib.Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(pathlib.Path(sys.executable).parent / "charter"), "fmt", *args],
                          cwd=cwd, input=stdin, capture_output=True, text=True)


@pytest.fixture
def project(tmp_path: pathlib.Path) -> pathlib.Path:
    (tmp_path / "policies" / "bad").mkdir(parents=True)
    (tmp_path / "policies" / "ugly.charter").write_text("let  a=user says   \"x\"\n")
    (tmp_path / "policies" / "clean.charter").write_text('let a = user says "x"\n')
    (tmp_path / "policies" / "bad" / "broken.charter").write_text("norm n\n    permit\n")
    return tmp_path


def test_check_lists_the_files_that_would_change_and_fails(project):
    result = run("--check", "policies", "--exclude", "policies/bad", cwd=project)
    assert result.returncode == 1
    assert result.stderr.strip() == "would reformat policies/ugly.charter"
    assert (project / "policies" / "ugly.charter").read_text() == "let  a=user says   \"x\"\n"


def test_a_file_that_does_not_parse_is_reported_and_left_alone(project):
    result = run("policies", cwd=project)
    assert result.returncode == 2
    assert "policies/bad/broken.charter:1:7" in result.stderr
    assert "missing ':'" in result.stderr
    assert (project / "policies" / "bad" / "broken.charter").read_text() == "norm n\n    permit\n"
    assert (project / "policies" / "ugly.charter").read_text() == 'let a = user says "x"\n'


def test_rewrite_then_check_passes(project):
    assert run("policies", "--exclude", "*/bad/*", cwd=project).returncode == 0
    assert run("--check", "policies", "--exclude", "*/bad/*", cwd=project).returncode == 0


def test_diff_prints_a_unified_diff_and_writes_nothing(project):
    result = run("--diff", "policies/ugly.charter", cwd=project)
    assert result.returncode == 0
    assert result.stdout.splitlines()[:2] == ["--- policies/ugly.charter (original)",
                                             "+++ policies/ugly.charter (formatted)"]
    assert '-let  a=user says   "x"' in result.stdout and '+let a = user says "x"' in result.stdout
    assert (project / "policies" / "ugly.charter").read_text() == "let  a=user says   \"x\"\n"


def test_stdin_to_stdout(project):
    result = run("-", cwd=project, stdin="let  a=user says   \"x\"\n")
    assert (result.returncode, result.stdout) == (0, 'let a = user says "x"\n')
    assert run("--check", "-", cwd=project, stdin="let  a = 1\n").returncode == 1


# --------------------------------------------------------------------------- properties
# Generated norms (the shared strategies' bodies and conditions) written out sloppily:
# random indentation width, spacing, redundant parentheses, comments and blank lines.


@attrs.frozen
class Sloppy:
    """Draws the layout choices while writing an AST out as text."""

    draw: st.DrawFn

    def space(self) -> str:
        return self.draw(st.sampled_from((" ", " ", "  ")))

    def parens(self, text: str) -> str:
        return f"({text})" if self.draw(st.integers(0, 6)) == 0 else text

    def comment(self) -> str:
        return self.draw(st.sampled_from(("", "", "", "  # why", "# note")))


def _literal(value) -> str:
    return json.dumps(value) if not isinstance(value, float) else repr(value)


def _subject(subject: ast.Subject, bound: dict[str, str]) -> str:
    if subject.which == "bound":
        return bound[subject.role]
    return {"previous": f"previous {subject.role}"}.get(subject.which, subject.role)


def write_expr(node, out: Sloppy, bound: dict[str, str]) -> str:
    s = out.space

    def value(n) -> str:
        text = write_expr(n, out, bound)
        simple = isinstance(n, (ast.Literal, ast.ListLiteral, ast.Label, ast.Meta, ast.Property, ast.Count))
        return text if simple else f"({text})"

    match node:
        case ast.Literal(v):
            return _literal(v)
        case ast.ListLiteral(items):
            return "[" + ("," + s()).join(write_expr(i, out, bound) for i in items) + "]"
        case ast.Quantified(quantifier, range_, role, body):
            words = f"{quantifier} earlier {role}" if range_ == "earlier" else f"{quantifier} {role}"
            return write_expr(body, out, {**bound, role: words})
        case ast.Says(subject, mode, phrases):
            verb = {"one": "says", "any": "says any of", "all": "says all of"}[mode]
            return f"{_subject(subject, bound)}{s()}{verb}{s()}{value(phrases)}"
        case ast.Matches(subject, regex):
            return f"{_subject(subject, bound)} matches /{regex.source}/{regex.flags}"
        case ast.Calls(subject, tool):
            return f"{_subject(subject, bound)} calls {value(tool)}"
        case ast.Label(subject, name):
            return f"{_subject(subject, bound)}.label({json.dumps(name)})"
        case ast.Meta(subject, root, path):
            return f"{_subject(subject, bound)}.{root}." + ".".join(path)
        case ast.Property(subject, name):
            return f"{_subject(subject, bound)}.{name}"
        case ast.Count(body):
            return f"count({write_expr(body, out, bound)})"
        case ast.Compare(op, left, right):
            return f"{value(left)}{s()}{op}{s()}{value(right)}"
        case ast.In(v, items, negated):
            return f"{value(v)}{s()}{'not in' if negated else 'in'}{s()}{value(items)}"
        case ast.KnownTest(operand, known):
            return f"{value(operand)} is {'known' if known else 'unknown'}"
        case ast.Not(operand):
            return f"not{s()}({write_expr(operand, out, bound)})"
        case ast.And(operands) | ast.Or(operands):
            word = " and " if isinstance(node, ast.And) else " or "
            return word.join(out.parens(f"({write_expr(o, out, bound)})") for o in operands)
        case ast.Subject():
            return _subject(node, bound)
    raise AssertionError(node)


def write_outcome(outcome: ast.Outcome, out: Sloppy) -> str:
    text = outcome.modality
    if outcome.behaviour is not None:
        text += out.space() + out.parens(write_expr(outcome.behaviour, out, {}))
    if outcome.within is not None:
        text += f" within {outcome.within} turns"
    if outcome.reason is not None:
        text += f" {json.dumps(outcome.reason)}" + (f" escalate to {outcome.escalate_to}" if outcome.escalate_to else "")
    return text


def write_clause(head: str, outcome: ast.Outcome, depth: int, indent: str, out: Sloppy) -> list[str]:
    lines = [indent * depth + head + write_outcome(outcome, out) + out.comment()]
    for unless in outcome.exceptions:
        condition = write_expr(unless.condition, out, {})
        lines += write_clause(f"unless {condition}{out.space()}:{out.space()}", unless.outcome, depth + 1, indent, out)
    return lines


@st.composite
def sloppy_policies(draw: st.DrawFn) -> str:
    """One or two generated norms, written with random (valid) layout."""
    out = Sloppy(draw)
    indent = draw(st.sampled_from(("  ", "   ", "    ", "\t")))
    lines = [draw(st.sampled_from(("", "# a policy", "charter gen by developer")))]
    for index in range(draw(st.integers(1, 2))):
        scope = draw(st.sampled_from(SCOPES))
        where = Where(scope)
        lines += ["", f"norm{out.space()}n{index}{out.space()}:{out.comment()}", f"{indent}on {scope}"]
        if draw(st.booleans()):
            lines.append(f"{indent}when{out.space()}{write_expr(draw(conditions(where, 2)), out, {})}")
        body = draw(bodies(where))
        if draw(st.booleans()):
            lines.append("")
        if isinstance(body, ast.Outcome):
            lines += write_clause("", body, 1, indent, out)
        else:
            for case in body.cases:
                lines += write_clause(f"case {write_expr(case.condition, out, {})}: ", case.outcome, 1, indent, out)
            if body.otherwise is not None:
                lines += write_clause("otherwise:" + out.space(), body.otherwise.outcome, 1, indent, out)
    return "\n".join(lines) + "\n"


def loaded(text: str) -> charter.Policy | None:
    try:
        return charter.loads(text)
    except charter.PolicyError:
        return None


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None,
                             suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(sloppy_policies())
def test_formatting_is_idempotent_and_keeps_the_tree(text):
    tree, _ = parse(Source("x", text))
    assume(tree is not None)
    once = fmt(text)
    assert fmt(once) == once
    assert parse(Source("x", once))[0] == tree


@PROPERTY_SETTINGS
@given(sloppy_policies(), st.lists(traces(), min_size=1, max_size=3))
def test_formatting_keeps_every_verdict(text, generated):
    policy = loaded(text)
    assume(policy is not None)
    formatted = loaded(fmt(text))
    assert formatted is not None
    for trace in generated:
        before = [(v.norm, v.turn, v.kind) for v in policy.check(trace).verdicts]
        assert [(v.norm, v.turn, v.kind) for v in formatted.check(trace).verdicts] == before


# --------------------------------------------------------------------------- pre-commit
# The hooks run for real: pre-commit builds an environment with pip (the package from this
# repository, its dependencies from PyPI) once per commit of the repository, cached in
# pytest's cache directory.

MESSY = 'norm greet :\n  "Greet."\n  require   assistant says "hello"\ntest "t":\n  user: "hi"\n' \
        '  assistant: "hello there"\n  expect greet complied\n'


def pre_commit(*args: str, cwd: pathlib.Path, home: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(pathlib.Path(sys.executable).parent / "pre-commit"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PRE_COMMIT_HOME": str(home)})


@pytest.fixture(scope="module")
def hooks_home(request, tmp_path_factory) -> pathlib.Path:
    cache = getattr(request.config, "cache", None)
    return cache.mkdir("pre-commit-home") if cache is not None else tmp_path_factory.mktemp("pre-commit-home")


def git_repo(path: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    path.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=path, check=True)
    for name, text in files.items():
        (path / name).write_text(text)
    subprocess.run(["git", "add", *files], cwd=path, check=True)
    return path


def test_pre_commit_try_repo_formats_the_changed_policies(tmp_path, hooks_home):
    repo = git_repo(tmp_path / "user", {"policy.charter": MESSY})
    first = pre_commit("try-repo", str(REPO), "charter-fmt", "--all-files", cwd=repo, home=hooks_home)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    assert (repo / "policy.charter").read_text() == fmt(MESSY)
    again = pre_commit("try-repo", str(REPO), "charter-fmt", "--all-files", cwd=repo, home=hooks_home)
    assert again.returncode == 0, again.stdout


def test_pre_commit_lint_and_test_hooks_check_the_policy_named_in_args(tmp_path, hooks_home):
    revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    config = (f"repos:\n- repo: {REPO}\n  rev: {revision}\n  hooks:\n"
              "  - id: charter-lint\n    args: [policy.charter]\n"
              "  - id: charter-test\n    args: [policy.charter, --no-properties]\n")
    failing = MESSY.replace("expect greet complied", "expect greet violated")
    repo = git_repo(tmp_path / "user", {"policy.charter": failing, ".pre-commit-config.yaml": config})
    result = pre_commit("run", "--all-files", cwd=repo, home=hooks_home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"charter lint\.+Passed", result.stdout)
    assert re.search(r"charter test\.+Failed", result.stdout)
    assert "expect greet violated: got complied" in result.stdout
    (repo / "policy.charter").write_text(MESSY)
    assert pre_commit("run", "--all-files", cwd=repo, home=hooks_home).returncode == 0


def test_a_comment_keeps_its_depth_after_a_line_too_long_to_break():
    reason = "x" * 100
    text = (f'norm n:\n    case a: forbid b\n        unless c: unspecified "{reason}"\n'
            f'        # about the exception\n    otherwise: permit\n')
    assert fmt(text) == text
