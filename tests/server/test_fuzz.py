"""Adversarial bodies (hypothesis): whatever a client sends, the answer is a 2xx with JSON
or a 4xx in the error shape, never a 5xx."""

from __future__ import annotations

import json
from typing import Any, Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ._support import config, running

MAX_BODY = 64 * 1024

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
roles = st.sampled_from(["user", "assistant", "system", "tool", "developer", "", "USER"]) | json_values
messages = st.fixed_dictionaries(
    {"role": roles},
    optional={"content": json_values | st.text(), "tool_calls": json_values, "labels": json_values,
              "name": json_values},
)
# Records that look like each format closely enough to be detected, with wrong insides.
trace_like = st.one_of(
    st.fixed_dictionaries({"messages": st.lists(messages, max_size=4)}, optional={"meta": json_values, "id": json_values}),
    st.fixed_dictionaries({"messages": json_values}),
    st.fixed_dictionaries({"choices": json_values}, optional={"messages": json_values}),
    st.fixed_dictionaries({"type": st.just("message"), "content": json_values}),
    st.fixed_dictionaries({"eval": json_values, "samples": json_values}),
    st.fixed_dictionaries({"conversations": json_values}),
)


def _deep(depth: int, opener: str) -> bytes:
    closer = "]" if opener == "[" else "}"
    return ((opener if opener == "[" else '{"a":') * depth + "1" + closer * depth).encode()


bodies = st.one_of(
    st.binary(max_size=200),  # invalid UTF-8 and random bytes
    (json_values | trace_like | st.lists(trace_like, max_size=3)).map(lambda v: json.dumps(v).encode()),
    st.builds(_deep, st.integers(1, 3000), st.sampled_from(["[", "{"])),
    st.integers(0, 2 * MAX_BODY).map(
        lambda n: json.dumps({"messages": [{"role": "user", "content": "x" * n}]}).encode()),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.characters(), max_size=20).map(
        lambda t: json.dumps({"messages": [{"role": "assistant", "content": t + " lol a@b.co"}]}).encode()),
)
content_types = st.sampled_from([None, "application/json", "application/json; charset=utf-8", "text/plain",
                                 "application/x-www-form-urlencoded", "multipart/form-data", "", "application/ld+json"])
queries = st.text(alphabet="abcdefgilmoprstu=&%?+ 01", max_size=24)
targets = st.sampled_from(["/v1/check", "/v1/check?format=openai", "/v1/check?format=native&all=1", "/v1/sessions",
                           "{session}/messages", "{session}/candidate", "{session}/messages?all=true",
                           "/v1/sessions/no-such/candidate", "/v1/policy/reload"]) | st.builds(
    "{}?{}".format, st.sampled_from(["/v1/check", "{session}/candidate"]), queries)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[httpx.Client, str]]:
    with running(config(max_body_bytes=MAX_BODY, max_depth=64)) as client:
        session = client.post("/v1/sessions").json()["id"]
        yield client, f"/v1/sessions/{session}"


def _shape_ok(answer: httpx.Response) -> Any:
    assert answer.status_code < 500, answer.text
    body = answer.json()
    if answer.status_code >= 400:
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "location"}, body
        assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    return body


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(target=targets, body=bodies, content_type=content_types)
def test_any_body_gets_a_2xx_or_a_4xx_in_the_error_shape(server, target, body, content_type):
    client, session = server
    headers = {} if content_type is None else {"content-type": content_type}
    _shape_ok(client.post(target.replace("{session}", session), content=body, headers=headers))


@settings(max_examples=60, deadline=None)
@given(path=st.text(alphabet=st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=30),
       method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
def test_any_path_and_method(server, path, method):
    client, _ = server
    if path.startswith("/v1/policy/reload") or path.startswith("/metrics"):
        return
    _shape_ok(client.request(method, "/v1/sessions/" + path, content=b"{}"))
