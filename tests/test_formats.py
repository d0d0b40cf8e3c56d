"""Trace formats other than the native one: OpenAI chat completions, Anthropic messages,
Inspect AI eval logs (JSON and .eval archives), Hugging Face ShareGPT records; their
detection, forcing a format, malformed records, and the same conversation in every format."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import charter
from charter.cli import main
from charter.traces import anthropic, huggingface, inspect_log, openai, responses
from charter.traces.errors import TraceFormatError
from charter.traces.model import Locator, Message, ToolCall, Trace
from charter.traces.reader import ADAPTERS, Skipped, read_traces, trace_from_json

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "formats"

FORMATS_TRIED = "(formats tried: inspect, anthropic, openai, openai-responses, huggingface, native)"


def fixture(name: str) -> str:
    return str(FIXTURES / name)


def read(path: str, input_format: str | None = None) -> list[Trace | Skipped]:
    return list(read_traces(path, input_format))


def detected(obj: object) -> str | None:
    """The name of the adapter that reads `obj` when no format is forced."""
    return next((name for name, adapter in ADAPTERS.items() if adapter.detect(obj)), None)


def shape(trace: Trace) -> list[tuple]:
    """What a policy reads of a trace: roles, texts, tool calls."""
    return [(m.role, m.content, tuple((c.name, c.arguments) for c in m.tool_calls)) for m in trace.messages]


# --- OpenAI chat completions -------------------------------------------------------------


def test_openai_request_body():
    trace, *_ = read(fixture("openai_chat.jsonl"))
    path = fixture("openai_chat.jsonl")
    assert trace.id == f"{path}:1" and trace.locator == Locator(path, 1)
    assert trace.meta == {"model": "gpt-4o-2024-08-06"}
    assert trace.messages == (
        Message(index=0, role="developer", content="You are Acme's support assistant."),
        # content parts: texts joined by newlines, the image left out
        Message(index=1, role="user", content="Where is order A-17?\nHere is the receipt."),
        Message(
            index=2,
            role="assistant",
            content="",
            tool_calls=(
                ToolCall(name="lookup_order", arguments={"order_id": "A-17"}, id="call_Xq1"),
                ToolCall(name="get_weather", arguments={"city": "Paris", "units": "metric"}, id="call_Xq2"),
            ),
        ),
        Message(
            index=3, role="tool", content='{"status": "delivered", "age_days": 12}', tool_call_id="call_Xq1"
        ),
        Message(index=4, role="tool", content="18C, sunny", tool_call_id="call_Xq2"),
        Message(index=5, role="assistant", content="Your order was delivered 12 days ago."),
    )


def test_openai_response_alone_is_its_first_choice():
    trace = read(fixture("openai_chat.jsonl"))[1]
    assert trace.id == "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"
    assert trace.meta == {"model": "gpt-4o-2024-08-06"}
    assert trace.messages == (
        Message(index=0, role="assistant", content="The refund is approved.", meta={"finish_reason": "stop"}),
    )


def test_openai_request_and_response():
    trace = read(fixture("openai_chat.jsonl"))[2]
    assert trace.id == "chatcmpl-Cw1"
    assert trace.meta == {"model": "gpt-4o-mini-2024-07-18"}  # the response's model first
    assert shape(trace) == [
        ("system", "Be brief.", ()),
        ("user", "Delete my notes file.", ()),
        ("assistant", "", (("delete_file", {"path": "/home/ann/notes.txt"}),)),
    ]
    assert trace.messages[2].tool_calls[0].id == "call_del"
    assert trace.messages[2].meta == {"finish_reason": "tool_calls"}


def test_openai_request_with_its_choices_keeps_native_extensions():
    trace = read(fixture("openai_chat.jsonl"))[3]
    assert trace.id == "conv-42"
    assert trace.meta == {"tier": "gold", "model": "gpt-4.1"}
    assert trace.messages == (
        Message(index=0, role="user", content="hello", labels={"toxicity": 0.01}),
        Message(index=1, role="assistant", content="Hello! How can I help?", meta={"finish_reason": "stop"}),
    )


def test_openai_request_with_a_response_key():
    trace = read(fixture("openai_chat.jsonl"))[4]
    assert trace.id == "chatcmpl-R2" and trace.meta == {"model": "gpt-4o"}
    assert shape(trace) == [("user", "hi", ()), ("assistant", "Hi there.", ())]


def test_openai_malformed_records_name_the_field_by_its_path():
    path = fixture("openai_chat.jsonl")
    got = read(path)
    assert got[5] == Skipped(
        Locator(path, 6),
        "response.choices[0].message.tool_calls[0].function.arguments is not valid JSON: "
        "Expecting property name enclosed in double quotes at column 2",
    )
    assert got[6] == Skipped(Locator(path, 7), 'choices[0].message has no "role"')


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({}, 'the trace has no "messages"'),
        ({"choices": []}, "choices is empty"),  # not detected, but forced
        ({"request": [], "response": {}}, "request must be an object, not an array"),
        ({"request": {"messages": []}, "response": {"choices": []}}, "response.choices is empty"),
        ({"messages": [], "choices": ["x"]}, 'choices[0] must be an object, not "x"'),
        ({"messages": [], "choices": [{"index": 0}]}, 'choices[0] has no "message"'),
        (
            {"model": "m", "messages": [{"role": "bot"}]},
            'messages[0].role must be one of system, developer, user, assistant, tool, not "bot"',
        ),
    ],
)
def test_openai_errors(obj, expected):
    with pytest.raises(TraceFormatError) as caught:
        openai.convert(obj, None, "d")
    assert caught.value.reason == expected


# --- OpenAI Responses API ----------------------------------------------------------------

CONFIRMED, EXFILTRATION = "resp_68b2a1f9e1a88190aa3f5c0d2e7b4c11", "resp_68b2b3121c548190be0d7a9f4c2e1d08"


def test_responses_request_with_its_response_ties_each_output_to_its_call():
    path = fixture("openai_responses.jsonl")
    trace = read(path)[0]
    assert trace.id == CONFIRMED
    # the request's and the response's metadata are the trace meta
    assert trace.meta == {"session": "s-118", "channel": "web", "model": "gpt-4.1-2025-04-14"}
    assert [(m.role, m.tool_call_id) for m in trace.messages] == [
        ("system", None), ("user", None), ("assistant", None), ("tool", "call_Xq2fetch01"),
        ("assistant", None), ("user", None), ("assistant", None),
    ]
    assert trace.messages[0].content.startswith("You are Dana's assistant.")  # instructions, read once
    fetch, mail = trace.messages[2].tool_calls[0], trace.messages[6].tool_calls[0]
    assert fetch == ToolCall("fetch_url", {"url": "https://acme.example/q3-notes"}, "call_Xq2fetch01")
    assert (mail.name, mail.arguments["to"], mail.id) == ("send_email", "dana@acme.example", "call_Mb7send02")
    assert trace.messages[3].content.startswith("Acme Q3 notes (internal).")
    assert trace.messages[3].error is None  # the format does not say
    # the response's reasoning summary is thought, not said; its status is the reply's
    assert trace.messages[6].content == ""
    assert trace.messages[6].meta == {
        "thinking": "The user confirmed; send the summary to the address they gave.", "status": "completed",
    }
    assert trace.links.call_of(3) == (2, 0) and trace.links.result_of(2) == 3
    assert trace.links.result_of(6) is None and trace.links.unlinked == []


def test_responses_output_parts_and_a_call_before_a_message():
    trace = read(fixture("openai_responses.jsonl"))[1]
    assert trace.id == EXFILTRATION
    assert shape(trace)[2:] == [
        ("assistant", "", (("fetch_url", {"url": "https://shop.example/deals"}),)),
        ("tool", trace.messages[3].content, ()),  # an output given as input_text parts
        ("assistant", "", (("send_email", trace.messages[4].tool_calls[0].arguments),)),
        ("assistant", "The Aero 14 is 15% off until Sunday.", ()),  # a message after a call starts a reply
    ]
    assert "billing-check@mail-verify.example" in trace.messages[3].content
    assert trace.links.pairs() == [((2, 0), 3)]


def test_charter_check_reads_the_responses_fixture_with_std_tools():
    result = CliRunner().invoke(main, ["check", "std.tools", "--traces", fixture("openai_responses.jsonl")])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{CONFIRMED}: complied")
    assert lines[1].startswith(f"{EXFILTRATION}: violated")
    assert sorted(lines[2:4]) == [
        "  confirm_destructive_calls @ turn 4 call 0: violated — severity high",
        "  no_pii_to_third_parties @ turn 4 call 0: violated — severity high",
    ]
    assert "2 traces checked — 1 violated, 1 complied" in result.output


def test_the_responses_example_in_the_docs_is_what_charter_check_prints(tmp_path, monkeypatch):
    page = (Path(__file__).resolve().parents[1] / "docs" / "traces.md").read_text()
    section = page.split("### OpenAI Responses API\n", 1)[1].split("\n### ", 1)[0]
    record = re.search(r"```json\n(.*?)```", section, re.S).group(1)
    command, shown = re.search(r"```text\n\$ charter (.*?)\n(.*?)```", section, re.S).groups()
    (tmp_path / "responses.jsonl").write_text(record)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, command.split())
    assert (result.exit_code, result.output) == (1, shown)


def test_responses_items_make_messages_as_a_chat_log_has_them():
    items = [
        {"role": "developer", "content": "Answer in French."},
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "Look it up"}, {"type": "input_image", "image_url": "https://x/p.png"},
        ], "labels": {"toxic": 0.1}, "meta": {"lang": "en"}},
        # reasoning, text and calls of one model turn are one assistant message
        {"type": "reasoning", "id": "rs_1", "summary": [], "content": [{"type": "reasoning_text", "text": "Hm."}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
        {"type": "function_call", "call_id": "c1", "name": "search", "arguments": '{"q": "x"}'},
        {"type": "custom_tool_call", "call_id": "c2", "name": "shell", "input": "ls -la"},
        {"type": "function_call_output", "call_id": "c1", "output": "found", "labels": {"toxic": 0.0}},
        {"type": "custom_tool_call_output", "call_id": "c2", "output": [{"type": "output_text", "text": "a.txt"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "refusal", "refusal": "I can't share that."}]},
        {"type": "message", "role": "assistant", "content": "Anything else?"},
        {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "gAAA"},
    ]
    trace = trace_from_json({"model": "gpt-5", "input": items, "previous_response_id": "resp_0"})
    assert shape(trace) == [
        ("developer", "Answer in French.", ()),
        ("user", "Look it up", ()),
        ("assistant", "Checking.", (("search", {"q": "x"}), ("shell", {"input": "ls -la"}))),
        ("tool", "found", ()),
        ("tool", "a.txt", ()),
        ("assistant", "I can't share that.", ()),
        ("assistant", "Anything else?", ()),
        ("assistant", "", ()),
    ]
    assert trace.messages[1].labels == {"toxic": 0.1} and trace.messages[1].meta == {"lang": "en"}
    assert trace.messages[2].meta == {"thinking": "Hm."}
    assert trace.messages[3].labels == {"toxic": 0.0}
    assert trace.messages[7].meta == {"thinking_redacted": True}
    assert [trace.links.call_of(i) for i in (3, 4)] == [(2, 0), (2, 1)]
    assert trace.meta == {"model": "gpt-5", "previous_response_id": "resp_0"}
    assert trace.id == "trace"


def test_responses_string_input_and_a_response_alone():
    trace = trace_from_json({"model": "gpt-4.1", "instructions": "Be brief.", "input": "Hi"})
    assert shape(trace) == [("system", "Be brief.", ()), ("user", "Hi", ())]
    response = {
        "id": "resp_9", "object": "response", "status": "incomplete", "model": "o4-mini",
        "instructions": [{"role": "developer", "content": "Be kind."}], "metadata": {"tier": "free"},
        "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hel"}]}],
    }
    trace = trace_from_json(response)
    assert trace.id == "resp_9" and trace.meta == {"tier": "free", "model": "o4-mini"}
    # alone, a response's echoed instructions are all there is of the request
    assert shape(trace) == [("developer", "Be kind.", ()), ("assistant", "Hel", ())]
    assert trace.messages[1].meta == {"status": "incomplete"}


def test_responses_mcp_calls_carry_their_result():
    output = [
        {"type": "mcp_list_tools", "id": "mcpl_1", "server_label": "crm", "tools": []},
        {"type": "mcp_call", "id": "mcp_1", "server_label": "crm", "name": "find_contact",
         "arguments": '{"name": "Ann"}', "output": "ann@example.org", "error": None},
        {"type": "mcp_call", "id": "mcp_2", "server_label": "crm", "name": "delete_contact",
         "arguments": '{"id": 7}', "output": None, "error": "permission denied"},
        {"type": "mcp_call", "id": "mcp_3", "server_label": "crm", "name": "ping", "arguments": "{}"},  # not run yet
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Found Ann."}]},
    ]
    trace = trace_from_json({"object": "response", "id": "resp_m", "output": output})
    assert shape(trace) == [
        ("assistant", "", (("find_contact", {"name": "Ann"}),)),
        ("tool", "ann@example.org", ()),
        ("assistant", "", (("delete_contact", {"id": 7}),)),
        ("tool", "permission denied", ()),  # an error is the result's text
        ("assistant", "", (("ping", {}),)),
        ("assistant", "Found Ann.", ()),
    ]
    assert [m.error for m in trace.messages if m.role == "tool"] == [False, True]
    assert trace.links.pairs() == [((0, 0), 1), ((2, 0), 3)] and trace.links.result_of(4) is None
    assert trace.notes == ('output[0] is an item of type "mcp_list_tools", which is not read: it is left out',)


def test_responses_call_outputs_fail_by_their_error_key_as_in_the_native_format():
    output = lambda call_id, **extra: {"type": "function_call_output", "call_id": call_id, "output": "...", **extra}
    request = {"input": [
        {"role": "user", "content": "Mail Ann and Bob"},
        *({"type": "function_call", "call_id": c, "name": "send_email", "arguments": "{}"} for c in "abcde"),
        output("a", error="SMTP 550 mailbox unavailable"), output("b", error={"code": 550}),
        output("c", error=False), output("d", error=None, status="completed"), output("e", status="incomplete"),
    ]}
    trace = trace_from_json(request)
    # a string or an object says what went wrong; null, or only the item's `status`, says nothing
    assert [m.error for m in trace.messages if m.role == "tool"] == [True, True, False, None, None]
    policy = charter.loads('charter p\nnorm no_failed_send:\n    on tool call\n'
                           '    when call.name == "send_email"\n    forbid call failed\n', name="p.charter")
    kinds = [v.kind for v in policy.check(trace).verdicts]
    assert kinds == ["violated", "violated", "complied", "unspecified", "unspecified"]  # unknown: not decided


def test_responses_items_not_read_are_noted_with_their_place(tmp_path):
    record = {"request": {"input": [
        {"role": "user", "content": "Search the web"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search"}},
        {"id": "ref_1"},
    ]}, "response": {"object": "response", "id": "resp_1", "output": [{"type": "item_reference", "id": "x"}]}}
    trace = trace_from_json(record)
    assert shape(trace) == [("user", "Search the web", ())]
    assert trace.notes == (
        'request.input[1] is an item of type "web_search_call", which is not read: it is left out',
        "request.input[2] is an item with no type, which is not read: it is left out",
        'response.output[0] is an item of type "item_reference", which is not read: it is left out',
    )
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(record) + "\n")
    policy = tmp_path / "p.charter"
    policy.write_text('charter p\nnorm n:\n    forbid assistant says "x"\n')
    result = CliRunner().invoke(main, ["check", str(policy), "--traces", str(path)])
    assert result.exit_code == 0
    warning = f'{path}:1: warning: request.input[1] is an item of type "web_search_call", which is not read'
    assert warning in result.output


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"model": "m"}, 'the trace has no "input"'),  # forced
        ({"input": 3}, "input must be a string or an array of items, not 3"),
        ({"input": ["hi"]}, 'input[0] must be an object, not "hi"'),
        ({"input": [{"role": "tool", "content": "x"}]},
         'input[0].role must be one of user, system, developer, assistant, not "tool"'),
        ({"input": [{"type": "message", "content": "x"}]}, 'input[0] has no "role"'),
        ({"input": [{"type": 7}]}, "input[0].type must be a string, not 7"),
        ({"input": [{"type": "function_call", "call_id": "c", "arguments": "{}"}]}, 'input[0] has no "name"'),
        ({"input": [{"type": "function_call", "name": "f", "arguments": "{oops"}]},
         "input[0].arguments is not valid JSON: Expecting property name enclosed in double quotes at column 2"),
        ({"input": [{"type": "function_call", "name": "f", "arguments": "[1]"}]},
         "input[0].arguments must be a JSON object, not an array"),
        ({"input": [{"type": "function_call_output", "call_id": "c", "output": {"a": 1}}]},
         "input[0].output must be a string or an array of content parts, not an object"),
        ({"input": [{"role": "user", "content": [{"type": "input_text"}]}]}, 'input[0].content[0] has no "text"'),
        ({"input": [{"type": "reasoning", "summary": ["x"]}]}, 'input[0].summary[0] must be an object, not "x"'),
        ({"input": "x", "instructions": 5}, "instructions must be a string or an array of input items, not 5"),
        ({"request": {"input": "x"}, "response": {"object": "response", "output": None}},
         "response.output must be an array, not null"),
    ],
)
def test_responses_errors(obj, expected):
    with pytest.raises(TraceFormatError) as caught:
        responses.convert(obj, None, "d")
    assert caught.value.reason == expected


_ODD = st.none() | st.booleans() | st.integers(-1, 1) | st.text(max_size=3) | st.just([]) | st.just({}) \
    | st.just(["x"]) | st.just([{"type": "input_text"}]) | st.just("{oops")


def _mostly(good: st.SearchStrategy) -> st.SearchStrategy:
    """`good` nine times in ten, else an odd value: so that most records are read, and some are not."""
    return st.integers(0, 9).flatmap(lambda n: _ODD if n == 0 else good)


_ITEM = _mostly(st.fixed_dictionaries({}, optional={
    "type": _mostly(st.sampled_from(["message", "function_call", "function_call_output", "custom_tool_call",
                                     "mcp_call", "custom_tool_call_output", "reasoning", "web_search_call"])),
    "role": _mostly(st.sampled_from(["user", "assistant", "developer"])),
    "content": _mostly(st.just([{"type": "output_text", "text": "t"}, {"type": "refusal", "refusal": "r"}])
                       | st.text(max_size=3)),
    "call_id": _mostly(st.sampled_from(["c1", "c2"])), "id": _mostly(st.sampled_from(["c1", "c2"])),
    "name": _mostly(st.just("f")), "arguments": _mostly(st.sampled_from(['{"a": 1}', "", "{}"])),
    "input": _mostly(st.just("ls")), "output": _mostly(st.just("out")), "error": st.none() | _ODD,
    "summary": _mostly(st.just([{"type": "summary_text", "text": "s"}])), "encrypted_content": _ODD,
    "labels": _mostly(st.just({"x": 0.5})), "meta": _mostly(st.just({"k": 1})),
}))
_RESPONSES_RECORD = st.fixed_dictionaries({"input": _mostly(st.lists(_ITEM, max_size=6))}, optional={
    "instructions": _mostly(st.text(max_size=3) | st.lists(_ITEM, max_size=2)),
    "metadata": _mostly(st.just({"m": 1})), "previous_response_id": _ODD, "model": _ODD,
    "response": _mostly(st.fixed_dictionaries(
        {"object": st.just("response"), "output": _mostly(st.lists(_ITEM, max_size=4))},
        optional={"status": _ODD, "id": _ODD, "metadata": _ODD},
    )),
})


@settings(max_examples=400, deadline=None)
@given(_RESPONSES_RECORD)
def test_any_responses_record_is_a_trace_or_a_reason(record):
    try:
        trace = responses.convert(record, None, "d")
    except TraceFormatError as error:
        assert error.reason
        return
    assert [m.index for m in trace.messages] == list(range(len(trace.messages)))
    for index, message in enumerate(trace.messages):
        call = trace.links.call_of(index)
        assert (call is None) == (message.role != "tool" or index in trace.links.unlinked)
        if call is not None:
            assert trace.messages[call[0]].tool_calls[call[1]].id == message.tool_call_id


def test_a_malformed_responses_record_is_skipped_with_its_line(tmp_path):
    path = tmp_path / "r.jsonl"
    bad = {"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{oops"}]}
    path.write_text(json.dumps({"input": "fine"}) + "\n" + json.dumps(bad) + "\n")
    got = read(str(path))
    assert shape(got[0]) == [("user", "fine", ())]
    assert got[1] == Skipped(Locator(str(path), 2), "input[0].arguments is not valid JSON: "
                             "Expecting property name enclosed in double quotes at column 2")


THINKING = "The user asks two things. I should look both up; I must not promise a refund yet."

# --- Anthropic messages ----------------------------------------------------------------


def test_anthropic_request_with_tools_and_thinking():
    path = fixture("anthropic_messages.jsonl")
    trace = read(path)[0]
    assert trace.id == f"{path}:1"
    assert trace.meta == {"model": "claude-sonnet-4-20250514"}
    assert trace.messages == (
        Message(index=0, role="system", content="You are Acme's support assistant."),
        Message(index=1, role="user", content="What's the weather in Paris, and is order A-17 refundable?"),
        Message(
            index=2,
            role="assistant",
            content="Let me check both.",
            tool_calls=(
                ToolCall(
                    name="get_weather",
                    arguments={"location": "Paris, France", "unit": "celsius"},
                    id="toolu_01A09q90qw90lq917835lq9",
                ),
                ToolCall(name="lookup_order", arguments={"order_id": "A-17"}, id="toolu_01B77"),
            ),
            meta={"thinking": THINKING},
        ),
        # each tool_result is a tool message of its own, before the rest of its user message
        Message(
            index=3, role="tool", content="18 degrees, sunny", tool_call_id="toolu_01A09q90qw90lq917835lq9",
            error=False,  # no `is_error`: Anthropic's default is false
        ),
        Message(
            index=4, role="tool", content="order A-17:\ndelivered 12 days ago", tool_call_id="toolu_01B77",
            error=False,
        ),
        Message(index=5, role="user", content="Thanks, and be quick please."),
        Message(
            index=6,
            role="assistant",
            content="It is sunny in Paris.\nYour refund is approved.",
            meta={"thinking_redacted": True},
        ),
    )


def test_anthropic_response_alone():
    trace = read(fixture("anthropic_messages.jsonl"))[1]
    assert trace.id == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert trace.meta == {"model": "claude-opus-4-1-20250805"}
    assert trace.messages == (
        Message(
            index=0,
            role="assistant",
            content="I'll search for that.",
            tool_calls=(
                ToolCall(name="web_search", arguments={"query": "Acme refund policy"}, id="toolu_02"),
            ),
            meta={"stop_reason": "tool_use"},
        ),
    )


def test_anthropic_request_and_response_with_system_blocks():
    trace = read(fixture("anthropic_messages.jsonl"))[2]
    assert trace.id == "msg_03" and trace.meta == {"model": "claude-3-5-haiku-latest"}
    assert trace.messages == (
        Message(index=0, role="system", content="Be formal.\nNever share e-mail addresses."),
        Message(index=1, role="user", content="Hi!"),  # the image block is left out
        Message(index=2, role="assistant", content="Good afternoon.", meta={"stop_reason": "end_turn"}),
    )


def test_anthropic_tool_result_alone_and_is_error():
    trace = read(fixture("anthropic_messages.jsonl"))[3]
    assert trace.messages == (
        Message(index=0, role="user", content="Run the tool."),
        Message(index=1, role="assistant", tool_calls=(ToolCall(name="run", arguments={}, id="toolu_9"),)),
        Message(
            index=2, role="tool", content="permission denied", tool_call_id="toolu_9", meta={"is_error": True},
            error=True,
        ),
    )


def test_anthropic_malformed_records():
    path = fixture("anthropic_messages.jsonl")
    got = read(path)[4:]
    assert got == [
        Skipped(Locator(path, 5), 'messages[0].content[0] has no "tool_use_id"'),
        Skipped(Locator(path, 6), 'messages[0].role must be user or assistant, not "system"'),
    ]


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"system": 3, "messages": []}, "system must be a string, an array of content parts, or null, not 3"),
        (
            {"messages": [{"role": "user", "content": 5}]},
            "messages[0].content must be a string or an array of content blocks, not 5",
        ),
        (
            {"messages": [{"role": "user", "content": ["x"]}]},
            'messages[0].content[0] must be an object, not "x"',
        ),
        (
            {"messages": [{"role": "assistant", "content": [{"type": "tool_use", "input": {}}]}]},
            'messages[0].content[0] has no "name"',
        ),
        (
            {
                "messages": [
                    {"role": "assistant", "content": [{"type": "tool_use", "name": "f", "input": [1]}]}
                ]
            },
            "messages[0].content[0].input must be a JSON object, not an array",
        ),
        (
            {"messages": [{"role": "assistant", "content": [{"type": "thinking"}]}]},
            'messages[0].content[0] has no "thinking"',
        ),
        ({"type": "message", "content": []}, 'the trace has no "role"'),
        (
            {
                "request": {"messages": []},
                "response": {"type": "message", "role": "user", "content": [{"type": "text"}]},
            },
            'response.content[0] has no "text"',
        ),
    ],
)
def test_anthropic_errors(obj, expected):
    with pytest.raises(TraceFormatError) as caught:
        anthropic.convert(obj, None, "d")
    assert caught.value.reason == expected


def test_anthropic_keeps_labels_and_meta_of_every_message():
    """Issue 19.1: a top-level `system` makes the record Anthropic's, whose reader
    dropped each message's labels and meta."""
    user = {"role": "user", "content": "move my savings", "labels": {"fraud_risk": 0.1}, "meta": {"channel": "app"}}
    record = {"system": "You are a bank.", "messages": [user, {"role": "assistant", "content": "done"}]}
    trace = trace_from_json(record)
    assert trace.messages[1].labels == {"fraud_risk": 0.1} and trace.messages[1].meta == {"channel": "app"}
    results = {"role": "user", "labels": {"injection": True}, "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": "ok"}, {"type": "text", "text": "thanks"}]}
    trace = trace_from_json({"system": "s", "messages": [results]})
    assert [(m.role, m.labels) for m in trace.messages] == [
        ("system", {}), ("tool", {"injection": True}), ("user", {"injection": True})]
    with pytest.raises(TraceFormatError, match=r"messages\[0\]\.labels\.x must be a number in \[0, 1\]"):
        trace_from_json({"system": "s", "messages": [{"role": "user", "content": "hi", "labels": {"x": 2}}]})


