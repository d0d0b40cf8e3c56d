"""Hostile clients (issue 18): nothing a request sends stalls the server, loses a message
or swaps in an empty policy. Each test runs a real server on 127.0.0.1 and, while the
hostile requests are in flight, measures that `/health` still answers within 100 ms."""

from __future__ import annotations

import concurrent.futures
import gc
import json
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest
from hypothesis import given, settings, strategies as st

from charter.server import ServerConfig, exposure_warning
from charter.server.errors import ApiError, decode_json

from ._support import error_of, running, validate, with_token

HEALTH_WITHIN = 0.1  # seconds
TOKEN = "s3cret"
LEAK = {"messages": [{"role": "user", "content": "Who handles invoices?"},
                     {"role": "assistant", "content": "Write to billing.lead@acme-corp.com"}]}


def _escaped_quotes(size: int) -> bytes:
    """An unterminated string of escaped quotes: a backtracking scan of it is quadratic."""
    return b'"' + b'\\"' * (size // 2)


def _long_trace(pairs: int) -> dict:
    """A trace whose report is slow to build (an explanation per e-mail address)."""
    return {"messages": [{"role": role, "content": text} for _ in range(pairs) for role, text in (
        ("user", "Who handles invoices? lol"), ("assistant", "Write to billing.lead@acme-corp.com lol"))]}


def _while_hostile(client: httpx.Client, hostile: Callable[[httpx.Client], httpx.Response],
                   seconds: float = 1.0, most: int = 20) -> tuple[list[httpx.Response], float]:
    """Send `hostile` requests one after another (for `seconds`, `most` of them) while
    another connection asks `/health` every 20 ms; the answers and the slowest `/health`."""
    answers: list[httpx.Response] = []
    done = threading.Event()

    def attack() -> None:
        with httpx.Client(base_url=client.base_url, headers=client.headers, timeout=60) as own:
            deadline = time.monotonic() + seconds
            try:
                while len(answers) < most and (not answers or time.monotonic() < deadline):
                    answers.append(hostile(own))
            finally:
                done.set()

    attacker = threading.Thread(target=attack)
    attacker.start()
    latencies = []
    with httpx.Client(base_url=client.base_url, timeout=30) as probe:
        time.sleep(0.02)  # let the first hostile request reach the server
        # At least one probe: twenty quick refusals can all be answered within the 20 ms above.
        while True:
            started = time.perf_counter()
            assert probe.get("/health").status_code == 200
            latencies.append(time.perf_counter() - started)
            if done.is_set() or len(latencies) >= 500:
                break
            time.sleep(0.02)
    attacker.join(120)
    return answers, max(latencies)


# --------------------------------------------------------------------------- 1. nesting pre-check


def test_an_unterminated_string_of_escaped_quotes_is_refused_at_once(make_server):
    client = make_server()
    body = _escaped_quotes(48 * 1024)  # took 12 s on the event loop with the backtracking scan
    answers, health = _while_hostile(client, lambda c: c.post("/v1/check", content=body))
    assert all(error_of(a, 400, "malformed_json") for a in answers)
    assert all(a.elapsed.total_seconds() < 1 for a in answers), [a.elapsed for a in answers]
    assert health < HEALTH_WITHIN


def test_the_nesting_scan_is_linear():
    """1 MiB of escaped quotes (the default body limit) is refused within a second; a
    quadratic scan would take hours, so it runs in a thread the test does not wait for."""
    outcome: list[ApiError] = []

    def scan() -> None:
        try:
            decode_json(_escaped_quotes(1 << 20), None, 64)
        except ApiError as error:
            outcome.append(error)

    scanner = threading.Thread(target=scan, daemon=True)
    scanner.start()
    scanner.join(1.0)
    assert [e.code for e in outcome] == ["malformed_json"]


# 64-bit integers: msgspec reads a wider one as the nearest float, which the comparison
# below would call a difference although the nesting scan is not involved.
_int64 = st.integers(-(1 << 63), (1 << 64) - 1)
_json = st.recursive(st.none() | st.booleans() | _int64 | st.text(alphabet='"\\[]{}ab\u00e9'),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                         st.text(alphabet='"\\[]{}a', max_size=3), inner, max_size=3), max_leaves=30)


def _depth(value) -> int:
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    return 0 if children is None else 1 + max(map(_depth, children), default=0)


