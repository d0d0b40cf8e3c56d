"""The brute-force reference evaluator used as a test oracle for `charter.evaluate.evaluator`."""
