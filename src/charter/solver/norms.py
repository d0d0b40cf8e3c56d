"""One norm's conflicts and gaps decided by the solver, for a norm whose atoms have too
many combinations to enumerate (`analysis/prove.py`, past 65,536).

The abstraction is prove.py's, unbounded: each atom of the norm's conditions and of its
overriders' triggers is a free boolean, except comparisons of one fact with constants,
read through the fact's regions (an integer choosing one). A satisfying model is a
combination, in prove.py's form; no model is a proof.
"""

from __future__ import annotations

import attrs
import z3

from ..analysis.prove import Atom, NormAnalysis, atoms_of_norm, fact_of, region_truth, representatives, scope_of
from ..check.program import CheckedNorm, Program
from ..syntax import ast
from .calculus import connective, decide_body, gap


def solve_norm(program: Program, norm: CheckedNorm, analysis: NormAnalysis) -> NormAnalysis:
    """The analysis with its conflict and gap decided (`solved`)."""
    atoms = atoms_of_norm(program, norm)
    truth, domain = _truths(atoms)

    def cond(scope: str):
        return lambda expr: _formula(expr, scope, truth)

    overridden = z3.Or([cond(scope_of(program.norm(o), norm))(program.norm(o).trigger) for o in norm.overriders]
                       + [False])
    applies = z3.And(z3.Not(overridden), cond(norm.scope)(norm.trigger))
    standing = decide_body(norm.body, cond(norm.scope))
    empty = gap(norm.body, cond(norm.scope))
    conflict = z3.And(applies, z3.Not(empty), z3.Not(z3.Or([holds for _, holds in standing.values()] + [False])))
    return attrs.evolve(analysis, conflict=_witness(z3.And(domain, conflict), atoms, truth),
                        gap=_witness(z3.And(domain, applies, empty), atoms, truth), solved=True)


def _truths(atoms: list[Atom]) -> tuple[dict[Atom, z3.BoolRef], z3.BoolRef]:
    """Each atom's truth: a comparison of a fact through the fact's region, where the
    region leaves it unknown (or for any other atom) a boolean of its own; and the
    regions' ranges."""
    groups: dict[tuple, list[Atom]] = {}
    for atom in atoms:
        found = fact_of(atom.expr)
        if found is not None:
            groups.setdefault((atom.scope, found[0]), []).append(atom)
    truth = {atom: z3.Bool(f"atom{i}") for i, atom in enumerate(atoms)}
    domain = []
    for k, (key, group) in enumerate(groups.items()):
        constants = {c for atom in group for c in fact_of(atom.expr)[1] if not isinstance(c, (list, dict))}
        values = representatives(constants, any(isinstance(a.expr, ast.KnownTest) for a in group))
        region = z3.Int(f"region{k}")
        domain += [region >= 0, region < len(values)]
        for atom in group:
            cases = [z3.And(region == i, truth[atom] if known is None else z3.BoolVal(known))
                     for i, value in enumerate(values) for known in [region_truth(atom.expr, value)]]
            truth[atom] = z3.Or(cases)  # one region holds: its truth, or free where unknown
    return truth, z3.And(domain + [True])


def _formula(expr: ast.Expr | None, scope: str, truth: dict[Atom, z3.BoolRef]) -> z3.BoolRef:
    found = connective(expr, lambda e: _formula(e, scope, truth))
    return truth[Atom(scope, expr)] if found is None else found


def _witness(formula: z3.BoolRef, atoms: list[Atom], truth: dict[Atom, z3.BoolRef]):
    solver = z3.Solver()
    solver.add(formula)
    if solver.check() != z3.sat:
        return None
    model = solver.model()
    return tuple((atom, z3.is_true(model.eval(truth[atom], model_completion=True))) for atom in atoms)
