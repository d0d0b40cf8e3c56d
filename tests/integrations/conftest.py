"""The corpus and the single-process reference, made once for all the integration tests."""

from __future__ import annotations

import pytest
from integration_corpus import Reference, check_locally, make_corpus


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> list[str]:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def reference(corpus) -> Reference:
    return Reference(check_locally(corpus))
