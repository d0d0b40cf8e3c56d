"""The corpus and the single-process reference, made once for all the integration tests,
which therefore run in one test worker (`xdist_group`): the reference is computed once."""

from __future__ import annotations

from pathlib import Path

import pytest
from integration_corpus import Reference, check_locally, make_corpus


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.xdist_group("integrations"))


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> list[str]:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def reference(corpus) -> Reference:
    return Reference(check_locally(corpus))
