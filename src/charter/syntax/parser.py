"""Source text -> AST. The only module that imports lark.

`parse(source)` returns a `CharterFile` and the diagnostics met on the way. Lark's
exceptions never leave this module: each becomes a Diagnostic that says, in a policy
author's words, what was found and what was expected. When the file as a whole does not
parse, every top-level block is parsed on its own so that one run reports the syntax
errors of all blocks, not just the first.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import os
import re
import sys
import threading
from importlib import resources
from typing import Any

import attrs
import lark
from lark import Token, Transformer, v_args
from lark.indenter import DedentError, Indenter

from . import ast
from ..source.cache import cache_directory
from ..source.diagnostics import Diagnostic
from ..source.text import Source, Span

# Deeper than this, a policy is not written by a person; refusing it keeps every later
# (recursive) stage far from Python's recursion limit.
MAX_DEPTH = 120
MAX_SYNTAX_ERRORS = 30


class _CharterIndenter(Indenter):
    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR", "LSQB", "LBRACE"]
    CLOSE_PAREN_types = ["RPAR", "RSQB", "RBRACE"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8

    @property
    def always_accept(self) -> tuple[str, ...]:
        # A keyword is a whole word: with NAME known in every lexer state, `forbidd` lexes
        # as one name (an error where a keyword is expected), not as `forbid` and `d`. A
        # name spelt like a keyword the state accepts is still that keyword.
        return (self.NL_type, "NAME")

    def process(self, stream):
        self.levels = [_Level("", 1)]
        return super().process(stream)

    def handle_NL(self, token: Token):
        if self.paren_level == 0:
            self._check_tabs(token)
        return super().handle_NL(token)

    def _check_tabs(self, token: Token) -> None:
        """Refuse a line whose place among the open blocks depends on how wide a tab is
        (as Python does): tabs and spaces mixed so that the reader cannot see the blocks."""
        level = _Level(token.rsplit("\n", 1)[1], token.end_line or token.line)
        while len(self.levels) > 1 and level.wide < self.levels[-1].wide:
            if level.narrow >= self.levels[-1].narrow:
                raise _MixedIndentation(level, self.levels[-1])
            self.levels.pop()
        top = self.levels[-1]
        if (level.wide > top.wide) != (level.narrow > top.narrow) or (
                level.wide == top.wide) != (level.narrow == top.narrow):
            raise _MixedIndentation(level, top)
        if level.wide > top.wide:
            self.levels.append(level)


@attrs.frozen
class _Level:
    """The indentation of a line: its text, and its width when a tab is 8 columns or 1."""

    text: str
    line: int

    @property
    def wide(self) -> int:
        return self.text.count(" ") + 8 * self.text.count("\t")

    @property
    def narrow(self) -> int:
        return len(self.text)

    def words(self) -> str:
        tabs, spaces = self.text.count("\t"), self.text.count(" ")
        parts = [_count(tabs, "a tab", "tabs"), _count(spaces, "a space", "spaces")]
        return " and ".join(p for p in parts if p)


def _count(n: int, one: str, many: str) -> str:
    return "" if n == 0 else one if n == 1 else f"{n} {many}"


class _MixedIndentation(lark.exceptions.LarkError):
    """A line indented with tabs where the block it may belong to is indented with spaces,
    or the other way round."""

    def __init__(self, line: _Level, block: _Level):
        super().__init__(f"line {line.line}: tabs and spaces mixed")
        self.line, self.block = line, block


@functools.cache
def _lark() -> lark.Lark:
    grammar = resources.files("charter.syntax").joinpath("grammar.lark").read_text("utf-8")
    return lark.Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        postlex=_CharterIndenter(),
        propagate_positions=True,
        maybe_placeholders=True,
        cache=_parser_cache(grammar),
    )


def _parser_cache(grammar: str) -> str | bool:
    """Where lark keeps the parser tables it builds from the grammar: building them takes
    about 100 ms of every command that reads a policy, loading them about 10 ms. A file in
    this user's cache directory (lark's default is the shared temporary directory, and
    the file is a pickle) named by the grammar and the lark and Python versions; lark
    checks them again when it loads the file, and rebuilds it when they differ or it
    cannot be read. False (no cache) when there is no such directory to be had."""
    directory = cache_directory()
    if directory is None:
        return False
    key = hashlib.sha256(f"{grammar}\0{lark.__version__}\0{sys.version_info[:2]}".encode()).hexdigest()[:16]
    return os.path.join(directory, f"parser-{key}.lark")


def parse(source: Source) -> tuple[ast.CharterFile | None, list[Diagnostic]]:
    """Parse one file. On syntax errors the tree is None and every error found is returned."""
    text = source.text if source.text.endswith("\n") else source.text + "\n"
    try:
        tree = _lark().parse(text)
    except (lark.exceptions.LarkError, DedentError) as error:
        return None, _all_syntax_errors(source, text, error)
    deep = _too_deep(tree, source.name)
    if deep:
        return None, [deep]
    builder = _ToAst(source.name, text)
    try:
        result = builder.transform(tree)
    except lark.exceptions.VisitError as error:
        if isinstance(error.orig_exc, _NodeError):
            return None, [*builder.diagnostics, error.orig_exc.diagnostic]
        raise
    return (None if builder.diagnostics else result), builder.diagnostics


@attrs.frozen
class Comment:
    """A `# ...` comment. The grammar folds comments into newline tokens, so the tree has
    none; `concrete_tree` recovers them for the formatter."""

    line: int
    column: int
    text: str


_comment_sink = threading.local()


def _collect_comments(token: Token) -> Token:
    """Lexer callback on newline tokens: note the comments inside one (`# a\n  # b\n`)."""
    found = getattr(_comment_sink, "comments", None)
    if found is not None and "#" in token.value:
        line, column = token.line, token.column
        for number, part in enumerate(token.value.split("\n")):
            start = part.find("#")
            if start >= 0:
                found.append(Comment(line + number, (column if number == 0 else 1) + start, part[start:].rstrip("\r")))
    return token


@functools.cache
def _lark_keeping_comments() -> lark.Lark:
    """The same parser, plus the comment-collecting callback (kept apart so that `parse`
    does no work for comments)."""
    grammar = resources.files("charter.syntax").joinpath("grammar.lark").read_text("utf-8")
    return lark.Lark(
        grammar, parser="lalr", lexer="contextual", postlex=_CharterIndenter(),
        propagate_positions=True, maybe_placeholders=True,
        lexer_callbacks={"_NL": _collect_comments},
    )


def concrete_tree(source: Source) -> tuple[lark.Tree | None, tuple[Comment, ...], list[Diagnostic]]:
    """The parse tree (tokens spelled as written) and the comments, for printers that must
    keep the author's text; on a syntax error the tree is None."""
    text = source.text if source.text.endswith("\n") else source.text + "\n"
    _comment_sink.comments = []
    try:
        tree = _lark_keeping_comments().parse(text)
    except (lark.exceptions.LarkError, DedentError) as error:
        return None, (), _all_syntax_errors(source, text, error)
    finally:
        comments, _comment_sink.comments = tuple(_comment_sink.comments), None
    return tree, comments, []


