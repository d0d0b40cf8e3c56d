"""The native trace adapter and the streaming trace reader."""

from __future__ import annotations

import io
import json
import sys
import types
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.detectors.model import Doubt
from charter.traces import reader
from charter.traces.errors import TraceFormatError
from charter.traces.links import Links
from charter.traces.model import Locator, Message, ToolCall, Trace
from charter.traces.native import convert, detect, message_json, to_json
from charter.traces.reader import ADAPTERS, Skipped, read_traces, trace_from_json

CORPUS = Path(__file__).resolve().parents[2] / "shared/data/model_spec_examples.jsonl"


def native(*messages: dict, **fields) -> Trace:
    return convert({"messages": list(messages), **fields}, None, "default")


def reason(*messages: dict, **fields) -> str:
    with pytest.raises(TraceFormatError) as caught:
        native(*messages, **fields)
    return caught.value.reason


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- the native adapter: shapes -------------------------------------------------------


def test_trace_fields_and_defaults():
    trace = convert({"id": "t1", "meta": {"k": [1]}, "messages": []}, Locator("f", 2), "f:2")
    assert trace == Trace(id="t1", messages=(), meta={"k": [1]}, locator=Locator("f", 2))
    assert native() == Trace(id="default")
    assert native(id=None, meta=None) == Trace(id="default")


def test_string_and_null_content():
    trace = native(
        {"role": "system", "content": "be kind"}, {"role": "assistant", "content": None}, {"role": "user"}
    )
    assert trace.messages == (
        Message(index=0, role="system", content="be kind"),
        Message(index=1, role="assistant", content=""),
        Message(index=2, role="user", content=""),
    )


def test_content_parts_join_text_and_ignore_other_parts():
    parts = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:..."}},
        "bare string",
        {"type": "text", "text": "here"},
    ]
    assert native({"role": "user", "content": parts}).messages[0].content == "look\nbare string\nhere"
    assert native({"role": "user", "content": []}).messages[0].content == ""


def test_openai_tool_calls_decode_arguments():
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "search", "arguments": '{"q": "cats", "n": 2}'},
    }
    empty = {"id": "c2", "type": "function", "function": {"name": "now", "arguments": ""}}
    message = native({"role": "assistant", "content": None, "tool_calls": [call, empty]}).messages[0]
    assert message.tool_calls == (
        ToolCall(name="search", arguments={"q": "cats", "n": 2}, id="c1"),
        ToolCall(name="now", arguments={}, id="c2"),
    )


def test_simple_tool_calls():
    calls = [{"name": "search", "arguments": {"q": "cats"}, "id": "c1"}, {"name": "now"}]
    assert native({"role": "assistant", "tool_calls": calls}).messages[0].tool_calls == (
        ToolCall(name="search", arguments={"q": "cats"}, id="c1"),
        ToolCall(name="now", arguments={}, id=None),
    )
    assert native({"role": "assistant", "tool_calls": None}).messages[0].tool_calls == ()


def test_tool_message():
    trace = native({"role": "tool", "tool_call_id": "c1", "name": "search", "content": "3 results"})
    assert trace.messages[0] == Message(
        index=0, role="tool", content="3 results", tool_call_id="c1", name="search"
    )


def test_developer_role_name_labels_and_meta():
    message = {
        "role": "developer",
        "name": "ops",
        "content": "x",
        "labels": {"toxicity": 0.25, "refusal": True, "pii": 0, "certain": 1},
        "meta": {"source": "log"},
        "refusal": None,  # unknown keys are ignored
    }
    got = native(message).messages[0]
    assert got == Message(
        index=0,
        role="developer",
        content="x",
        labels={"toxicity": 0.25, "refusal": True, "pii": 0.0, "certain": 1.0},
        meta={"source": "log"},
        name="ops",
    )
    assert type(got.labels["pii"]) is float and got.labels["refusal"] is True


def test_message_index_is_the_position():
    trace = native(*({"role": "user", "content": str(i)} for i in range(4)))
    assert [m.index for m in trace.messages] == [0, 1, 2, 3]


def test_detect():
    assert detect({"messages": []})
    assert not detect({"messages": "hi"})
    assert not detect({"id": "x"})
    assert not detect([{"messages": []}])