def test_thinking_is_never_said():
    policy = charter.loads('charter t\nnorm no_refund_talk:\n    forbid assistant says "refund"\n')
    trace = trace_from_json(
        {
            "system": "s",
            "messages": [
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "no refund"},
                        {"type": "text", "text": "Hello."},
                    ],
                },
            ],
        }
    )
    assert trace.messages[2].meta == {"thinking": "no refund"}
    assert policy.check(trace).status == "complied"


# --- Inspect AI eval logs --------------------------------------------------------------


def test_inspect_json_log_gives_one_trace_per_sample():
    path = fixture("inspect_log.json")
    first, second, broken = read(path)
    assert first.id == "r-1#1"
    assert first.locator == Locator(f"{path}:samples[0]")
    assert first.meta == {
        "sample_id": "r-1",
        "epoch": 1,
        "scores": {"match": {"value": "C", "answer": "Your refund is approved.", "explanation": "matched"}},
        "metadata": {"order_age": 12},
        "target": "refund approved",
        "task": "refund_support",
    }
    assert first.messages == (
        Message(index=0, role="system", content="You are Acme's support assistant."),
        Message(index=1, role="user", content="Can I get a refund for order A-17?"),
        Message(
            index=2,
            role="assistant",
            content="Let me look that up.",
            tool_calls=(ToolCall(name="lookup_order", arguments={"order_id": "A-17"}, id="toolu_01"),),
            meta={"thinking": "I need the order age before promising a refund."},
        ),
        Message(
            index=3, role="tool", content='{"age_days": 12}', tool_call_id="toolu_01", name="lookup_order",
            error=False,
        ),
        # the image part is left out; the text attachment is resolved
        Message(
            index=4,
            role="assistant",
            content="Your order arrived 12 days ago.\nYour refund is approved.",
            meta={"turn_kind": "final"},
        ),
    )
    assert second.id == "2#2"
    assert second.meta["sample_id"] == 2 and second.meta["target"] == ["refuse"]
    assert second.meta["task"] == "refund_support"
    assert second.messages[2] == Message(
        index=2,
        role="tool",
        tool_call_id="call_1",
        name="delete_file",
        meta={"error": {"type": "permission", "message": "Permission denied"}},
        error=True,
    )
    # a redacted reasoning part: its summary is kept, and the redaction noted
    assert second.messages[3].content == "I could not delete it."
    assert second.messages[3].meta == {"thinking": "Tried; it failed.", "thinking_redacted": True}
    assert broken == Skipped(
        Locator(f"{path}:samples[2]"), 'samples[2].messages[0].tool_calls[0] has no "function"'
    )


