"""The checked program: what the compiler (and the test oracle) consume.

Expressions in a `Program` are expanded (see docs/semantics-contract.md): no `Name`,
`Apply` or `Mentions` remains, and constant operands are literals.
"""

from __future__ import annotations

import attrs

from ..syntax import ast
from ..source.text import Source, Span


@attrs.frozen
class CheckedNorm:
    """A norm ready to compile.

    `name` is how reports call it: bare, or `charter.norm` when two loaded files use the
    same norm name. `trigger` and `body` are expanded. `overriders` names, sorted, the
    norms that override this one (with their triggers available through the program).
    """

    name: str
    charter: str
    authority: str
    severity: str
    scope: str
    trigger: ast.Expr | None
    body: ast.Body
    is_default: bool
    description: str | None
    overriders: tuple[str, ...]
    span: Span
    source: ast.Norm = attrs.field(eq=False, repr=False)


@attrs.frozen
class CheckedTest:
    """An inline `test` block, with its norm names resolved to report names."""

    charter: str
    block: ast.TestBlock
    norm_names: tuple[str, ...]  # one per `expect`, in order


@attrs.frozen
class Program:
    """Every loaded file as one layered policy."""

    authorities: tuple[str, ...]
    norms: tuple[CheckedNorm, ...]
    bands: dict[str, tuple[float, float]]  # label name -> (low, high), unknown strictly inside
    tests: tuple[CheckedTest, ...] = ()
    sources: tuple[Source, ...] = ()
    # The declared facts of every loaded file: labels by name, metadata fields by path.
    labels: dict[str, ast.LabelDecl] = attrs.field(factory=dict)
    meta: dict[tuple[str, ...], ast.MetaDecl] = attrs.field(factory=dict)

    def plain_label(self, name: str) -> bool:
        """Whether the label's value in a trace is all there is to it: no band, no declared
        type, no detector (so it is known exactly when it is present)."""
        decl = self.labels.get(name)
        return name not in self.bands and (decl is None or (decl.type is None and decl.detector is None))

    def meta_type(self, path: tuple[str, ...]) -> ast.FactType | None:
        decl = self.meta.get(path)
        return decl.type if decl is not None else None

    def norm(self, name: str) -> CheckedNorm:
        return next(n for n in self.norms if n.name == name)

    def rank(self, authority: str) -> int:
        """0 for the highest authority; larger is lower."""
        return self.authorities.index(authority)