# --- the native adapter: every error, with its reason ---------------------------------


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ([1], "a trace must be an object, not an array"),
        ({}, 'the trace has no "messages"'),
        ({"messages": {}}, "messages must be an array, not an object"),
        ({"messages": None}, "messages must be an array, not null"),
        ({"messages": [], "id": 7}, "id must be a string, not 7"),
        ({"messages": [], "meta": "m"}, 'meta must be an object, not "m"'),
    ],
)
def test_trace_errors(obj, expected):
    with pytest.raises(TraceFormatError) as caught:
        convert(obj, None, "d")
    assert caught.value.reason == expected
    assert str(caught.value) == expected


USER = {"role": "user", "content": "hi"}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("hi", 'messages[1] must be an object, not "hi"'),
        ({"content": "x"}, 'messages[1] has no "role"'),
        (
            {"role": "bot"},
            'messages[1].role must be one of system, developer, user, assistant, tool, not "bot"',
        ),
        ({"role": 3}, "messages[1].role must be a string, not 3"),
        (
            {"role": "user", "content": 5},
            "messages[1].content must be a string, an array of content parts, or null, not 5",
        ),
        (
            {"role": "user", "content": [None]},
            "messages[1].content[0] must be a string or an object, not null",
        ),
        ({"role": "user", "content": ["a", {"type": "text"}]}, 'messages[1].content[1] has no "text"'),
        (
            {"role": "user", "content": [{"type": "text", "text": 1}]},
            "messages[1].content[0].text must be a string, not 1",
        ),
        ({"role": "assistant", "tool_calls": {}}, "messages[1].tool_calls must be an array, not an object"),
        ({"role": "assistant", "tool_calls": ["f"]}, 'messages[1].tool_calls[0] must be an object, not "f"'),
        ({"role": "assistant", "tool_calls": [{"arguments": {}}]}, 'messages[1].tool_calls[0] has no "name"'),
        (
            {"role": "assistant", "tool_calls": [{"function": None}]},
            "messages[1].tool_calls[0].function must be an object, not null",
        ),
        (
            {"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]},
            'messages[1].tool_calls[0].function has no "name"',
        ),
        (
            {"role": "assistant", "tool_calls": [{"name": "f", "id": 3}]},
            "messages[1].tool_calls[0].id must be a string, not 3",
        ),
        (
            {"role": "assistant", "tool_calls": [{"name": "f", "arguments": 3}]},
            "messages[1].tool_calls[0].arguments must be a JSON object, not 3",
        ),
        (
            {
                "role": "assistant",
                "tool_calls": [{"name": "f"}, {"function": {"name": "g", "arguments": "[1]"}}],
            },
            "messages[1].tool_calls[1].function.arguments must be a JSON object, not an array",
        ),
        ({"role": "tool", "tool_call_id": 1}, "messages[1].tool_call_id must be a string, not 1"),
        ({"role": "user", "name": ["a"]}, "messages[1].name must be a string, not an array"),
        ({"role": "user", "meta": 1}, "messages[1].meta must be an object, not 1"),
        ({"role": "user", "labels": [0.5]}, "messages[1].labels must be an object, not an array"),
        (
            {"role": "user", "labels": {"self_harm": 1.7}},
            "messages[1].labels.self_harm must be a number in [0, 1] or a boolean, not 1.7",
        ),
        (
            {"role": "user", "labels": {"x": -1}},
            "messages[1].labels.x must be a number in [0, 1] or a boolean, not -1",
        ),
        (
            {"role": "user", "labels": {"x": "high"}},
            'messages[1].labels.x must be a number in [0, 1] or a boolean, not "high"',
        ),
        (
            {"role": "user", "labels": {"x": float("nan")}},
            "messages[1].labels.x must be a number in [0, 1] or a boolean, not NaN",
        ),
        (
            {"role": "user", "labels": {"x": None}},
            "messages[1].labels.x must be a number in [0, 1] or a boolean, not null",
        ),
    ],
)
def test_message_errors(message, expected):
    assert reason(USER, message) == expected


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ("", None),
        ("{", "Expecting property name enclosed in double quotes at column 2"),
        ("nope", "Expecting value at column 1"),
        ('{\n  "a": }', "Expecting value at line 2 column 8"),
        ('{"a": 1} x', "Extra data at column 10"),
    ],
)
def test_tool_call_arguments_json(arguments, expected):
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}
    messages = (USER, USER, {"role": "assistant", "tool_calls": [call]})
    if expected is None:
        assert native(*messages).messages[2].tool_calls[0].arguments == {}
    else:
        assert (
            reason(*messages) == f"messages[2].tool_calls[0].function.arguments is not valid JSON: {expected}"
        )