@settings(max_examples=300)
@given(value=_json, limit=st.integers(1, 6))
def test_the_nesting_scan_measures_the_real_depth(value, limit):
    """Brackets inside strings (escaped quotes too) never count; every real one does."""
    data = json.dumps(value).encode()
    if _depth(value) > limit:
        with pytest.raises(ApiError) as refused:
            decode_json(data, None, limit)
        assert refused.value.code == "nesting_too_deep"
    else:
        assert decode_json(data, None, limit) == value


# --------------------------------------------------------------------------- 2, 3. the budget


def test_a_report_slow_to_build_gets_a_503_within_the_budget(make_server):
    client = make_server(time_budget=0.2)
    trace = _long_trace(4000)  # about 0.6 s to check and report on an idle machine: 3x the budget
    answers, health = _while_hostile(client, lambda c: c.post("/v1/check", json=trace), seconds=1.5)
    assert all(error_of(a, 503, "time_budget_exceeded") for a in answers)
    assert all(a.elapsed.total_seconds() < 1.5 for a in answers), [a.elapsed for a in answers]
    assert health < HEALTH_WITHIN


def test_work_past_its_budget_is_ended(make_server):
    """After 503s the server burns no more CPU for them, and a normal check is fast."""
    client = make_server(time_budget=0.2)
    assert client.post("/v1/check", json=LEAK).status_code == 200  # the worker is up
    trace = _long_trace(4000)  # about 0.6 s on an idle machine: 3x the budget
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: client.post("/v1/check", json=trace), range(4)))
    assert all(error_of(a, 503, "time_budget_exceeded") for a in answers)
    cpu = time.process_time()  # this process runs the server: its threads, not the killed worker
    time.sleep(1.0)
    assert time.process_time() - cpu < 0.3
    deadline = time.monotonic() + 10
    while (answer := client.post("/v1/check", json=LEAK)).status_code != 200:  # the worker restarts
        assert time.monotonic() < deadline
    timings = [client.post("/v1/check", json=LEAK).elapsed.total_seconds() for _ in range(5)]
    assert min(timings) < 0.05, timings


# --------------------------------------------------------------------------- 4. reload fails closed


@pytest.fixture
def admin(make_server) -> httpx.Client:
    return with_token(make_server(token=TOKEN), TOKEN)


def test_a_reload_that_drops_every_norm_is_refused(admin, policy_file: Path, caplog):
    serving = admin.get("/v1/policy").json()
    policy_file.write_text("")  # a deploy that left an empty file: a valid policy that allows everything
    with caplog.at_level(logging.ERROR, "charter.server"):
        refused = admin.post("/v1/policy/reload")
    error = error_of(refused, 409, "norms_dropped")
    validate(refused, "/v1/policy/reload", "post")
    assert "no_email_leak" in error["message"] and "force=true" in error["message"]
    assert any("no_email_leak" in r.getMessage() for r in caplog.records)
    info = validate(admin.get("/v1/policy"), "/v1/policy", "get")
    assert info["content_hash"] == serving["content_hash"] and info["last_reload"]["ok"] is False
    assert info["last_reload_error"]["dropped_norms"] == [n["name"] for n in serving["norms"]]
    metrics = admin.get("/metrics").text
    assert "charter_policy_reloads_refused_total 1.0" in metrics and "charter_policy_reloads_total 0.0" in metrics
    assert admin.post("/v1/check", json=LEAK).json()["traces"][0]["status"] == "violated"


def test_a_reload_that_drops_some_norms_is_refused_unless_forced(admin, policy_file: Path):
    text = policy_file.read_text()
    start = text.index("norm crisis_referral")
    policy_file.write_text(text[:start] + text[text.index("# A classifier", start):])
    message = error_of(admin.post("/v1/policy/reload"), 409, "norms_dropped")["message"]
    assert "drops 1 of the 5 norms being served (crisis_referral)" in message
    forced = validate(admin.post("/v1/policy/reload?force=true"), "/v1/policy/reload", "post")["policy"]
    assert "crisis_referral" not in [n["name"] for n in forced["norms"]] and forced["last_reload"]["ok"]