def test_inspect_log_through_trace_from_json():
    log = json.loads((FIXTURES / "inspect_log.json").read_text())
    with pytest.raises(TraceFormatError, match="an Inspect log holds 3 samples, not one trace"):
        trace_from_json(log)
    log["samples"] = log["samples"][1:2]
    assert trace_from_json(log).id == "2#2"
    assert trace_from_json(log["samples"][0]).meta["task"] is None  # a sample alone: no task


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ({"epoch": 1, "input": "", "messages": []}, 'the sample has no "id"'),
        (
            {"id": True, "epoch": 1, "input": "", "messages": []},
            "id must be a string or an integer, not true",
        ),
        ({"id": 1, "epoch": "1", "input": "", "messages": []}, 'epoch must be an integer, not "1"'),
        (
            {"id": 1, "epoch": 1, "input": "", "messages": [{"role": "developer"}]},
            'messages[0].role must be one of system, user, assistant, tool, not "developer"',
        ),
        (
            {"id": 1, "epoch": 1, "input": "", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
            'messages[0].content[0] has no "text"',
        ),
        (
            {"id": 1, "epoch": 1, "input": "", "messages": [{"role": "user", "content": 3}]},
            "messages[0].content must be a string or an array of content parts, not 3",
        ),
        (
            {
                "id": 1,
                "epoch": 1,
                "input": "",
                "messages": [{"role": "assistant", "tool_calls": [{"function": "f", "arguments": "[]"}]}],
            },
            "messages[0].tool_calls[0].arguments must be a JSON object, not an array",
        ),
    ],
)
def test_inspect_sample_errors(sample, expected):
    with pytest.raises(TraceFormatError) as caught:
        inspect_log.convert(sample, None, "d")
    assert caught.value.reason == expected


