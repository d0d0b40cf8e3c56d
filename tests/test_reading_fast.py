"""The short way usual trace records take (traces/native.py `usual_trace`, reader.py
`_usual_native`): it must make exactly what the detailed path makes, and never claim a
record that another format recognises."""

from __future__ import annotations

import json

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charter.traces import native, reader
from charter.traces.errors import TraceFormatError
from charter.traces.model import Message, ToolCall, Trace

_TEXT = st.text(max_size=4)
_SCALARS = st.none() | st.booleans() | st.integers(-2, 2) | st.floats() | _TEXT
_ODD = _SCALARS | st.just([]) | st.just({}) | st.just([1]) | st.just({"a": 1})


def _mostly(usual: st.SearchStrategy) -> st.SearchStrategy:
    """`usual` nine times in ten, else any odd value: so that many whole messages are usual."""
    return st.integers(0, 9).flatmap(lambda n: _ODD if n == 0 else usual)


_ARGUMENTS = st.sampled_from(['{"a": 1}', '{"a": [1, {"b": null}]}', "", "{", "[1]", '{"a": NaN}', "1e400"])
_CALL_ID = _mostly(st.just("call_1"))
_FUNCTION = st.fixed_dictionaries(
    {"name": _mostly(st.just("lookup"))}, optional={"arguments": _mostly(_ARGUMENTS | st.just({"a": 1}))}
)
_CALL = _mostly(  # OpenAI's shape, and the simpler one
    st.fixed_dictionaries({"function": _mostly(_FUNCTION)}, optional={"id": _CALL_ID, "type": st.just("function")})
    | _FUNCTION.flatmap(lambda function: st.fixed_dictionaries({}, optional={"id": _CALL_ID}).map(
        lambda call: {**function, **call}))
)
_LABELS = st.dictionaries(
    _TEXT, _mostly(st.floats(0, 1) | st.booleans()) | st.floats(-0.5, 1.5) | st.integers(-1, 2), max_size=3
)
_BLOCKS = st.lists(
    st.sampled_from([{"type": "text", "text": "hi"}, {"type": "tool_use", "name": "f", "input": {}},
                     {"type": "image"}, "part"]),
    max_size=2,
)
_MESSAGE = _mostly(st.fixed_dictionaries(
    {"role": _mostly(st.sampled_from([*native.ROLES, "bot"]))},
    optional={
        "content": _mostly(_TEXT | st.none()) | _BLOCKS,
        "tool_calls": _mostly(st.lists(_CALL, max_size=2)),
        "labels": _mostly(_LABELS),
        "meta": _mostly(st.dictionaries(_TEXT, _SCALARS, max_size=2)),
        "tool_call_id": _mostly(_TEXT),
        "name": _mostly(_TEXT),
        "error": _mostly(st.booleans() | _TEXT),
    },
))
# Values that make some format's `detect` recognise a record, for each format's marks.
_MARKED = {
    "type": st.just("message"), "content": st.just([]), "request": st.just({"messages": []}),
    "response": st.just({"type": "message", "content": []}) | st.just({"choices": [{"message": {}}]}),
    "system": st.just("be brief"), "choices": st.just([{"message": {"role": "assistant"}}]),
    "model": st.just("gpt"), "conversations": st.just([]), "eval": st.just({}), "samples": st.just([]),
    "epoch": st.just(1), "input": st.just("question"),
}
_RECORD = st.fixed_dictionaries(
    {"messages": st.lists(_MESSAGE, max_size=3)},
    optional={"id": _mostly(_TEXT), "meta": _mostly(st.dictionaries(_TEXT, _SCALARS, max_size=2)),
              **{key: values | _ODD for key, values in _MARKED.items()}},
)


def _checked(obj: object, index: int = 3) -> Message | str:
    """What the detailed path makes of a message: the Message, or its error."""
    try:
        return native._checked_message(obj, index, "messages[0]")
    except TraceFormatError as error:
        return error.reason


