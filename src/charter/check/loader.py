"""The front half of the pipeline in one place: read sources, parse, resolve, validate.

    sources -> syntax.parser.parse -> check.resolve (modules, imports)
            -> check.validate (program) -> compile.compile_program

Each stage returns diagnostics instead of raising; `load_program` raises one
`PolicyError` carrying all of them when any is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import attrs

from .program import Program
from .resolve import (
    STDLIB_PREFIX, Module, ModuleLoader, read_file, stdlib_names, stdlib_source, suggest,
)
from .validate import Validator
from ..source.diagnostics import Diagnostic, PolicyError
from ..source.text import Source, Span

_COMMAND_LINE = Span.point("<command line>", 1, 1)


def read_policy(path: str, read_text: Callable[[Path], str] = read_file) -> tuple[Source, str, Path | None] | Diagnostic:
    """A policy argument as (source, module key, base directory): a file, or `std.NAME`."""
    if path.startswith(STDLIB_PREFIX) and not Path(path).exists():
        name = path[len(STDLIB_PREFIX):]
        source = stdlib_source(name)
        if source is None:
            return Diagnostic("E001", f"there is no standard-library module `{path}`", _COMMAND_LINE,
                              hint=suggest(name, stdlib_names()))
        return source, "std:" + name, None
    file = Path(path)
    try:
        text = read_text(file)
    except FileNotFoundError:
        return Diagnostic("E001", f"policy file not found: {path}", _COMMAND_LINE)
    except (OSError, UnicodeDecodeError) as error:
        return Diagnostic("E001", f"cannot read policy file {path}: {error}", _COMMAND_LINE)
    return Source(path, text), str(file.resolve()), file.parent


@attrs.frozen
class Loaded:
    """A loaded policy: the checked program, every module read (imports included) and
    the ones given as policy layers. Analysis reads the modules' syntax trees."""

    program: Program
    modules: tuple[Module, ...]
    policies: tuple[Module, ...]


def load_program(paths: list[str] | None = None, texts: list[Source] | None = None) -> Program:
    """Load policy files (and/or in-memory sources) as one layered policy."""
    return load(paths, texts).program


def load(paths: list[str] | None = None, texts: list[Source] | None = None,
         read_text: Callable[[Path], str] = read_file) -> Loaded:
    """Load policy files (and/or in-memory sources); raise PolicyError on any error.
    `read_text` gives a file's text (policy files and the files they `use`)."""
    loader = ModuleLoader(read_text)
    inputs: list[tuple[Source, str, Path | None]] = []
    for path in paths or ():
        read = read_policy(path, loader.read)
        if isinstance(read, Diagnostic):
            loader.diagnostics.append(read)
        else:
            inputs.append(read)
    inputs.extend((source, f"<text>:{i}:{source.name}", Path.cwd()) for i, source in enumerate(texts or ()))
    policies = []
    charters: dict[str, Source] = {}
    for source, key, base in inputs:
        module = loader.load_policy(source, key, base)
        if module is None:
            continue
        if module.charter in charters and charters[module.charter] is not source:
            header = module.file.header
            loader.diagnostics.append(Diagnostic(
                "E002", f"two policy files are both named `{module.charter}`",
                header.span if header else Span.point(source.name, 1, 1),
                hint=f"the other is {charters[module.charter].name}; rename one `charter` line",
            ))
            continue
        charters[module.charter] = source
        if module not in policies:
            policies.append(module)
    if not any(d.is_error for d in loader.diagnostics) and not inputs:
        loader.diagnostics.append(Diagnostic("E003", "no policy given", _COMMAND_LINE))
    validator = Validator(list(loader.modules.values()), policies)
    program = validator.program() if policies else None
    diagnostics = loader.diagnostics + validator.diagnostics
    if program is None or any(d.is_error for d in diagnostics):
        raise PolicyError(diagnostics or [Diagnostic("E003", "no policy given", _COMMAND_LINE)],
                          loader.sources)
    return Loaded(program, tuple(loader.modules.values()), tuple(policies))
