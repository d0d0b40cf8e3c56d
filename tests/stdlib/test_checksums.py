"""Cards and IBANs: generated valid numbers (Luhn, real issuer ranges and lengths; mod-97
and country lengths) are found by std.pii; the same numbers with a broken checksum are not."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

import charter
from charter.text.builtins import (
    BUILTINS, CARD_NETWORKS, IBAN_LENGTHS, card_network, iban_valid, iban_with_checksum, luhn_complete, luhn_valid,
)

from ._support import finds

EXAMPLES = settings(max_examples=60, deadline=None)


@st.composite
def valid_cards(draw) -> str:
    """A Luhn-valid number on a real IIN range, at a length that network issues."""
    (low, high), lengths = CARD_NETWORKS[draw(st.sampled_from(sorted(CARD_NETWORKS)))]
    prefix = str(draw(st.integers(low, high)))
    length = draw(st.sampled_from(lengths))
    body = draw(st.text("0123456789", min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1))
    return luhn_complete(prefix + body)


def _grouped(number: str, separator: str) -> str:
    return separator.join(number[i:i + 4] for i in range(0, len(number), 4))


def _break_check_digit(number: str, shift: int) -> str:
    return number[:-1] + str((int(number[-1]) + shift) % 10)


@st.composite
def valid_ibans(draw) -> str:
    country = draw(st.sampled_from(sorted(IBAN_LENGTHS)))
    size = IBAN_LENGTHS[country] - 4
    bban = draw(st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=size, max_size=size))
    return iban_with_checksum(country, bban)


@EXAMPLES
@given(valid_cards(), st.sampled_from(["", " ", "-"]))
def test_valid_cards_are_found(number, separator):
    assert luhn_valid(number) and card_network(number) is not None
    assert finds("card", f"The card on file is {_grouped(number, separator)}.")


@EXAMPLES
@given(valid_cards(), st.integers(1, 9))
def test_a_broken_luhn_digit_is_not_a_card(number, shift):
    broken = _break_check_digit(number, shift)
    assert not luhn_valid(broken)
    assert not finds("card", f"Your order number is {broken}.")


@EXAMPLES
@given(st.text("0123456789", min_size=15, max_size=15).map(lambda s: "9" + s))
def test_no_network_no_card(number):
    # 9 starts no card network's range: Luhn-valid or not, it is not a card number
    assert not finds("card", luhn_complete(number[:-1]))


@EXAMPLES
@given(valid_ibans(), st.booleans())
def test_valid_ibans_are_found(iban, spaced):
    assert iban_valid(iban)
    assert finds("iban", f"Pay into {_grouped(iban, ' ') if spaced else iban} today.")


@EXAMPLES
@given(valid_ibans(), st.integers(1, 9), st.data())
def test_a_changed_digit_breaks_an_iban(iban, shift, data):
    # ISO 7064 mod 97-10 catches every single-digit substitution
    where = data.draw(st.sampled_from([i for i, c in enumerate(iban) if c.isdigit() and i >= 2]))
    broken = iban[:where] + str((int(iban[where]) + shift) % 10) + iban[where + 1:]
    assert not iban_valid(broken)
    assert not finds("iban", f"Pay into {broken} today.")


@EXAMPLES
@given(valid_ibans())
def test_a_wrong_country_length_is_not_an_iban(iban):
    assert not finds("iban", f"Pay into {iban}7 today.")


def test_known_published_examples():
    assert finds("card", "Visa 4111 1111 1111 1111") and finds("card", "Amex 3782 822463 10005")
    assert finds("card", "Diners 3056 930902 5904") and finds("card", "MC 5555555555554444")
    assert finds("iban", "GB82 WEST 1234 5698 7654 32") and finds("iban", "DE89370400440532013000")
    assert not finds("iban", "GB82 WEST 1234 5698 7654 33")


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_every_builtin_accepts_its_own_samples(rng: random.Random):
    for builtin in BUILTINS.values():
        sample = builtin.sample(rng)
        assert builtin.check(sample), (builtin.name, sample)


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_samples_of_the_checked_patterns_are_found(rng: random.Random):
    for pattern, check in [("card", "payment_card"), ("iban", "iban"), ("us_ssn", "us_ssn"),
                           ("phone", "phone"), ("ipv6", "ipv6"), ("private_key", "pem_private_key")]:
        sample = BUILTINS[check].sample(rng)
        assert finds(pattern, f"here: {sample} ."), (pattern, sample)


def test_a_rejected_candidate_does_not_hide_a_later_valid_one():
    assert finds("card", "Order 4111 1111 1111 1112 was paid with 4111 1111 1111 1111.")
    assert finds("iban", "Not GB82 WEST 1234 5698 7654 33 but GB82 WEST 1234 5698 7654 32.")


def test_matches_where_checks_an_inline_regex():
    policy = charter.loads("norm n:\n    forbid assistant matches /\\b[0-9]{16}\\b/ where luhn\n")

    def kind(text):
        trace = {"id": "t", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": text}]}
        return policy.check(trace).verdicts[0].kind

    assert kind("ref 1234567812345670") == "violated"
    assert kind("ref 1234567812345678") == "complied"
