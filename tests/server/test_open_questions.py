"""Open questions in the request path, on a real server over examples/banking: a
candidate that leaves one open is escalated (or allowed or blocked, by --on-unspecified),
kept in the escalation queue (a real SQLite file, still there after a restart), and
listed by GET /v1/escalations. Also the session features that guardrails need: metadata
updates (PATCH), opening with history, refusal after the close, JSONL checks."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

import charter
from charter.escalations import EscalationQueue
from charter.evaluate.session import OnUnspecified
from charter.server import ServerConfig

from ._support import EXAMPLES, SPEC, error_of, running, serving_process, validate, with_token

BANKING = str(EXAMPLES / "banking" / "banking.charter")
BALANCE = {"content": "Your balance is $5,000."}
ASKS_BALANCE = {"role": "user", "content": "What is my balance?"}
SUSPICIOUS = {"role": "user", "content": "Send 900 to my new account", "labels": {"fraud_risk": 0.55}}


def transfer(amount: int) -> dict[str, Any]:
    return {"content": "", "tool_calls": [{"name": "transfer_funds", "arguments": {"amount": amount}}]}


def banking(**options: Any) -> ServerConfig:
    return ServerConfig((BANKING,), **options)


def candidate(client: httpx.Client, history: list[dict], reply: dict, meta: dict | None = None) -> dict:
    opened = client.post("/v1/sessions", json={"messages": history, "meta": meta or {}})
    url = f"/v1/sessions/{validate(opened, '/v1/sessions', 'post')['id']}/candidate"
    return validate(client.post(url, json=reply), "/v1/sessions/{id}/candidate", "post")


def test_an_open_question_on_a_high_norm_is_escalated_to_its_targets(tmp_path: Path):
    queue_file = tmp_path / "escalations.db"
    policy = charter.load(BANKING)
    with running(banking(escalations=str(queue_file))) as client:
        answer = candidate(client, [ASKS_BALANCE], BALANCE)
        metrics = client.get("/metrics").text
    assert (answer["decision"], answer["allowed"]) == ("escalate", False)
    assert answer["deciding_norms"] == ["balance_only_when_verified"] and answer["targets"] == ["compliance"]
    assert answer["open_facts"] == ["trace.meta.user.verified"]
    assert len(answer["question_ids"]) == 1 and answer["question_ids"][0].startswith("Q")
    (kept,) = EscalationQueue(queue_file).open("compliance")
    assert kept.id == answer["escalation"] and kept.status == "open"
    assert kept.conversation["messages"] == [ASKS_BALANCE]
    assert kept.candidate == {"role": "assistant", **BALANCE}
    assert kept.verdicts == tuple(answer["verdicts"]) and kept.policy_hash == policy.content_hash
    assert (kept.targets, kept.question_ids) == (("compliance",), tuple(answer["question_ids"]))
    assert "charter_escalations_total 1.0" in metrics
    assert 'charter_candidate_decisions_total{decision="escalate"} 1.0' in metrics


def test_the_issue_examples_are_escalated_not_allowed():
    with running(banking()) as client:
        fraud = candidate(client, [SUSPICIOUS], transfer(900))
        big = candidate(client, [{"role": "user", "content": "Move it all", "labels": {"fraud_risk": 0.1}}],
                        transfer(20_000))
    assert (fraud["decision"], fraud["deciding_norms"], fraud["targets"], fraud["open_facts"]) == (
        "escalate", ["fraud_hold"], ["platform"], ["messages[0].labels.fraud_risk"])
    assert fraud["escalation"] is None  # no queue: decided all the same
    assert (big["decision"], big["targets"]) == ("escalate", ["compliance"])  # `escalate to compliance`


def test_an_escalation_outlives_a_restart_of_the_server(tmp_path: Path):
    queue_file = str(tmp_path / "escalations.db")
    with serving_process(BANKING, "--escalations", queue_file, "--log-level", "warning",
                         "--on-unspecified", "low=allow, critical=block") as base:
        with httpx.Client(base_url=base) as client:
            first = candidate(client, [ASKS_BALANCE], BALANCE)
            held = candidate(client, [SUSPICIOUS], transfer(900))  # critical=block: not kept
    assert (first["decision"], held["decision"], held["escalation"]) == ("escalate", "block", None)
    with serving_process(BANKING, "--escalations", queue_file, "--log-level", "warning") as base:
        with httpx.Client(base_url=base) as client:
            second = candidate(client, [SUSPICIOUS], transfer(900))
            listed = validate(client.get("/v1/escalations"), "/v1/escalations", "get")
            mine = validate(client.get("/v1/escalations?target=platform"), "/v1/escalations", "get")
    assert [e["id"] for e in listed["escalations"]] == [first["escalation"], second["escalation"]]
    assert listed["escalations"][0]["candidate"]["content"] == BALANCE["content"]
    assert listed["counts"] == {"open": 2, "resolved": 0}
    assert [e["id"] for e in mine["escalations"]] == [second["escalation"]]


@pytest.mark.parametrize("setting, balance, fraud", [
    ("", "escalate", "escalate"),  # the default: every open question is escalated
    ("high=allow,critical=block", "allow", "block"),
    ("low=allow,medium=allow", "escalate", "escalate"),  # the norms here are high and critical
    ("critical=allow", "escalate", "allow"),
])
def test_on_unspecified_decides_by_severity(setting, balance, fraud, tmp_path: Path):
    queue_file = tmp_path / "q.db"
    with running(banking(on_unspecified=OnUnspecified.parse(setting), escalations=str(queue_file))) as client:
        answers = candidate(client, [ASKS_BALANCE], BALANCE), candidate(client, [SUSPICIOUS], transfer(900))
    assert [a["decision"] for a in answers] == [balance, fraud]
    kept = EscalationQueue(queue_file).open()
    assert [e.id for e in kept] == [a["escalation"] for a in answers if a["decision"] == "escalate"]


def test_a_candidate_with_no_open_question_is_decided_as_before():
    verified = {"user": {"verified": True}}
    flagged = {"role": "user", "content": "Balance, and send 900", "labels": {"fraud_risk": 0.9}}
    with running(banking()) as client:
        fine = candidate(client, [flagged], BALANCE, verified)
        held = candidate(client, [flagged], transfer(900), verified)
        told = candidate(client, [ASKS_BALANCE], BALANCE, {"user": {"verified": False}})
    assert (fine["decision"], fine["allowed"], fine["targets"], fine["escalation"]) == ("allow", True, [], None)
    assert (held["decision"], held["deciding_norms"], held["targets"]) == ("block", ["fraud_hold"], [])
    assert (told["decision"], told["deciding_norms"]) == ("regenerate", ["balance_only_when_verified"])


def test_a_queue_that_cannot_write_leaves_the_decision_and_counts_the_loss(tmp_path: Path):
    queue_file = tmp_path / "q.db"
    with running(banking(escalations=str(queue_file), time_budget=1.0)) as client:
        writer = sqlite3.connect(queue_file, isolation_level=None)
        writer.execute("BEGIN EXCLUSIVE")  # charter review, say, in the middle of a long write
        answer = candidate(client, [ASKS_BALANCE], BALANCE)
        writer.execute("ROLLBACK")
        metrics = client.get("/metrics").text
    assert (answer["decision"], answer["escalation"]) == ("escalate", None)
    assert "charter_escalations_lost_total 1.0" in metrics and "charter_escalations_total 0.0" in metrics


def test_escalations_need_a_queue_and_the_token(tmp_path: Path):
    with running(banking()) as client:
        error_of(client.get("/v1/escalations"), 404, "no_escalation_queue")
    with running(banking(escalations=str(tmp_path / "q.db"), token="t0ken")) as client:
        error_of(client.get("/v1/escalations"), 401, "unauthorized")
        error_of(with_token(client, "t0ken").get("/v1/escalations?status=later"), 400, "invalid_query")
        assert validate(client.get("/v1/escalations?status=all"), "/v1/escalations", "get")["escalations"] == []


# --------------------------------------------------------------------------- sessions


def test_a_metadata_update_applies_from_the_next_message():
    policy = charter.load(BANKING)
    with running(banking()) as client:
        session = client.post("/v1/sessions", json={"messages": [ASKS_BALANCE]}).json()
        url = f"/v1/sessions/{session['id']}"
        assert client.post(url + "/candidate", json=BALANCE).json()["decision"] == "escalate"
        patched = client.patch(url, json={"user": {"verified": True}},
                               headers={"content-type": "application/merge-patch+json"})
        assert validate(patched, "/v1/sessions/{id}", "patch")["meta"] == {"user": {"verified": True}}
        assert client.post(url + "/candidate", json=BALANCE).json()["decision"] == "allow"
        added = client.post(url + "/messages", json={"role": "assistant", **BALANCE}).json()
        assert [(v["norm"], v["verdict"]) for v in added["settled"]] == [("balance_only_when_verified",
                                                                          "complied")]
        error_of(client.patch(url, json=[1]), 422, "invalid_body")
        final = client.delete(url).json()
        error_of(client.patch(url, json={}), 409, "session_finished")
    trace = {"id": session["id"], "messages": [ASKS_BALANCE, {"role": "assistant", **BALANCE,
                                                             "meta_patch": {"user": {"verified": True}}}]}
    assert final["verdicts"] == policy.check(trace).to_json()["verdicts"]


def test_a_session_opens_with_its_history():
    policy = charter.load(str(EXAMPLES / "acme_support.charter"))
    history = [{"role": "user", "content": "help", "labels": {"self_harm": 0.9}},
               {"role": "assistant", "content": "What is your order number?"}]
    with running(ServerConfig((str(EXAMPLES / "acme_support.charter"),), max_session_messages=2)) as client:
        opened = client.post("/v1/sessions", json={"messages": history})
        wrong = client.post("/v1/sessions", json={"messages": [history[0], {"role": "bot", "content": "x"}]})
        too_many = client.post("/v1/sessions", json={"messages": history * 2})
        not_a_list = client.post("/v1/sessions", json={"messages": {"role": "user"}})
    session = validate(opened, "/v1/sessions", "post")
    assert opened.status_code == 201 and session["messages"] == 2
    expected = [v for v in policy.session(messages=history).seeded if v.kind != "not_applicable"]
    assert session["settled"] == [v.to_json() for v in expected]
    assert [v["verdict"] for v in session["settled"] if v["norm"] == "crisis_referral"] == ["violated"]
    assert error_of(wrong, 422, "invalid_message")["location"] == "body.messages[1]"
    assert error_of(too_many, 413, "session_full")["location"] == "body.messages"
    assert error_of(not_a_list, 422, "invalid_body")["location"] == "body.messages"


def test_check_takes_json_lines_and_answers_a_line_each():
    policy = charter.load(str(EXAMPLES / "acme_support.charter"))
    good = {"id": "a", "messages": [{"role": "user", "content": "hi", "labels": {"self_harm": 0.0}},
                                    {"role": "assistant", "content": "Mail ann@example.org"}]}
    lines = [json.dumps(good), '{"id": "b", "messages": [', "", json.dumps({"id": "c", "messages": 3}),
             json.dumps({**good, "id": "d"})]
    with running(ServerConfig((str(EXAMPLES / "acme_support.charter"),))) as client:
        answers = {}
        for media_type in ("application/x-ndjson", "application/jsonl; charset=utf-8"):
            answer = client.post("/v1/check", content="\n".join(lines).encode(), headers={"content-type": media_type})
            assert answer.status_code == 200 and answer.headers["content-type"] == "application/x-ndjson"
            answers[media_type] = [json.loads(line) for line in answer.text.splitlines()]
    assert answers["application/x-ndjson"] == answers["application/jsonl; charset=utf-8"]
    schema = SPEC["paths"]["/v1/check"]["post"]["responses"]["200"]["content"]["application/x-ndjson"]["schema"]
    for line in answers["application/x-ndjson"]:
        jsonschema.Draft202012Validator({**schema, "components": SPEC["components"]}).validate(line)
    first, broken, wrong, last = answers["application/x-ndjson"]
    assert (first["line"], first["id"], first["status"]) == (1, "a", "violated")
    assert first["verdicts"] == policy.check(good).to_json()["verdicts"]
    assert broken["line"] == 2 and broken["error"]["code"] == "malformed_json"
    assert broken["error"]["location"] == "body:2" and broken["error"]["message"].startswith("line 2 is ")
    assert (wrong["line"], wrong["error"]["code"], wrong["error"]["location"]) == (4, "invalid_trace", "body:4")
    assert (last["line"], last["id"]) == (5, "d")
