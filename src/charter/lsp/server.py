"""`charter lsp`: the pygls server, its handlers, and conversions to the protocol's types.

Spans are 1-based with an inclusive end, in code points; protocol ranges are 0-based with
an exclusive end, in the units the client chose (UTF-16 unless it asked otherwise).
Every handler is guarded: whatever a client sends, the server logs the problem and
answers with nothing rather than stopping.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
from importlib import resources
from pathlib import Path
from typing import Callable

import cattrs
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import from_fs_path, to_fs_path

from .. import __version__
from ..syntax import ast
from ..text.builtins import BUILTINS
from ..check.resolve import read_file, stdlib_names
from ..source.diagnostics import Diagnostic, Severity
from ..source.text import Span
from . import actions
from .analysis import Analysis
from .hover import hover_markdown
from .index import Definition, Occurrence

# Wait this long after the last keystroke before checking again.
DEBOUNCE_SECONDS = 0.2
KEYWORDS = (
    "all", "and", "answers", "any", "appears", "as", "at", "authorities", "between", "by", "call", "calls",
    "case", "charter", "count", "default", "earlier", "escalate", "every", "expect", "failed", "false",
    "forbid", "in", "is", "known", "label", "labels", "later", "latest", "let", "matches", "mentions", "meta",
    "norm", "not", "null", "number", "of", "on", "or",
    "otherwise", "overridable", "overrides", "pattern", "permit", "previous", "require", "says",
    "severity", "shares", "test", "that", "to", "trace", "true", "turn", "turns", "uncertain", "unknown",
    "unless", "unspecified", "use", "when", "where", "with", "within",
) + ast.ROLES
SYMBOL_KINDS = {
    "norm": lsp.SymbolKind.Function, "let": lsp.SymbolKind.Variable, "pattern": lsp.SymbolKind.Constant,
    "label": lsp.SymbolKind.Property, "test": lsp.SymbolKind.Method,
}
COMPLETION_KINDS = {
    "norm": lsp.CompletionItemKind.Function, "let": lsp.CompletionItemKind.Variable,
    "pattern": lsp.CompletionItemKind.Constant, "label": lsp.CompletionItemKind.Property,
    "module": lsp.CompletionItemKind.Module, "check": lsp.CompletionItemKind.Function,
}


# --------------------------------------------------------------------------- conversions


def _position(line: int, column: int) -> lsp.Position:
    return lsp.Position(max(line - 1, 0), max(column - 1, 0))


def _code_point_range(span: Span) -> lsp.Range:
    """A span as a range in code points (a point span covers its one character)."""
    return lsp.Range(_position(span.line, span.column), lsp.Position(max(span.end_line - 1, 0), span.end_column))


def _source_path(name: str) -> str | None:
    """The file a source name denotes: a path, or an installed stdlib file."""
    if name.startswith("std/"):
        return str(resources.files("charter.stdlib").joinpath(name[len("std/"):]))
    return os.path.normpath(name) if os.path.isabs(name) else None


def to_uri(name: str) -> str:
    path = _source_path(name)
    return from_fs_path(path) if path else name


def _identity(definition: Definition) -> tuple:
    """What identifies a definition across analyses that name its file differently."""
    span = definition.name_span
    return definition.kind, _source_path(span.source) or span.source, span.line, span.column


# --------------------------------------------------------------------------- the server


def guarded(default):
    """Log an exception and answer `default`, so no request or notification stops the server."""

    def wrap(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def run(server: "CharterServer", *args):
            try:
                return handler(server, *args)
            except Exception as error:  # noqa: BLE001 -- a bug must not end the editing session
                server.window_log_message(lsp.LogMessageParams(
                    lsp.MessageType.Error, f"charter lsp: {handler.__name__}: {type(error).__name__}: {error}"))
                return default

        return run

    return wrap


class AnsweringProtocol(LanguageServerProtocol):
    """pygls drops a request whose parameters it cannot read (a position at line -1, or
    beyond 2**31 - 1): it logs the error and never replies, so the client waits forever.
    This protocol answers such a request with InvalidParams, saying what was wrong."""

    _ANSWERED = object()  # a message already answered here: nothing left to handle

    def structure_message(self, data: dict):
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if "id" not in data or "method" not in data:
                raise
            reasons = "; ".join(_reasons(error.__cause__)) or error.message
            self._send_response(data["id"], None, JsonRpcInvalidParams(
                f"invalid parameters for {data['method']}: {reasons}").to_response_error())
            return self._ANSWERED

    def handle_message(self, message) -> None:
        if message is not self._ANSWERED:
            super().handle_message(message)


def _reasons(cause: BaseException | None) -> list[str]:
    """What cattrs found wrong, as `... @ $.params.position.line`."""
    if isinstance(cause, cattrs.ClassValidationError):
        return cattrs.transform_error(cause, path="$")
    return [str(cause)] if cause else []


class CharterServer(LanguageServer):
    """A language server that keeps one `Analysis` per open document."""

    def __init__(self) -> None:
        super().__init__("charter", __version__, protocol_cls=AnsweringProtocol)
        self.analyses: dict[str, Analysis] = {}
        self._pending: asyncio.TimerHandle | None = None

    def read_text(self, path: Path) -> str:
        """A file's text: the editor's unsaved buffer if it is open, else the disk's."""
        wanted = os.path.normpath(path.absolute())
        for uri, document in self.workspace.text_documents.items():
            if to_fs_path(uri) == wanted:
                return document.source
        return read_file(path)

    @guarded(None)
    def analyse(self, uri: str) -> None:
        """Check one open document and publish its diagnostics."""
        path = to_fs_path(uri) if uri.startswith("file:") else None
        analysis = self.analyses.setdefault(uri, Analysis(os.path.normpath(path) if path else uri))
        document = self.workspace.get_text_document(uri)
        analysis.update(path is not None, document.source, self.read_text)
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
            uri, [self.to_diagnostic(d, analysis) for d in analysis.diagnostics], version=document.version))

    def analyse_open(self) -> None:
        self._pending = None
        for uri in list(self.analyses):
            self.analyse(uri)

    def analyse_soon(self) -> None:
        """Check every open document once typing pauses (a file may `use` the one edited)."""
        if self._pending is not None:
            self._pending.cancel()
        self._pending = asyncio.get_running_loop().call_later(DEBOUNCE_SECONDS, self.analyse_open)

    def to_range(self, span: Span) -> lsp.Range:
        """A span as a range in the client's units, counted on the text the span points into."""
        lines = self._lines(span.source)
        points = _code_point_range(span)
        return self.workspace.position_codec.range_to_client_units(lines, points) if lines else points

    def _lines(self, name: str) -> list[str] | None:
        """The current text of a source: the editor's for an open document, else as loaded."""
        for uri, analysis in self.analyses.items():
            if analysis.name == name:
                return self.workspace.get_text_document(uri).lines
        return next((a.sources[name].lines for a in self.analyses.values() if name in a.sources), None)

    def location(self, span: Span) -> lsp.Location:
        return lsp.Location(to_uri(span.source), self.to_range(span))

    def to_diagnostic(self, diagnostic: Diagnostic, analysis: Analysis) -> lsp.Diagnostic:
        """A diagnostic for the document; one in a file it imports is shown on the `use` line."""
        span, message = diagnostic.span, diagnostic.message
        if span.source != analysis.name:
            message = f"{span}: {message}"
            span = self._use_of(span.source, analysis) or Span.point(analysis.name, 1, 1)
        if diagnostic.hint:
            message += f"\nhint: {diagnostic.hint}"
        related = [lsp.DiagnosticRelatedInformation(self.location(where), note) for note, where in diagnostic.notes
                   if _source_path(where.source) or where.source == analysis.name]
        return lsp.Diagnostic(
            self.to_range(span), message, code=diagnostic.code, source="charter",
            severity=lsp.DiagnosticSeverity.Error if diagnostic.severity is Severity.ERROR
            else lsp.DiagnosticSeverity.Warning, related_information=related or None)

    @staticmethod
    def _use_of(source: str, analysis: Analysis) -> Span | None:
        """The `use` line of the document through which `source` was imported."""
        module = analysis.module
        if module is None:
            return None
        return next((use.span for use in module.file.of(ast.Use)
                     if use.alias in module.imports and module.imports[use.alias].source.name == source), None)

    def occurrence(self, uri: str, position: lsp.Position) -> Occurrence | None:
        """The name under the cursor (or just before it, at the end of a word)."""
        analysis = self.analyses.get(uri)
        if analysis is None:
            return None
        line, column = self.code_points(uri, position)
        return (analysis.index.at(analysis.name, line + 1, column + 1)
                or analysis.index.at(analysis.name, line + 1, column))

    def code_points(self, uri: str, position: lsp.Position) -> tuple[int, int]:
        """A client's position in a document as 0-based (line, code point)."""
        lines = self.workspace.get_text_document(uri).lines
        converted = self.workspace.position_codec.position_from_client_units(lines, position)
        return converted.line, converted.character

    def uses(self, definition: Definition) -> list[Span]:
        """Where a definition is written, in every open document's analysis."""
        wanted = _identity(definition)
        spans: dict[tuple, Span] = {}
        for analysis in self.analyses.values():
            for candidate in analysis.index.definitions:
                if _identity(candidate) == wanted:
                    for span in analysis.index.uses(candidate):
                        key = (_source_path(span.source) or span.source, span.line, span.column)
                        spans.setdefault(key, span)
        return list(spans.values())


