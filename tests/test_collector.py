"""`charter check` pauses Python's cyclic garbage collector while it checks a batch
(corpus/parallel.py): the garbage a batch makes waits for the batch's end. That holds
memory to what a run makes once, not per record, only while checking and rendering a
record make no reference cycle: here every example's corpus, in every format, leaves the
same cyclic garbage whether it is read once or twice; and the collector is back on (or
still off, when it was) once the run ends."""

from __future__ import annotations

import contextlib
import copy
import gc
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from charter.cli import main
from charter.corpus import parallel
from charter.reports.render import FORMATS, _indent

from test_examples import EXAMPLE_PARAMS, ROOT, policy_args, traces_arg


def _garbage(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> int:
    """The cyclic garbage the batches of a run left, collected as each batch ends (the
    collector paused meanwhile, as the run pauses it)."""
    left: list[int] = []
    paused = parallel._collector_paused

    @contextlib.contextmanager
    def counted():
        with paused():
            yield
            left.append(gc.collect())

    with monkeypatch.context() as patch:
        patch.setattr(parallel, "_collector_paused", counted)
        gc.collect()
        done = CliRunner().invoke(main, argv)
    assert done.exit_code in (0, 1) and left, done.stderr
    return sum(left)


@pytest.mark.parametrize("name", EXAMPLE_PARAMS)
@pytest.mark.parametrize("output", FORMATS)
def test_no_record_leaves_cyclic_garbage(name, output, monkeypatch):
    monkeypatch.chdir(ROOT)
    argv = ["check", *policy_args(name), "--format", output, "--no-detector-cache"]
    _garbage(monkeypatch, argv + ["--traces", traces_arg(name)])  # what a first run makes once (imports, caches)
    once = _garbage(monkeypatch, argv + ["--traces", traces_arg(name)])
    twice = _garbage(monkeypatch, argv + ["--traces", traces_arg(name)] * 2)
    assert twice == once, (once, twice)


def test_the_collector_is_on_after_a_run_and_stays_off_if_it_was(monkeypatch):
    monkeypatch.chdir(ROOT)
    argv = ["check", *policy_args("shop_support"), "--traces", traces_arg("shop_support")]
    CliRunner().invoke(main, argv)
    assert gc.isenabled()
    gc.disable()
    try:
        CliRunner().invoke(main, argv)
        assert not gc.isenabled()
    finally:
        gc.enable()


_BLANK = st.sampled_from([None, "", "\n", "  ", "x", " y "])


@st.composite
def _trees(draw: st.DrawFn, depth: int = 0) -> ET.Element:
    element = ET.Element(draw(st.sampled_from("abc")))
    element.text, element.tail = draw(_BLANK), draw(_BLANK)
    if depth < 3:
        element.extend(draw(st.lists(_trees(depth + 1), max_size=3)))
    return element


@settings(max_examples=300, deadline=None)
@given(_trees(), st.integers(0, 3))
def test_the_junit_indentation_is_elementtree_s(tree: ET.Element, level: int):
    ours = copy.deepcopy(tree)
    _indent(ours, level)
    ET.indent(tree, space="  ", level=level)
    assert ET.tostring(ours) == ET.tostring(tree)
