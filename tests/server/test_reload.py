"""Hot reload: a policy that loads is swapped in whole; one that does not leaves the old
policy serving, with the error in the answer, in /v1/policy and in the metrics, while
requests go on being answered."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import charter
import httpx
import pytest

from ._support import error_of, validate, with_token

EXTRA_NORM = '''
norm no_shouting:
    forbid assistant matches /[A-Z]{10}/
'''
TOKEN = "s3cret"
LEAK = {"messages": [{"role": "user", "content": "Who handles invoices?"},
                     {"role": "assistant", "content": "Write to billing.lead@acme-corp.com"}]}


@pytest.fixture
def client(make_server) -> httpx.Client:
    """A server with a token: reloading over HTTP needs one."""
    return with_token(make_server(token=TOKEN), TOKEN)


def _checking_all_along(client, stop: threading.Event, answers: list) -> None:
    while not stop.is_set():
        answer = client.post("/v1/check", json=LEAK)
        answers.append((answer.status_code, answer.json().get("policy_hash")))


def _reload_while_checking(client) -> tuple[httpx.Response, list]:
    """POST /v1/policy/reload while another thread keeps posting checks (from the first
    answered, which may wait for the check worker to start, to one answered after)."""
    stop, answers = threading.Event(), []
    checker = threading.Thread(target=_checking_all_along, args=(client, stop, answers))
    checker.start()
    try:
        _wait_for_answers(answers, 1)
        reloaded = client.post("/v1/policy/reload")
        _wait_for_answers(answers, len(answers) + 2)
    finally:
        stop.set()
        checker.join()
    return reloaded, answers


def _wait_for_answers(answers: list, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(answers) < count:
        assert time.monotonic() < deadline, "the checks were not answered"
        time.sleep(0.01)


def test_a_reload_that_loads_swaps_the_new_policy_in(client, policy_file: Path):
    before = client.get("/v1/policy").json()
    policy_file.write_text(policy_file.read_text() + EXTRA_NORM)
    reloaded, answers = _reload_while_checking(client)
    after = validate(reloaded, "/v1/policy/reload", "post")["policy"]
    assert after["content_hash"] == charter.load(str(policy_file)).content_hash != before["content_hash"]
    # each check was answered wholly by the old policy or wholly by the new one, in that order
    hashes = [h for status, h in answers if status == 200]
    assert len(hashes) == len(answers) and hashes[0] == before["content_hash"] and hashes[-1] == after["content_hash"]
    assert hashes == sorted(hashes, key=lambda h: h == after["content_hash"])
    assert "no_shouting" in [n["name"] for n in after["norms"]]
    assert after["last_reload"]["ok"] and after["last_reload"]["changed"]
    assert client.post("/v1/check", json=LEAK).json()["policy_hash"] == after["content_hash"]
    assert "charter_policy_reloads_total 1.0" in client.get("/metrics").text


def test_a_reload_that_fails_keeps_the_old_policy_serving(client, policy_file: Path):
    serving = client.get("/v1/policy").json()["content_hash"]
    policy_file.write_text(policy_file.read_text() + "\nnorm broken:\n    forbid assistant sayz \"x\"\n")
    failed, answers = _reload_while_checking(client)
    error = error_of(failed, 422, "policy_error")
    validate(failed, "/v1/policy/reload", "post")
    assert error["location"].startswith(f"{policy_file}:") and "sayz" in error["message"]
    assert answers and all(a == (200, serving) for a in answers)

    info = validate(client.get("/v1/policy"), "/v1/policy", "get")
    assert info["content_hash"] == serving and info["last_reload"]["ok"] is False
    assert info["last_reload_error"]["location"] == error["location"]
    assert info["last_reload_error"]["diagnostics"][0]["file"] == str(policy_file)
    text = client.get("/metrics").text
    assert "charter_policy_reload_errors_total 1.0" in text and "charter_policy_reloads_total 0.0" in text


def test_sessions_keep_the_policy_they_were_opened_with(client, policy_file: Path):
    old = client.post("/v1/sessions").json()
    policy_file.write_text(policy_file.read_text() + EXTRA_NORM)
    client.post("/v1/policy/reload")
    new = client.post("/v1/sessions").json()
    assert old["policy_hash"] != new["policy_hash"]
    assert client.get(f"/v1/sessions/{old['id']}").json()["policy_hash"] == old["policy_hash"]


def test_watch_reloads_on_change(make_server, policy_file: Path):
    client = make_server(watch=True)
    time.sleep(0.3)  # let the watcher start
    policy_file.write_text(policy_file.read_text() + EXTRA_NORM)
    expected = charter.load(str(policy_file)).content_hash
    deadline = time.monotonic() + 10
    while client.get("/v1/policy").json()["content_hash"] != expected:
        assert time.monotonic() < deadline, "the changed policy was not reloaded"
        time.sleep(0.05)
    policy_file.write_text("this is not a policy")
    while client.get("/v1/policy").json()["last_reload_error"] is None:
        assert time.monotonic() < deadline + 10, "the failed reload was not reported"
        time.sleep(0.05)
    assert client.get("/v1/policy").json()["content_hash"] == expected
