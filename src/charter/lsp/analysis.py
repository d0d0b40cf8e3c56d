"""One document's analysis: the CLI's checker and linter run on the editor's text.

Diagnostics come from `loader.load` and `analysis.lint.lint`, exactly as `charter check`
and `charter lint` compute them. Navigation needs the resolved modules even when the
policy has errors, so the modules are first resolved without validation; when the
document does not even parse, the last index built from it stays in use, so hover and
completion keep working while a line is half typed.

A layer of a layered policy names the norms of the layers loaded with it by their
charter (`overrides platform.no_price_guarantees`, with no `use`). Such a document is
checked together with the `.charter` files beside it that declare those charters, as
`charter check platform.charter developer.charter` would; only its own diagnostics are
kept (each layer's are shown when it is open).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import attrs

from ..syntax import ast
from ..analysis.lint import lint
from ..check.resolve import Module, ModuleLoader
from ..source.diagnostics import Diagnostic, PolicyError
from ..check.loader import load, read_policy
from ..source.text import Source
from .index import Index, build_index

_HEADER = re.compile(r"^charter\s+(\w+)", re.MULTILINE)

ReadText = Callable[[Path], str]


@attrs.define
class Analysis:
    """What is known about one open document. `name` is its source name: its file path
    for a file, else its URI."""

    name: str
    diagnostics: list[Diagnostic] = attrs.Factory(list)
    module: Module | None = None
    index: Index = attrs.Factory(Index)
    sources: dict[str, Source] = attrs.Factory(dict)  # the texts the index points into, by name

    def update(self, is_file: bool, text: str, read_text: ReadText) -> None:
        """Check and lint the document again; keep the old index if it no longer parses."""
        loader = ModuleLoader(read_text)
        read = read_policy(self.name, read_text) if is_file else (Source(self.name, text), self.name, None)
        own = loader.load_policy(*read) if not isinstance(read, Diagnostic) else None
        layers = _layers(own, Path(self.name), read_text) if is_file and own else []
        for path in layers:
            loader.load_policy(*read_policy(path, read_text))
        try:
            loaded = load([self.name, *layers], read_text=read_text) if is_file else load(texts=[read[0]])
        except PolicyError as error:
            found = error.diagnostics
        else:
            found = lint(loaded)
        self.diagnostics = [d for d in found if d.span.source not in layers]
        if own is not None:
            modules = list(loader.modules.values())
            self.module = own
            self.index = build_index(modules)
            self.sources = {m.source.name: m.source for m in modules}


def _layers(module: Module, path: Path, read_text: ReadText) -> list[str]:
    """The files beside `path` that declare the charters `module` names norms of without
    importing them."""
    wanted = {name.parts[0] for name in _norm_references(module)
              if len(name.parts) == 2 and name.parts[0] not in module.imports and name.parts[0] != module.charter}
    if not wanted:
        return []
    found = []
    for sibling in sorted(path.parent.glob("*.charter")):
        try:
            header = _HEADER.search(read_text(sibling))
        except (OSError, UnicodeDecodeError):
            continue
        if sibling != path and header and header.group(1) in wanted:
            found.append(str(sibling))
    return found


def _norm_references(module: Module) -> list[ast.Name]:
    names = [name for norm in module.file.of(ast.Norm) for name in norm.overrides]
    return names + [expect.norm for block in module.file.of(ast.TestBlock) for expect in block.expects]