server = CharterServer()


# --------------------------------------------------------------------------- document sync


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
@guarded(None)
def did_open(ls: CharterServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.analyse(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
@guarded(None)
def did_change(ls: CharterServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.analyse_soon()


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
@guarded(None)
def did_close(ls: CharterServer, params: lsp.DidCloseTextDocumentParams) -> None:
    ls.analyses.pop(params.text_document.uri, None)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(params.text_document.uri, []))
    ls.analyse_soon()


# --------------------------------------------------------------------------- navigation


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
@guarded(None)
def hover(ls: CharterServer, params: lsp.HoverParams) -> lsp.Hover | None:
    found = ls.occurrence(params.text_document.uri, params.position)
    text = hover_markdown(found.definition) if found else None
    if text is None:
        return None
    return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, text), ls.to_range(found.span))


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
@guarded(None)
def definition(ls: CharterServer, params: lsp.DefinitionParams) -> lsp.Location | None:
    found = ls.occurrence(params.text_document.uri, params.position)
    if found is None or found.definition.kind == "check":
        return None
    return ls.location(found.definition.name_span)


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
@guarded(None)
def references(ls: CharterServer, params: lsp.ReferenceParams) -> list[lsp.Location] | None:
    found = ls.occurrence(params.text_document.uri, params.position)
    if found is None or found.definition.kind == "check":
        return None
    declaration = found.definition.name_span
    return [ls.location(span) for span in ls.uses(found.definition)
            if params.context.include_declaration or span != declaration]


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@guarded(None)
def document_symbols(ls: CharterServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol] | None:
    analysis = ls.analyses.get(params.text_document.uri)
    if analysis is None:
        return None
    return [lsp.DocumentSymbol(d.name, SYMBOL_KINDS[d.kind], ls.to_range(d.span), ls.to_range(d.name_span))
            for d in analysis.index.definitions if d.kind in SYMBOL_KINDS and d.name_span.source == analysis.name]


