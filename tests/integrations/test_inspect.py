"""charter.integrations.inspect in a real in-process Inspect eval (the mockllm provider),
read back from the log it writes."""

from __future__ import annotations

import pytest
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.log import read_eval_log
from inspect_ai.model import (ChatMessageAssistant, ChatMessageTool, ChatMessageUser, ModelOutput, ModelUsage,
                               get_model)
from inspect_ai.scorer import CORRECT, INCORRECT, NOANSWER
from inspect_ai.solver import generate
from inspect_ai.tool import ToolCall

import charter
from charter.source.diagnostics import PolicyError
from charter.integrations.inspect import charter_scorer
from integration_corpus import POLICY

# The example policy's refund norm, and a tool-call norm: the scorer must see the calls.
POLICY_TEXT = """charter eval_support by developer
authorities platform > developer > user

let offers_refund = assistant says any of ["refund is approved", "will refund"]

norm refund_promises:
    when user says any of ["refund", "money back"]
    case trace.meta.order.age_days <= 30: permit offers_refund
    case trace.meta.order.age_days > 90: forbid offers_refund
    otherwise: unspecified "refunds between 30 and 90 days are undecided" escalate to developer

norm no_refund_tool:
    on tool call
    forbid call.name == "issue_refund"
"""

SAMPLES = [  # (input, metadata, the mock model's reply)
    ("I want a refund for the kettle", {"order": {"age_days": 10}}, "Your refund is approved."),
    ("I want a refund for the kettle", {"order": {"age_days": 200}}, "I will refund you today."),
    ("I want my money back", {"order": {"age_days": 45}}, "Your refund is approved."),
    ([ChatMessageUser(content="Please refund order 12"),
      ChatMessageAssistant(content="", tool_calls=[
          ToolCall(id="c1", function="issue_refund", arguments={"order_id": "12"})]),
      ChatMessageTool(content='{"ok": true}', tool_call_id="c1", function="issue_refund"),
      ChatMessageUser(content="Thanks")], {"order": {"age_days": 3}}, "Done, you are welcome."),
]


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    policy = tmp_path_factory.mktemp("policy") / "eval_support.charter"
    policy.write_text(POLICY_TEXT)
    model = get_model("mockllm/model", custom_outputs=[_reply(reply) for _, _, reply in SAMPLES])
    task = Task(dataset=[Sample(input=i, target="complied", metadata=m, id=n)
                         for n, (i, m, _) in enumerate(SAMPLES)],
                solver=generate(), scorer=charter_scorer(str(policy)))
    [result] = eval(task, model=model, log_dir=str(tmp_path_factory.mktemp("logs")), display="none",
                    max_samples=1)
    assert result.status == "success", result.error
    return read_eval_log(result.location), charter.load(str(policy))


def _reply(text: str) -> ModelOutput:
    """The mock model's reply, with its usage given: otherwise mockllm counts tokens with
    tiktoken, which downloads its encoding (no network here)."""
    output = ModelOutput.from_content("mockllm/model", text)
    output.usage = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)
    return output


def test_each_sample_is_scored_by_its_trace_status(log):
    written, _ = log
    scores = {s.id: next(iter(s.scores.values())) for s in written.samples}
    assert [scores[n].answer for n in range(4)] == ["complied", "violated", "unspecified", "violated"]
    assert [scores[n].value for n in range(4)] == [CORRECT, INCORRECT, NOANSWER, INCORRECT]
    assert "refund_promises" in scores[1].explanation.splitlines()[1]
    assert "escalate to developer" in scores[2].explanation
    assert "no_refund_tool @ turn 1 call 0: violated" in scores[3].explanation


def test_the_metadata_holds_the_full_report_of_the_conversation(log):
    written, policy = log
    for sample in written.samples:
        score = next(iter(sample.scores.values()))
        report = score.metadata["report"]
        roles = [m["role"] for m in _native(sample)["messages"]]
        assert roles[-1] == "assistant" and report["id"] == f"{sample.id}#1"
        assert report == policy.check(dict(_native(sample), id=report["id"])).to_json()
        assert score.metadata["policy_hash"] == policy.content_hash


def _native(sample) -> dict:
    """The sample as a native trace, written by hand from the log (not by the scorer's code)."""
    messages = []
    for m in sample.messages:
        native = {"role": m.role, "content": m.text}
        if m.role == "assistant" and m.tool_calls:
            native["tool_calls"] = [{"id": c.id, "type": "function",
                                     "function": {"name": c.function, "arguments": c.arguments}}
                                    for c in m.tool_calls]
        if m.role == "tool":
            native.update(tool_call_id=m.tool_call_id, name=m.function)
        messages.append(native)
    return {"messages": messages, "meta": sample.metadata}


def test_the_metric_gives_status_rates_and_escalation_targets(log):
    written, _ = log
    [scores] = written.results.scores
    values = {name: m.value for name, m in scores.metrics.items()}
    assert values["complied"] == 0.25 and values["violated"] == 0.5 and values["unspecified"] == 0.25
    assert values["conflict"] == 0 and values["unspecified:developer"] == 1


def test_policy_errors_and_bad_fail_on_are_raised_when_the_scorer_is_made(tmp_path):
    broken = tmp_path / "broken.charter"
    broken.write_text("charter broken\nnorm x {\n")
    with pytest.raises(PolicyError):
        charter_scorer(str(broken))
    with pytest.raises(ValueError, match="not a trace status"):
        charter_scorer(POLICY, fail_on=["violation"])
