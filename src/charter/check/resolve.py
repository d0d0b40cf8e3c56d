"""Name resolution: modules and imports, namespaces, and the expansion of `let`s.

`load_modules` reads the policy files and everything they `use` (stdlib modules are
ordinary Charter files shipped in the package). `Expander` turns an expression into its
expanded form (docs/semantics-contract.md): names replaced by what they denote,
parameterised lets applied, `mentions P` replaced by the pattern, constants checked.
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path
from typing import Callable

import attrs

from ..syntax import ast
from ..source.diagnostics import Diagnostic
from ..source.text import Source, Span

STDLIB_PREFIX = "std."
# Lets inline into the expressions that use them; past this depth an expanded expression
# is refused (a person does not write it, and later stages recurse over it).
MAX_EXPANDED_DEPTH = 150


@attrs.define
class Module:
    """One parsed file and the names it defines."""

    file: ast.CharterFile
    source: Source
    charter: str
    is_policy: bool  # loaded as a policy layer (its norms apply), not only imported
    imports: dict[str, "Module"] = attrs.Factory(dict)
    lets: dict[str, ast.Let] = attrs.Factory(dict)
    patterns: dict[str, ast.PatternDecl] = attrs.Factory(dict)
    norms: dict[str, ast.Norm] = attrs.Factory(dict)


def stdlib_names() -> list[str]:
    folder = resources.files("charter.stdlib")
    return sorted(p.name[: -len(".charter")] for p in folder.iterdir() if p.name.endswith(".charter"))


def stdlib_source(name: str) -> Source | None:
    """The source of `std.NAME`, or None if there is no such module."""
    resource = resources.files("charter.stdlib").joinpath(f"{name}.charter")
    if not resource.is_file():
        return None
    return Source(f"std/{name}.charter", resource.read_text("utf-8"))


def suggest(name: str, choices) -> str | None:
    """A 'did you mean' hint, when a close choice exists."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.75)
    return f"did you mean `{close[0]}`?" if close else None


def read_file(path: Path) -> str:
    """A policy file's text from disk (the default reader of `ModuleLoader`)."""
    return path.read_text("utf-8")


class ModuleLoader:
    """Loads policy files and their imports once each, reporting cycles and missing files.

    `read` gives a file's text; the language server passes one that prefers the unsaved
    text of files open in the editor."""

    def __init__(self, read: Callable[[Path], str] = read_file) -> None:
        self.read = read
        self.modules: dict[str, Module] = {}
        self.diagnostics: list[Diagnostic] = []
        self.sources: dict[str, Source] = {}  # every text parsed, for rendering diagnostics
        self._loading: list[str] = []

    def load_policy(self, source: Source, key: str, base: Path | None) -> Module | None:
        module = self._load(source, key, base, span=None)
        if module is not None:
            module.is_policy = True
        return module

    def _load(self, source: Source, key: str, base: Path | None, span: Span | None) -> Module | None:
        if key in self.modules:
            return self.modules[key]
        if key in self._loading:
            cycle = " -> ".join(self._loading[self._loading.index(key):] + [key])
            self._error("E201", f"modules import each other in a cycle: {cycle}", span,
                        "move the shared definitions into a third module")
            return None
        from ..syntax.parser import parse  # (lark: only when a policy is parsed, not read from the cache)

        self.sources[source.name] = source
        file, errors = parse(source)
        self.diagnostics.extend(errors)
        if file is None:
            return None
        charter = file.header.name if file.header else Path(source.name).stem
        module = Module(file, source, charter, is_policy=False)
        self._loading.append(key)
        try:
            self._define(module)
            for use in file.of(ast.Use):
                imported = self._import(use, base)
                if imported is not None:
                    if use.alias in module.imports:
                        self._error("E202", f"`{use.alias}` is already the name of an import",
                                    use.span, "give one of them another name with `as`")
                    module.imports[use.alias] = imported
        finally:
            self._loading.pop()
        self.modules[key] = module
        return module

    def _import(self, use: ast.Use, base: Path | None) -> Module | None:
        if not use.is_path:
            if not use.module.startswith(STDLIB_PREFIX):
                self._error("E203", f"`use {use.module}`: only standard-library modules are named "
                            "this way", use.span, 'write `use std.NAME`, or `use "file.charter" as m`')
                return None
            name = use.module[len(STDLIB_PREFIX):]
            source = stdlib_source(name)
            if source is None:
                hint = suggest(name, stdlib_names()) or "the modules are " + ", ".join(
                    STDLIB_PREFIX + n for n in stdlib_names())
                self._error("E204", f"there is no standard-library module `{use.module}`",
                            use.span, hint)
                return None
            return self._load(source, "std:" + name, None, use.span)
        path = (base / use.module) if base else Path(use.module)
        try:
            text = self.read(path)
        except (OSError, UnicodeDecodeError) as error:
            reason = "it does not exist" if isinstance(error, FileNotFoundError) else str(error)
            self._error("E205", f'cannot read "{use.module}": {reason}', use.span,
                        "paths are relative to the file that says `use`")
            return None
        return self._load(Source(str(path), text), str(path.resolve()), path.parent, use.span)

    def _define(self, module: Module) -> None:
        """Collect the module's definitions, reporting names defined twice."""
        tables: list[tuple[type, dict, str]] = [
            (ast.Let, module.lets, "let"),
            (ast.PatternDecl, module.patterns, "pattern"),
            (ast.Norm, module.norms, "norm"),
        ]
        for kind, table, word in tables:
            for item in module.file.of(kind):
                if item.name in table:
                    self._error("E206", f"`{item.name}` is defined twice (another {word} of this "
                                "name is above)", item.span, "rename one of them")
                    continue
                table[item.name] = item
        for let in module.file.of(ast.Let):
            if let.name in module.patterns:
                self._error("E206", f"`{let.name}` is both a let and a pattern", let.span,
                            "rename one of them")

    def _error(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span or Span.point("<command line>", 1, 1),
                                           hint=hint))