def test_long_values_are_shortened_in_reasons():
    got = reason({"role": "x" * 100})
    assert (
        got == f'messages[0].role must be one of system, developer, user, assistant, tool, not "{"x" * 56}...'
    )


# --- results tied to their calls --------------------------------------------------------


def calling(call_id: str | None, name: str = "f") -> dict:
    return {"role": "assistant", "tool_calls": [{"name": name, **({"id": call_id} if call_id else {})}]}


def answering(call_id: str | None, **fields) -> dict:
    return {"role": "tool", "content": "r", **({"tool_call_id": call_id} if call_id else {}), **fields}


def test_a_result_answers_the_latest_earlier_call_with_its_id():
    trace = native(
        {"role": "user", "content": "go"},
        {"role": "assistant", "tool_calls": [{"name": "a", "id": "c1"}, {"name": "b", "id": "c2"}]},
        answering("c2"), answering("c1"),
        calling("c1", "again"),  # an id used again (some agents number calls per turn)
        answering("c1"), answering("c1"),  # two answers: the call's result is the first
    )
    links = trace.links
    assert [links.call_of(i) for i in (2, 3, 5, 6)] == [(1, 1), (1, 0), (4, 0), (4, 0)]
    assert (links.result_of(1, 0), links.result_of(1, 1), links.result_of(4)) == (3, 2, 5)
    assert links.pairs() == [((1, 1), 2), ((1, 0), 3), ((4, 0), 5), ((4, 0), 6)]
    assert links.unlinked == [] and links.call_of(0) is None


def test_results_without_a_call_are_kept_and_unlinked():
    trace = native(
        answering("c1"),  # before its call
        calling("c1"),
        answering(None),  # no id
        answering("c9"),  # an id no call has
        {"role": "user", "content": "x", "tool_calls": [{"name": "u", "id": "c9"}]},  # only assistants call
        answering("c9"),
        calling(None), answering(None),
    )
    assert [m.role for m in trace.messages].count("tool") == 5
    assert trace.links.unlinked == [0, 2, 3, 5, 7]
    assert trace.links.result_of(1) is None and trace.links.result_of(6) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["assistant", "tool", "user"]),
                          st.lists(st.none() | st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3)),
                max_size=12))
def test_the_one_pass_index_is_what_the_definition_says(plan):
    """Each result's call is the latest call before it, by an assistant, with its id."""
    messages = []
    for role, ids in plan:
        if role == "tool":
            messages.append(answering(ids[0]))
        else:
            messages.append({"role": role, "tool_calls": [{"name": "f", **({"id": i} if i else {})} for i in ids]})
    trace = native(*messages)
    for message in trace.messages:
        if message.role != "tool":
            continue
        calls = [(m.index, k) for m in trace.messages[:message.index] if m.role == "assistant"
                 for k, call in enumerate(m.tool_calls) if call.id is not None and call.id == message.tool_call_id]
        expected = calls[-1] if calls else None
        assert trace.links.call_of(message.index) == expected
        assert (message.index in trace.links.unlinked) == (expected is None)
        if expected is not None:
            first = min(r for r in range(len(trace.messages)) if trace.links.call_of(r) == expected)
            assert trace.links.result_of(*expected) == first


def test_a_sessions_index_grows_message_by_message():
    trace = native(calling("c1"), answering("c1"), answering("c2"))
    links = Links()
    for message in trace.messages:
        links.add(message)
    assert links.pairs() == trace.links.pairs() and links.unlinked == trace.links.unlinked == [2]


@pytest.mark.parametrize(
    ("error", "expected"),
    [(True, True), (False, False), (None, None), ({"type": "timeout"}, True), ("permission denied", True)],
)
def test_a_tool_messages_error_says_whether_the_call_failed(error, expected):
    message = answering("c1", **({} if error is None else {"error": error}))
    usual = native(message).messages[0]
    detailed = native({**message, "content": [{"type": "text", "text": "r"}]}).messages[0]  # the detailed path
    assert usual.error is detailed.error is expected
    assert convert(to_json(native(message)), None, "d").messages[0].error is expected


# --- registry and library entry point ---------------------------------------------------


def test_registry():
    assert list(ADAPTERS) == ["inspect", "anthropic", "openai", "openai-responses", "huggingface", "native"]
    assert ADAPTERS["native"].detect({"messages": []})


def test_trace_from_json():
    trace = trace_from_json({"messages": [USER]})
    assert trace == Trace(id="trace", messages=(Message(index=0, role="user", content="hi"),))
    assert trace_from_json({"id": "x", "messages": []}, default_id="d").id == "x"
    assert trace_from_json({"messages": []}, default_id="d").id == "d"


