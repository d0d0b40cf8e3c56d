"""Metadata changes in a trace: JSON merge patch (RFC 7396) and the patch between two
metas, and `meta_patch` in the native format."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from charter import TraceFormatError
from charter.traces import native
from charter.traces.model import merge_diff, merge_patch
from charter.traces.reader import trace_from_json

# RFC 7396, appendix A: (target, patch, result).
RFC_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize("target, patch, result", RFC_EXAMPLES)
def test_merge_patch_follows_rfc_7396(target, patch, result):
    before = json.dumps(target)
    assert merge_patch(target, patch) == result
    assert json.dumps(target) == before  # not changed in place


_leaves = st.one_of(st.integers(0, 3), st.sampled_from(("x", "y")), st.booleans(), st.just([1]))
_metas = st.recursive(st.dictionaries(st.sampled_from("abc"), _leaves, max_size=3),
                      lambda inner: st.dictionaries(st.sampled_from("abc"), inner, max_size=3), max_leaves=8)


@given(_metas, _metas)
def test_the_patch_between_two_metas_turns_one_into_the_other(source, target):
    assert merge_patch(source, merge_diff(source, target)) == target


def test_a_meta_patch_reads_back_from_the_native_form():
    record = {"id": "t", "meta": {"user": {"verified": False}}, "messages": [
        {"role": "user", "content": "I verified", "meta_patch": {"user": {"verified": True}}}]}
    trace = trace_from_json(record)
    assert trace.messages[0].meta_patch == {"user": {"verified": True}}
    assert trace_from_json(native.to_json(trace)) == trace


def test_a_meta_patch_that_is_not_an_object_is_a_format_error():
    with pytest.raises(TraceFormatError, match=r"messages\[0\]\.meta_patch must be an object"):
        trace_from_json({"messages": [{"role": "user", "content": "x", "meta_patch": [1]}]})
