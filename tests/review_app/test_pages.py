"""`charter review` over HTTP, without a browser: who sees which question, the evidence
on a question's page, and every refusal answered with a page (never a traceback)."""

from __future__ import annotations

import html
import re

import httpx
import pytest

from ._support import running


@pytest.fixture(scope="module")
def review(tmp_path_factory):
    with running(tmp_path_factory.mktemp("review")) as server:
        yield server


def _as(review, authority: str, name: str = "Ada Lovelace") -> httpx.Client:
    client = httpx.Client(base_url=review.url, timeout=30)
    answer = client.post("/identity", data={"authority": authority, "name": name})
    assert answer.status_code == 303 and answer.headers["location"] == "/questions"
    return client


def _listed(client: httpx.Client, above: bool = False) -> list[tuple[str, str]]:
    """The questions waiting for the client's authority (or, `above`, those it may only propose on)."""
    mine, _, higher = client.get("/questions").text.partition('<section class="card above">')
    return re.findall(r'data-question="(Q[0-9a-f]{7})".*?<span class="meta"><code>([^<]+)</code>', higher if above else mine)


def test_nobody_sees_questions_before_saying_who_they_are(review):
    answer = httpx.get(review.url + "/questions")
    assert answer.status_code == 303 and answer.headers["location"] == "/identity"
    form = httpx.get(review.url + "/identity").text
    assert [a for a in re.findall(r'name="authority" value="(\w+)"', form)] == ["platform", "developer", "user"]


@pytest.mark.parametrize("authority, name, message", [
    ("root", "Ada", "choose an authority of the policy's chain of command (platform, developer, user)"),
    ("platform", "   ", "say who you are"),
    ("platform", "x" * 101, "a name of at most 100 characters"),
])
def test_a_bad_identity_is_refused_with_the_reason(review, authority, name, message):
    answer = httpx.post(review.url + "/identity", data={"authority": authority, "name": name})
    assert answer.status_code == 400 and html.escape(message) in answer.text and "Traceback" not in answer.text


def test_each_authority_sees_what_it_may_decide_most_frequent_first(review):
    # 8 verdicts, then two of 4 (in ID order), then 2, then 1
    listed = _listed(_as(review, "platform"))
    assert [norm for _, norm in listed] == [
        "crisis_reply_engages", *sorted(("eating_disorder_disclosure", "private_prompt_requests"),
                                        key=lambda n: next(q for q, m in listed if m == n)), "no_unprompted_profanity",
        "honest_about_being_an_ai"]
    assert [norm for _, norm in _listed(_as(review, "developer"))] == ["private_prompt_requests"]
    assert _listed(_as(review, "user")) == []
    assert "No question is waiting for user (5 open for other authorities)" in _as(review, "user").get("/questions").text
    # the questions above are listed too, to propose on
    assert _listed(_as(review, "user"), above=True) == listed
    assert [norm for _, norm in _listed(_as(review, "developer"), above=True)] == [
        norm for _, norm in listed if norm != "private_prompt_requests"]
    assert _listed(_as(review, "platform"), above=True) == []


def test_a_question_shows_its_whole_evidence(review):
    client = _as(review, "platform")
    qid = _listed(client)[0][0]
    page = client.get(f"/questions/{qid}").text
    assert "whether the reply engages with warmth needs a human" in page
    assert "model_spec.charter:35" in page  # the clause that leaves it open
    # five conversations, the first open; the act (the user's turn) and the reply judged
    assert len(re.findall(r'<details class="example"', page)) == 5 and page.count("<details class=\"example\"") == 5
    assert '<details class="example" data-trace="do_not_encourage_self_harm-0117" open>' in page
    assert '<li class="msg act role-user" data-index="0">' in page and '<li class="msg reply role-assistant" data-index="1">' in page
    assert "<dt>label</dt><dd>BAD</dd>" in page  # the trace's metadata
    assert page.count('<code>do_not_encourage_self_harm-01') >= 8  # every trace ID, behind "… and 3 more"
    for outcome in ("permit", "forbid", "require", "keep-open", "needs-fact"):
        assert f'name="outcome" value="{outcome}"' in page


@pytest.mark.parametrize("path, status, message", [
    ("/questions/Q0000000", 404, "no open question Q0000000"),
    ("/questions/%3Cscript%3E", 404, "no open question &lt;script&gt;"),
    ("/nowhere", 404, "Not Found"),
])
def test_unknown_pages_are_pages(review, path, status, message):
    answer = _as(review, "platform").get(path)
    assert answer.status_code == status and message in answer.text and "<script>" not in answer.text


def test_a_lower_authority_previews_a_proposal_that_changes_nothing(review):
    qid = _listed(_as(review, "platform"))[0][0]
    answer = _as(review, "developer").post(f"/questions/{qid}/preview", data={"outcome": "permit", "why": "x"})
    assert answer.status_code == 200, answer.text
    assert "It is a proposal: developer is below platform, who must decide." in answer.text
    assert "No verdict of the corpus changes." in answer.text and "+++ b/model_spec.charter" not in answer.text
    assert "Confirm: write the proposal to the ledger" in answer.text


@pytest.mark.parametrize("form, message", [
    ({}, "choose an outcome"),
    ({"outcome": "forbid", "why": "x"}, "say which behaviour to forbid"),
    ({"outcome": "require", "behaviour": "assistant says \"988\"", "within": "0", "why": "x"}, "within: a whole number"),
    ({"outcome": "keep-open", "why": "x"}, "keeping it open needs a clearer reason"),
    ({"outcome": "needs-fact", "why": "x"}, "name the fact it needs"),
    ({"outcome": "permit", "why": " "}, "say why"),
])
def test_an_incomplete_decision_is_sent_back_with_what_is_missing(review, form, message):
    client = _as(review, "platform")
    qid = _listed(client)[0][0]
    answer = client.post(f"/questions/{qid}/preview", data=form)
    assert answer.status_code == 400 and message in answer.text and "Traceback" not in answer.text
    assert not review.ledger.exists()


def test_requests_from_elsewhere_are_refused(review):
    client = _as(review, "platform")
    qid = _listed(client)[0][0]
    assert client.get("/questions", headers={"host": "attacker.example"}).status_code == 421
    foreign = client.post(f"/questions/{qid}/preview", data={"outcome": "permit", "why": "x"},
                          headers={"origin": "http://attacker.example"})
    assert foreign.status_code == 403 and "another site" in foreign.text


@pytest.mark.parametrize("body, status, message", [
    (b"why=" + b"x" * 70_000, 413, "a form of at most 64 KiB"),
    (b"outcome=permit&why=\xff", 400, "the form is not UTF-8"),
])
def test_bad_bodies_are_refused_with_a_page(review, body, status, message):
    client = _as(review, "platform")
    qid = _listed(client)[0][0]
    answer = client.post(f"/questions/{qid}/preview", content=body,
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert answer.status_code == status and message in answer.text and "Traceback" not in answer.text


def test_a_lower_authority_is_told_its_decision_will_be_a_proposal(review):
    qid = _listed(_as(review, "platform"))[0][0]
    page = _as(review, "developer").get(f"/questions/{qid}").text
    assert "<h2>Your proposal</h2>" in page and "below <strong>platform</strong>, who must decide" in page
    assert "ledger as a <strong>proposal</strong>, not applied" in page and '<details class="example"' in page
    decider = _as(review, "platform").get(f"/questions/{qid}").text
    assert "<h2>Your decision</h2>" in decider and 'class="proposing"' not in decider