def parse_tree(source: Source) -> tuple[str | None, list[Diagnostic]]:
    """The raw parse tree, pretty-printed (for `charter dump tree`)."""
    text = source.text if source.text.endswith("\n") else source.text + "\n"
    try:
        return _lark().parse(text).pretty(), []
    except (lark.exceptions.LarkError, DedentError) as error:
        return None, _all_syntax_errors(source, text, error)


# --------------------------------------------------------------------------- errors


class _NodeError(Exception):
    """A construct that parses but is malformed (a bad string escape, bad JSON number)."""

    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


def _all_syntax_errors(source: Source, text: str, first: Exception) -> list[Diagnostic]:
    """The first error, plus the errors of every later top-level block parsed alone."""
    found = [_describe(source.name, text, first, line_offset=0)]
    first_line = found[0].span.line
    for start, block in _top_level_blocks(text):
        if start + block.count("\n") < first_line or len(found) >= MAX_SYNTAX_ERRORS:
            continue
        if start <= first_line:
            continue
        try:
            _lark().parse(block)
        except (lark.exceptions.LarkError, DedentError) as error:
            found.append(_describe(source.name, block, error, line_offset=start - 1))
    return found


def _top_level_blocks(text: str) -> list[tuple[int, str]]:
    """Split the file at lines that start in column 1 (the start of each top-level item),
    as (first line number, text) pairs."""
    blocks: list[tuple[int, list[str]]] = []
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        starts_item = line[:1] not in ("", " ", "\t", "\n", "\r", "#")
        if starts_item or not blocks:
            blocks.append((number, []))
        blocks[-1][1].append(line)
    return [(start, "".join(lines)) for start, lines in blocks]


_WORDS = {
    "NAME": "a name",
    "STRING": 'a string in double quotes',
    "NUMBER": "a number",
    "INT": "a whole number",
    "REGEX": "a regular expression like /word/i",
    "ROLE": "a role (assistant, user, system, developer, tool)",
    "COMP_OP": "a comparison (<, <=, >, >=, ==, !=)",
    "_NL": "the end of the line",
    "_INDENT": "an indented block",
    "_DEDENT": "the end of the indented block",
    "$END": "the end of the file",
}


def _word(terminal: str) -> str:
    if terminal in _WORDS:
        return _WORDS[terminal]
    try:
        pattern = _lark().get_terminal(terminal).pattern
    except KeyError:
        return terminal.lower()
    return f"'{pattern.value}'"


# Tokens that stand for one thing to a policy's author: when all of a group may come
# next, the message names the thing, and the hint lists its forms.
_GROUPS = (
    (frozenset({"STRING", "SEVERITY", "OVERRIDABLE", "ON", "WHEN", "CASE", "OTHERWISE",
                "REQUIRE", "FORBID", "PERMIT", "UNSPECIFIED"}), "a norm line",
     "a norm's lines are a description in double quotes, `severity`, `overridable by`, `on`, "
     "`when`, `case`, `otherwise`, or an outcome: `require`, `forbid`, `permit`, `unspecified`"),
    (frozenset({"USE", "AUTHORITIES", "LET", "PATTERN", "LABEL", "META", "NORM", "DEFAULT", "TEST"}),
     "a declaration",
     "a top-level line starts in column 1 with `use`, `authorities`, `let`, `pattern`, `label`, `meta`, "
     "`norm`, `default norm` or `test`"),
    (frozenset({"NAME", "STRING", "NUMBER", "ROLE", "LPAR", "LSQB", "TRUE", "FALSE", "NULL",
                "COUNT", "ANY", "EVERY", "PREVIOUS", "CALL", "TRACE"}),
     "a value (a string in double quotes, a number, a list, a name, or a subject such as "
     "`assistant`)", None),
)

# What must follow a keyword, and an example of the whole construct.
_OPERANDS = {
    "SAYS": ("a phrase in double quotes", 'assistant says "refund"'),
    "MATCHES": ("a regular expression", "assistant matches /refund/i"),
    "MENTIONS": ("a pattern's name", "assistant mentions pii.email"),
    "CALLS": ("a tool name in double quotes", 'assistant calls "delete_account"'),
    "WHEN": ("a condition", 'when user says "refund"'),
    "CASE": ("a condition", 'case user says "refund": permit'),
    "UNLESS": ("a condition", 'unless user says "please": permit'),
    "REQUIRE": ("what is required", 'require assistant says "sorry"'),
    "FORBID": ("what is forbidden", 'forbid assistant says "guaranteed"'),
    "AND": ("a condition", 'user says "refund" and trace.meta.verified == true'),
    "OR": ("a condition", 'user says "refund" or user says "money back"'),
    "NOT": ("a condition", 'not user says "refund"'),
    "COMP_OP": ("a value to compare with", "trace.meta.age >= 18"),
    "IN": ("a list", 'trace.meta.tier in ["gold", "silver"]'),
    "WITHIN": ("a number of turns", "within 2 turns"),
    "SEVERITY": ("a severity", "severity high"),
    "ON": ("a scope", "on user turn"),
    "UNSPECIFIED": ("a reason in double quotes", 'unspecified "ask a person" escalate to developer'),
    "EXPECT": ("a norm's name and a verdict", "expect refund_window violated"),
    "LET": ("a name", 'let asks_refund = user says "refund"'),
    "PATTERN": ("a name", "pattern card = /[0-9]{16}/ where luhn"),
    "LABEL": ("a name", "label self_harm uncertain between 0.4 and 0.8"),
    "USE": ("a module", "use std.pii"),
    "NORM": ("a name", "norm no_promises:"),
}

