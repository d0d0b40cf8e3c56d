"""Built-in checks: Python predicates on matched text that a pattern can require.

`pattern card = /…/ where payment_card` keeps a regex match only if the check accepts the
matched text. Regexes find shapes; checks confirm what a regex cannot say (a Luhn digit,
an IBAN's mod-97 checksum, a real IPv6 address). Every check is registered here, once,
with a one-line doc and a `sample(random)` that builds text the check accepts, so that
trace generators can produce valid instances.

The checker validates `where NAME` against `BUILTINS`; the compiler looks the function up
once per pattern, so matching never consults the registry.
"""

from __future__ import annotations

import ipaddress
import random
import re
import string
from typing import Callable, Mapping

import attrs

__all__ = ["Builtin", "BUILTINS"]


@attrs.frozen
class Builtin:
    """A named check: `check(text)` decides a match; `sample(rng)` builds text it accepts."""

    name: str
    doc: str
    check: Callable[[str], bool]
    sample: Callable[[random.Random], str]


_NOT_DIGITS = re.compile(r"[^0-9]")


def _digits(text: str) -> str:
    return _NOT_DIGITS.sub("", text)


# --------------------------------------------------------------------------- Luhn and cards


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) checksum of the digits in `number` (separators ignored)."""
    digits = _digits(number)
    if len(digits) < 2:
        return False
    doubled = sum(_LUHN_DOUBLED[int(c)] for c in digits[-2::-2])
    return (sum(map(int, digits[-1::-2])) + doubled) % 10 == 0


# A digit doubled, its two digits summed (Luhn doubles every second digit from the right).
_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_complete(prefix: str) -> str:
    """`prefix` followed by the check digit that makes it Luhn-valid."""
    return next(prefix + d for d in "0123456789" if luhn_valid(prefix + d))


# Issuer identification number ranges (inclusive, as prefixes of equal length) and the
# card lengths each network issues.
CARD_NETWORKS: dict[str, tuple[tuple[int, int], tuple[int, ...]]] = {
    "visa": ((4, 4), (13, 16, 19)),
    "mastercard": ((51, 55), (16,)),
    "mastercard 2-series": ((2221, 2720), (16,)),
    "amex": ((34, 34), (15,)),
    "amex 37": ((37, 37), (15,)),
    "discover": ((6011, 6011), (16, 19)),
    "discover 644": ((644, 649), (16, 19)),
    "discover 65": ((65, 65), (16, 19)),
    "jcb": ((3528, 3589), (16, 19)),
    "diners": ((300, 305), (14,)),
    "diners 36": ((36, 36), (14,)),
    "unionpay": ((62, 62), (16, 17, 18, 19)),
}


def card_network(number: str) -> str | None:
    """The network whose IIN range and length fit the digits of `number`, if any."""
    digits = _digits(number)
    if not 12 < len(digits) < 20:
        return None
    for network, ((low, high), lengths) in CARD_NETWORKS.items():
        if len(digits) in lengths and low <= int(digits[:len(str(low))]) <= high:
            return network
    return None


def payment_card_valid(number: str) -> bool:
    return luhn_valid(number) and card_network(number) is not None


def sample_card(rng: random.Random) -> str:
    (low, high), lengths = CARD_NETWORKS[rng.choice(sorted(CARD_NETWORKS))]
    prefix = str(rng.randint(low, high))
    length = rng.choice(lengths)
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


# --------------------------------------------------------------------------- IBAN

# ISO 13616 registry: the IBAN length of each country that issues them.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


# ISO 7064 reads the letters of an IBAN as numbers: A=10 … Z=35.
_IBAN_LETTERS = str.maketrans({c: str(int(c, 36)) for c in string.ascii_uppercase})


def _iban_remainder(text: str) -> int:
    """The mod-97 remainder of an IBAN-ordered string, letters counted as 10..35."""
    return int(text.translate(_IBAN_LETTERS)) % 97


def iban_valid(text: str) -> bool:
    """Country length and the ISO 7064 mod-97 checksum of an IBAN (spaces ignored)."""
    iban = text.replace(" ", "").upper()
    if not iban.isalnum() or IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit():
        return False
    return _iban_remainder(iban[4:] + iban[:4]) == 1


def iban_with_checksum(country: str, bban: str) -> str:
    """The IBAN of `bban` in `country`, its two check digits computed."""
    check = 98 - _iban_remainder(bban + country + "00")
    return f"{country}{check:02d}{bban}"


def sample_iban(rng: random.Random) -> str:
    country = rng.choice(sorted(IBAN_LENGTHS))
    bban = "".join(rng.choice(string.digits) for _ in range(IBAN_LENGTHS[country] - 4))
    return iban_with_checksum(country, bban)


# --------------------------------------------------------------------------- other identifiers


def us_ssn_valid(text: str) -> bool:
    """Issued SSNs: area not 000, 666 or 900-999; group not 00; serial not 0000."""
    digits = _digits(text)
    if len(digits) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def sample_ssn(rng: random.Random) -> str:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def phone_valid(text: str) -> bool:
    """A plausible phone number: 7 to 15 digits (E.164 allows at most 15)."""
    return 7 <= len(_digits(text)) <= 15


def sample_phone(rng: random.Random) -> str:
    return f"+{rng.randint(1, 99)}{rng.randint(10**8, 10**10 - 1)}"


def ipv6_valid(text: str) -> bool:
    """An IPv6 address as Python's ipaddress reads it (compressed, full or IPv4-suffixed)."""
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def sample_ipv6(rng: random.Random) -> str:
    return str(ipaddress.IPv6Address(rng.getrandbits(128) | (0x2001 << 112)))


