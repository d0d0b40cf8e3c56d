"""One document's analysis: the CLI's checker and linter run on the editor's text.

Diagnostics come from `loader.load` and `analysis.lint.lint`, exactly as `charter check`
and `charter lint` compute them. Navigation needs the resolved modules even when the
policy has errors, so when loading fails the modules are resolved again without
validation; when the document does not even parse, the last index built from it stays
in use, so hover and completion keep working while a line is half typed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import attrs

from ..analysis.lint import lint
from ..check.resolve import Module, ModuleLoader
from ..diagnostics import Diagnostic, PolicyError
from ..loader import load, read_policy
from ..source import Source
from .index import Index, build_index


@attrs.define
class Analysis:
    """What is known about one open document. `name` is its source name: its file path
    for a file, else its URI."""

    name: str
    diagnostics: list[Diagnostic] = attrs.Factory(list)
    module: Module | None = None
    index: Index = attrs.Factory(Index)
    sources: dict[str, Source] = attrs.Factory(dict)  # the texts the index points into, by name

    def update(self, is_file: bool, text: str, read_text: Callable[[Path], str]) -> None:
        """Check and lint the document again; keep the old index if it no longer parses."""
        try:
            loaded = load([self.name], read_text=read_text) if is_file else load(texts=[Source(self.name, text)])
        except PolicyError as error:
            self.diagnostics = error.diagnostics
            modules = self._resolve(is_file, text, read_text)
        else:
            self.diagnostics = lint(loaded)
            modules = list(loaded.modules)
        own = next((m for m in modules if m.source.name == self.name), None)
        if own is not None:
            self.module = own
            self.index = build_index(modules)
            self.sources = {m.source.name: m.source for m in modules}

    def _resolve(self, is_file: bool, text: str, read_text: Callable[[Path], str]) -> list[Module]:
        """The modules as far as name resolution gets (no validation)."""
        loader = ModuleLoader(read_text)
        read = read_policy(self.name, read_text) if is_file else (Source(self.name, text), self.name, None)
        if isinstance(read, Diagnostic):
            return []
        loader.load_policy(*read)
        return list(loader.modules.values())