def test_trace_from_json_errors():
    with pytest.raises(TraceFormatError) as caught:
        trace_from_json({"conversation": []})
    assert (
        caught.value.reason
        == 'not a trace: expected an object with "eval" and "samples" (an Inspect AI log), "type": "message" (an Anthropic response), "choices" (an OpenAI response), "object": "response" or "input" (an OpenAI Responses API response or request), a "conversations" list (ShareGPT) or a "messages" list (formats tried: inspect, anthropic, openai, openai-responses, huggingface, native)'
    )
    with pytest.raises(TraceFormatError, match=r"^messages\[0\] has no \"role\"$"):
        trace_from_json({"messages": [{}]})


# --- reading files ---------------------------------------------------------------------


def line(obj: object) -> str:
    return json.dumps(obj) + "\n"


def test_jsonl_with_a_malformed_line_in_the_middle(tmp_path):
    text = (
        line({"id": "a", "messages": [USER]})
        + '{"id": "b", "messages": [\n'
        + line({"messages": [USER]})
        + line([1, 2])
        + line({"messages": [{"role": "bot"}]})
        + line({"id": "f", "messages": []})
    )
    path = write(tmp_path, "t.jsonl", text)
    got = list(read_traces(path))
    assert [type(r).__name__ for r in got] == ["Trace", "Skipped", "Trace", "Skipped", "Skipped", "Trace"]
    assert got[0].id == "a" and got[0].locator == Locator(path, 1)
    assert got[1] == Skipped(Locator(path, 2), "not valid JSON: Expecting value at column 26")
    assert got[2].id == f"{path}:3" and got[2].locator == Locator(path, 3)
    assert got[3] == Skipped(
        Locator(path, 4), 'not a trace: expected an object with "eval" and "samples" (an Inspect AI log), "type": "message" (an Anthropic response), "choices" (an OpenAI response), "object": "response" or "input" (an OpenAI Responses API response or request), a "conversations" list (ShareGPT) or a "messages" list (formats tried: inspect, anthropic, openai, openai-responses, huggingface, native)'
    )
    assert got[4] == Skipped(
        Locator(path, 5),
        'messages[0].role must be one of system, developer, user, assistant, tool, not "bot"',
    )
    assert got[5].id == "f" and got[5].locator == Locator(path, 6)


def test_blank_lines_are_ignored_and_do_not_shift_line_numbers(tmp_path):
    text = (
        "\n   \n" + line({"id": "a", "messages": []}) + "\r\n\t\n" + line({"id": "b", "messages": []}) + "\n"
    )
    got = list(read_traces(write(tmp_path, "t.jsonl", text)))
    assert [(t.id, t.locator.line) for t in got] == [("a", 3), ("b", 6)]


def test_empty_file(tmp_path):
    assert list(read_traces(write(tmp_path, "empty.jsonl", ""))) == []
    assert list(read_traces(write(tmp_path, "blank.jsonl", "\n \n"))) == []


def test_crlf_and_byte_order_mark(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"id": "a", "messages": []}\r\n{"id": "b", "messages": []}\r\n')
    assert [t.id for t in read_traces(str(path))] == ["a", "b"]


def test_invalid_utf8_skips_only_that_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"id": "a", "messages": []}\n{"id": "\xff"}\n{"id": "c", "messages": []}\n')
    got = list(read_traces(str(path)))
    assert got[1] == Skipped(Locator(str(path), 2), "not valid UTF-8: invalid start byte")
    assert [got[0].id, got[2].id] == ["a", "c"]


def test_single_pretty_printed_trace(tmp_path):
    trace = {"id": "pretty", "meta": {"a": 1}, "messages": [USER, {"role": "assistant", "content": "hello"}]}
    path = write(tmp_path, "t.json", json.dumps(trace, indent=2))
    (got,) = read_traces(path)
    assert got.id == "pretty" and got.locator == Locator(path)
    assert [m.content for m in got.messages] == ["hi", "hello"]


def test_single_trace_without_id_is_named_by_its_file(tmp_path):
    path = write(tmp_path, "t.json", json.dumps({"messages": []}, indent=1))
    assert [t.id for t in read_traces(path)] == [path]