_CHARACTER_HINTS = {
    "'": "strings are in double quotes",
    "&": "write `and`",
    "|": "write `or`",
    "!": "write `not`, or `!=` to compare",
}


def _expected(names: set[str]) -> str:
    """The expected tokens in words, every one of them: groups by what they stand for,
    kinds of things (a name, a string) before keywords, keywords before punctuation."""
    def order(word: str) -> tuple[int, str]:
        return (0 if not word.startswith("'") else 1 if word[1:2].isalpha() else 2, word)

    names = {n for n in names if not n.startswith("__")}
    groups = [words for members, words, _ in _GROUPS if members <= names]
    names -= {n for members, _, _ in _GROUPS if members <= names for n in members}
    words = groups + sorted({_word(n) for n in names}, key=order)
    return ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1] if words else "nothing"


def _found(token: Token) -> str:
    words = {"$END": "the end of the file", "_NL": "the end of the line",
             "_INDENT": "an indented line", "_DEDENT": "the end of an indented block"}
    return words.get(token.type, f"'{token.value}'")


def _describe(file: str, text: str, error: Exception, line_offset: int) -> Diagnostic:
    """One lark (or indentation) error as a Diagnostic in the policy author's terms."""
    if isinstance(error, lark.exceptions.UnexpectedToken):
        return _unexpected_token(file, text, error, line_offset)
    if isinstance(error, lark.exceptions.UnexpectedCharacters):
        return _unexpected_character(file, text, error, line_offset)
    if isinstance(error, lark.exceptions.UnexpectedEOF):
        last = len(text.splitlines())
        return Diagnostic(
            "E101", "the file ends in the middle of a construct",
            Span.point(file, last + line_offset, 1),
            hint=f"expected {_expected(set(error.expected))}",
        )
    if isinstance(error, _MixedIndentation):
        return _mixed_indentation(file, error, line_offset)
    if isinstance(error, DedentError):
        line = _dedent_line(str(error), text)
        return Diagnostic(
            "E104", "this line's indentation does not match any enclosing block",
            Span.point(file, line + line_offset, 1),
            hint="indent it exactly like the lines of the block it belongs to",
        )
    return Diagnostic("E100", str(error), Span.point(file, 1 + line_offset, 1))


def _mixed_indentation(file: str, error: _MixedIndentation, line_offset: int) -> Diagnostic:
    line = error.line.line + line_offset
    return Diagnostic(
        "E119", f"tabs and spaces are mixed: this line is indented with {error.line.words()}, "
        f"line {error.block.line + line_offset} with {error.block.words()}",
        Span(file, line, 1, line, max(len(error.line.text), 1)),
        hint="indent with spaces only (or tabs only): which block this line belongs to depends "
             "on how wide a tab is",
    )


def _acceptable(error: Any) -> set[str]:
    """The tokens that could have come next. Lark's `expected` is the LALR state's
    lookahead set, which may hold tokens no input accepts there; the interactive parser
    tries each one."""
    interactive = getattr(error, "interactive_parser", None)
    if interactive is not None:
        return set(interactive.accepts())
    return set(getattr(error, "expected", None) or getattr(error, "allowed", None) or ())


def _stack(error: Any) -> list:
    """What the parser had read when it stopped: tokens, and trees of finished parts."""
    interactive = getattr(error, "interactive_parser", None)
    return list(interactive.parser_state.value_stack) if interactive is not None else []


def _unexpected_token(file: str, text: str, error: Any, line_offset: int) -> Diagnostic:
    unclosed = _unclosed_bracket(text)
    token: Token = _as_keyword(error.token)
    line = (token.line or 1) + line_offset
    column = token.column or 1
    expected = _acceptable(error)
    stack = _stack(error)
    span = Span(file, line, column, line, column + max(len(str(token.value).split("\n")[0]), 1) - 1)
    if token.type == "_INDENT":
        indented = (token.end_line or token.line) + line_offset
        return Diagnostic("E103", "this line is indented but nothing above opens a block",
                          Span(file, indented, 1, indented, max(len(token.value), 1)),
                          hint="remove the indentation, or end the line above with ':'")
    closers = {"RPAR", "RSQB", "RBRACE"}
    if expected & closers and token.type in ("$END", "_DEDENT") and unclosed is not None:
        return Diagnostic("E117", f"this '{unclosed[2]}' is never closed",
                          Span.point(file, unclosed[0] + line_offset, unclosed[1]),
                          hint="close it, or remove it")
    outcome_words = {"REQUIRE", "FORBID", "PERMIT", "UNSPECIFIED"}
    if "COLON" in expected and unclosed is None and (
        token.type in ("_NL", "$END") or token.type in outcome_words
    ):
        return Diagnostic("E102", "missing ':' " + ("before the outcome" if token.type in outcome_words
                                                    else "at the end of this line"), span,
                          hint="norm, case, unless, otherwise and test lines end with ':'")
    if token.value == "unless":
        return _misplaced_unless(text, token, span)
    if token.type == "_DEDENT" or "_INDENT" in expected or _after_block_opener(text, token):
        return Diagnostic("E105", "expected an indented block here", span,
                          hint="indent the lines that belong to the line ending with ':'")
    specific = (_within_without_unit(token, stack, span) or _unquoted_phrase(text, token, stack, file, line_offset)
                or _misspelt_keyword(token, expected, span) or _missing_operand(token, stack, span))
    if specific is not None:
        return specific
    return Diagnostic("E100", f"found {_found(token)} where {_expected(expected)} was expected", span,
                      hint=_hint(token, expected, stack))


def _misplaced_unless(text: str, token: Token, span: Span) -> Diagnostic:
    """`unless` at the indentation of its outcome, or on the outcome's own line."""
    lines = text.split("\n")
    starts_line = not lines[token.line - 1][: token.column - 1].strip()
    if not starts_line:
        return Diagnostic("E118", "`unless` must start a line of its own, indented under the outcome "
                          "it is an exception to", span,
                          hint="move it to the next line, indented more than the outcome")
    above = next((line.split() for line in reversed(lines[: token.line - 1])
                  if line.strip() and not line.lstrip().startswith("#")), [""])
    outcome = above[0] if above[0] in ("require", "forbid", "permit", "unspecified") else None
    return Diagnostic("E118", "`unless` must be indented under the outcome it is an exception to", span,
                      hint=f"indent it more than the `{outcome}` line above" if outcome
                      else "indent it more than the `require`, `forbid`, `permit` or `unspecified` line it modifies")


