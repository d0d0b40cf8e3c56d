"""The fast loop: `pytest -m core` runs the language core (grammar, errors, formatter,
each construct's semantics, the oracle, text matching, trace formats, sessions, the API)
in well under two minutes; the full suite runs everything."""

from __future__ import annotations

from pathlib import Path

import pytest

_TESTS = Path(__file__).parent
CORE = [
    "constructs",
    "oracle",
    "test_api.py",
    "test_architecture.py",
    "test_errors.py",
    "test_fmt.py",
    "test_lint.py",
    "test_parser.py",
    "test_session.py",
    "test_textmatch.py",
    "test_traces.py",
]
_CORE_PATHS = [_TESTS / name for name in CORE]


def pytest_collection_modifyitems(items):
    for item in items:
        path = Path(item.path)
        if any(path == core or core in path.parents for core in _CORE_PATHS):
            item.add_marker(pytest.mark.core)