def test_malformed_document_is_one_skipped_at_the_error_line(tmp_path):
    path = write(
        tmp_path, "t.json", '\n{\n  "messages": [\n    {"role": "user"}\n    {"role": "user"}\n  ]\n}\n'
    )
    assert list(read_traces(path)) == [
        Skipped(Locator(path, 5), "not valid JSON: Expecting ',' delimiter at column 5")
    ]


def test_document_that_is_not_a_trace(tmp_path):
    path = write(tmp_path, "t.json", '{\n  "messages": [{"role": "bot"}]\n}\n')
    assert list(read_traces(path)) == [
        Skipped(
            Locator(path),
            'messages[0].role must be one of system, developer, user, assistant, tool, not "bot"',
        )
    ]


def test_json_array_of_traces(tmp_path):
    traces = [
        {"id": "a", "messages": [USER]},
        {"messages": []},
        {"messages": "x"},
        {"id": "d", "messages": []},
    ]
    path = write(tmp_path, "t.json", "\n" + json.dumps(traces, indent=2))
    got = list(read_traces(path))
    assert [type(r).__name__ for r in got] == ["Trace", "Trace", "Skipped", "Trace"]
    assert [got[0].id, got[1].id, got[3].id] == ["a", f"{path}#1", "d"]
    # the lines the elements start on (the file starts with a blank line, then "[")
    assert [r.locator for r in got] == [
        Locator(path, 3),
        Locator(path, 12),
        Locator(path, 15),
        Locator(path, 18),
    ]
    assert got[2].reason == (
        'element 2: not a trace: expected an object with "eval" and "samples" (an Inspect AI log), "type": "message" (an Anthropic response), "choices" (an OpenAI response), "object": "response" or "input" (an OpenAI Responses API response or request), a "conversations" list (ShareGPT) or a "messages" list (formats tried: inspect, anthropic, openai, openai-responses, huggingface, native)'
    )


def test_compact_json_array(tmp_path):
    path = write(tmp_path, "t.json", json.dumps([{"messages": []}, {"messages": []}]))
    got = list(read_traces(path))
    assert [(t.id, t.locator) for t in got] == [
        (f"{path}#0", Locator(path, 1)),
        (f"{path}#1", Locator(path, 1)),
    ]


def test_empty_and_malformed_arrays(tmp_path):
    assert list(read_traces(write(tmp_path, "empty.json", "[ ]"))) == []
    path = write(tmp_path, "bad.json", '[\n  {"messages": []},\n]\n')
    assert list(read_traces(path)) == [
        Skipped(Locator(path, 3), "not valid JSON: Expecting value at column 1")
    ]


def test_stdin(monkeypatch):
    text = line({"id": "a", "messages": [USER]}) + "oops\n" + line({"id": "c", "messages": []})
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    got = list(read_traces("-"))
    assert got[0].id == "a" and got[0].locator == Locator("<stdin>", 1)
    assert got[1] == Skipped(Locator("<stdin>", 2), "not valid JSON: Expecting value at column 1")
    assert got[2].id == "c"


def test_stdin_document(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps({"messages": [USER]}, indent=2)))
    assert [t.id for t in read_traces("-")] == ["<stdin>"]


def test_missing_file_and_directory(tmp_path):
    missing = str(tmp_path / "nope.jsonl")
    assert list(read_traces(missing)) == [Skipped(Locator(missing), "file not found")]
    assert list(read_traces(str(tmp_path))) == [Skipped(Locator(str(tmp_path)), "is a directory, not a file")]


def test_input_format(tmp_path):
    path = write(tmp_path, "t.jsonl", line({"messages": [USER]}) + line({"conversation": []}))
    got = list(read_traces(path, input_format="native"))
    assert got[0].messages[0].content == "hi"
    # the chosen adapter reports its own reason instead of a failed detection
    assert got[1] == Skipped(Locator(path, 2), 'the trace has no "messages"')


def test_unknown_input_format_raises_at_once():
    with pytest.raises(ValueError, match=r"^unknown trace format 'sharegpt'; known formats: inspect, anthropic, openai, openai-responses, huggingface, native$"):
        read_traces("whatever.jsonl", input_format="sharegpt")


def test_json_the_standard_parser_accepts_but_is_too_deep_or_too_big(tmp_path):
    path = write(tmp_path, "t.jsonl", line({"messages": []}) + "[" * 100_000 + "\n" + "1" * 5000 + "\n")
    got = list(read_traces(path))
    assert isinstance(got[0], Trace)
    assert got[1].reason.startswith("not decodable as JSON: ")
    assert got[2].reason.startswith("not decodable as JSON: ")


