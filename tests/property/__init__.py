"""Property tests: the compiled evaluator against the reference evaluator (tests/oracle)."""