def _samples() -> list[dict]:
    return json.loads((FIXTURES / "inspect_log.json").read_text())["samples"]


def write_eval(path: Path, members: dict[str, object | bytes]) -> str:
    """An Inspect .eval archive: each member JSON (or raw bytes), as Inspect writes them."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, value in members.items():
            archive.writestr(name, value if isinstance(value, bytes) else json.dumps(value, indent=2))
    return str(path)


def test_eval_archive_is_read_member_by_member(tmp_path):
    first, second, broken = _samples()
    header = {"version": 2, "status": "success", "eval": {"task": "refund_support", "model": "m"}}
    path = write_eval(
        tmp_path / "run.eval",
        {
            "_journal/start.json": {"version": 2, "eval": {"task": "journal_name"}, "plan": {}},
            "samples/r-1_epoch_1.json": first,
            "samples/2_epoch_2.json": second,
            "samples/broken_epoch_1.json": broken,
            "samples/bad_epoch_1.json": b'{"id": "bad", ',
            "summaries.json": [{"id": "r-1", "epoch": 1}],
            "header.json": header,
        },
    )
    got = read(path)
    assert [type(r).__name__ for r in got] == ["Trace", "Trace", "Skipped", "Skipped"]
    assert [got[0].id, got[1].id] == ["r-1#1", "2#2"]
    assert got[0].locator == Locator(f"{path}:samples/r-1_epoch_1.json")
    assert got[0].meta["task"] == "refund_support"  # header.json first
    # the same sample in a JSON log and in an archive reads the same
    from_json = read(fixture("inspect_log.json"))
    assert got[0].messages == from_json[0].messages and got[1].meta == from_json[1].meta
    assert got[2] == Skipped(
        Locator(f"{path}:samples/broken_epoch_1.json"), 'messages[0].tool_calls[0] has no "function"'
    )
    assert got[3].locator == Locator(f"{path}:samples/bad_epoch_1.json")
    assert got[3].reason.startswith("not valid JSON")


def test_eval_archive_of_a_running_eval_and_by_its_bytes(tmp_path):
    """While an eval runs there is no header.json: the task comes from the journal. A zip
    archive is recognised by its first bytes whatever its name."""
    path = write_eval(
        tmp_path / "log.zip",
        {
            "_journal/start.json": {"version": 2, "eval": {"task": "running"}},
            "samples/2_epoch_2.json": _samples()[1],
        },
    )
    (trace,) = read(path)
    assert trace.id == "2#2" and trace.meta["task"] == "running"
    assert [t.id for t in read(path, input_format="inspect")] == ["2#2"]
    assert read(path, input_format="openai") == [
        Skipped(Locator(path), "a zip archive is read as an Inspect .eval log, not as openai")
    ]
    assert read(write_eval(tmp_path / "empty.eval", {"header.json": {"eval": {}}})) == []


def test_eval_file_that_is_not_a_zip(tmp_path):
    path = tmp_path / "bad.eval"
    path.write_text('{"eval": {}, "samples": []}')
    assert read(str(path)) == [
        Skipped(Locator(str(path)), "not a readable .eval archive (a zip file): File is not a zip file")
    ]
    assert read(str(tmp_path / "missing.eval")) == [
        Skipped(Locator(str(tmp_path / "missing.eval")), "file not found")
    ]


# --- Hugging Face ---------------------------------------------------------------------


def test_sharegpt_records():
    path = fixture("sharegpt.jsonl")
    plain, tools, two_calls, bad_from, bad_call = read(path)
    assert plain.id == "QWJhYvA_0" and plain.meta == {}
    assert plain.messages == (
        Message(index=0, role="user", content="Summarise our refund policy."),
        Message(index=1, role="assistant", content="Refunds are granted within 30 days."),
    )
    assert tools.id == "17"  # numbered records are named by their number
    assert tools.messages == (
        Message(index=0, role="system", content="You can call tools."),
        Message(index=1, role="user", content="Where is A-17?"),
        Message(
            index=2,
            role="assistant",
            tool_calls=(ToolCall(name="lookup_order", arguments={"order_id": "A-17"}),),
        ),
        Message(index=3, role="tool", content='{"status": "delivered"}'),
        Message(index=4, role="assistant", content="It was delivered."),
    )
    assert two_calls.id == f"{path}:3"
    assert shape(two_calls) == [
        ("system", "Be kind.", ()),
        ("user", "two calls", ()),
        ("assistant", "", (("a", {"x": 1}), ("b", {}))),
        ("tool", "ok", ()),
        ("tool", "ok too", ()),
        ("assistant", "Done.", ()),
    ]
    assert bad_from == Skipped(
        Locator(path, 4),
        "conversations[0].from must be one of system, human, user, gpt, assistant, model, chatgpt, "
        'function_call, tool, observation, function_response, not "robot"',
    )
    assert bad_call == Skipped(
        Locator(path, 5), "conversations[0].value is not valid JSON: Expecting value at column 1"
    )


def test_sharegpt_json_array():
    path = fixture("sharegpt.json")
    first, second = read(path)
    assert (first.id, first.locator) == ("sg-1", Locator(path, 2))
    assert shape(first) == [("user", "hello", ()), ("assistant", "Hello! How can I help?", ())]
    assert (second.id, second.locator) == ("sg-2", Locator(path, 9))
    assert shape(second) == [("user", "bye", ()), ("assistant", "", ())]  # a missing value is empty


def test_hugging_face_messages_records():
    path = fixture("hf_messages.jsonl")
    first, second = read(path)
    assert shape(first) == [("user", "What is 2+2?", ()), ("assistant", "4", ())]
    assert [m.role for m in second.messages] == ["system", "user", "assistant"]
    assert read(path, input_format="huggingface") == [first, second]


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"conversations": ["hi"]}, 'conversations[0] must be an object, not "hi"'),
        ({"conversations": [{"value": "hi"}]}, 'conversations[0] has no "from"'),
        (
            {"conversations": [{"from": "human", "value": 3}]},
            "conversations[0].value must be a string, not 3",
        ),
        (
            {"conversations": [{"from": "function_call", "value": "3"}]},
            "conversations[0].value must be the JSON text of a call or of a list of calls",
        ),
        (
            {"conversations": [{"from": "function_call", "value": '{"arguments": {}}'}]},
            'conversations[0].value has no "name"',
        ),
        ({"id": [1], "conversations": []}, "id must be a string, not an array"),
        ({"system": 1, "conversations": []}, "system must be a string, not 1"),
        ({}, 'the trace has no "conversations"'),
    ],
)
def test_sharegpt_errors(obj, expected):
    with pytest.raises(TraceFormatError) as caught:
        huggingface.convert(obj, None, "d")
    assert caught.value.reason == expected


# --- detection and forcing -----------------------------------------------------------------


def test_registry_is_in_the_order_of_detection():
    assert list(ADAPTERS) == ["inspect", "anthropic", "openai", "openai-responses", "huggingface", "native"]
    assert all(adapter.expects for adapter in ADAPTERS.values())


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"eval": {"task": "t"}, "samples": []}, "inspect"),
        ({"id": 1, "epoch": 1, "input": "hi", "messages": []}, "inspect"),
        ({"type": "message", "role": "assistant", "content": []}, "anthropic"),
        ({"system": "be brief", "messages": []}, "anthropic"),
        ({"system": [{"type": "text", "text": "be brief"}], "model": "claude", "messages": []}, "anthropic"),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}]},
            "anthropic",
        ),
        (
            {"messages": [{"role": "assistant", "content": [{"type": "thinking", "thinking": "hm"}]}]},
            "anthropic",
        ),
        ({"request": {"messages": []}, "response": {"type": "message", "content": []}}, "anthropic"),
        ({"choices": [{"message": {"role": "assistant"}}]}, "openai"),
        ({"model": "gpt-4o", "messages": []}, "openai"),
        ({"messages": [], "response": {"choices": [{"message": {}}]}}, "openai"),
        ({"request": {"messages": []}, "response": {"choices": [{"message": {}}]}}, "openai"),
        ({"model": "gpt-4.1", "input": "hi"}, "openai-responses"),
        ({"input": [{"role": "user", "content": "hi"}]}, "openai-responses"),
        ({"object": "response", "output": []}, "openai-responses"),
        ({"request": {"input": "hi"}, "response": {"object": "response", "output": []}}, "openai-responses"),
        ({"input": "hi", "response": {"object": "response", "output": []}}, "openai-responses"),
        # records of the other formats that have an "input" stay theirs
        ({"id": 1, "epoch": 1, "input": "hi", "messages": []}, "inspect"),
        ({"model": "gpt-4o", "input": "hi", "messages": []}, "openai"),
        ({"input": "hi", "messages": []}, "native"),
        ({"input": "hi", "conversations": []}, "huggingface"),
        ({"id": 1, "epoch": 1, "input": "hi"}, None),  # an Inspect sample without messages is not taken
        ({"request": {"input": "hi"}}, None),
        ({"input": 3}, None),
        ({"object": "chat.completion", "output": []}, None),
        ({"conversations": []}, "huggingface"),
        ({"messages": []}, "native"),
        # text parts are OpenAI's as much as Anthropic's: read as native, to the same messages
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}, "native"),
        ({"system": 3, "messages": []}, "native"),
        ({"choices": [{"delta": {}}]}, None),  # a streaming chunk is not a response
        ({"choices": []}, None),
        ({"eval": {}, "samples": None}, None),
        ({"conversation": []}, None),
        ([{"messages": []}], None),
        ("hello", None),
    ],
)
def test_detection(obj, expected):
    assert detected(obj) == expected


def test_every_fixture_record_is_detected_as_its_format():
    expected = {
        "openai_chat.jsonl": "openai",
        "anthropic_messages.jsonl": "anthropic",
        "sharegpt.jsonl": "huggingface",
        "hf_messages.jsonl": "native",
        "openai_responses.jsonl": "openai-responses",
    }
    for name, format_name in expected.items():
        for text in (FIXTURES / name).read_text().splitlines():
            assert detected(json.loads(text)) == format_name, (name, text[:60])
    assert detected(json.loads((FIXTURES / "inspect_log.json").read_text())) == "inspect"
    assert {detected(r) for r in json.loads((FIXTURES / "sharegpt.json").read_text())} == {"huggingface"}


def test_a_record_no_format_recognises_is_skipped_naming_the_formats_tried():
    path = fixture("unknown.jsonl")
    expected = (
        'not a trace: expected an object with "eval" and "samples" (an Inspect AI log), '
        '"type": "message" (an Anthropic response), "choices" (an OpenAI response), '
        '"object": "response" or "input" (an OpenAI Responses API response or request), '
        f'a "conversations" list (ShareGPT) or a "messages" list {FORMATS_TRIED}'
    )
    assert read(path) == [Skipped(Locator(path, n), expected) for n in (1, 2, 3)]


def test_formats_mix_in_one_file(tmp_path):
    lines = [
        {"messages": [{"role": "user", "content": "native"}]},
        {"conversations": [{"from": "human", "value": "sharegpt"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "anthropic"}]},
        {"id": "chatcmpl-1", "choices": [{"message": {"role": "assistant", "content": "openai"}}]},
        {
            "eval": {"task": "t"},
            "samples": [{"id": "a", "epoch": 1, "messages": [{"role": "user", "content": "inspect"}]}],
        },
        {"model": "gpt-4.1", "input": "responses"},
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    got = read(str(path))
    assert [t.messages[0].content for t in got] == ["native", "sharegpt", "anthropic", "openai", "inspect", "responses"]
    assert got[4].locator == Locator(f"{path}:5:samples[0]")


def test_forcing_a_format(tmp_path):
    path = tmp_path / "t.jsonl"
    records = [
        {"model": "claude", "messages": [{"role": "user", "content": "hi"}]},
        {"conversations": [{"from": "human", "value": "hi"}]},
        {"system": "s", "messages": [{"role": "user", "content": "hi"}]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    file = str(path)
    # detected: openai (model + messages), huggingface, anthropic (a system)
    assert [shape(t)[-1] for t in read(file)] == [("user", "hi", ())] * 3
    as_anthropic = read(file, input_format="anthropic")
    assert shape(as_anthropic[0]) == [("user", "hi", ())]
    assert as_anthropic[1] == Skipped(Locator(file, 2), 'the trace has no "messages"')
    as_native = read(file, input_format="native")
    assert as_native[1] == Skipped(Locator(file, 2), 'the trace has no "messages"')
    assert shape(as_native[2]) == [("user", "hi", ())]  # native ignores "system"
    as_inspect = read(file, input_format="inspect")
    assert as_inspect[0] == Skipped(Locator(file, 1), 'the sample has no "id"')
    as_openai = read(file, input_format="openai")
    assert as_openai[1] == Skipped(Locator(file, 2), 'the trace has no "messages"')
    with pytest.raises(
        ValueError, match=r"^unknown trace format 'sharegpt'; known formats: inspect, anthropic, "
    ):
        read_traces(file, input_format="sharegpt")


def test_forcing_openai_on_native_reads_it_the_same():
    path = fixture("hf_messages.jsonl")
    assert read(path, input_format="openai") == read(path)


def test_cli_reads_every_format(tmp_path):
    policy = tmp_path / "p.charter"
    policy.write_text('charter p\nnorm no_refunds:\n    forbid assistant says "refund is approved"\n')
    eval_path = write_eval(tmp_path / "run.eval", {"samples/2_epoch_2.json": _samples()[1]})
    runner = CliRunner()
    args = ["check", str(policy)]
    for name in ("openai_chat.jsonl", "anthropic_messages.jsonl", "inspect_log.json", "sharegpt.json"):
        args += ["--traces", fixture(name)]
    result = runner.invoke(main, [*args, "--traces", eval_path])
    assert "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG: violated" in result.output
    assert "r-1#1: violated" in result.output
    assert f"2#2: complied  ({eval_path}:samples/2_epoch_2.json)" in result.output
    result = runner.invoke(main, ["check", str(policy), "--traces", eval_path, "--input-format", "inspect"])
    assert result.exit_code == 0, result.output


# --- the same conversation in every format ------------------------------------------------------

WORDS = ["hello", "refund", "secret", "confirm", "order", "ok", "please", "the", "file"]
POLICY = charter.loads(
    """charter formats_property

