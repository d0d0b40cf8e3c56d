"""Helpers for the standard-library tests: does a std.pii pattern find something in a
reply, asked through a real policy (`use std.pii`, `forbid assistant mentions pii.P`)."""

from __future__ import annotations

import functools

import charter


@functools.cache
def _policy(pattern: str) -> charter.Policy:
    return charter.loads(
        f"use std.pii\nnorm finds:\n    forbid assistant mentions pii.{pattern}\n", name=f"{pattern}.charter"
    )


def finds(pattern: str, text: str) -> bool:
    """True if std.pii's `pattern` matches somewhere in an assistant reply `text`."""
    trace = {"id": "t", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": text}]}
    (verdict,) = _policy(pattern).check(trace).verdicts
    return verdict.kind == "violated"
