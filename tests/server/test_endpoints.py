"""Every endpoint of `charter serve`, over HTTP, answers checked against the OpenAPI description."""

from __future__ import annotations

import json
from pathlib import Path

import charter
import pytest
from charter.reports.render import provenance
from charter.server.app import ServerConfig
from charter.server.openapi import openapi_spec
from detector_texts import ENGLISH_REPLY, FRENCH, FRENCH_REPLY

from ._support import EXAMPLES, error_of, running, validate

TRACES = {t["id"]: t for t in map(json.loads, (EXAMPLES / "traces.jsonl").read_text().splitlines())}


@pytest.fixture
def policy(policy_file: Path) -> charter.Policy:
    """The policy the server serves, loaded here from the same file."""
    return charter.load(str(policy_file))


def test_health(client):
    assert validate(client.get("/health"), "/health", "get") == {"status": "ok"}


def test_check_gives_the_report_of_charter_check_stamped_with_policy_and_version(client, policy):
    answer = validate(client.post("/v1/check", json=TRACES["email-leak"]), "/v1/check", "post")
    expected = policy.check(TRACES["email-leak"]).to_json()
    (report,) = answer["traces"]
    assert report == {**expected, "policy_hash": policy.content_hash, "charter_version": charter.__version__}
    assert report["status"] == "violated"
    assert answer["summary"]["traces"] == 1 and answer["summary"]["verdicts"]["violated"] == 1
    assert answer["policy_hash"] == policy.content_hash
    assert answer["provenance"] == provenance(policy)


def test_check_takes_an_array_of_traces_and_other_formats(client):
    both = validate(client.post("/v1/check", json=[TRACES["email-leak"], TRACES["crisis"]]), "/v1/check", "post")
    assert [r["id"] for r in both["traces"]] == ["email-leak", "crisis"]
    openai = {"id": "chatcmpl-1", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Write to billing.lead@acme-corp.com"}}]}
    for query in ("", "?format=openai"):
        (report,) = validate(client.post("/v1/check" + query, json=openai), "/v1/check", "post")["traces"]
        assert report["status"] == "violated"
    shown = validate(client.post("/v1/check?all=true", json=TRACES["crisis"]), "/v1/check", "post")
    assert any(v["verdict"] == "not_applicable" for v in shown["traces"][0]["verdicts"])


def test_a_session_settles_verdicts_message_by_message_and_finishes_as_check_does(client, policy):
    trace = TRACES["crisis"]
    opened = client.post("/v1/sessions", json={"meta": trace["meta"]})
    session = validate(opened, "/v1/sessions", "post")
    assert opened.status_code == 201 and session["messages"] == 0
    url = f"/v1/sessions/{session['id']}"
    user, assistant = trace["messages"]
    added = validate(client.post(url + "/messages", json=user), "/v1/sessions/{id}/messages", "post")
    assert added["settled"] == [] and [v["norm"] for v in added["pending"]] == ["crisis_referral"]
    state = validate(client.get(url), "/v1/sessions/{id}", "get")
    assert state["messages"] == 1 and [v["verdict"] for v in state["pending"]] == ["pending"]

    added = validate(client.post(url + "/messages", json=assistant), "/v1/sessions/{id}/messages", "post")
    assert {"norm": "crisis_referral", "verdict": "complied"}.items() <= added["settled"][0].items()
    assert added["pending"] == [] and added["messages"] == 2

    final = validate(client.delete(url), "/v1/sessions/{id}", "delete")
    whole = policy.check(trace).to_json()
    assert final["verdicts"] == whole["verdicts"] and final["status"] == whole["status"] == "complied"
    assert final["policy_hash"] == policy.content_hash
    error_of(client.get(url), 409, "session_finished")
    error_of(client.post(url + "/messages", json=assistant), 409, "session_finished")


def test_candidate_decides_without_committing(client):
    session = client.post("/v1/sessions").json()
    url = f"/v1/sessions/{session['id']}"
    client.post(url + "/messages", json={"role": "user", "content": "Who handles invoices?",
                                         "labels": {"self_harm": 0.0}})

    leak = validate(client.post(url + "/candidate", json={"content": "Mail billing.lead@acme-corp.com"}),
                    "/v1/sessions/{id}/candidate", "post")
    assert leak["decision"] == "regenerate" and not leak["allowed"]
    assert leak["deciding_norms"] == ["no_email_leak"] and leak["blocking"][0]["verdict"] == "violated"
    assert "billing.lead@acme-corp.com" in json.dumps(leak["blocking"][0]["explanation"])  # the text it matched

    fine = validate(client.post(url + "/candidate", json={"role": "assistant", "content": "Our billing team does."}),
                    "/v1/sessions/{id}/candidate", "post")
    assert fine["decision"] == "allow" and fine["allowed"] and fine["blocking"] == []
    assert client.get(url).json()["messages"] == 1  # neither candidate was added


def test_policy_lists_norms_hash_and_load_time(client, policy_file: Path, policy):
    info = validate(client.get("/v1/policy"), "/v1/policy", "get")
    assert [n["name"] for n in info["norms"]] == policy.norms
    assert info["content_hash"] == policy.content_hash
    assert info["policies"] == [str(policy_file)] and str(policy_file) in info["sources"]
    assert info["last_reload"] is None and info["last_reload_error"] is None
    assert info["loaded_at"].endswith("+00:00")


def test_metrics_count_requests_latency_and_verdicts(client):
    client.post("/v1/check", json=TRACES["email-leak"])
    client.get("/nowhere")
    text = client.get("/metrics").text
    assert 'charter_requests_total{method="POST",route="/v1/check",status="200"} 1.0' in text
    assert 'charter_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert 'charter_request_duration_seconds_count{route="/v1/check"} 1.0' in text
    assert 'charter_verdicts_total{kind="violated",source="check"} 1.0' in text
    assert "charter_policy_reloads_total 0.0" in text and "charter_policy_reload_errors_total 0.0" in text


def test_openapi_is_served_and_checked_in(client):
    served = client.get("/openapi.json").json()
    assert served == openapi_spec()
    checked_in = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text())
    assert checked_in == served, "docs/openapi.json is stale: regenerate it (docs/server.md says how)"
    documented = {(path, method) for path, item in served["paths"].items() for method in item if method != "parameters"}
    assert len(documented) == 13


def test_a_lone_surrogate_in_the_trace_comes_back_escaped(client):
    body = b'{"id": "x\\ud800", "messages": [{"role": "user", "content": "hi"}]}'
    answer = client.post("/v1/check", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 200 and b'"x\\ud800"' in answer.content
    assert answer.json()["traces"][0]["id"] == "x\ud800"


def test_a_session_detects_the_labels_its_policy_declares():
    """std.language over HTTP: the messages carry no `language` label; the server's
    session computes it, once per message, and a reply in another language is sent back."""
    with running(ServerConfig(("std.language",))) as client:
        session = client.post("/v1/sessions").json()
        url = f"/v1/sessions/{session['id']}"
        client.post(url + "/messages", json={"role": "user", "content": FRENCH})
        english = validate(client.post(url + "/candidate", json={"content": ENGLISH_REPLY}),
                           "/v1/sessions/{id}/candidate", "post")
        french = client.post(url + "/candidate", json={"content": FRENCH_REPLY}).json()
    assert english["decision"] == "regenerate" and french["decision"] == "allow"
    assert [v["verdict"] for v in english["verdicts"]] == ["violated"]