def _within_without_unit(token: Token, stack: list, span: Span) -> Diagnostic | None:
    """`within 2` with something other than `turns` or `messages` after the number."""
    if len(stack) < 2 or not _is_token(stack[-2], "WITHIN") or not _is_token(stack[-1], "INT"):
        return None
    count = int(stack[-1])
    return Diagnostic("E111", f"expected 'turns' or 'messages' after the number, not {_found(token)}", span,
                      hint=f"write `within {count} {'turn' if count == 1 else 'turns'}`")


_PHRASE_WORDS = re.compile(r"[\w']+(?:[ \t]+(?!(?:and|or|within)\b)[\w']+)*")


def _unquoted_phrase(text: str, token: Token, stack: list, file: str, line_offset: int) -> Diagnostic | None:
    """`says refund approved`: words after `says` where one string in quotes belongs."""
    if token.type != "NAME" or len(stack) < 2 or not _is_token(stack[-2], "SAYS"):
        return None
    first = _first_token(stack[-1])
    if first is None or first.type != "NAME" or first.line != token.line:
        return None
    line = text.split("\n")[first.line - 1]
    words = _PHRASE_WORDS.match(line, first.column - 1)
    phrase = words.group(0) if words else str(first)
    return Diagnostic("E218", "`says` needs a phrase in double quotes",
                      Span(file, first.line + line_offset, first.column, first.line + line_offset,
                           first.column + len(phrase) - 1),
                      hint=f'write `says "{phrase}"`')


def _misspelt_keyword(token: Token, expected: set[str], span: Span) -> Diagnostic | None:
    """A word where only keywords may stand, close to one of them (`forbidd`, `requires`)."""
    if token.type != "NAME" or "NAME" in expected:
        return None
    keywords = [word for word in map(_keyword, expected) if word]
    word = str(token).lower()
    prefixes = sorted((k for k in keywords if len(k) >= 4 and word.startswith(k)), key=len)
    close = prefixes[-1:] or difflib.get_close_matches(word, keywords, n=1, cutoff=0.6)
    if not close:
        return None
    return Diagnostic("E114", f"`{token}` is not a keyword", span, hint=f"did you mean `{close[0]}`?")


def _missing_operand(token: Token, stack: list, span: Span) -> Diagnostic | None:
    """The line ends right after a keyword that needs something after it (`says`, `when`)."""
    if token.type not in ("_NL", "$END") or not stack or not isinstance(stack[-1], Token):
        return None
    keyword = stack[-1]
    if keyword.type not in _OPERANDS:
        return None
    what, example = _OPERANDS[keyword.type]
    return Diagnostic("E100", f"`{keyword}` needs {what} after it", span, hint=f"for example `{example}`")


def _hint(token: Token, expected: set[str], stack: list) -> str | None:
    """How to fix an unexpected token: the forms of what may stand there, or an example
    of the construct being written."""
    if token.type == "_NL" and expected <= {"REQUIRE", "FORBID", "PERMIT", "UNSPECIFIED", "_NL"}:
        return "the outcome goes on the same line as its condition: `case C: forbid B`"
    if token.value == "=" and "COMP_OP" in expected:
        return "compare with `==` (`=` defines a `let` or a `pattern`)"
    if {"AND", "OR"} <= expected:
        return "join two conditions with `and` or `or`"
    for members, _, hint in _GROUPS:
        if hint and members <= expected:
            return hint
    keyword = next((t for t in reversed(stack) if isinstance(t, Token) and t.type in _OPERANDS), None)
    return f"for example `{_OPERANDS[keyword.type][1]}`" if keyword is not None else None


@functools.cache
def _keywords() -> dict[str, str]:
    """Every keyword of the grammar: its word -> its terminal."""
    return {word: terminal.name for terminal in _lark().terminals if (word := _keyword(terminal.name))}


def _as_keyword(token: Token) -> Token:
    """A keyword where the grammar does not accept it lexes as a name (a keyword is a
    keyword only where one may stand); for the message, it is the keyword again."""
    if token.type == "NAME" and str(token) in _keywords():
        return Token.new_borrow_pos(_keywords()[str(token)], str(token), token)
    return token


def _keyword(terminal: str) -> str | None:
    """The word of a keyword terminal (`forbid` for FORBID); None for other terminals."""
    try:
        pattern = _lark().get_terminal(terminal).pattern
    except KeyError:
        return None
    value = pattern.value
    return value if isinstance(pattern, lark.lexer.PatternStr) and value.isalpha() else None


def _is_token(item: Any, kind: str) -> bool:
    return isinstance(item, Token) and item.type == kind


def _first_token(item: Any) -> Token | None:
    if isinstance(item, Token):
        return item
    if isinstance(item, lark.Tree):
        return next(item.scan_values(lambda v: isinstance(v, Token)), None)
    return None


def _unexpected_character(file: str, text: str, error: Any, line_offset: int) -> Diagnostic:
    line, column = error.line + line_offset, error.column
    char = text[error.pos_in_stream] if error.pos_in_stream < len(text) else ""
    span = Span.point(file, line, column)
    if char == '"':
        return Diagnostic("E106", "this string is not closed on its line", span,
                          hint='close it with " (write \\" for a quote inside)')
    if char == "/":
        return Diagnostic("E107", "this regular expression is not closed on its line", span,
                          hint="close it with / (write \\/ for a slash inside)")
    shown = repr(char) if char.strip() else "a blank"
    expected = _acceptable(error)
    hint = _CHARACTER_HINTS.get(char) or (f"expected {_expected(expected)}" if expected else None)
    if char == "'":
        quoted = re.match(r"'([^'\n]*)'", text[error.pos_in_stream:])
        hint += f': "{quoted.group(1)}"' if quoted else ""
    return Diagnostic("E108", f"unexpected character {shown}", span, hint=hint)