norm no_secrets:
    forbid assistant says "secret"

norm no_deletes:
    forbid assistant calls "delete_file"

norm confirmed_refunds:
    on tool call
    when call.name == "refund"
    require user says "confirm"
"""
)

_text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
_arguments = st.dictionaries(
    st.sampled_from(["path", "order_id", "amount", "q"]),
    st.integers(-5, 500) | st.booleans() | st.sampled_from(["/etc", "A-17", "x y", ""]),
    max_size=3,
)
# (name, arguments, result, whether the call failed)
_call = st.tuples(st.sampled_from(["delete_file", "refund", "search"]), _arguments, _text, st.booleans())
# A message's labels and meta, which every format carries (docs/traces.md says where)
_extras = st.fixed_dictionaries({
    "labels": st.dictionaries(st.sampled_from(["fraud_risk", "toxic", "pii"]),
                              st.booleans() | st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]), max_size=2),
    "meta": st.dictionaries(st.sampled_from(["tier", "verified", "channel"]),
                            st.booleans() | st.integers(0, 3) | st.sampled_from(["web", "app"]), max_size=2),
})
# A turn: ("user" | "assistant", [text parts], thinking or None, extras), or ("calls", [call, ...])
_turn = st.one_of(
    st.tuples(st.just("user"), st.lists(_text, min_size=1, max_size=2), st.none(), _extras),
    st.tuples(st.just("assistant"), st.lists(_text, min_size=1, max_size=2), st.none() | _text, _extras),
    st.tuples(st.just("calls"), st.lists(_call, min_size=1, max_size=2)),
)
_conversations = st.tuples(st.none() | _text, st.lists(_turn, min_size=1, max_size=6))


def expected_shape(system: str | None, turns: list[tuple]) -> list[tuple]:
    shape_: list[tuple] = [] if system is None else [("system", system, ())]
    for turn in turns:
        if turn[0] == "calls":
            shape_.append(("assistant", "", tuple((name, args) for name, args, _, _ in turn[1])))
            shape_ += [("tool", result, ()) for _, _, result, _ in turn[1]]
        else:
            shape_.append((turn[0], "\n".join(turn[1]), ()))
    return shape_


def expected_extras(system: str | None, turns: list[tuple]) -> list[dict]:
    """The labels and meta each message of `expected_shape` is given."""
    none = {"labels": {}, "meta": {}}
    extras: list[dict] = [] if system is None else [none]
    for turn in turns:
        extras += [none] * (1 + len(turn[1])) if turn[0] == "calls" else [turn[3]]
    return extras


def with_extras(message: dict, turn: tuple, meta_key: str = "meta") -> dict:
    """`message` with the turn's labels and meta (under `meta_key`), when it has any."""
    labels, meta = turn[3]["labels"], turn[3]["meta"]
    return {**message, **({"labels": labels} if labels else {}), **({meta_key: meta} if meta else {})}


