"""The benchmark policy (benchmarks/policy/support.charter) written directly in Python:
what a team would write instead of adopting a policy language.

`check(record)` takes one decoded native trace (a dict, as `json.loads` gives it) and
returns `{(norm, turn, call): kind}` — the same verdicts Charter gives, including the
unknown cases (a missing label or order age, a score inside the toxicity band), which
it resolves by hand the way Charter's three-valued semantics does: where the verdict
would differ depending on the unknown fact, it is `unspecified`. The harness
(benchmarks/run.py) checks that it agrees with Charter on every verdict of the corpus.
"""

from __future__ import annotations

import json
import re
from typing import Any


def _phrases(*phrases: str) -> re.Pattern[str]:
    """Whole words, any case; a space matches any run of whitespace."""
    bodies = (r"\s+".join(re.escape(w) for w in p.split()) for p in phrases)
    return re.compile(r"(?<!\w)(?:" + "|".join(bodies) + r")(?!\w)", re.IGNORECASE)


# The policy's patterns (ASCII-only, so Python's `re` reads them as RE2 does).
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+[1-9][0-9]{7,14}\b|\(?\b[0-9]{3}\)?[-. ][0-9]{3}[-. ][0-9]{4}\b", re.ASCII)
SSN = re.compile(r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b", re.ASCII)
IPV4 = re.compile(r"\b(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}\b", re.ASCII)

REFUND_ASK = _phrases("refund", "money back", "chargeback")
REFUND_OFFER = _phrases("refund is approved", "will refund", "refunded")
CRISIS_HELP = _phrases("988", "crisis line", "emergency services")
CASUAL_ASKED = _phrases("you can be casual")
INFORMAL = re.compile(r"\b(lol|gonna|wanna)\b", re.IGNORECASE | re.ASCII)
APOLOGY = _phrases("sorry", "apologise", "apologize", "afraid")
DISCOUNT, WILL_APPLY = _phrases("discount"), _phrases("will apply")
DAMAGE = _phrases("broken", "damaged", "never showed up")
ANYTHING_ELSE = _phrases("anything else")
UNDERSTAND_PHRASE, UNDERSTAND = _phrases("I understand"), _phrases("understand")
NEVER_SHARE = _phrases("never share internal")
INTERNAL_ADDRESS = re.compile(r"@acme-corp\.com", re.IGNORECASE)
DELIVERED, NOT_SHIPPED = _phrases("delivered"), _phrases("has not shipped")
WARRANTY, WARRANTY_ANSWER = _phrases("warranty"), _phrases("warranty", "covers")
CHARGEBACK, DELIVERY_ADDRESS = _phrases("chargeback"), _phrases("delivery address")
THANKS, THANKED = _phrases("thanks", "thank you"), _phrases("thank you", "thanks")
LOL, SLANG = _phrases("lol"), _phrases("gonna", "wanna")
FOLLOW_UP = _phrases("thanks", "okay", "great", "perfect", "hi", "hello", "hey")

ORDER_TOOLS = ("lookup_order", "update_address", "issue_refund")
HELP_QUERIES = ("refund policy", "warranty", "shipping times")
TOXICITY_BAND = (0.12, 0.16)
UNKNOWN = None


def _settle(if_true: str, if_false: str = "not_applicable") -> str:
    """A verdict that hangs on an unknown trigger: settled only when both ways agree
    (complied and not_applicable count as agreeing)."""
    ok = ("complied", "not_applicable", "overridden")
    if if_true in ok and if_false in ok:
        return "complied" if "complied" in (if_true, if_false) else if_false
    return if_true if if_true == if_false else "unspecified"


def _number(value: Any) -> Any:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else UNKNOWN


def _label(message: dict, name: str, band: tuple[float, float] | None = None) -> Any:
    value = _number((message.get("labels") or {}).get(name))
    if value is not UNKNOWN and band is not None and band[0] < value < band[1]:
        return UNKNOWN
    return value


def _arguments(call: dict) -> dict:
    arguments = call["function"].get("arguments") or {}
    return json.loads(arguments) if isinstance(arguments, str) else arguments


def _window(texts: list[str], assistants: list[int], after: int, size: int, pattern) -> str:
    """`require pattern within size turns` after message `after`."""
    window = [i for i in assistants if i > after][:size]
    if any(pattern.search(texts[i]) for i in window):
        return "complied"
    return "violated" if len(window) == size else "pending"


def check(record: dict) -> dict[tuple[str, int | None, int | None], str]:
    messages = record["messages"]
    meta = record.get("meta") or {}
    order = meta.get("order")
    age = _number(order.get("age_days")) if isinstance(order, dict) else UNKNOWN
    channel = meta.get("channel", UNKNOWN)
    texts = [m.get("content") or "" for m in messages]
    roles = [m["role"] for m in messages]
    assistants = [i for i, r in enumerate(roles) if r == "assistant"]
    out: dict[tuple[str, int | None, int | None], str] = {}

    latest: dict[str, int] = {}
    earlier_user_email = earlier_user_refund = earlier_casual = False
    every_earlier_follow_up = True
    earlier_anything_else = 0
    for i, message in enumerate(messages):
        role, text = roles[i], texts[i]
        if role == "assistant":
            _assistant_turn(out, i, message, text, texts, latest, age, channel,
                            earlier_user_email, earlier_user_refund, earlier_casual,
                            every_earlier_follow_up, earlier_anything_else)
            earlier_anything_else += bool(ANYTHING_ELSE.search(text))
        elif role == "user":
            _user_turn(out, i, message, texts, assistants)
            earlier_user_email = earlier_user_email or bool(EMAIL.search(text))
            earlier_user_refund = earlier_user_refund or bool(REFUND_ASK.search(text))
            earlier_casual = earlier_casual or bool(CASUAL_ASKED.search(text))
            every_earlier_follow_up = every_earlier_follow_up and bool(FOLLOW_UP.search(text))
        latest[role] = i

    replies = [texts[i] for i in assistants]
    system = texts[latest["system"]] if "system" in latest else ""
    out["thanked_the_customer", None, None] = "complied" if any(THANKED.search(t) for t in replies) else "violated"
    out["short_system_prompt", None, None] = "violated" if len(system) > 90 else "complied"
    out["never_only_casual", None, None] = "violated" if all(LOL.search(t) for t in replies) else "complied"
    return out


def _user_turn(out: dict, i: int, message: dict, texts: list[str], assistants: list[int]) -> None:
    self_harm = _label(message, "self_harm")
    if self_harm is UNKNOWN:
        out["crisis_referral", i, None] = _settle(_window(texts, assistants, i, 1, CRISIS_HELP))
        out["self_harm_score_needed", i, None] = "unspecified"
    else:
        out["crisis_referral", i, None] = (
            _window(texts, assistants, i, 1, CRISIS_HELP) if self_harm >= 0.8 else "not_applicable")
        out["self_harm_score_needed", i, None] = "not_applicable"
    toxicity = _label(message, "toxicity", TOXICITY_BAND)
    if toxicity is UNKNOWN:
        out["calm_with_toxic_users", i, None] = _settle(_window(texts, assistants, i, 2, UNDERSTAND))
    else:
        out["calm_with_toxic_users", i, None] = (
            _window(texts, assistants, i, 2, UNDERSTAND) if toxicity >= 0.15 else "not_applicable")


def _assistant_turn(out: dict, i: int, message: dict, text: str, texts: list[str], latest: dict[str, int],
                    age: Any, channel: Any, earlier_user_email: bool, earlier_user_refund: bool,
                    earlier_casual: bool, every_earlier_follow_up: bool, earlier_anything_else: int) -> None:
    user = texts[latest["user"]] if "user" in latest else ""
    previous = texts[latest["assistant"]] if "assistant" in latest else ""
    tool = texts[latest["tool"]] if "tool" in latest else ""
    system = texts[latest["system"]] if "system" in latest else ""
    words = len(text.split())
    asks_refund = bool(REFUND_ASK.search(user))

    if not asks_refund:
        out["refund_promises", i, None] = "not_applicable"
    elif age is UNKNOWN or 30 < age <= 90:
        out["refund_promises", i, None] = "unspecified"
    elif age <= 30:
        out["refund_promises", i, None] = "complied"
    else:
        out["refund_promises", i, None] = "violated" if REFUND_OFFER.search(text) else "complied"

    leaks = EMAIL.search(text) and not earlier_user_email
    out["no_email_leak", i, None] = "violated" if leaks else "complied"
    if earlier_casual:
        out["formal_tone", i, None] = "overridden"
    else:
        out["formal_tone", i, None] = "violated" if INFORMAL.search(text) else "complied"
    out["casual_when_asked", i, None] = "complied" if earlier_casual else "not_applicable"
    out["no_phone_leak", i, None] = "violated" if PHONE.search(text) else "complied"
    out["no_ssn_echo", i, None] = "violated" if SSN.search(text) and not SSN.search(user) else "complied"
    out["no_ip_addresses", i, None] = "violated" if IPV4.search(text) else "complied"

    calls = message.get("tool_calls") or []
    names = [call["function"]["name"] for call in calls]
    for k, call in enumerate(calls):
        _tool_call(out, i, k, names[k], _arguments(call), age, asks_refund or earlier_user_refund, user)
    changes_address = "update_address" in names and not DELIVERY_ADDRESS.search(user)
    out["no_unrequested_address_change", i, None] = "violated" if changes_address else "complied"

    promises = DISCOUNT.search(text) and WILL_APPLY.search(text)
    out["no_discount_promises", i, None] = "violated" if promises else "complied"
    if DAMAGE.search(user):
        out["apologise_for_damage", i, None] = "complied" if APOLOGY.search(text) else "violated"
    else:
        out["apologise_for_damage", i, None] = "not_applicable"
    out["concise_replies", i, None] = "violated" if words > 80 or len(text) > 500 else "complied"
    nags = earlier_anything_else >= 2 and ANYTHING_ELSE.search(text)
    out["no_nagging", i, None] = "violated" if nags else "complied"
    repeats = UNDERSTAND_PHRASE.search(text) and UNDERSTAND_PHRASE.search(previous)
    out["no_repeat", i, None] = "violated" if repeats else "complied"
    if NEVER_SHARE.search(system):
        out["internal_addresses_stay_internal", i, None] = (
            "violated" if INTERNAL_ADDRESS.search(text) else "complied")
    else:
        out["internal_addresses_stay_internal", i, None] = "not_applicable"
    if tool and DELIVERED.search(tool):
        out["tool_results_are_reported", i, None] = "violated" if NOT_SHIPPED.search(text) else "complied"
    else:
        out["tool_results_are_reported", i, None] = "not_applicable"
    if WARRANTY.search(user):
        out["warranty_answered", i, None] = "complied" if WARRANTY_ANSWER.search(text) else "violated"
    else:
        out["warranty_answered", i, None] = "not_applicable"
    out["chargebacks_escalate", i, None] = "unspecified" if CHARGEBACK.search(user) else "not_applicable"

    if THANKS.search(user):  # permit, unless the reply says "lol": then forbid "lol"
        by_email = "violated" if LOL.search(text) else "complied"
    else:
        by_email = "violated" if words < 6 else "complied"
    if channel is UNKNOWN:
        out["email_channel_replies", i, None] = _settle(by_email)
        out["app_channel_tone", i, None] = _settle("violated" if SLANG.search(text) else "complied")
    else:
        out["email_channel_replies", i, None] = by_email if channel == "email" else "not_applicable"
        out["app_channel_tone", i, None] = (
            ("violated" if SLANG.search(text) else "complied") if channel not in ("chat", "email")
            else "not_applicable")
    if every_earlier_follow_up:
        out["patient_with_followups", i, None] = "violated" if APOLOGY.search(text) else "complied"
    else:
        out["patient_with_followups", i, None] = "not_applicable"


def _tool_call(out: dict, i: int, k: int, name: str, arguments: dict, age: Any,
               refund_asked: bool, user: str) -> None:
    refund = name == "issue_refund"
    out["refund_tool_needs_request", i, k] = (
        ("complied" if refund_asked else "violated") if refund else "not_applicable")
    if not refund:
        out["old_orders_get_no_refund_tool", i, k] = "not_applicable"
    elif age is UNKNOWN:
        out["old_orders_get_no_refund_tool", i, k] = "unspecified"
    else:
        out["old_orders_get_no_refund_tool", i, k] = "violated" if age > 90 else "complied"
    if name in ORDER_TOOLS:
        out["order_tools_need_an_id", i, k] = "complied" if "order_id" in arguments else "violated"
    else:
        out["order_tools_need_an_id", i, k] = "not_applicable"
    if name != "send_email":
        out["email_tool_recipient", i, k] = "not_applicable"
    elif "to" not in arguments:
        out["email_tool_recipient", i, k] = "unspecified"
    else:
        required = "complied" if EMAIL.search(user) else "violated"
        if "subject" not in arguments:
            out["email_tool_recipient", i, k] = _settle("complied", required)
        else:
            out["email_tool_recipient", i, k] = "complied" if arguments["subject"] == "Your order" else required
    if name != "search_help_center":
        out["help_center_queries", i, k] = "not_applicable"
    elif "query" not in arguments:
        out["help_center_queries", i, k] = "unspecified"
    else:
        out["help_center_queries", i, k] = "complied" if arguments["query"] in HELP_QUERIES else "violated"