def _after_block_opener(text: str, token: Token) -> bool:
    """Whether the token starts a line that should have been indented: the last line
    with code above it ends with ':'."""
    if not token.line or (token.column or 1) > 1:
        return False
    for line in reversed(text.split("\n")[: token.line - 1]):
        code = line.split("#", 1)[0].rstrip() if '"' not in line else line.rstrip()
        if code:
            return code.endswith(":")
    return False


def _unclosed_bracket(text: str) -> tuple[int, int, str] | None:
    """(line, column, bracket) of the last bracket left open, skipping strings and
    comments; None if all are closed."""
    stack: list[tuple[int, int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        column, in_string = 0, False
        while column < len(line):
            char = line[column]
            if in_string:
                if char == "\\":
                    column += 1
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "#":
                break
            elif char in "([{":
                stack.append((number, column + 1, char))
            elif char in ")]}" and stack:
                stack.pop()
            column += 1
    return stack[-1] if stack else None


def _dedent_line(message: str, text: str) -> int:
    """Lark's DedentError carries no position; find the first line whose indentation
    matches no enclosing level, as lark computes it."""
    levels = [0]
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        width = len(line[: len(line) - len(stripped)].expandtabs(8))
        if width > levels[-1]:
            levels.append(width)
            continue
        while width < levels[-1]:
            levels.pop()
        if width != levels[-1]:
            return number
    return 1


def _too_deep(tree: lark.Tree, file: str) -> Diagnostic | None:
    """Refuse trees nested deeper than MAX_DEPTH, found without recursion."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            meta = node.meta
            return Diagnostic(
                "E109", f"this is nested too deeply (more than {MAX_DEPTH} levels)",
                Span.point(file, getattr(meta, "line", 1), getattr(meta, "column", 1)),
                hint="split it into several `let` definitions",
            )
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, lark.Tree))
    return None


# --------------------------------------------------------------------------- tree -> AST


def _decode_string(token: Token, file: str) -> str:
    try:
        return json.loads(token.value)
    except ValueError:
        raise _NodeError(Diagnostic(
            "E110", f"this string has an invalid escape: {token.value}",
            _token_span(token, file),
            hint='the escapes are \\" \\\\ \\/ \\n \\t \\r \\b \\f and \\uXXXX',
        )) from None


def _token_span(token: Token, file: str) -> Span:
    return Span(file, token.line, token.column, token.end_line or token.line,
                max((token.end_column or token.column) - 1, token.column))


def _test_failure(role: Token, said: list[tuple[bool, Span]]) -> bool | None:
    """A test message's `failed` / `not failed`: said at most once, and of a tool result."""
    if not said:
        return None
    if len(said) > 1:
        raise _NodeError(Diagnostic(
            "E334", "a test message says whether it failed only once", said[1][1],
            hint="keep one `failed` or `not failed`"))
    failed, span = said[0]
    if str(role) != "tool":
        raise _NodeError(Diagnostic(
            "E333", f"`{'failed' if failed else 'not failed'}` is about a tool result, and `{role}` is not one", span,
            hint=f"write `tool: \"...\" {'failed' if failed else 'not failed'}` for the result of a call"))
    return failed


def _number(text: str) -> int | float:
    return int(text) if re.fullmatch(r"-?[0-9]+", text) else float(text)


@v_args(meta=True)
class _ToAst(Transformer):
    """One method per grammar rule; each builds the AST node with its span."""

    def __init__(self, file: str, text: str):
        super().__init__()
        self.file = file
        self.lines = text.split("\n")
        self.diagnostics: list[Diagnostic] = []

    def _span(self, meta: Any) -> Span:
        if getattr(meta, "empty", True):
            return Span.point(self.file, 1, 1)
        end_line, end_column = self._trim(meta.line, meta.end_line, meta.end_column)
        return Span(self.file, meta.line, meta.column, end_line, end_column)

    def _trim(self, first: int, line: int, column: int) -> tuple[int, int]:
        """The last column of real text at or before (line, column): a block's end as
        lark reports it lies past the newline (and comments) that close it."""
        text = self.lines[line - 1][: column - 1] if line <= len(self.lines) else ""
        while line > first and (not text.strip() or text.lstrip().startswith("#")):
            line -= 1
            text = self.lines[line - 1]
        return line, max(len(text.rstrip()), 1)

    def _str(self, token: Token) -> str:
        return _decode_string(token, self.file)

    # ---- file and declarations

    def start(self, meta, children):
        header = children[0] if children and isinstance(children[0], ast.Header) else None
        items = tuple(c for c in children if c is not None and not isinstance(c, ast.Header))
        return ast.CharterFile(self.file, header, items, span=self._span(meta))

    def header(self, meta, children):
        name, authority = children
        return ast.Header(str(name), str(authority) if authority else None, span=self._span(meta))

    def dotted_name(self, meta, children):
        return ast.Name(tuple(str(c) for c in children), span=self._span(meta))

    def use_std(self, meta, children):
        module, alias = children
        return ast.Use(module.dotted, str(alias) if alias else module.parts[-1],
                       span=self._span(meta))

    def use_path(self, meta, children):
        path, alias = children
        return ast.Use(self._str(path), str(alias), is_path=True, span=self._span(meta))

    def authorities(self, meta, children):
        return ast.Authorities(tuple(str(c) for c in children), span=self._span(meta))

    def params(self, meta, children):
        names = [c for c in children if c is not None]
        seen: set[str] = set()
        for token in names:
            if str(token) in seen:
                self._error("E116", f"the parameter `{token}` is named twice", _token_span(token, self.file),
                            "give each parameter its own name")
            seen.add(str(token))
        return tuple(str(c) for c in names)

    def let(self, meta, children):
        name, params, body = children
        return ast.Let(str(name), body, params, span=self._span(meta))

    def pattern_regex(self, meta, children):
        name, regex, check = children
        return ast.PatternDecl(str(name), regex=self._regex(regex, check), span=self._span(meta))

    def where(self, meta, children):
        return ast.Name((str(children[0]),), span=_token_span(children[0], self.file))

    def pattern_phrases(self, meta, children):
        name, phrases = children
        for item in phrases.items:
            if not (isinstance(item, ast.Literal) and isinstance(item.value, str)):
                raise _NodeError(Diagnostic(
                    "E115", "a phrase pattern lists phrases in double quotes", item.span,
                    hint='write `pattern greeting = any of ["hello", "good morning"]`',
                ))
        return ast.PatternDecl(str(name), phrases=tuple(i.value for i in phrases.items),
                               span=self._span(meta))

    def label(self, meta, children):
        name, fact_type, detector, band = children
        return ast.LabelDecl(str(name), type=fact_type, detector=detector, span=self._span(meta),
                             **(band or {}))

    def meta_decl(self, meta, children):
        path, fact_type = children
        return ast.MetaDecl(path, fact_type, span=self._span(meta))

    def meta_path(self, meta, children):
        return tuple(self._str(c) if c.type == "STRING" else str(c) for c in children)

    def type_name(self, meta, children):
        return ast.FactType(str(children[0]), span=self._span(meta))

    def type_choices(self, meta, children):
        items = children[0].items
        for item in items:
            if not isinstance(item, ast.Literal) or item.value is None:
                raise _NodeError(Diagnostic(
                    "E126", "`one of` lists the values a fact may have: strings, numbers or booleans",
                    item.span, hint='write `meta user.tier: one of ["free", "pro"]`'))
        return ast.FactType("one of", tuple(i.value for i in items), span=self._span(meta))

    def detector(self, meta, children):
        token = children[0]
        return self._str(token) if token.type == "STRING" else str(token)

    def band_between(self, meta, children):
        low, high, authority = children
        return {"low": _number(low), "high": _number(high),
                "escalate_to": str(authority) if authority else None}

    def band_below(self, meta, children):
        confidence, authority = children
        return {"confidence": _number(confidence), "escalate_to": str(authority) if authority else None}

    # ---- norms

    def norm(self, meta, children):
        default, name, authority, overrides, *lines = children
        settings: dict[str, Any] = {}
        spans = [("authority", _token_span(authority, self.file))] if authority else []
        body: list = []
        for line in lines:
            if isinstance(line, _Setting):
                if line.name in settings:
                    self._error("E120", f"this norm already has a {line.name.replace('_', ' ')} line",
                                line.span, "keep one")
                settings[line.name] = line.value
                spans.append((line.name, line.span))
            else:
                body.append(line)
        return ast.Norm(
            name=str(name), body=self._norm_body(body, self._span(meta)),
            is_default=default is not None,
            authority=str(authority) if authority else None,
            overrides=overrides or (),
            span=self._span(meta), name_span=_token_span(name, self.file),
            setting_spans=tuple(spans), **settings,
        )

    def _norm_body(self, lines: list, norm_span: Span) -> ast.Body:
        """One outcome (with its exceptions), or `case` lines and at most one `otherwise`."""
        outcomes = [line for line in lines if isinstance(line, ast.Outcome)]
        cases = [line for line in lines if isinstance(line, ast.Case) and line.condition is not None]
        otherwise = [line for line in lines if isinstance(line, ast.Case) and line.condition is None]
        for extra in otherwise[1:]:
            self._error("E121", "a norm has at most one `otherwise` line", extra.span,
                        "merge the two, or turn one into a `case`")
        if outcomes and (cases or otherwise):
            self._error("E122", "a norm has either one outcome or `case` lines, not both",
                        outcomes[0].span, "turn this outcome into a `case` or an `otherwise`")
        for extra in outcomes[1:]:
            self._error("E123", "a norm has one outcome; this is a second one", extra.span,
                        "split the norm in two, or use `case` lines")
        if otherwise and not cases:
            self._error("E124", "`otherwise` without any `case` line", otherwise[0].span,
                        "write the outcome directly, without `otherwise:`")
            return otherwise[0].outcome
        if outcomes:
            return outcomes[0]
        if cases:
            return ast.Cases(tuple(cases), otherwise[0] if otherwise else None,
                             span=cases[0].span.join((otherwise or cases)[-1].span))
        self._error("E125", "this norm has no outcome", norm_span,
                    "add a line with require, forbid, permit or unspecified")
        return ast.Outcome("permit", span=norm_span)

    def _error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint=hint))

    def overrides(self, meta, children):
        return tuple(children)

    def description(self, meta, children):
        return _Setting("description", self._str(children[0]), self._span(meta))

    def severity(self, meta, children):
        return _Setting("severity", str(children[0]), self._span(meta))

    def overridable(self, meta, children):
        return _Setting("overridable_by", str(children[0]), self._span(meta))

    def scope(self, meta, children):
        return _Setting("scope", " ".join(str(c) for c in children), self._span(meta))

    def trigger(self, meta, children):
        return _Setting("trigger", children[0], self._span(meta))

    def outcome_block(self, meta, children):
        outcome, exceptions = children
        return attrs.evolve(outcome, exceptions=exceptions or ())

    def case_block(self, meta, children):
        condition, outcome, exceptions = children
        return ast.Case(condition, attrs.evolve(outcome, exceptions=exceptions or ()),
                        span=self._span(meta))

    def otherwise_block(self, meta, children):
        outcome, exceptions = children
        return ast.Case(None, attrs.evolve(outcome, exceptions=exceptions or ()),
                        span=self._span(meta))

    def exceptions(self, meta, children):
        return tuple(children)

    def unless_block(self, meta, children):
        condition, outcome, exceptions = children
        return ast.Unless(condition, attrs.evolve(outcome, exceptions=exceptions or ()),
                          span=self._span(meta))

    def require(self, meta, children):
        behaviour, (within, unit) = children[0], children[1] or (None, "turns")
        return ast.Outcome("require", behaviour, within=within, within_unit=unit, span=self._span(meta))

    def forbid(self, meta, children):
        return ast.Outcome("forbid", children[0], span=self._span(meta))

    def permit(self, meta, children):
        return ast.Outcome("permit", children[0], span=self._span(meta))

    def unspecified(self, meta, children):
        reason, target = children
        return ast.Outcome("unspecified", reason=self._str(reason),
                           escalate_to=str(target) if target else None, span=self._span(meta))

    def within(self, meta, children):
        count, unit = children
        if str(unit) not in ast.WINDOW_UNITS:
            raise _NodeError(Diagnostic(
                "E111", f"expected 'turns' or 'messages' after the number, not '{unit}'",
                _token_span(unit, self.file), hint="write `within 2 turns` (replies the user sees) or "
                                                   "`within 2 messages` (every assistant message)",
            ))
        return int(count), ast.WINDOW_UNITS[str(unit)]

    # ---- expressions

    def or_expr(self, meta, children):
        return ast.Or(tuple(children), span=self._span(meta))

    def and_expr(self, meta, children):
        return ast.And(tuple(children), span=self._span(meta))

    def not_(self, meta, children):
        return ast.Not(children[0], span=self._span(meta))

    def compare(self, meta, children):
        left, op, right = children
        return _quantify(ast.Compare(str(op), left, right, span=self._span(meta)))

    def in_(self, meta, children):
        return _quantify(ast.In(children[0], children[1], span=self._span(meta)))

    def not_in(self, meta, children):
        return _quantify(ast.In(children[0], children[1], negated=True, span=self._span(meta)))

    def is_known(self, meta, children):
        return _quantify(ast.KnownTest(children[0], True, span=self._span(meta)))

    def is_unknown(self, meta, children):
        return _quantify(ast.KnownTest(children[0], False, span=self._span(meta)))

    def _says(self, meta, children, mode):
        return _quantify(ast.Says(children[0], mode, children[1], span=self._span(meta)))

    def says(self, meta, children):
        return self._says(meta, children, "one")

    def says_any(self, meta, children):
        return self._says(meta, children, "any")

    def says_all(self, meta, children):
        return self._says(meta, children, "all")

    def matches(self, meta, children):
        subject, regex, check = children
        return _quantify(ast.Matches(subject, self._regex(regex, check), span=self._span(meta)))

    def mentions(self, meta, children):
        return _quantify(ast.Mentions(children[0], children[1], span=self._span(meta)))

    def calls(self, meta, children):
        return _quantify(ast.Calls(children[0], children[1], span=self._span(meta)))

    def appears_in(self, meta, children):
        return _quantify(ast.Appears(children[0], children[1], span=self._span(meta)))

    def shares(self, meta, children):
        subject, pattern, events = children
        return _quantify(ast.Shares(subject, pattern, events, span=self._span(meta)))

    def mentions_not_found(self, meta, children):
        subject, pattern, events = children
        return _quantify(ast.Shares(subject, pattern, events, negated=True, span=self._span(meta)))

    def answers(self, meta, children):
        return _quantify(ast.Answers(children[0], children[1], span=self._span(meta)))

    def failed(self, meta, children):
        return _quantify(ast.Failed(children[0], span=self._span(meta)))

    # ---- the messages a binding reads (`any earlier user that says "yes"`)

    def _events(self, meta, quantifier: str, range_: str, role: Token, made) -> ast.Events:
        bound = ast.Subject(str(role), "bound", span=_token_span(role, self.file))
        return ast.Events(quantifier, range_, str(role), made(bound) if made is not None else None,
                          span=self._span(meta))

    def events_any(self, meta, children):
        range_, role, made = children
        return self._events(meta, "any", range_ or "all", role, made)

    def events_every(self, meta, children):
        range_, role, made = children
        return self._events(meta, "every", range_ or "all", role, made)

    def events_latest(self, meta, children):
        role, made = children
        return self._events(meta, "latest", "earlier", role, made)

    def events_current(self, meta, children):
        subject = self.current(meta, children)
        return ast.Events("one", "earlier", subject.role, subject=subject, span=subject.span)

    def events_previous(self, meta, children):
        subject = self.previous(meta, children)
        return ast.Events("one", "earlier", subject.role, subject=subject, span=subject.span)

    def events_call(self, meta, children):
        subject = self.call_subject(meta, children)
        return ast.Events("one", "earlier", "call", subject=subject, span=subject.span)

    def earlier(self, meta, children):
        return "earlier"

    def later(self, meta, children):
        return "later"

    # A filter is made once its message is known: each gives a function of the bound subject.
    def filter_says(self, meta, children):
        return lambda bound: ast.Says(bound, "one", children[0], span=self._span(meta))

    def filter_says_any(self, meta, children):
        return lambda bound: ast.Says(bound, "any", children[0], span=self._span(meta))

    def filter_says_all(self, meta, children):
        return lambda bound: ast.Says(bound, "all", children[0], span=self._span(meta))

    def filter_matches(self, meta, children):
        regex, check = children
        return lambda bound: ast.Matches(bound, self._regex(regex, check), span=self._span(meta))

    def filter_mentions(self, meta, children):
        return lambda bound: ast.Mentions(bound, children[0], span=self._span(meta))

    def filter_answers(self, meta, children):
        return lambda bound: ast.Answers(bound, children[0], span=self._span(meta))

    def events_member(self, meta, children):
        events, *path = children
        parts = tuple(self._str(p) if p.type == "STRING" else str(p) for p in path)
        if parts != ("number",):
            raise _NodeError(Diagnostic(
                "E232", "a range of messages in parentheses has only `.number`", self._span(meta),
                hint='write `(latest user that says "confirm").number`, or read the field on one '
                     "message, e.g. `user.meta.…`"))
        return ast.Number(events, span=self._span(meta))

    def _regex(self, token: Token, check: ast.Name | None = None) -> ast.Regex:
        body, _, flags = token.value[1:].rpartition("/")
        return ast.Regex(body, flags, check, span=_token_span(token, self.file))

    def condition(self, meta, children):
        value = children[0]
        return _quantify(value) if isinstance(value, (ast.Label, ast.Meta, ast.Property, ast.Linked, ast.Number)) \
            else value

    def name_ref(self, meta, children):
        return children[0]

    def apply(self, meta, children):
        name, *args = children
        return ast.Apply(name, tuple(a for a in args if a is not None), span=self._span(meta))

    def count(self, meta, children):
        return ast.Count(children[0], span=self._span(meta))

    def label_ref(self, meta, children):
        subject, name = children
        return ast.Label(subject, self._str(name), span=self._span(meta))

    def member(self, meta, children):
        subject, *path = children
        parts = tuple(self._str(p) if p.type == "STRING" else str(p) for p in path)
        span = self._span(meta)
        return _member(subject, parts, span)

    def current(self, meta, children):
        return ast.Subject(str(children[0]), "current", span=self._span(meta))

    def previous(self, meta, children):
        return ast.Subject(str(children[0]), "previous", span=self._span(meta))

    def _quantified(self, meta, children, quantifier, range_):
        return _QuantifiedSubject(quantifier, range_, str(children[-1]), self._span(meta))

    def any_all(self, meta, children):
        return self._quantified(meta, children, "any", "all")

    def every_all(self, meta, children):
        return self._quantified(meta, children, "every", "all")

    def any_earlier(self, meta, children):
        return self._quantified(meta, children, "any", "earlier")

    def every_earlier(self, meta, children):
        return self._quantified(meta, children, "every", "earlier")

    def call_subject(self, meta, children):
        return ast.Subject("call", "call", span=self._span(meta))

    def trace_subject(self, meta, children):
        return ast.Subject("trace", "trace", span=self._span(meta))

    def string(self, meta, children):
        return ast.Literal(self._str(children[0]), span=self._span(meta))

    def number(self, meta, children):
        return ast.Literal(_number(children[0]), span=self._span(meta))

    def true(self, meta, children):
        return ast.Literal(True, span=self._span(meta))

    def false(self, meta, children):
        return ast.Literal(False, span=self._span(meta))

    def null(self, meta, children):
        return ast.Literal(None, span=self._span(meta))

    def list(self, meta, children):
        return ast.ListLiteral(tuple(c for c in children if c is not None), span=self._span(meta))

    # ---- tests

    def test(self, meta, children):
        name, *lines = children
        meta_value = None
        messages, expects = [], []
        for line in lines:
            if isinstance(line, ast.Expect):
                expects.append(line)
            elif isinstance(line, _TestMeta):
                meta_value = line.value
            else:
                messages.append(line)
        return ast.TestBlock(self._str(name), meta_value, tuple(messages), tuple(expects),
                             span=self._span(meta))

    def test_meta(self, meta, children):
        return _TestMeta(children[0])

    def test_message(self, meta, children):
        role, content, *extras = children
        labels = next((e[1] for e in extras if e[0] == "labels"), {})
        message_meta = next((e[1] for e in extras if e[0] == "meta"), None)
        return ast.TestMessage(str(role), self._str(content), tuple(labels.items()), message_meta,
                               _test_failure(role, [e[1:] for e in extras if e[0] == "failed"]),
                               span=self._span(meta))

    def extra_labels(self, meta, children):
        return ("labels", children[0])

    def extra_meta(self, meta, children):
        return ("meta", children[0])

    def extra_failed(self, meta, children):
        return ("failed", True, self._span(meta))

    def extra_not_failed(self, meta, children):
        return ("failed", False, self._span(meta))

    def test_call(self, meta, children):
        role, name, arguments = children
        if str(role) != "assistant":
            raise _NodeError(Diagnostic(
                "E112", f"only the assistant makes tool calls, not the {role}",
                _token_span(role, self.file), hint="write `assistant calls NAME {...}`",
            ))
        return ast.TestCall(str(name), arguments if arguments is not None else {},
                            span=self._span(meta))

    def expect(self, meta, children):
        norm, verdict, turn = children
        return ast.Expect(norm, str(verdict), int(turn) if turn is not None else None,
                          span=self._span(meta))

    def json_object(self, meta, children):
        return dict(c for c in children if c is not None)

    def json_pair(self, meta, children):
        return (self._str(children[0]), children[1])

    def json_array(self, meta, children):
        return [c for c in children if c is not None]

    def json_string(self, meta, children):
        return self._str(children[0])

    def json_number(self, meta, children):
        return _number(children[0])

    def json_true(self, meta, children):
        return True

    def json_false(self, meta, children):
        return False

    def json_null(self, meta, children):
        return None