def to_native(system, turns):
    messages = [] if system is None else [{"role": "system", "content": system}]
    for t, turn in enumerate(turns):
        if turn[0] == "calls":
            calls = [
                {"name": name, "arguments": args, "id": f"c{t}_{i}"}
                for i, (name, args, _, _) in enumerate(turn[1])
            ]
            messages.append({"role": "assistant", "tool_calls": calls})
            messages += [
                {"role": "tool", "tool_call_id": f"c{t}_{i}", "content": r, "error": failed}
                for i, (_, _, r, failed) in enumerate(turn[1])
            ]
        else:
            messages.append(with_extras({"role": turn[0], "content": "\n".join(turn[1])}, turn))
    return {"id": "native", "messages": messages}


def to_openai(system, turns):
    messages = [] if system is None else [{"role": "system", "content": system}]
    for t, turn in enumerate(turns):
        if turn[0] == "calls":
            calls = [
                {
                    "id": f"call_{t}_{i}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
                for i, (name, args, _, _) in enumerate(turn[1])
            ]
            messages.append({"role": "assistant", "content": None, "tool_calls": calls})
            messages += [
                {"role": "tool", "tool_call_id": f"call_{t}_{i}", "content": r}
                for i, (_, _, r, _) in enumerate(turn[1])
            ]
        else:
            content = turn[1][0] if len(turn[1]) == 1 else [{"type": "text", "text": p} for p in turn[1]]
            messages.append(with_extras({"role": turn[0], "content": content}, turn))
    if messages[-1]["role"] == "assistant" and len(messages) > 1:  # the last reply as the response
        reply = messages.pop()
        response = {
            "id": "chatcmpl-x",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": reply, "finish_reason": "stop"}],
        }
        return {"request": {"model": "gpt-4o", "messages": messages}, "response": response}
    return {"model": "gpt-4o", "messages": messages}


def to_anthropic(system, turns):
    messages = []
    for t, turn in enumerate(turns):
        if turn[0] == "calls":
            uses = [
                {"type": "tool_use", "id": f"toolu_{t}_{i}", "name": n, "input": a}
                for i, (n, a, _, _) in enumerate(turn[1])
            ]
            results = [  # `is_error` left out means false
                {"type": "tool_result", "tool_use_id": f"toolu_{t}_{i}", "content": r,
                 **({"is_error": True} if f else {})}
                for i, (_, _, r, f) in enumerate(turn[1])
            ]
            messages += [{"role": "assistant", "content": uses}, {"role": "user", "content": results}]
        else:
            blocks = [{"type": "text", "text": p} for p in turn[1]]
            if turn[2] is not None:  # thinking, with words a norm must not see
                blocks.insert(0, {"type": "thinking", "thinking": turn[2] + " secret", "signature": "sig"})
            messages.append(with_extras({"role": turn[0], "content": blocks}, turn))
    body = {"model": "claude-sonnet-4-20250514", "max_tokens": 1024, "messages": messages}
    return body if system is None else {**body, "system": system}


def to_inspect_sample(system, turns):
    messages = [] if system is None else [{"role": "system", "content": system, "source": "input"}]
    for t, turn in enumerate(turns):
        if turn[0] == "calls":
            calls = [
                {"id": f"call_{t}_{i}", "function": n, "arguments": a, "type": "function"}
                for i, (n, a, _, _) in enumerate(turn[1])
            ]
            messages.append({"role": "assistant", "content": "", "tool_calls": calls, "source": "generate"})
            messages += [
                {"role": "tool", "content": r, "tool_call_id": f"call_{t}_{i}", "function": n,
                 "error": {"type": "unknown", "message": "failed"} if f else None}
                for i, (n, _, r, f) in enumerate(turn[1])
            ]
        else:
            parts = [{"type": "text", "text": p} for p in turn[1]]
            if turn[2] is not None:
                parts.insert(0, {"type": "reasoning", "reasoning": turn[2] + " secret", "redacted": False})
            messages.append(with_extras({"role": turn[0], "content": parts}, turn, meta_key="metadata"))
    return {
        "id": "s1",
        "epoch": 1,
        "input": "",
        "target": "",
        "messages": messages,
        "scores": {},
        "metadata": {},
    }


def to_sharegpt(system, turns):
    conversations = [] if system is None else [{"from": "system", "value": system}]
    for t, turn in enumerate(turns):
        if turn[0] == "calls":  # ids, which ShareGPT records may carry
            calls = [{"name": n, "arguments": a, "id": f"sg{t}_{i}"} for i, (n, a, _, _) in enumerate(turn[1])]
            conversations.append({"from": "function_call", "value": json.dumps(calls)})
            conversations += [{"from": "observation", "value": r, "tool_call_id": f"sg{t}_{i}"}
                              for i, (_, _, r, _) in enumerate(turn[1])]
        else:
            conversations.append(
                with_extras({"from": {"user": "human", "assistant": "gpt"}[turn[0]], "value": "\n".join(turn[1])}, turn)
            )
    return {"id": "sg", "conversations": conversations}


def to_responses(system, turns):
    """Responses API items; each model turn starts with a reasoning item (as a reasoning
    model's do), which is what tells a reply from the calls of the next turn."""
    items = []
    for t, turn in enumerate(turns):
        if turn[0] == "user":
            content = turn[1][0] if len(turn[1]) == 1 else [{"type": "input_text", "text": p} for p in turn[1]]
            items.append(with_extras({"role": "user", "content": content}, turn))
            continue
        thinking = turn[2] if turn[0] == "assistant" else None
        summary = [] if thinking is None else [{"type": "summary_text", "text": thinking + " secret"}]
        items.append({"type": "reasoning", "id": f"rs_{t}", "summary": summary})
        if turn[0] == "assistant":
            parts = [{"type": "output_text", "text": p, "annotations": []} for p in turn[1]]
            items.append(with_extras({"type": "message", "role": "assistant", "content": parts}, turn))
            continue
        items += [{"type": "function_call", "id": f"fc_{t}_{i}", "call_id": f"call_{t}_{i}", "name": n,
                   "arguments": json.dumps(a)} for i, (n, a, _, _) in enumerate(turn[1])]
        items += [{"type": "function_call_output", "call_id": f"call_{t}_{i}", "output": r}
                  for i, (_, _, r, _) in enumerate(turn[1])]
    body = {"model": "gpt-4.1", **({} if system is None else {"instructions": system})}
    if turns[-1][0] == "assistant":  # the last reply as the response
        cut = len(items) - 2
        response = {"id": "resp_x", "object": "response", "status": "completed", "output": items[cut:]}
        return {"request": {**body, "input": items[:cut]}, "response": response}
    return {**body, "input": items}


def render_all(directory: Path, system, turns) -> dict[str, str]:
    """The conversation written in every format, each in a file of its own."""
    files = {}
    for name, render in [
        ("native", to_native),
        ("openai", to_openai),
        ("anthropic", to_anthropic),
        ("huggingface", to_sharegpt),
        ("openai-responses", to_responses),
    ]:
        files[name] = directory / f"{name}.jsonl"
        files[name].write_text(json.dumps(render(system, turns)) + "\n")
    sample = to_inspect_sample(system, turns)
    files["inspect"] = directory / "log.json"
    files["inspect"].write_text(
        json.dumps({"version": 2, "eval": {"task": "t"}, "samples": [sample]}, indent=2)
    )
    files["inspect .eval"] = directory / "log.eval"
    write_eval(
        files["inspect .eval"], {"header.json": {"eval": {"task": "t"}}, "samples/s1_epoch_1.json": sample}
    )
    return {name: str(path) for name, path in files.items()}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conversation=_conversations)
