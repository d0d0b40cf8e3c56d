"""Evaluating: the verdicts of a compiled policy on a trace (`evaluator`, with the generated
fast path), incrementally for guardrails (`session`), and on inline `test` blocks; the
verdict model every report reads (`verdicts`)."""