@attrs.frozen
class _TestMeta:
    """`meta {...}` in a test block, until `test` collects it."""

    value: Any


@attrs.frozen
class _Setting:
    """A norm line that sets a field (description, severity, scope...), with its span."""

    name: str
    value: Any
    span: Span


class _QuantifiedSubject:
    """`any earlier user` while its predicate is being built; `_quantify` turns the
    predicate into a `Quantified` node over a bound subject."""

    def __init__(self, quantifier: str, range_: str, role: str, span: Span):
        self.quantifier, self.range, self.role, self.span = quantifier, range_, role, span


def _member(subject: Any, parts: tuple[str, ...], span: Span):
    """`S.meta.a.b`, `call.args.x`, `S.words`... as the node it denotes; the checker
    reports members that do not exist for the subject."""
    if parts == ("number",):
        return ast.Number(subject, span=span)
    if parts[0] == "call" and len(parts) > 1 and not isinstance(subject, ast.Events):
        return ast.Linked(subject, parts[1:], span=span)
    if parts[0] in ("meta", "args") and len(parts) > 1:
        return ast.Meta(subject, parts[0], parts[1:], span=span)
    if len(parts) == 1:
        return ast.Property(subject, parts[0], span=span)
    return ast.Property(subject, ".".join(parts), span=span)