@settings(max_examples=400)
@given(_MESSAGE)
def test_the_short_way_makes_what_the_detailed_path_makes(obj):
    usual = native._usual_messages([obj], 3)
    checked = _checked(obj)
    if usual is not None:
        # repr, not ==: a label read as 1 where 1.0 was made would compare equal
        assert repr(usual[0]) == repr(checked)


@settings(max_examples=400)
@given(_RECORD)
def test_a_record_read_the_short_way_is_one_only_the_native_format_recognises(record):
    trace = reader._usual_native(record, None, "default")
    if trace is not None:
        assert reader._detected(record) is reader.ADAPTERS["native"]
        assert trace == Trace(
            record.get("id") or "default",
            tuple(_checked(m, i) for i, m in enumerate(record["messages"])),
            record.get("meta") or {},
        )


def _text_only(record: dict) -> bool:
    return all(isinstance(m, dict) and isinstance(m.get("content"), str | None) for m in record["messages"])


@pytest.mark.parametrize("adapter", [a for a in reader.ADAPTERS.values() if a.name != "native"],
                         ids=lambda adapter: adapter.name)
@settings(max_examples=200)
@given(record=_RECORD)
def test_each_format_needs_one_of_its_marks_to_recognise_a_record_of_text_messages(adapter, record):
    if _text_only(record) and record.keys().isdisjoint(adapter.marks):
        assert not adapter.detect(record)


def test_the_marks_are_the_keys_that_make_the_formats_recognise_a_record():
    """Not vacuous: the record strategy's values for each format's marks do make it claim records."""
    marked = [a for a in reader.ADAPTERS.values() if a.name != "native"]
    assert set().union(*(a.marks for a in marked)) == set(_MARKED)


def test_usual_records_take_the_short_way():
    """The corpus shape (benchmarks/corpus.py): if this fails, reading is several times slower."""
    record = {
        "id": "conv-1",
        "meta": {"channel": "email"},
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Refund order 1?", "labels": {"toxicity": 0.04, "human": True}},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "refund", "arguments": '{"order": 1}'}},
            ]},
            {"role": "tool", "tool_call_id": "c1", "name": "refund", "content": '{"ok": true}'},
        ],
    }
    trace = reader._usual_native(record, None, "default")
    assert trace == Trace(
        "conv-1",
        (
            Message(0, "system", "Be brief."),
            Message(1, "user", "Refund order 1?", labels={"toxicity": 0.04, "human": True}),
            Message(2, "assistant", "", (ToolCall("refund", {"order": 1}, "c1"),)),
            Message(3, "tool", '{"ok": true}', tool_call_id="c1", name="refund"),
        ),
        {"channel": "email"},
    )
    assert reader.trace_from_json(record) == trace


def test_integer_labels_and_unusual_fields_take_the_detailed_path_and_read_the_same():
    record = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}], "labels": {"a": 1}}]}
    assert reader._usual_native(record, None, "t") is None
    (message,) = reader.trace_from_json(record).messages
    assert message.content == "hi"
    assert message.labels == {"a": 1.0} and type(message.labels["a"]) is float


def test_tool_arguments_decode_alike_with_and_without_orjson(monkeypatch):
    arguments = '{"n": 1, "x": -0.5, "s": "caf\\u00e9", "l": [true, null], "nan": NaN}'
    faster = native.arguments(arguments, "a")
    monkeypatch.setattr(native, "orjson", None)
    assert repr(native.arguments(arguments, "a")) == repr(faster) == repr(json.loads(arguments))
    with pytest.raises(TraceFormatError, match=r"^a is not valid JSON: Expecting value at column 2$"):
        native.arguments("[,]", "a")


def test_messages_and_tool_calls_compare_by_value_and_are_not_hashable():
    """They are not frozen (to be made fast) but still read-only by convention: changed with evolve."""
    message = Message(0, "user", "hi", (ToolCall("f"),))
    assert message == Message(0, "user", "hi", (ToolCall("f"),))
    assert attrs.evolve(message, content="ho") != message
    for value in (message, ToolCall("f"), Trace("t")):
        with pytest.raises(TypeError, match="unhashable"):
            hash(value)
