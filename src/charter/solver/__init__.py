"""Contradictions between norms decided with an SMT solver (Z3, the `prove` extra).

`encode.py` turns a policy into formulas over a bounded symbolic trace (the `Shape`);
`contradictions.py` asks whether some trace leaves no reply that satisfies every norm
that applies, and turns the solver's answer into a concrete trace. Importing this
package needs `z3-solver` (`pip install "charter[prove]"`).
"""

from .contradictions import Decision, decide_contradictions

__all__ = ["Decision", "decide_contradictions"]
