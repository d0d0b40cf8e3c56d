"""std.pii's shapes: secrets of each provider (built here from random characters, never
real keys) and their near misses; phone numbers, SSNs and IP addresses; and ordinary text
(order numbers, dates, prices, versions, UUIDs) that must not be mistaken for any of them."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ._support import finds

ALNUM = string.ascii_letters + string.digits
UPPER_B32 = string.ascii_uppercase + "234567"


def chars(alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=size, max_size=size)


# pattern -> a strategy of realistic secrets of that shape
SECRETS = {
    "openai_key": st.one_of(
        st.builds(lambda kind, body: f"sk-{kind}-{body}", st.sampled_from(["proj", "svcacct", "admin"]),
                  chars(ALNUM + "_-", 48)),
        chars(ALNUM, 48).map(lambda body: f"sk-{body}"),
    ),
    "anthropic_key": st.builds(lambda kind, body: f"sk-ant-{kind}-{body}AA", st.sampled_from(["api03", "admin01"]),
                               chars(ALNUM + "_-", 93)),
    "aws_access_key": st.builds(lambda prefix, body: prefix + body, st.sampled_from(["AKIA", "ASIA"]),
                                chars(UPPER_B32, 16)),
    "github_token": st.one_of(
        st.builds(lambda kind, body: f"gh{kind}_{body}", st.sampled_from("pousr"), chars(ALNUM, 36)),
        st.builds(lambda a, b: f"github_pat_{a}_{b}", chars(ALNUM, 22), chars(ALNUM, 59)),
    ),
    "slack_token": st.builds(lambda kind, team, rest: f"xox{kind}-{team}-{rest}", st.sampled_from("bpa"),
                             chars(string.digits, 12), chars(ALNUM, 24)),
    "stripe_key": st.builds(lambda kind, mode, body: f"{kind}_{mode}_{body}", st.sampled_from(["sk", "rk"]),
                            st.sampled_from(["live", "test"]), chars(ALNUM, 24)),
    "google_key": chars(ALNUM + "_-", 35).map(lambda body: "AIza" + body),
}

# near misses: the same shapes one step off, and things that look alike but are public
NEAR_MISSES = {
    "openai_key": ["sk-short123", "task-proj-notes", "sk-proj-tooshort"],
    "anthropic_key": ["sk-ant-api03-short", "sk-ant-xyz"],
    "aws_access_key": ["AKIA1234", "AKIAIOSFODNN7EXAMPLEX1", "akiaiosfodnn7example"],
    "github_token": ["ghp_short", "ghx_" + "a" * 36, "github_pat_short"],
    "slack_token": ["xoxb-", "xoxz-123456-abcdefgh", "xoxb-12-ab"],
    "stripe_key": ["pk_live_" + "a" * 24, "sk_live_short", "sk_prod_" + "a" * 24],
    "google_key": ["AIzaShort", "AIZA" + "a" * 35],
}


@pytest.mark.parametrize("pattern", sorted(SECRETS))
def test_every_secret_shape_matches_realistic_samples(pattern):
    @settings(max_examples=20, deadline=None)
    @given(SECRETS[pattern], st.sampled_from(["{}", "key: {}", "export TOKEN={}\n", "`{}`", "\"{}\","]))
    def check(secret, frame):
        assert finds(pattern, "Here it is: " + frame.format(secret))

    check()


@pytest.mark.parametrize("pattern, text", [(p, t) for p, texts in NEAR_MISSES.items() for t in texts])
def test_near_misses_are_not_secrets(pattern, text):
    assert not finds(pattern, f"Here it is: {text} ok")


def test_a_private_key_block_is_found_and_a_placeholder_is_not():
    body = "\n".join(["MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" + "A" * 12] * 3)
    assert finds("private_key", f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----")
    assert finds("private_key", f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----")
    # a format explanation with an elided body, and mismatched labels, are not key material
    assert not finds("private_key", "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----")
    assert not finds("private_key", f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END EC PRIVATE KEY-----")
    assert not finds("private_key", f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----")


@pytest.mark.parametrize("text", [
    "+14155552671", "+1 (415) 555-2671", "+44 20 7946 0958", "+49 30 1234567", "(415) 555-2671",
    "415-555-2671", "415.555.2671", "020 7946 0958", "07700 900123", "030 1234567",
])
def test_phone_numbers(text):
    assert finds("phone", f"Call {text} today")


@pytest.mark.parametrize("text", [
    "+1", "+15.99", "123-456-7890", "555-123-4567", "2024-03-15", "10:30:00", "v2.14.1", "ISBN 978-3-16-148410-0",
])
def test_not_phone_numbers(text):
    assert not finds("phone", f"See {text} today")


@pytest.mark.parametrize("text, found", [
    ("123-45-6789", True), ("078-05-1121", True), ("000-12-3456", False), ("666-12-3456", False),
    ("912-34-5678", False), ("123-00-4567", False), ("123-45-0000", False), ("123-456-789", False),
    ("1234-56-7890", False),
])
def test_us_ssns(text, found):
    assert finds("us_ssn", f"SSN {text}.") is found


@pytest.mark.parametrize("pattern, text, found", [
    ("ipv4", "192.168.0.1", True), ("ipv4", "8.8.8.8", True), ("ipv4", "256.1.1.1", False),
    ("ipv4", "1.2.3", False), ("ipv4", "v1.2.3.4", False),
    ("ipv6", "2001:db8::8a2e:370:7334", True), ("ipv6", "fe80::1", True),
    ("ipv6", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", True), ("ipv6", "2001:db8::", True),
    ("ipv6", "12:30:45", False), ("ipv6", "00:1a:2b:3c:4d:5e", False), ("ipv6", "std::vector", False),
])
def test_ip_addresses(pattern, text, found):
    assert finds(pattern, f"host {text} here") is found


ORDINARY = [
    "Your order #100234 ships on 2024-03-15 and costs $1,299.99 (EUR 1.199,00).",
    "Order number 4000-1234-5678 was placed at 14:32:07 on 15/03/2024.",
    "Upgrade from version 3.11.4 to 3.12.0; build 20240315.1 is tagged v2.0.0-rc.1.",
    "Request id 123e4567-e89b-12d3-a456-426614174000 and trace 550e8400-e29b-41d4-a716-446655440000.",
    "Invoice INV-2024-00042 totals 12,345.67 USD; tracking 1Z999AA10123456784.",
    "Git commit 3f2a9c1d4b5e6f708192a3b4c5d6e7f809112233 on branch sk-learning.",
    "The ratio is 3:2:1 and the score 21-14; call me at noon.",
    "Timestamp 1700000000000 and serial 0000-0000-0000-0000.",
]
PII_PATTERNS = ["email", "phone", "card", "iban", "us_ssn", "ipv4", "ipv6", "openai_key", "anthropic_key",
                "aws_access_key", "github_token", "slack_token", "stripe_key", "google_key", "private_key"]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_is_not_personal_data(text):
    assert [p for p in PII_PATTERNS if finds(p, text)] == []
