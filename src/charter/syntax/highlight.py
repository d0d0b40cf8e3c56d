"""Syntax highlighting for Charter with Pygments.

`CharterLexer` is registered under the `pygments.lexers` entry point, so once the package
is installed `pygmentize -l charter`, Sphinx and MkDocs colour ```charter blocks.
`highlight_line` is what `charter explain` uses to colour the source lines it quotes.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text

__all__ = ["CharterLexer", "highlight_line"]

KEYWORDS = (
    "charter", "by", "use", "as", "authorities", "let", "pattern", "label", "uncertain",
    "between", "norm", "default", "overrides", "overridable", "severity", "on", "when",
    "case", "otherwise", "unless", "within", "escalate", "to", "test", "meta", "labels",
    "expect", "at", "turn", "turns", "where",
)
OUTCOMES = ("require", "forbid", "permit", "unspecified")
OPERATORS = ("and", "or", "not", "in", "is", "known", "unknown", "says", "any", "all", "of",
             "every", "earlier", "previous", "matches", "mentions", "calls", "count", "appears", "shares",
             "with", "answers", "failed", "latest", "later", "that")
ROLES = ("assistant", "user", "system", "developer", "tool", "call", "trace")
VERDICTS = ("complied", "violated", "not_applicable", "conflict", "overridden", "pending")
CONSTANTS = ("true", "false", "null")


class CharterLexer(RegexLexer):
    """Charter policy files (`.charter`)."""

    name = "Charter"
    aliases = ["charter"]
    filenames = ["*.charter"]
    mimetypes = ["text/x-charter"]

    tokens = {
        "root": [
            (r"#.*?$", Comment.Single),
            (r'"(\\.|[^"\\\n])*"', String.Double),
            (r"/(\\.|[^\\/\n])+/[A-Za-z]*", String.Regex),
            (r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?", Number),
            (r"(norm|pattern|let|label|test)(\s+)([A-Za-z_][A-Za-z0-9_]*)",
             bygroups(Keyword.Declaration, Text, Name.Function)),
            (r"(where)(\s+)([A-Za-z_][A-Za-z0-9_]*)", bygroups(Keyword, Text, Name.Builtin)),
            (words(OUTCOMES, suffix=r"\b"), Keyword.Reserved),
            (words(KEYWORDS, suffix=r"\b"), Keyword),
            (words(OPERATORS, suffix=r"\b"), Operator.Word),
            (words(ROLES, suffix=r"\b"), Name.Builtin),
            (words(VERDICTS, suffix=r"\b"), Name.Constant),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (r"[A-Za-z_][A-Za-z0-9_]*", Name),
            (r"<=|>=|==|!=|<|>|=", Operator),
            (r"[()\[\]{}.,:]", Punctuation),
            (r"\\\n", Text),
            (r"\s+", Text),
        ],
    }


def highlight_line(line: str) -> str:
    """One source line with ANSI colours (no trailing newline added)."""
    from pygments import highlight
    from pygments.formatters import TerminalFormatter

    return highlight(line, CharterLexer(), TerminalFormatter()).rstrip("\n")
