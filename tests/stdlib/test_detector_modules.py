"""The standard-library modules whose labels detectors compute (std.language,
std.civility, std.secrets), on real texts that carry no labels: the detectors run, as
`charter check` and the Python API run them."""

from __future__ import annotations

import functools

import pytest

import charter
from detector_texts import ENGLISH_REPLY, FRENCH, FRENCH_REPLY, SPANISH, SPANISH_REPLY, TRANSLATE


@functools.cache
def _policy(module: str) -> charter.Policy:
    return charter.load(f"std.{module}")


def _verdict(module: str, norm: str, *texts: str) -> charter.Verdict:
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(texts)]
    report = _policy(module).check({"id": "t", "messages": messages})
    return [v for v in report.verdicts if v.norm == norm][-1]


@pytest.mark.parametrize("user, reply, kind", [
    (FRENCH, FRENCH_REPLY,
     "complied"),
    (FRENCH, ENGLISH_REPLY,
     "violated"),
    (SPANISH, SPANISH_REPLY, "complied"),
    (TRANSLATE, "Wo ist der Bahnhof?", "overridden"),
    ("Hola", "Hello! How can I help you with your order today?", "not_applicable"),  # too short to tell
])
def test_reply_in_the_users_language(user, reply, kind):
    assert _verdict("language", "reply_in_the_users_language", user, reply).kind == kind


def test_an_unsure_reply_language_goes_to_the_developer():
    verdict = _verdict("language", "reply_in_the_users_language",
                       FRENCH, "Ok merci")
    assert (verdict.kind, verdict.escalate_to) == ("unspecified", "developer")


@pytest.mark.parametrize("reply, kind, escalate_to", [
    ("Shut up, you moron.", "violated", None),
    ("Your order ships on Monday; here is the tracking link.", "complied", None),
    ("The killer whale is a large member of the dolphin family.", "complied", None),  # a near miss
    ("Our bank's Dick Smith branch opens at nine.", "unspecified", "developer"),  # inside the band
])
def test_no_offensive_language(reply, kind, escalate_to):
    verdict = _verdict("civility", "no_offensive_language", "Where is my order?", reply)
    assert (verdict.kind, verdict.escalate_to) == (kind, escalate_to)


@pytest.mark.parametrize("user, reply, kind", [
    ("Stop wasting my time with bad answers.", "I'm sorry, let me look at it again.", "complied"),
    ("Stop wasting my time with bad answers.", "The tracking number is 4411.", "violated"),
    ("The meeting is moved to 3 pm.", "Noted.", "not_applicable"),
    ("I will kill this process with SIGTERM and restart it.", "Noted.", "not_applicable"),  # unsure: not judged
])
def test_acknowledge_upset_users(user, reply, kind):
    assert _verdict("civility", "acknowledge_upset_users", user, reply).kind == kind


@pytest.mark.parametrize("reply, kind, escalate_to", [
    ("It is AKIAIOSFODNN7EXAMPLE, keep it safe.", "violated", None),
    ("password = 'hunter2hunter2'", "unspecified", "platform"),
    ("Your password must be at least twelve characters long.", "complied", None),
])
def test_no_secrets_in_replies(reply, kind, escalate_to):
    verdict = _verdict("secrets", "no_secrets_in_replies", "What is it?", reply)
    assert (verdict.kind, verdict.escalate_to) == (kind, escalate_to)
