"""`charter dump STAGE`: the pipeline stopped after one stage, printed."""

from __future__ import annotations

import pprint

from ..source.diagnostics import PolicyError
from ..check.loader import load_program, read_policy
from ..syntax.parser import parse, parse_tree


def dump_stage(stage: str, paths: list[str]) -> str:
    if stage == "program":
        program = load_program(paths)
        return "\n\n".join(pprint.pformat(norm, width=100) for norm in program.norms)
    out = []
    for path in paths:
        read = read_policy(path)
        if not isinstance(read, tuple):
            raise PolicyError([read])
        source = read[0]
        if stage == "tree":
            tree, errors = parse_tree(source)
            result = tree
        else:
            result, errors = parse(source)
        if errors:
            raise PolicyError(errors, {source.name: source})
        out.append(result if isinstance(result, str) else pprint.pformat(result, width=100))
    return "\n\n".join(out)