def test_watch_does_not_swap_in_a_truncated_file(make_server, policy_file: Path):
    client = make_server(watch=True)
    serving = client.get("/v1/policy").json()["content_hash"]
    time.sleep(0.3)  # let the watcher start
    policy_file.write_text("")
    deadline = time.monotonic() + 10
    while (info := client.get("/v1/policy").json())["last_reload_error"] is None:
        assert time.monotonic() < deadline, "the truncated file was not seen"
        time.sleep(0.05)
    assert info["content_hash"] == serving and info["last_reload_error"]["dropped_norms"]


# --------------------------------------------------------------------------- 5. sessions close atomically


def _slowly(body: bytes, pause: float) -> Iterator[bytes]:
    """A body sent in two halves, `pause` seconds apart."""
    yield body[:10]
    time.sleep(pause)
    yield body[10:]


def test_no_message_added_concurrently_with_a_close_is_lost(make_server):
    """Adds race a close, one of them found the session before the close and sends its
    body after: each add answered 200 is in the report, the others are answered 404."""
    client = make_server()
    session = client.post("/v1/sessions").json()["id"]
    for message in _long_trace(100)["messages"]:
        assert client.post(f"/v1/sessions/{session}/messages", json=message).status_code == 200
    reply = json.dumps({"role": "assistant", "content": "Thank you for writing."}).encode()

    def add(pause: float) -> httpx.Response:
        return client.post(f"/v1/sessions/{session}/messages", content=_slowly(reply, pause))

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        adds = [pool.submit(add, 0.3 if i == 0 else 0) for i in range(60)]
        time.sleep(0.1)
        closed = client.delete(f"/v1/sessions/{session}?all=true")
        answers = [a.result() for a in adds]
    assert closed.status_code == 200
    assert all(a.status_code in (200, 409) for a in answers) and answers[0].status_code == 409
    added = {a.json()["messages"] - 1 for a in answers if a.status_code == 200}
    reported = {v["turn"] for v in closed.json()["verdicts"] if v["norm"] == "no_email_leak"}
    assert reported == set(range(1, 200, 2)) | added
    assert error_of(add(0), 409, "session_finished")


def _state_when_free(client: httpx.Client, session: str) -> httpx.Response:
    """The session's state, once the session lane has finished abandoned work."""
    deadline = time.monotonic() + 10
    while (state := client.get(f"/v1/sessions/{session}")).status_code == 503:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return state


def test_a_close_past_its_budget_leaves_the_session_open(make_server):
    client = make_server(time_budget=0.01)
    session = client.post("/v1/sessions").json()["id"]
    for message in _long_trace(500)["messages"]:  # an add past the budget may have been added
        assert client.post(f"/v1/sessions/{session}/messages", json=message).status_code in (200, 503)
    held = _state_when_free(client, session).json()["messages"]
    closed = client.delete(f"/v1/sessions/{session}")
    error_of(closed, 503, "time_budget_exceeded")  # rendering a report of ~1,000 messages takes longer
    health = [client.get("/health").elapsed.total_seconds() for _ in range(5)]  # while that work ends
    assert max(health) < HEALTH_WITHIN
    state = _state_when_free(client, session)
    assert state.status_code == 200 and state.json()["messages"] == held > 900


def test_no_collection_walks_what_the_server_made_before_it_served(policy_file):
    """A full collection stops every thread (about 400 ms over 3 million objects, longer
    than `/health` may take): objects older than the server are frozen while it serves."""
    older = [[n] for n in range(1000)]
    with running(ServerConfig((str(policy_file),))) as client:
        assert client.get("/health").status_code == 200
        assert not any(o is older for o in gc.get_objects())
    assert any(o is older for o in gc.get_objects())  # collected as usual again


# --------------------------------------------------------------------------- 6. per-client bounds


def test_a_session_holds_a_bounded_number_of_messages_and_bytes(make_server):
    client = make_server(max_session_messages=3, max_session_bytes=2000)
    session = client.post("/v1/sessions").json()["id"]
    for _ in range(3):
        assert client.post(f"/v1/sessions/{session}/messages", json={"role": "user", "content": "hi"}).is_success
    full = error_of(client.post(f"/v1/sessions/{session}/messages", json={"role": "user", "content": "hi"}),
                    413, "session_full")
    assert "3 messages" in full["message"] and "DELETE" in full["message"]

    session = client.post("/v1/sessions").json()["id"]
    big = {"role": "user", "content": "x" * 900}
    assert client.post(f"/v1/sessions/{session}/messages", json=big).is_success
    assert client.post(f"/v1/sessions/{session}/messages", json=big).is_success
    full = error_of(client.post(f"/v1/sessions/{session}/messages", json=big), 413, "session_full")
    assert "2000 bytes" in full["message"]
    assert client.get(f"/v1/sessions/{session}").json()["messages"] == 2


