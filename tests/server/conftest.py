"""Fixtures: a running server over a copy of the example policy that a test may rewrite."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from charter.server import ServerConfig

from ._support import EXAMPLES, running


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    """A copy of the Acme example policy that a test may rewrite."""
    return Path(shutil.copy(EXAMPLES / "acme_support.charter", tmp_path / "policy.charter"))


@pytest.fixture
def make_server(policy_file: Path):
    """`make_server(**options)`: a running server over the policy copy, as a client."""
    with contextlib.ExitStack() as stack:
        def make(**options: Any) -> httpx.Client:
            return stack.enter_context(running(ServerConfig((str(policy_file),), **options)))

        yield make


@pytest.fixture
def client(make_server) -> httpx.Client:
    return make_server()

