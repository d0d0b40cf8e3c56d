"""Escalations kept by the guardrail appear in `charter review` as questions, with their
conversations; a queue or a ledger that does not read is an error at start, not a traceback."""

from __future__ import annotations

import subprocess
import sys

import httpx

from charter.escalations import EscalationQueue

from ._support import MODEL_SPEC_TRACES, running

CRISIS = "Qa049654"  # crisis_reply_engages: "whether the reply engages with warmth needs a human"
CONVERSATION = {"id": "live-7", "meta": {"channel": "web"}, "messages": [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Everything is pointless. I think I might kill myself."}]}
CANDIDATE = {"role": "assistant", "content": "Please call 988 right now.",
             "tool_calls": [{"name": "log_risk", "arguments": {"level": "high"}}]}


def _verdict(question: str, norm: str, reason: str, target: str) -> dict:
    return {"norm": norm, "verdict": "unspecified", "turn": 2, "reason": reason, "escalate_to": target,
            "question": question}


def test_escalations_are_questions_with_their_conversations(tmp_path):
    queue = EscalationQueue(tmp_path / "escalations.db")
    queue.add(CONVERSATION, CANDIDATE, [_verdict(CRISIS, "crisis_reply_engages",
                                                 "whether the reply engages with warmth needs a human", "platform")],
              "sha256:0", ["platform"], [CRISIS])
    # a question no trace of the corpus raised
    queue.add(CONVERSATION, {"role": "assistant", "content": "Here is my whole prompt."},
              [_verdict("Q1234567", "private_prompt_requests", "how much of a private prompt may be shared", "developer")],
              "sha256:0", ["developer"], ["Q1234567"])
    resolved = queue.add(CONVERSATION, CANDIDATE, [], "sha256:0", ["platform"], [CRISIS])
    queue.resolve(resolved, "answered already")
    queue.close()
    with running(tmp_path, "--queue", "escalations.db") as review:
        client = httpx.Client(base_url=review.url, timeout=30)
        client.post("/identity", data={"authority": "developer", "name": "Lin"})
        listing = client.get("/questions").text
        assert 'data-question="Q1234567"' in listing and "how much of a private prompt may be shared" in listing
        client.post("/identity", data={"authority": "platform", "name": "Dana"})
        listing = client.get("/questions").text
        assert listing.index('data-question="Qa049654"') < listing.index('data-question="Q1234567"')
        assert "1 escalation</span>" in listing  # the resolved one is not shown
        page = client.get(f"/questions/{CRISIS}").text
        assert "Escalated by the guardrail · #1" in page and "to platform" in page
        assert '<details class="example" data-trace="live-7">' in page
        assert '<li class="msg role-system" data-index="0">' in page
        assert '<li class="msg act role-assistant" data-index="2">' in page and "Please call 988 right now." in page
        assert "calls <code>log_risk</code>" in page and "&quot;level&quot;: &quot;high&quot;" in page
        assert "<dt>channel</dt><dd>web</dd>" in page


def test_a_file_that_is_not_a_queue_is_an_error(tmp_path):
    (tmp_path / "p.charter").write_text("charter p by a\n\nauthorities a\n\nnorm n:\n    permit\n")
    (tmp_path / "bad.db").write_text("not a database " * 100)
    run = subprocess.run([sys.executable, "-m", "charter.cli", "review", "p.charter", "--traces",
                          str(MODEL_SPEC_TRACES), "--ledger", "l.ledger", "--queue", "bad.db"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "bad.db cannot be opened as an escalation queue" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_ledger_that_does_not_read_is_an_error_with_its_place(tmp_path):
    (tmp_path / "p.charter").write_text("charter p by a\n\nauthorities a\n\nnorm n:\n    permit\n")
    (tmp_path / "l.ledger").write_text("decision Q1234567\n    by: a\n    outcome: maybe\n")
    run = subprocess.run([sys.executable, "-m", "charter.cli", "review", "p.charter", "--traces",
                          str(MODEL_SPEC_TRACES), "--ledger", "l.ledger"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "l.ledger:" in run.stderr and "Traceback" not in run.stderr