def _quantify(predicate):
    """Wrap a predicate whose subject is quantified (`any earlier user says ...`) in a
    `Quantified` node, binding the subject inside it."""
    found: list[_QuantifiedSubject] = []

    def bind(node):
        if isinstance(node, _QuantifiedSubject):
            found.append(node)
            return ast.Subject(node.role, "bound", span=node.span)
        if isinstance(node, (ast.Label, ast.Meta, ast.Property, ast.Linked)) and isinstance(
            node.subject, _QuantifiedSubject
        ):
            return attrs.evolve(node, subject=bind(node.subject))
        if isinstance(node, ast.Number) and isinstance(node.source, _QuantifiedSubject):
            return attrs.evolve(node, source=bind(node.source))
        return node

    changes = {
        field.name: bind(getattr(predicate, field.name))
        for field in attrs.fields(type(predicate))
        if field.name in ("subject", "left", "right", "value", "operand")
    }
    if not found:
        return predicate
    if len(found) > 1:
        raise _NodeError(Diagnostic(
            "E113", "a condition can range over one quantified subject, not two",
            found[1].span, hint="compare against a `let` or split the condition with `and`",
        ))
    outer = found[0]
    return ast.Quantified(outer.quantifier, outer.range, outer.role,
                          attrs.evolve(predicate, **changes), span=predicate.span)