def test_the_same_conversation_in_every_format_gives_the_same_verdicts_and_links(tmp_path, conversation):
    system, turns = conversation
    expected = expected_shape(system, turns)
    extras = expected_extras(system, turns)
    expected_links_ = expected_links(system, turns)
    failures = [f for turn in turns if turn[0] == "calls" for *_, f in turn[1]]
    verdicts, links = {}, {}
    for name, path in render_all(tmp_path, system, turns).items():
        (trace,) = read(path)
        assert isinstance(trace, Trace), (name, trace)
        assert shape(trace) == expected, name
        assert [m.labels for m in trace.messages] == [e["labels"] for e in extras], name
        # (a format may add meta of its own: thinking, finish_reason, stop_reason)
        assert [{k: m.meta.get(k) for k in e["meta"]} for m, e in zip(trace.messages, extras)] \
            == [e["meta"] for e in extras], name
        assert [m.index for m in trace.messages] == list(range(len(expected)))
        verdicts[name] = [(v.norm, v.turn, v.call, v.kind) for v in POLICY.check(trace).verdicts]
        links[name] = [(m.index, trace.links.call_of(m.index)) for m in trace.messages if m.role == "tool"]
        assert trace.links.unlinked == [], name
        errors = [m.error for m in trace.messages if m.role == "tool"]
        assert errors == (failures if name in FORMATS_WITH_ERRORS else [None] * len(failures)), name
    assert all(v == verdicts["native"] for v in verdicts.values()), verdicts
    assert all(found == expected_links_ for found in links.values()), links


# The formats that say whether a tool call failed (the others leave it unknown)
FORMATS_WITH_ERRORS = {"native", "anthropic", "inspect", "inspect .eval"}


def expected_links(system: str | None, turns: list[tuple]) -> list[tuple[int, tuple[int, int]]]:
    """Each tool message's index, with the call it answers: (message, position)."""
    links, index = [], 0 if system is None else 1
    for turn in turns:
        if turn[0] == "calls":
            links += [(index + 1 + i, (index, i)) for i in range(len(turn[1]))]
            index += len(turn[1])
        index += 1
    return links