def _half_sent(port: int) -> socket.socket:
    """A connection that sends half a request's headers, then nothing."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    connection.sendall(b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Le")
    return connection


def _answer_of(connection: socket.socket) -> bytes:
    """What the server sends before it closes the connection."""
    data = b""
    while chunk := connection.recv(4096):
        data += chunk
    return data


def test_a_request_that_does_not_arrive_is_answered_408_and_closed(make_server):
    client = make_server(read_timeout=0.5)
    with _half_sent(client.base_url.port) as slow:
        started = time.monotonic()
        answer = _answer_of(slow)
    assert answer.startswith(b"HTTP/1.1 408 ") and b'"read_timeout"' in answer
    assert 0.4 < time.monotonic() - started < 2
    with socket.create_connection(("127.0.0.1", client.base_url.port), timeout=5) as silent:
        assert _answer_of(silent).startswith(b"HTTP/1.1 408 ")  # a connection that sends nothing at all


def test_connections_beyond_the_limit_are_refused(make_server):
    client = make_server(max_connections=20, read_timeout=30)
    assert client.get("/health").status_code == 200  # the client's own connection counts
    held = [_half_sent(client.base_url.port) for _ in range(19)]
    try:
        with socket.create_connection(("127.0.0.1", client.base_url.port), timeout=5) as one_too_many:
            answer = _answer_of(one_too_many)
        assert answer.startswith(b"HTTP/1.1 503 ") and b'"too_many_connections"' in answer
        assert client.get("/health").status_code == 200  # on its kept connection
    finally:
        for connection in held:
            connection.close()
    deadline = time.monotonic() + 5
    while True:  # once they are gone, new connections are served again
        try:
            with httpx.Client(base_url=client.base_url) as fresh:
                if fresh.get("/health").status_code == 200:
                    break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_health_answers_while_many_requests_are_half_sent(make_server):
    client = make_server(read_timeout=30)
    held = [_half_sent(client.base_url.port) for _ in range(200)]
    try:
        _, health = _while_hostile(client, lambda c: c.post("/v1/check", json=LEAK), seconds=0.5)
        assert health < HEALTH_WITHIN
    finally:
        for connection in held:
            connection.close()


# --------------------------------------------------------------------------- 7. exposure


def test_reload_needs_a_token(client):
    error_of(client.post("/v1/policy/reload"), 403, "reload_disabled")
    validate(client.post("/v1/policy/reload"), "/v1/policy/reload", "post")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "example.com"])
def test_listening_beyond_loopback_without_a_token_is_warned(host):
    warning = exposure_warning(host, None)
    assert warning and "WITHOUT A TOKEN" in warning and "--token-file" in warning
    assert exposure_warning(host, TOKEN) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_is_not_warned(host):
    assert exposure_warning(host, None) is None


# --------------------------------------------------------------------------- 14. small inconsistencies


def test_a_body_with_a_byte_order_mark_is_accepted(client):
    answer = client.post("/v1/check", content=b"\xef\xbb\xbf" + json.dumps(LEAK).encode())
    assert validate(answer, "/v1/check", "post")["traces"][0]["status"] == "violated"


@pytest.mark.parametrize("body", [b'{"messages": "unterminated', b"[" + b"1" * 5000 + b"]"])
def test_malformed_json_messages_read_as_english(client, body):
    message = error_of(client.post("/v1/check", content=body), 400, "malformed_json")["message"]
    assert message.startswith("the body is not ")
    assert "at at" not in message and "is cannot" not in message


def test_a_422_names_no_internal_function(client):
    log = {"version": 2, "eval": {"task": "t"}, "samples": [
        {"id": i, "messages": [{"role": "user", "content": "hi"}]} for i in range(2)]}
    error = error_of(client.post("/v1/check?format=inspect", json=log), 422, "invalid_trace")
    assert "read_traces" not in error["message"]