class _FakeDecodeError(json.JSONDecodeError):
    """orjson's JSONDecodeError subclasses json's, with its own wording."""


def _fake_orjson_loads(data: bytes | str) -> object:  # (orjson's takes either)
    if data[:1] in (b"{", "{"):
        return json.loads(data)
    raise _FakeDecodeError("unexpected character", repr(data), 0)


def test_reasons_do_not_depend_on_orjson(tmp_path, monkeypatch):
    path = write(tmp_path, "t.jsonl", line({"id": "a", "messages": []}) + "nope\nNaN\n")
    without = list(read_traces(path))
    fake = types.SimpleNamespace(loads=_fake_orjson_loads, JSONDecodeError=_FakeDecodeError)
    monkeypatch.setattr(reader, "orjson", fake)
    assert list(read_traces(path)) == without
    assert without[1] == Skipped(Locator(path, 2), "not valid JSON: Expecting value at column 1")
    # NaN is refused by orjson but read by json: not a trace either way, and the same reason
    assert without[2].reason.startswith("not a trace")


# --- never failing on any input ----------------------------------------------------------

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
_JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
)
_MESSAGE_KEYS = ["role", "content", "tool_calls", "tool_call_id", "name", "labels", "meta", "type", "text"]
_MESSAGE_LIKE = st.recursive(
    st.sampled_from(["user", "assistant", "tool", "bot", "text", "", '{"a": 1}', "{"]) | _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(_MESSAGE_KEYS + ["function", "arguments", "id"]), inner, max_size=5)
    ),
)
_TRACE_LIKE = st.fixed_dictionaries(
    {"messages": st.lists(_MESSAGE_LIKE, max_size=3)},
    optional={"id": _JSON_VALUES, "meta": _JSON_VALUES},
)
_OBJECTS = _TRACE_LIKE | st.dictionaries(st.text(max_size=3), _JSON_VALUES, max_size=3)
# JSON text of any value, text that is not JSON, and blank lines
_LINES = (
    (_JSON_VALUES | _TRACE_LIKE).map(json.dumps)
    | st.text(max_size=10).filter(lambda s: "\n" not in s)
    | st.sampled_from(["", " ", "\t", "\r"])
)


def _is_blank(text: str) -> bool:
    return not text.strip(" \t\r")


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=_OBJECTS.map(json.dumps), rest=st.lists(_LINES, max_size=8))
def test_one_result_per_nonblank_line_and_never_an_exception(tmp_path, first, rest):
    """A first line that parses as an object makes the input JSONL (an array would make it
    one JSON document), and then every non-blank line gives exactly one result."""
    lines = [first, *rest]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = list(read_traces(str(path)))
    nonblank = [number for number, text in enumerate(lines, start=1) if not _is_blank(text)]
    assert [r.locator for r in got] == [Locator(str(path), n) for n in nonblank]
    assert all(isinstance(r, Trace | Skipped) for r in got)


# --- the real corpus ----------------------------------------------------------------------


@pytest.mark.skipif(not CORPUS.exists(), reason=f"corpus not found at {CORPUS}")
def test_model_spec_corpus_reads_whole():
    got = list(read_traces(str(CORPUS)))
    assert [r for r in got if isinstance(r, Skipped)] == []
    assert len(got) == 398
    assert len({t.id for t in got}) == 398
    assert all(t.messages for t in got)


def test_jsonl_with_a_broken_first_line_still_reads_the_other_lines(tmp_path):
    path = write(
        tmp_path, "broken_first.jsonl",
        '{"id": "a", "messages": [\n'
        '{"id": "b", "messages": [{"role": "user", "content": "hi"}]}\n'
        "\n"
        '{"id": "c", "messages": []}\n',
    )
    records = list(read_traces(path))
    assert [type(r).__name__ for r in records] == ["Skipped", "Trace", "Trace"]
    assert [r.locator.line for r in records] == [1, 2, 4]
    assert [r.id for r in records[1:]] == ["b", "c"]


def test_a_detected_doubt_is_written_as_an_absent_label():
    # A session's messages carry what detectors said; a doubt (unknown) is not trace data
    # and the escalation queue failed to store it (TypeError: Doubt is not JSON serializable).
    message = Message(0, "user", "hello", labels={"profanity": Doubt("unsure", 0.52), "toxic": 0.1, "fr": True})
    assert message_json(message)["labels"] == {"toxic": 0.1, "fr": True}
    assert "labels" not in message_json(Message(0, "user", "hi", labels={"x": Doubt("unsure")}))
