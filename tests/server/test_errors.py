"""Every error answer has the one shape `{"error": {"code", "message", "location"}}`,
with the status the OpenAPI description documents."""

from __future__ import annotations

import time

import pytest

from ._support import error_of, validate


@pytest.fixture
def session_url(client) -> str:
    return f"/v1/sessions/{client.post('/v1/sessions').json()['id']}"


def test_malformed_json(client):
    error = error_of(client.post("/v1/check", content=b'{"messages": [}'), 400, "malformed_json")
    assert error["location"] == "body" and "not valid JSON" in error["message"]
    validate(client.post("/v1/check", content=b"\xff\xfe"), "/v1/check", "post")


def test_nesting_deeper_than_the_limit(make_server):
    client = make_server(max_depth=8)
    error = error_of(client.post("/v1/check", content=b"[" * 9 + b"]" * 9), 400, "nesting_too_deep")
    assert "limit of 8" in error["message"]
    # brackets inside strings are text, not nesting
    text = {"messages": [{"role": "user", "content": "[" * 50}]}
    assert client.post("/v1/check", json=text).status_code == 200


def test_unknown_format_and_bad_query(client):
    error = error_of(client.post("/v1/check?format=yaml", json={}), 400, "unknown_format")
    assert error["location"] == "query.format" and "openai" in error["message"]
    assert error_of(client.post("/v1/check?all=maybe", json={}), 400, "invalid_query")["location"] == "query.all"


def test_oversized_body_by_length_and_while_streaming(make_server):
    client = make_server(max_body_bytes=1000)
    big = {"messages": [{"role": "user", "content": "x" * 2000}]}
    error = error_of(client.post("/v1/check", json=big), 413, "body_too_large")
    assert "1000 bytes" in error["message"]
    chunks = (b"x" * 300 for _ in range(5))  # no Content-Length: counted as it arrives
    error_of(client.post("/v1/check", content=chunks), 413, "body_too_large")


def test_not_json_content_type(client):
    error = error_of(client.post("/v1/check", content=b"{}", headers={"content-type": "text/plain"}),
                     415, "unsupported_media_type")
    assert error["location"] == "header.content-type"
    ok = client.post("/v1/check", content=b'{"messages": []}', headers={"content-type": "application/vnd.x+json"})
    assert ok.status_code == 200


def test_not_a_trace(client):
    error = error_of(client.post("/v1/check", json={"hello": 1}), 422, "invalid_trace")
    assert error["location"] == "body" and "formats tried" in error["message"]
    second = client.post("/v1/check", json=[{"messages": []}, {"messages": [{"role": 3}]}])
    assert error_of(second, 422, "invalid_trace")["location"] == "body[1]"
    validate(second, "/v1/check", "post")


def test_bad_session_bodies(client, session_url):
    assert error_of(client.post("/v1/sessions", json=[]), 422, "invalid_body")["location"] == "body"
    assert error_of(client.post("/v1/sessions", json={"meta": 3}), 422, "invalid_body")["location"] == "body.meta"
    assert error_of(client.post("/v1/sessions", json={"x": 1}), 422, "invalid_body")["location"] == "body.x"
    error_of(client.post(session_url + "/messages", json="hi"), 422, "invalid_message")
    error = error_of(client.post(session_url + "/messages", json={"role": "robot", "content": "x"}),
                     422, "invalid_message")
    assert "role" in error["message"]
    error_of(client.post(session_url + "/candidate", json={"content": 5}), 422, "invalid_message")


def test_unknown_session(client):
    for method, suffix in (("GET", ""), ("DELETE", ""), ("POST", "/messages"), ("POST", "/candidate")):
        answer = client.request(method, "/v1/sessions/nope" + suffix, json={"role": "user", "content": "x"})
        assert error_of(answer, 404, "unknown_session")["location"] == "path.id"


def test_unknown_route_and_method(client):
    assert error_of(client.get("/v2/check"), 404, "not_found")["message"] == "no endpoint GET /v2/check"
    error_of(client.get("/v1/check"), 405, "method_not_allowed")


def test_session_bound(make_server):
    client = make_server(max_sessions=2)
    ids = [client.post("/v1/sessions").json()["id"] for _ in range(2)]
    error = error_of(client.post("/v1/sessions"), 429, "too_many_sessions")
    assert "limit of 2" in error["message"]
    client.delete(f"/v1/sessions/{ids[0]}")
    assert client.post("/v1/sessions").status_code == 201


def test_sessions_expire_after_the_idle_timeout(make_server):
    client = make_server(session_idle_timeout=0.5)
    idle = client.post("/v1/sessions").json()["id"]
    busy = client.post("/v1/sessions").json()["id"]
    for _ in range(4):  # a session in use stays open past the timeout
        time.sleep(0.2)
        assert client.get(f"/v1/sessions/{busy}").status_code == 200
    error = error_of(client.get(f"/v1/sessions/{idle}"), 404, "unknown_session")
    assert "0.5 s idle" in error["message"]
    time.sleep(0.8)  # the background sweep closes it with no request touching it
    assert 'charter_sessions_active 0.0' in client.get("/metrics").text


def test_time_budget(make_server):
    client = make_server(time_budget=1e-6)
    error = error_of(client.post("/v1/check", json={"messages": []}), 503, "time_budget_exceeded")
    assert "budget" in error["message"]
    assert client.get("/health").status_code == 200


def test_bearer_token_for_everything_but_health(make_server):
    client = make_server(token="s3cret")
    assert client.get("/health").status_code == 200
    for path in ("/v1/policy", "/metrics", "/openapi.json"):
        answer = client.get(path)
        assert error_of(answer, 401, "unauthorized")["location"] == "header.authorization"
        assert answer.headers["www-authenticate"].startswith("Bearer")
        error_of(client.get(path, headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
        assert client.get(path, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    error_of(client.post("/v1/check", json={"messages": []}), 401, "unauthorized")
    error_of(client.post("/v1/sessions"), 401, "unauthorized")