_PEM = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----(.*?)-----END ((?:[A-Z0-9]+ )*PRIVATE KEY)-----",
    re.DOTALL,
)
_PEM_HEADER = re.compile(r"^[A-Za-z-]+: .*$", re.MULTILINE)


def pem_private_key_valid(text: str) -> bool:
    """A PEM private-key block: BEGIN and END name the same key type and the body is
    base64 (headers such as `Proc-Type:` allowed), at least 32 characters of it."""
    found = _PEM.fullmatch(text.strip())
    if found is None or found.group(1) != found.group(3):
        return False
    body = "".join(_PEM_HEADER.sub("", found.group(2)).split())
    return len(body) >= 32 and re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", body) is not None


def sample_pem(rng: random.Random) -> str:
    kind = rng.choice(["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "])
    alphabet = string.ascii_letters + string.digits + "+/"
    lines = ["".join(rng.choice(alphabet) for _ in range(64)) for _ in range(rng.randint(1, 4))]
    return "\n".join([f"-----BEGIN {kind}PRIVATE KEY-----", *lines, f"-----END {kind}PRIVATE KEY-----"])


def _builtins(*entries: Builtin) -> Mapping[str, Builtin]:
    return {entry.name: entry for entry in entries}


BUILTINS: Mapping[str, Builtin] = _builtins(
    Builtin("luhn", "the digits pass the Luhn (mod 10) checksum", luhn_valid,
            lambda rng: luhn_complete("".join(rng.choice(string.digits) for _ in range(15)))),
    Builtin("payment_card", "a card number: a real IIN range and length, and the Luhn checksum",
            payment_card_valid, sample_card),
    Builtin("iban", "an IBAN: the country's length and the ISO 7064 mod-97 checksum", iban_valid, sample_iban),
    Builtin("us_ssn", "a US SSN that can be issued (no 000/666/9xx area, 00 group or 0000 serial)",
            us_ssn_valid, sample_ssn),
    Builtin("phone", "7 to 15 digits, the range of real phone numbers", phone_valid, sample_phone),
    Builtin("ipv6", "an IPv6 address (full, compressed or with an IPv4 tail)", ipv6_valid, sample_ipv6),
    Builtin("pem_private_key", "a whole PEM private-key block: matching BEGIN/END and a base64 body",
            pem_private_key_valid, sample_pem),
)
