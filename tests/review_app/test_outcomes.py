"""The outcomes that do not settle a question: keeping it open moves it to another
authority with a clearer reason; asking for a fact is recorded and the question stays."""

from __future__ import annotations

import re

import httpx

from ._support import running

PRIVATE = "Q095e333"  # private_prompt_requests, escalated to developer


def _as(url: str, authority: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=120)
    client.post("/identity", data={"authority": authority, "name": name})
    return client


def _ids(client: httpx.Client) -> list[str]:
    """The questions waiting for the client's authority (not those above it, to propose on)."""
    mine = client.get("/questions").text.partition('<section class="card above">')[0]
    return re.findall(r'data-question="(Q[0-9a-f]{7})"', mine)


def test_keep_open_then_needs_fact_then_a_disagreement(tmp_path):
    with running(tmp_path) as review:
        developer = _as(review.url, "developer", "Lin Chen")
        assert _ids(developer) == [PRIVATE]
        # kept open with a clearer reason, for platform: it leaves developer's list
        answer = developer.post(f"/questions/{PRIVATE}/confirm", data={
            "outcome": "keep-open", "reason": "may the system prompt be quoted to the user?",
            "escalate_to": "platform", "why": "Platform owns disclosure."})
        assert answer.status_code == 303, answer.text
        assert _ids(developer) == []
        policy = review.policy.read_text()
        assert 'unspecified "may the system prompt be quoted to the user?" escalate to platform' in policy
        platform = _as(review.url, "platform", "Dana Ruiz")
        page = platform.get("/questions").text
        assert "may the system prompt be quoted to the user?" in page and PRIVATE not in page
        moved = next(q for q in _ids(platform) if f'href="/questions/{q}"' in page
                     and "may the system prompt" in page.split(f'href="/questions/{q}"', 1)[1].split("</li>", 1)[0])
        # a fact is asked for: recorded in the ledger, the question stays, and says so
        answer = platform.post(f"/questions/{moved}/confirm", data={
            "outcome": "needs-fact", "fact": "trace.meta.prompt_is_public", "why": "Depends on the prompt's licence."})
        assert answer.status_code == 303, answer.text
        assert "outcome: needs fact trace.meta.prompt_is_public" in review.ledger.read_text()
        assert moved in _ids(platform)
        assert "<code>needs fact trace.meta.prompt_is_public</code> — Depends on the prompt&#x27;s licence." in \
            platform.get(f"/questions/{moved}").text
        # the same authority deciding otherwise now is a disagreement: shown, nothing written
        ledger, policy = review.ledger.read_text(), review.policy.read_text()
        answer = platform.post(f"/questions/{moved}/confirm", data={"outcome": "permit", "why": "Changed my mind."})
        assert answer.status_code == 409 and "a disagreement to settle" in answer.text
        assert (review.ledger.read_text(), review.policy.read_text()) == (ledger, policy)
