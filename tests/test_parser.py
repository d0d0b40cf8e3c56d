"""The syntax stage: text -> AST, with spans."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charter.syntax import ast
from charter.source.text import Source
from charter.syntax.parser import _keywords, parse

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def parse_ok(text: str) -> ast.CharterFile:
    tree, errors = parse(Source("p.charter", text))
    assert errors == [], errors
    return tree


def only_norm(text: str) -> ast.Norm:
    (norm,) = parse_ok(text).of(ast.Norm)
    return norm


def test_the_design_example_parses_into_its_items():
    tree = parse_ok((EXAMPLES / "acme_support.charter").read_text())
    assert tree.header == ast.Header("acme_support", "developer")
    kinds = [type(item).__name__ for item in tree.items]
    assert kinds == ["Use", "Authorities", "Let", "Let", "Let", "Norm", "Norm", "Norm", "LabelDecl", "Norm", "Norm",
                     "TestBlock", "TestBlock"]
    formal = tree.of(ast.Norm)[3]
    assert formal.is_default and formal.overridable_by == "user"
    assert formal.body == ast.Outcome("forbid", ast.Matches(ast.Subject("assistant"),
                                                            ast.Regex(r"\b(lol|gonna|wanna)\b", "i")))


def test_every_node_span_lies_inside_the_source():
    text = (EXAMPLES / "acme_support.charter").read_text()
    lines = text.splitlines()
    for node in ast.walk(parse_ok(text)):
        span = getattr(node, "span", None)
        if span is None or span.line == 0:
            continue
        assert 1 <= span.line <= span.end_line <= len(lines), node
        assert 1 <= span.column <= len(lines[span.line - 1]) + 1, node


def test_spans_point_at_the_construct():
    text = 'let x = user says "hi"\n'
    (let,) = parse_ok(text).of(ast.Let)
    assert (let.body.span.line, let.body.span.column) == (1, 9)
    assert text[let.body.span.column - 1:let.body.span.end_column] == 'user says "hi"'


def test_spans_do_not_affect_equality():
    a = parse_ok('let x = user says "hi"\n').of(ast.Let)[0]
    b = parse_ok('\n\n   \nlet x =    user   says "hi"  # comment\n').of(ast.Let)[0]
    assert a == b and a.span != b.span


def test_comments_blank_lines_and_tabs():
    norm = only_norm(
        "# leading comment\n"
        "norm n:   # trailing comment\n"
        "\t# an indented comment\n"
        "\n"
        "\tforbid assistant says \"x\"\n"
        "\t\tunless user says \"y\": permit  # comment\n"
        "# comment at the end, without newline"
    )
    assert len(norm.body.exceptions) == 1


def test_lists_and_json_may_span_lines():
    tree = parse_ok(
        'let x = user says any of [\n    "a",\n    "b",\n]\n'
        'test "t":\n    meta {\n        "a": [1,\n 2]\n    }\n    user: "a"\n'
    )
    assert tree.of(ast.Let)[0].body.phrases == ast.ListLiteral((ast.Literal("a"), ast.Literal("b")))
    assert tree.of(ast.TestBlock)[0].meta == {"a": [1, 2]}


def test_keywords_are_names_where_a_name_is_expected():
    let = parse_ok('let username = trace.meta.label == "x" and trace.meta["user-tier"] == "gold"\n').of(ast.Let)[0]
    assert let.name == "username"
    left, right = let.body.operands
    assert left.left == ast.Meta(ast.Subject("trace", "trace"), "meta", ("label",))
    assert right.left == ast.Meta(ast.Subject("trace", "trace"), "meta", ("user-tier",))


def test_words_that_start_with_a_keyword_are_names():
    norm = only_norm('let notable = user says "x"\nlet ornament = user says "y"\n'
                     'norm n:\n    forbid notable and ornament\n')
    assert norm.body.behaviour == ast.And((ast.Name(("notable",)), ast.Name(("ornament",))))


def test_tabs_and_spaces_that_agree_at_any_tab_width_are_accepted():
    norm = only_norm('norm n:\n\tforbid assistant says "x"\n\t    unless user says "y": permit\n')
    assert len(norm.body.exceptions) == 1


KEYWORDS = sorted(_keywords())


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(KEYWORDS), st.text("abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=6))
def test_a_keyword_is_a_whole_word(keyword, tail):
    """`forbidd`, `permitted`, `whenever`: a word that starts with a keyword is one word,
    never the keyword and a name after it (issue 19.4). In a norm's first line it is an
    error at the start of the word, or (a role, a keyword) a line of its own."""
    word = keyword + tail
    if word in KEYWORDS or re.fullmatch(r"(assistant|user|system|developer|tool)", word):
        return
    # with a `let` of the tail's name, `keyword tail` would be a valid line
    tail_is_a_name = tail.isidentifier() and tail not in KEYWORDS
    text = f'norm a:\n    {word}\n' + (f'let {tail} = user says "x"\n' if tail_is_a_name else "")
    tree, errors = parse(Source("p.charter", text))
    assert tree is None
    assert [(e.span.line, e.span.column) for e in errors] == [(2, 5)], errors


def test_norm_settings_and_scope_words():
    norm = only_norm(
        'default norm n by user overrides a, m.b:\n'
        '    "why"\n    severity high\n    overridable by user\n    on tool call\n'
        '    when call.name == "delete"\n    require assistant says "sure" within 2 turns\n'
    )
    assert (norm.is_default, norm.authority, norm.severity, norm.scope) == (True, "user", "high", "tool call")
    assert norm.overrides == (ast.Name(("a",)), ast.Name(("m", "b")))
    assert norm.description == "why" and norm.body.within == 2


@pytest.mark.parametrize("text, expected", [
    ('any earlier user says "x"',
     ast.Quantified("any", "earlier", "user", ast.Says(ast.Subject("user", "bound"), "one", ast.Literal("x")))),
    ('every assistant matches /a/',
     ast.Quantified("every", "all", "assistant", ast.Matches(ast.Subject("assistant", "bound"), ast.Regex("a")))),
    ('any earlier user.label("x") > 0.5',
     ast.Quantified("any", "earlier", "user", ast.Compare(
         ">", ast.Label(ast.Subject("user", "bound"), "x"), ast.Literal(0.5)))),
    ('any user.label("x")',
     ast.Quantified("any", "all", "user", ast.Label(ast.Subject("user", "bound"), "x"))),
    ('count(any earlier user says "x") >= 2',
     ast.Compare(">=", ast.Count(ast.Quantified("any", "earlier", "user", ast.Says(
         ast.Subject("user", "bound"), "one", ast.Literal("x")))), ast.Literal(2))),
    ('previous assistant says "x"',
     ast.Says(ast.Subject("assistant", "previous"), "one", ast.Literal("x"))),
    ('not a and b or c',
     ast.Or((ast.And((ast.Not(ast.Name(("a",))), ast.Name(("b",)))), ast.Name(("c",))))),
    ('x not in [1, "a", true, null]',
     ast.In(ast.Name(("x",)), ast.ListLiteral((ast.Literal(1), ast.Literal("a"), ast.Literal(True),
                                                ast.Literal(None))), negated=True)),
    ('trace.meta.a is unknown', ast.KnownTest(ast.Meta(ast.Subject("trace", "trace"), "meta", ("a",)), False)),
    ('f(1, user says "x")', ast.Apply(ast.Name(("f",)), (ast.Literal(1), ast.Says(
        ast.Subject("user"), "one", ast.Literal("x"))))),
    ('assistant calls "rm"', ast.Calls(ast.Subject("assistant"), ast.Literal("rm"))),
    ('user.words > 3 and call.args.path.x == -1.5',
     ast.And((ast.Compare(">", ast.Property(ast.Subject("user"), "words"), ast.Literal(3)),
              ast.Compare("==", ast.Meta(ast.Subject("call", "call"), "args", ("path", "x")), ast.Literal(-1.5))))),
])
def test_expressions(text, expected):
    (let,) = parse_ok(f"let e = {text}\n").of(ast.Let)
    assert let.body == expected


def test_outcomes_cases_and_nested_exceptions():
    norm = only_norm(
        "norm n:\n"
        "    case a: forbid b\n"
        "        unless c: permit\n"
        "            unless d: unspecified \"why\" escalate to platform\n"
        "    otherwise: require e\n"
    )
    (case,) = norm.body.cases
    inner = case.outcome.exceptions[0].outcome
    assert inner.modality == "permit"
    assert inner.exceptions[0].outcome == ast.Outcome("unspecified", reason="why", escalate_to="platform")
    assert norm.body.otherwise.outcome == ast.Outcome("require", ast.Name(("e",)))


def test_test_blocks():
    (block,) = parse_ok(
        'test "t":\n'
        '    meta {"order": {"age_days": 45}}\n'
        '    user: "hi" labels {"x": 0.9} meta {"k": "v"}\n'
        '    assistant: "ok"\n'
        '    assistant calls delete {"path": "/"}\n'
        '    expect n violated at turn 1\n'
    ).of(ast.TestBlock)
    assert block.meta == {"order": {"age_days": 45}}
    assert block.messages[0] == ast.TestMessage("user", "hi", (("x", 0.9),), {"k": "v"})
    assert block.messages[2] == ast.TestCall("delete", {"path": "/"})
    assert block.expects == (ast.Expect(ast.Name(("n",)), "violated", 1),)


def test_a_file_without_a_header_has_none():
    assert parse_ok('let x = true\n').header is None


def test_attrs_nodes_are_frozen():
    node = ast.Literal(1)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        node.value = 2
