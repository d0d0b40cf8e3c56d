"""`charter lsp` driven end to end: a real LSP client (pytest-lsp) starts `charter lsp` as a
subprocess and talks to it over stdio."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams
from pygls.protocol import default_converter
from pygls.uris import from_fs_path, to_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

import charter.stdlib
from charter.source.text import Source
from charter.syntax.format import format_source
from charter.lsp.server import KEYWORDS

CHARTER = str(Path(sys.executable).with_name("charter"))
STDLIB = Path(charter.stdlib.__file__).parent
pytestmark = pytest.mark.asyncio(loop_scope="module")

POLICY = '''\
charter acme by developer

use std.pii
use "shared.charter" as shared

let asks_refund = user says "refund"

norm no_email:
    "Never reveal an e-mail address."
    severity high
    forbid assistant mentions pii.email and shared.greets

norm refunds:
    "Refunds only when asked."
    when asks_refund
    permit
'''
SHARED = '''\
charter shared

# Whether the assistant greets.
let greets = assistant says "hello"
'''


def _publish(client: LanguageClient, params: lsp.PublishDiagnosticsParams) -> None:
    client.diagnostics[params.uri] = params.diagnostics
    client.diagnostic_versions[params.uri] = params.version
    client.published_versions.setdefault(params.uri, []).append(params.version)


def _client_recording_versions() -> LanguageClient:
    """pytest-lsp's test client that also records the document version each diagnostics
    notification was computed for, so a test tells fresh diagnostics from earlier ones."""
    client = LanguageClient(converter_factory=default_converter)
    client.diagnostic_versions = {}
    client.published_versions = {}
    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES, lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: _publish})
    return client


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[CHARTER, "lsp"], client_factory=_client_recording_versions),
                    scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory):
    root = tmp_path_factory.mktemp("workspace")
    (root / "shared.charter").write_text(SHARED)
    lsp_client.root = root
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=lsp.ClientCapabilities(), root_uri=from_fs_path(str(root))))
    yield
    await lsp_client.shutdown_session()


_versions: dict[str, int] = {}


async def open_document(client: LanguageClient, name: str, text: str) -> str:
    """Open `name` in the workspace (not written to disk) and wait for its diagnostics."""
    uri = from_fs_path(str(client.root / name))
    await open_uri(client, uri, text)
    return uri


async def open_uri(client: LanguageClient, uri: str, text: str) -> list[lsp.Diagnostic]:
    _versions[uri] = 1
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(uri, "charter", 1, text)))
    return await diagnostics_when(client, uri, lambda found, version: version == 1)


async def edit_document(client: LanguageClient, uri: str, text: str) -> list[lsp.Diagnostic]:
    """Replace the whole text (as an editor does on a paste) and wait for its diagnostics."""
    _versions[uri] += 1
    version = _versions[uri]
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(version, uri), [lsp.TextDocumentContentChangeWholeDocument(text)]))
    return await diagnostics_when(client, uri, lambda found, published: published == version)


async def diagnostics_when(client: LanguageClient, uri: str, ready) -> list[lsp.Diagnostic]:
    """The diagnostics last published for `uri`, once `ready(diagnostics, version)` holds."""
    for _ in range(250):
        if uri in client.diagnostics and ready(list(client.diagnostics[uri]), client.diagnostic_versions[uri]):
            return list(client.diagnostics[uri])
        await asyncio.sleep(0.02)
    raise AssertionError(f"no such diagnostics published for {uri}: last {client.diagnostics.get(uri)}")


async def close_document(client: LanguageClient, uri: str) -> None:
    """Close a document and wait for the server to clear its diagnostics."""
    client.text_document_did_close(lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(uri)))
    await diagnostics_when(client, uri, lambda found, version: found == [] and version is None)


def at(uri: str, line: int, character: int) -> dict:
    return {"text_document": lsp.TextDocumentIdentifier(uri), "position": lsp.Position(line, character)}


def column_of(text: str, line: int, word: str) -> int:
    return text.splitlines()[line].index(word)


# --------------------------------------------------------------------------- diagnostics


async def test_an_error_is_reported_at_its_range_with_the_cli_code_and_message(client):
    text = "charter broken\n\nnorm n:\n    \"x\"\n    forbid assistant mentions nowhere\n"
    uri = await open_document(client, "broken.charter", text)
    [diagnostic] = client.diagnostics[uri]
    assert diagnostic.code == "E216"
    assert diagnostic.message.startswith("unknown pattern `nowhere`")
    assert diagnostic.severity == lsp.DiagnosticSeverity.Error
    start = column_of(text, 4, "nowhere")
    assert diagnostic.range == lsp.Range(lsp.Position(4, start), lsp.Position(4, start + len("nowhere")))
    await close_document(client, uri)


async def test_ranges_count_utf16_units_after_characters_beyond_the_bmp(client):
    text = 'charter wide\n\nnorm n:\n    "n"\n    forbid assistant says "\U0001F600\U0001F600" and nowhere\n'
    uri = await open_document(client, "wide.charter", text)
    [diagnostic] = client.diagnostics[uri]
    start = column_of(text, 4, "nowhere") + 2  # each emoji is two UTF-16 units
    assert diagnostic.range == lsp.Range(lsp.Position(4, start), lsp.Position(4, start + len("nowhere")))
    await close_document(client, uri)


async def test_a_document_edited_into_validity_clears_its_diagnostics(client):
    uri = await open_document(client, "fixme.charter", "charter fixme\n\nnorm n:\n    \"x\"\n    forbid assistant mentions nowhere\n")
    assert [d.code for d in client.diagnostics[uri]] == ["E216"]
    half_typed = await edit_document(client, uri, "charter fixme\n\nnorm n:\n    \"x\"\n    forbid assistant men")
    assert half_typed and all(d.severity == lsp.DiagnosticSeverity.Error for d in half_typed)
    fixed = await edit_document(client, uri, "charter fixme\n\nnorm n:\n    \"x\"\n    forbid assistant says \"no\"\n")
    assert fixed == []
    await close_document(client, uri)


async def test_a_burst_of_keystrokes_is_checked_once_when_typing_pauses(client):
    uri = await open_document(client, "typing.charter", "charter typing\n")
    word = 'norm n:\n    "n"\n    forbid assistant says "no"\n'
    for length in range(1, len(word) + 1):  # one change per keystroke, faster than the debounce
        _versions[uri] += 1
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(_versions[uri], uri),
            [lsp.TextDocumentContentChangeWholeDocument("charter typing\n\n" + word[:length])]))
    final = _versions[uri]
    assert await diagnostics_when(client, uri, lambda found, version: version == final) == []
    published = client.published_versions[uri]
    # One check after the pause (allowing one more if a loaded machine stalls mid-burst).
    assert published[0] == 1 and published[-1] == final and len(published) <= 3, published
    await close_document(client, uri)


async def test_lint_findings_use_the_cli_codes(client):
    uri = await open_document(client, "lint.charter", 'charter lint\n\nlet unused = user says "a"\n\nnorm n:\n    forbid assistant says "b"\n')
    found = {(d.code, d.severity, d.range.start.line) for d in client.diagnostics[uri]}
    assert found == {("C201", lsp.DiagnosticSeverity.Warning, 2), ("C205", lsp.DiagnosticSeverity.Warning, 4)}
    await close_document(client, uri)


async def test_unsaved_text_of_an_open_imported_file_is_used(client):
    uri = await open_document(client, "policy.charter", POLICY)
    assert list(client.diagnostics[uri]) == []
    shared_uri = await open_document(client, "shared.charter", SHARED)
    await edit_document(client, shared_uri, SHARED.replace("let greets", "let salutes"))
    [diagnostic] = await diagnostics_when(client, uri, lambda found, version: found)
    assert diagnostic.code == "E213" and "unknown name `shared.greets`" in diagnostic.message
    assert diagnostic.range.start.line == 10
    await close_document(client, shared_uri)  # back to the text on disk
    await diagnostics_when(client, uri, lambda found, version: found == [])
    await close_document(client, uri)


# --------------------------------------------------------------------------- navigation


async def test_hover_and_definition_on_a_stdlib_name_land_in_the_stdlib_file(client):
    uri = await open_document(client, "policy.charter", POLICY)
    position = at(uri, 10, column_of(POLICY, 10, "email") + 2)
    hover = await client.text_document_hover_async(lsp.HoverParams(**position))
    assert "pattern pii.email = /" in hover.contents.value
    location = await client.text_document_definition_async(lsp.DefinitionParams(**position))
    assert Path(to_fs_path(location.uri)) == STDLIB / "pii.charter"
    stdlib_line = (STDLIB / "pii.charter").read_text().splitlines()[location.range.start.line]
    assert stdlib_line.startswith("pattern email =")
    assert stdlib_line[location.range.start.character:location.range.end.character] == "email"
    await close_document(client, uri)


async def test_hover_shows_a_norm_a_let_a_module_and_a_builtin_check(client):
    text = POLICY + '\npattern card = /[0-9]{16}/ where luhn\n\nnorm cards:\n    "No cards."\n    forbid assistant mentions card\n'
    uri = await open_document(client, "policy.charter", text)

    async def hover(line: int, word: str) -> str:
        result = await client.text_document_hover_async(lsp.HoverParams(**at(uri, line, column_of(text, line, word))))
        return result.contents.value

    norm = await hover(7, "no_email")
    assert "Never reveal an e-mail address." in norm and "authority: `developer`" in norm
    assert "severity: `high`" in norm and "scope: `on assistant turn`" in norm
    assert 'let asks_refund = user says "refund"' in await hover(14, "asks_refund")
    shared = await hover(10, "greets")
    assert 'let greets = assistant says "hello"' in shared and "Whether the assistant greets." in shared
    assert "personal data" in await hover(2, "pii")
    assert "Luhn" in await hover(17, "luhn")
    await close_document(client, uri)


async def test_references_span_the_document_and_the_imported_file(client):
    uri = await open_document(client, "policy.charter", POLICY)
    shared_uri = from_fs_path(str(client.root / "shared.charter"))
    found = await client.text_document_references_async(lsp.ReferenceParams(
        context=lsp.ReferenceContext(include_declaration=True), **at(uri, 10, column_of(POLICY, 10, "greets"))))
    assert sorted((r.uri, r.range.start.line) for r in found) == sorted([(shared_uri, 3), (uri, 10)])
    local = await client.text_document_references_async(lsp.ReferenceParams(
        context=lsp.ReferenceContext(include_declaration=False), **at(uri, 5, column_of(POLICY, 5, "asks_refund"))))
    assert [(r.uri, r.range.start.line) for r in local] == [(uri, 14)]
    await close_document(client, uri)


async def test_document_symbols_list_norms_lets_patterns_and_tests(client):
    text = POLICY + 'pattern hi = any of ["hi"]\n\ntest "refunds":\n    user: "refund"\n    assistant: "ok"\n    expect refunds complied\n'
    uri = await open_document(client, "policy.charter", text)
    symbols = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(uri)))
    assert {(s.name, s.kind) for s in symbols} == {
        ("asks_refund", lsp.SymbolKind.Variable), ("no_email", lsp.SymbolKind.Function),
        ("refunds", lsp.SymbolKind.Function), ("hi", lsp.SymbolKind.Constant), ("refunds", lsp.SymbolKind.Method)}
    expect_line = len(text.splitlines()) - 1
    norm = await client.text_document_definition_async(lsp.DefinitionParams(**at(uri, expect_line, 12)))
    assert (norm.uri, norm.range.start.line) == (uri, 12)
    await close_document(client, uri)


# --------------------------------------------------------------------------- completion


async def test_completion_offers_names_keywords_verdicts_and_labels(client):
    text = POLICY + 'label toxic\n\nnorm t:\n    "t"\n    when user.label("\n'
    uri = await open_document(client, "policy.charter", POLICY + "label toxic\n")
    await edit_document(client, uri, text)  # half typed: the last index that parsed answers

    async def labels_at(line: int, character: int) -> set[str]:
        result = await client.text_document_completion_async(lsp.CompletionParams(**at(uri, line, character)))
        return {item.label for item in result.items}

    everywhere = await labels_at(14, 4)
    assert {"asks_refund", "no_email", "pii", "shared", "forbid", "unless", "violated", "critical"} <= everywhere
    assert {"email", "phone", "no_email_leak"} <= await labels_at(10, column_of(POLICY, 10, "pii.") + 4)
    assert await labels_at(20, len('    when user.label("')) == {"toxic"}
    assert {"pii", "safety", "honesty"} <= await labels_at(2, len("use std."))
    await close_document(client, uri)


# --------------------------------------------------------------------------- code actions


def apply(text: str, edits: list[lsp.TextEdit]) -> str:
    """Apply non-overlapping edits, last first so earlier positions stay valid."""
    lines = text.splitlines(keepends=True)
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        offsets = [sum(len(line) for line in lines[:n]) for n in range(len(lines) + 1)]
        start = offsets[edit.range.start.line] + edit.range.start.character
        end = offsets[edit.range.end.line] + edit.range.end.character
        text = text[:start] + edit.new_text + text[end:]
        lines = text.splitlines(keepends=True)
    return text


@pytest.mark.parametrize("code, text", [
    ("C201", 'charter fix\n\nlet unused = user says "a"\n\nnorm n:\n    "n"\n    forbid assistant says "b"\n'),
    ("C205", 'charter fix\n\nnorm n:\n    forbid assistant says "b"\n'),
    ("C204", 'charter fix\n\nuse std.pii\n\nnorm n:\n    "n"\n    forbid assistant says "b"\n        unless user.label("ok") > 0.5: permit\n'),
    ("C203", 'charter fix\n\nlabel spare\n\nnorm n:\n    "n"\n    forbid assistant says "b"\n'),
])
async def test_a_quick_fix_applied_clears_its_finding(client, code, text):
    uri = await open_document(client, "fix.charter", text)
    [finding] = [d for d in client.diagnostics[uri] if d.code == code]
    fixes = await client.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri), finding.range, lsp.CodeActionContext([finding])))
    [action] = [a for a in fixes if a.diagnostics[0].code == code]
    fixed = apply(text, action.edit.changes[uri])
    formatted, _ = format_source(Source("fix.charter", fixed))
    assert not formatted.changed  # the fix leaves the layout `charter fmt` would print
    after = await edit_document(client, uri, fixed)
    assert [d for d in after if d.severity == lsp.DiagnosticSeverity.Error] == []
    assert code not in {d.code for d in after}
    await close_document(client, uri)


# --------------------------------------------------------------------------- robustness


GARBAGE = ["", "norm", "norm x:\n", "charter \x00\ud7ff", "use \"../../../etc/passwd\" as p\n", ")))(((",
           "norm n:\n    forbid assistant mentions pii.", "let a = b\nlet b = a\nnorm n:\n    forbid a\n",
           "\t\tnorm:\n  \"\n", "test \"x\":\n    expect", "use std.\n", "pattern p = /(/\n" * 3,
           "norm n:\n" + "    unless user says \"a\": permit\n" * 40, "[" * 500]


async def test_garbage_edits_never_stop_the_server(client):
    uri = await open_document(client, "garbage.charter", "charter garbage\n")
    for text in GARBAGE:
        await edit_document(client, uri, text)
        for line, character in [(0, 0), (0, 3), (5, 99), (999, 0)]:
            await client.text_document_hover_async(lsp.HoverParams(**at(uri, line, character)))
            await client.text_document_completion_async(lsp.CompletionParams(**at(uri, line, character)))
            await client.text_document_definition_async(lsp.DefinitionParams(**at(uri, line, character)))
    # An incremental change whose range lies past the end of the text.
    _versions[uri] += 1
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(_versions[uri], uri),
        [lsp.TextDocumentContentChangePartial(lsp.Range(lsp.Position(500, 3), lsp.Position(900, 1)), "norm")]))
    # Requests about documents the server has never seen, inside and outside the workspace.
    for unknown in ["file:///nowhere/at/all.charter", "untitled:Untitled-1", from_fs_path(str(client.root / "no.charter"))]:
        assert await client.text_document_hover_async(lsp.HoverParams(**at(unknown, 0, 0))) is None
        assert await client.text_document_document_symbol_async(
            lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(unknown))) is None
    outside = "file:///tmp/charter-lsp-outside-the-workspace.charter"
    assert await open_uri(client, outside, "charter out\n\nnorm n:\n    \"n\"\n    permit\n") == []
    final = await edit_document(client, uri, 'charter garbage\n\nnorm n:\n    "n"\n    permit\n')
    assert final == []
    assert [m.message for m in client.log_messages if m.type == lsp.MessageType.Error] == []
    await close_document(client, uri)


# --------------------------------------------------------------------------- layers


async def test_a_layer_is_checked_with_the_layers_it_names_beside_it(client):
    layered = Path(__file__).parents[1] / "examples" / "layered"
    developer = layered / "developer.charter"
    uri = from_fs_path(str(developer))
    text = developer.read_text()
    assert await open_uri(client, uri, text) == []
    line = next(n for n, row in enumerate(text.splitlines()) if "overrides platform.no_price_guarantees" in row)
    location = await client.text_document_definition_async(lsp.DefinitionParams(
        **at(uri, line, column_of(text, line, "no_price_guarantees"))))
    assert Path(to_fs_path(location.uri)) == layered / "platform.charter"
    await close_document(client, uri)

    illegal = layered / "illegal_user.charter"
    uri = from_fs_path(str(illegal))
    assert {d.code for d in await open_uri(client, uri, illegal.read_text())} == {"E312", "E313"}
    await close_document(client, uri)


REPOSITORY_POLICIES = sorted((Path(__file__).parents[1] / "examples").rglob("*.charter")) + sorted(STDLIB.glob("*.charter"))


@pytest.mark.parametrize("path", REPOSITORY_POLICIES, ids=lambda p: p.name)
async def test_hover_and_definition_on_every_word_of_the_repository_policies(client, path):
    """Every word of every example and stdlib file: hover and definition answer without an
    error, and every definition found is in a file that exists."""
    text = path.read_text()
    uri = from_fs_path(str(path))
    await open_uri(client, uri, text)
    words = [(number, word.start()) for number, line in enumerate(text.splitlines())
             for word in re.finditer(r"\w+", line) if word.group() not in KEYWORDS]
    await asyncio.gather(*(client.text_document_hover_async(lsp.HoverParams(**at(uri, *w))) for w in words))
    found = await asyncio.gather(*(client.text_document_definition_async(lsp.DefinitionParams(**at(uri, *w)))
                                   for w in words))
    targets = {to_fs_path(location.uri) for location in found if location is not None}
    assert targets and all(Path(target).is_file() for target in targets)
    assert [m.message for m in client.log_messages if m.type == lsp.MessageType.Error] == []
    await close_document(client, uri)


def _unchecked_position(line, character) -> lsp.Position:
    """A Position as a careless client sends it: lsprotocol would refuse to build it."""
    position = object.__new__(lsp.Position)
    object.__setattr__(position, "line", line)
    object.__setattr__(position, "character", character)
    return position


@pytest.mark.parametrize("request_type", [lsp.HoverParams, lsp.DefinitionParams, lsp.CompletionParams])
@pytest.mark.parametrize("line, character", [(-1, 0), (0, 2**31), (0, -5), (2**40, 0), (0, "x")])
async def test_a_request_with_an_invalid_position_is_answered_with_an_error(client, request_type, line, character):
    """Positions are unsigned 31-bit integers: a request with another gets the protocol's
    InvalidParams error, not silence."""
    uri = await open_document(client, "positions.charter", "charter positions\n")
    method = {lsp.HoverParams: lsp.TEXT_DOCUMENT_HOVER, lsp.DefinitionParams: lsp.TEXT_DOCUMENT_DEFINITION,
              lsp.CompletionParams: lsp.TEXT_DOCUMENT_COMPLETION}[request_type]
    params = request_type(lsp.TextDocumentIdentifier(uri), _unchecked_position(line, character))
    with pytest.raises(JsonRpcInvalidParams) as refused:
        await asyncio.wait_for(client.protocol.send_request_async(method, params), 5)
    assert "position" in refused.value.message
    assert await client.text_document_hover_async(lsp.HoverParams(**at(uri, 0, 0))) is None  # still serving