# --------------------------------------------------------------------------- completion


def _item(label: str, kind: lsp.CompletionItemKind, detail: str) -> lsp.CompletionItem:
    return lsp.CompletionItem(label, kind=kind, detail=detail)


def _names(analysis: Analysis, module, kinds=("let", "pattern", "norm")) -> list[lsp.CompletionItem]:
    return [_item(d.name, COMPLETION_KINDS[d.kind], d.kind) for d in analysis.index.definitions
            if d.module is module and d.kind in kinds]


def _completions(analysis: Analysis, before: str) -> list[lsp.CompletionItem]:
    """What may be written at the cursor, given the line's text before it."""
    module = analysis.module
    if re.search(r'\.label\(\s*"[\w.-]*$', before):
        labels = {d.name for d in analysis.index.definitions if d.kind == "label"}
        return [_item(name, lsp.CompletionItemKind.Property, "label") for name in sorted(labels)]
    if re.search(r"^\s*use\s+std\.\w*$", before):
        return [_item(name, lsp.CompletionItemKind.Module, "standard-library module") for name in stdlib_names()]
    if re.search(r"\bwhere\s+\w*$", before):
        return [_item(name, lsp.CompletionItemKind.Function, check.doc) for name, check in BUILTINS.items()]
    dotted = re.search(r"\b(\w+)\.\w*$", before)
    if dotted:
        imported = module.imports.get(dotted.group(1)) if module else None
        return _names(analysis, imported) if imported else []
    items = _names(analysis, module) if module else []
    items += [_item(alias, lsp.CompletionItemKind.Module, "module") for alias in (module.imports if module else ())]
    items += [_item(word, lsp.CompletionItemKind.Keyword, "keyword") for word in KEYWORDS]
    items += [_item(kind, lsp.CompletionItemKind.EnumMember, "verdict") for kind in ast.VERDICT_KINDS]
    items += [_item(level, lsp.CompletionItemKind.EnumMember, "severity") for level in ast.SEVERITIES]
    return items


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=[".", '"']))
@guarded(None)
def completion(ls: CharterServer, params: lsp.CompletionParams) -> lsp.CompletionList | None:
    analysis = ls.analyses.get(params.text_document.uri)
    if analysis is None:
        return None
    lines = ls.workspace.get_text_document(params.text_document.uri).lines
    line, column = ls.code_points(params.text_document.uri, params.position)
    before = lines[line][:column] if line < len(lines) else ""
    return lsp.CompletionList(False, _completions(analysis, before))


# --------------------------------------------------------------------------- code actions


def _overlaps(got: lsp.Range, wanted: lsp.Range) -> bool:
    return (got.start.line, got.start.character) <= (wanted.end.line, wanted.end.character) and (
        wanted.start.line, wanted.start.character) <= (got.end.line, got.end.character)


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
@guarded(None)
def code_actions(ls: CharterServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
    uri = params.text_document.uri
    analysis = ls.analyses.get(uri)
    if analysis is None or analysis.module is None:
        return None
    found = []
    for finding in analysis.diagnostics:
        fix = actions.fix(finding, analysis.module) if _overlaps(ls.to_range(finding.span), params.range) else None
        if fix is None or finding.span.source != analysis.name:
            continue
        title, edits = fix
        text_edits = [lsp.TextEdit(lsp.Range(lsp.Position(*start), lsp.Position(*end)), new) for start, end, new in edits]
        found.append(lsp.CodeAction(
            title, kind=lsp.CodeActionKind.QuickFix, diagnostics=[ls.to_diagnostic(finding, analysis)],
            edit=lsp.WorkspaceEdit(changes={uri: text_edits}), is_preferred=True))
    return found


def serve() -> None:
    """Serve over stdin and stdout until the client says exit."""
    server.start_io()
