"""Which labels a run detects: those a policy declares `from detector D`, and those the
command line maps to a detector (`--detector NAME=D`, which wins), each on the roles
the policy reads it on."""

from __future__ import annotations

from ..check.program import Program
from ..detectors.labeller import Labeller, Wanted
from ..detectors.settings import Settings
from ..syntax import ast


def label_roles(program: Program) -> dict[str, frozenset[str]]:
    """For each label the norms read, the roles of the messages they read it on."""
    roles: dict[str, set[str]] = {}
    for norm in program.norms:
        for root in (norm.trigger, norm.body):
            for node in ast.walk(root) if root is not None else ():
                if isinstance(node, ast.Label):
                    roles.setdefault(node.name, set()).add(node.subject.role)
    return {name: frozenset(found) for name, found in roles.items()}


def wanted(program: Program, mapping: dict[str, str] | None = None) -> list[Wanted] | str:
    """The detected labels of a run, or why a mapping names a label no norm reads."""
    roles = label_roles(program)
    detectors = {name: decl.detector for name, decl in program.labels.items() if decl.detector is not None}
    for label in mapping or {}:
        if label not in roles:
            return f"no norm reads the label `{label}`" + (
                f" (the norms read {', '.join(sorted(roles))})" if roles else "")
    detectors.update(mapping or {})
    return [Wanted(label, detector, roles.get(label, frozenset()), _confidence(program, label),
                   program.bands.get(label))
            for label, detector in sorted(detectors.items()) if roles.get(label)]


def _confidence(program: Program, label: str) -> float | None:
    decl = program.labels.get(label)
    return decl.confidence if decl is not None else None


def labeller(program: Program, settings: Settings | None = None) -> Labeller | None:
    """What adds a run's detected labels to traces (`Labeller.label(traces)`), with the
    disk cache, time bound and HTTP detectors of `settings` (default: no disk cache, the
    default time bound); None when the run detects no label. Raises ValueError when the
    settings map a label no norm reads (the command line says so before it gets here)."""
    settings = settings or Settings()
    found = wanted(program, dict(settings.mapping))
    if isinstance(found, str):
        raise ValueError(found)
    return Labeller(found, settings.load, settings.store(), settings.timeout) if found else None
