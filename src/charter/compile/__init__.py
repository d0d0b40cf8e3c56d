"""Compiling: a checked `Program` into a `CompiledPolicy` — every condition a closure, text
tests with their matchers and prefilters. `compile_program` is the entry point."""