# --------------------------------------------------------------------------- expansion

class _Failed(Exception):
    """Expansion of one expression stopped; the diagnostic is already recorded."""


class Expander:
    """Expands expressions for one module (lets inlined, patterns resolved), recording
    diagnostics. Parameterless lets are expanded once and shared."""

    def __init__(self, module: Module, report: Callable[[Diagnostic], None]):
        self.module = module
        self.report = report
        self._done: dict[tuple[int, str], ast.Expr] = {}
        self._active: list[str] = []
        self._depth = 0

    def expand(self, expr: ast.Expr) -> ast.Expr | None:
        """The expanded expression, or None if it has errors (already reported)."""
        try:
            return self._expr(expr, self.module, {})
        except _Failed:
            return None

    def _fail(self, code: str, message: str, span: Span, hint: str | None = None):
        self.report(Diagnostic(code, message, span, hint=hint))
        raise _Failed

    def _expr(self, expr, module: Module, env: dict[str, ast.Expr]):
        self._depth += 1
        try:
            if self._depth > MAX_EXPANDED_DEPTH:
                self._fail("E109", f"this expands to an expression nested more than {MAX_EXPANDED_DEPTH} "
                           "levels deep", expr.span, "flatten the chain of lets that builds it")
            return self._expand(expr, module, env)
        finally:
            self._depth -= 1

    def _expand(self, expr, module: Module, env: dict[str, ast.Expr]):
        match expr:
            case ast.Name():
                return self._name(expr, module, env)
            case ast.Apply():
                return self._apply(expr, module, env)
            case ast.Mentions():
                pattern = self._pattern(expr.pattern, module)
                subject = expr.subject
                if pattern.regex is not None:
                    return ast.Matches(subject, pattern.regex, span=expr.span)
                phrases = ast.ListLiteral(tuple(ast.Literal(p, span=pattern.span) for p in pattern.phrases),
                                          span=pattern.span)
                return ast.Says(subject, "any", phrases, span=expr.span)
            case ast.Says():
                self._unquoted_word(expr, module, env)
                phrases = self._expr(expr.phrases, module, env)
                self._check_phrases(expr, phrases)
                return attrs.evolve(expr, phrases=phrases)
            case ast.Calls() | ast.Answers():
                tool = self._expr(expr.tool, module, env)
                if not (isinstance(tool, ast.Literal) and isinstance(tool.value, str)):
                    verb, example = (("calls", 'assistant calls "delete_file"') if isinstance(expr, ast.Calls)
                                     else ("answers", 'tool answers "fetch_url"'))
                    self._fail("E210", f"`{verb}` needs a tool name in double quotes", expr.tool.span,
                               f"write `{example}`")
                return attrs.evolve(expr, tool=tool)
            case ast.Shares():
                pattern = self._pattern(expr.pattern, module)
                found = pattern.regex if pattern.regex is not None else ast.ListLiteral(
                    tuple(ast.Literal(p, span=pattern.span) for p in pattern.phrases), span=pattern.span)
                return attrs.evolve(expr, pattern=found, events=self._expr(expr.events, module, env))
            case ast.In():
                items = self._expr(expr.items, module, env)
                if not isinstance(items, ast.ListLiteral) or not all(
                    isinstance(i, ast.Literal) for i in items.items
                ):
                    self._fail("E211", "`in` needs a list of constants", expr.items.span,
                               'write `x in ["a", "b"]`')
                return attrs.evolve(expr, value=self._expr(expr.value, module, env), items=items)
            case ast.Quantified():
                return attrs.evolve(expr, body=self._expr(expr.body, module, env))
            case _:
                return self._children(expr, module, env)

    def _children(self, expr, module: Module, env):
        changes = {}
        for field in attrs.fields(type(expr)):
            value = getattr(expr, field.name)
            if field.name == "span":
                continue
            if isinstance(value, tuple) and value and _is_node(value[0]):
                changes[field.name] = tuple(self._expr(v, module, env) for v in value)
            elif _is_node(value) and not isinstance(value, (ast.Subject, ast.Regex)):
                changes[field.name] = self._expr(value, module, env)
        return attrs.evolve(expr, **changes) if changes else expr

    def _name(self, name: ast.Name, module: Module, env: dict[str, ast.Expr]):
        if len(name.parts) == 1 and name.parts[0] in env:
            return env[name.parts[0]]
        owner, let = self._lookup(name, module, "lets")
        if let is None:
            if self._find(name, module, "patterns")[1] is not None:
                self._fail("E212", f"`{name.dotted}` is a pattern: use it with `mentions`",
                           name.span, f"write `assistant mentions {name.dotted}`")
            choices = list(module.lets) + list(env)
            self._fail("E213", f"unknown name `{name.dotted}`", name.span,
                       suggest(name.dotted, choices) or "define it with `let`, or import it with `use`")
        if let.params is not None:
            self._fail("E214", f"`{name.dotted}` takes {len(let.params)} argument(s)", name.span,
                       f"write `{name.dotted}({', '.join(let.params)})`")
        key = (id(owner), let.name)
        if key not in self._done:
            self._done[key] = self._body(let, owner, {})
        return self._done[key]

    def _apply(self, call: ast.Apply, module: Module, env):
        owner, let = self._lookup(call.name, module, "lets")
        if let is None:
            self._fail("E213", f"unknown name `{call.name.dotted}`", call.name.span,
                       suggest(call.name.dotted, module.lets) or "define it with `let`")
        params = let.params or ()
        if let.params is None or len(params) != len(call.args):
            self._fail("E214", f"`{call.name.dotted}` takes {len(params)} argument(s), "
                       f"not {len(call.args)}", call.span,
                       f"write `{call.name.dotted}({', '.join(params)})`" if params else
                       f"write `{call.name.dotted}` without parentheses")
        args = {p: self._expr(a, module, env) for p, a in zip(params, call.args)}
        return self._body(let, owner, args)

    def _body(self, let: ast.Let, owner: Module, env):
        qualified = f"{owner.charter}.{let.name}"
        if qualified in self._active:
            cycle = " -> ".join(self._active[self._active.index(qualified):] + [qualified])
            self._fail("E215", f"`{let.name}` is defined in terms of itself ({cycle})", let.span,
                       "lets cannot be recursive")
        self._active.append(qualified)
        try:
            return self._expr(let.body, owner, env)
        finally:
            self._active.pop()

    def _pattern(self, name: ast.Name, module: Module) -> ast.PatternDecl:
        owner, pattern = self._lookup(name, module, "patterns")
        if pattern is None:
            self._fail("E216", f"unknown pattern `{name.dotted}`", name.span,
                       suggest(name.dotted, module.patterns) or "declare it with `pattern`")
        return pattern

    def _lookup(self, name: ast.Name, module: Module, table: str):
        owner, found = self._find(name, module, table)
        if owner is None and len(name.parts) > 1:
            alias = name.parts[0]
            if alias not in module.imports:
                self._fail("E217", f"`{alias}` is not an imported module", name.span,
                           suggest(alias, module.imports) or f"add `use std.{alias}` or "
                           f'`use "{alias}.charter" as {alias}`')
        return owner, found

    @staticmethod
    def _find(name: ast.Name, module: Module, table: str):
        if len(name.parts) == 1:
            found = getattr(module, table).get(name.parts[0])
            return (module, found) if found is not None else (None, None)
        if len(name.parts) == 2 and name.parts[0] in module.imports:
            imported = module.imports[name.parts[0]]
            found = getattr(imported, table).get(name.parts[1])
            return (imported, found) if found is not None else (imported, None)
        return None, None

    def _unquoted_word(self, says: ast.Says, module: Module, env) -> None:
        """`says refund`, where no `let` (nor one spelt like it) is named `refund`: a
        phrase that lost its quotes, not a misspelt name (`refund_phrase` is a name)."""
        name = says.phrases
        if not isinstance(name, ast.Name) or not name.dotted.isalpha() or name.dotted in env:
            return
        if self._find(name, module, "lets")[1] or self._find(name, module, "patterns")[1]:
            return
        if suggest(name.dotted, list(module.lets) + list(env)) is None:
            self._fail("E218", f"`says` needs a phrase in double quotes, and `{name.dotted}` is not "
                       "defined with `let`", name.span, f'write `says "{name.dotted}"`')

    def _check_phrases(self, says: ast.Says, phrases) -> None:
        strings = (
            [phrases] if isinstance(phrases, ast.Literal)
            else list(phrases.items) if isinstance(phrases, ast.ListLiteral) else None
        )
        if strings is None or not all(
            isinstance(s, ast.Literal) and isinstance(s.value, str) for s in strings
        ):
            self._fail("E218", "`says` needs a phrase in double quotes, or a list of them",
                       says.phrases.span, 'write `user says "refund"` or `user says any of ["a", "b"]`')
        if says.mode == "one" and not isinstance(phrases, ast.Literal):
            self._fail("E219", "`says` takes one phrase; for a list write `says any of` or "
                       "`says all of`", says.phrases.span)
        if says.mode != "one" and not isinstance(phrases, ast.ListLiteral):
            self._fail("E219", f"`says {says.mode} of` takes a list of phrases", says.phrases.span,
                       f'write `says {says.mode} of ["a", "b"]`')


def _is_node(value) -> bool:
    return attrs.has(type(value))
