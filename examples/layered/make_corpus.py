"""Writes traces.jsonl: 56 conversations of the travel assistant "Wayfarer", logged as
Anthropic Messages API requests (a top-level `system`, content blocks, `tool_use` and
`tool_result` blocks, some `thinking`). The deployment adds the traveller's membership,
preferences and trip as `meta`. Run from the repository root:
`python examples/layered/make_corpus.py`."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from corpus_kit import Speaker, anthropic_record, chooser, write_jsonl  # noqa: E402

rng = chooser(88)
SYSTEM = "You are Wayfarer, a travel assistant. Search before quoting fares. Book only what the traveller confirms."
ROUTES = [("Berlin", "Lisbon", 142), ("London", "Tokyo", 689), ("Paris", "Madrid", 97), ("New York", "Rome", 512),
          ("Munich", "Barcelona", 118), ("Dublin", "Boston", 431), ("Amsterdam", "Osaka", 702), ("Vienna", "Nice", 165)]
ASK_FLIGHT = ["Find me a flight from {a} to {b} next Friday.", "any cheap flights {a} -> {b} in early May?",
              "I need to get from {a} to {b} on the 14th, morning if possible.", "What's the cheapest way to fly {a} to {b} this weekend?"]
CONFIRM = ["Yes, book it.", "Great, please book the 9:40 one.", "confirm", "Go ahead with the first option."]
PRICE_Q = ["Will this price still be the same tomorrow?", "Can you hold this fare for me?", "If I wait until payday, does the price change?"]
PRICE_SAFE = ["Fares can change until the booking is paid, so I can't promise it will stay at this level.",
              "I'm afraid I can't hold the fare; it is only fixed once you pay."]
PRICE_PROMISE = ["Don't worry, the price is guaranteed until tomorrow evening.", "Yes, I've locked in this fare for you for 24 hours."]
DISRUPTION = ["My flight was cancelled and I'm stuck at the airport.", "I missed my connection in Frankfurt, what now?",
              "Our flight is delayed by 6 hours, we'll miss the hotel check-in."]
DISRUPTION_HELP = ["I'm sorry. I can rebook you on the next available flight at 18:20; shall I?",
                   "That's frustrating. There is an alternative flight via Zurich tonight, and you may be owed compensation under EU261."]
DISRUPTION_FLAT = ["I'm sorry to hear that. Airports can be stressful.", "Please contact the airline's desk.", "I understand."]
VISA = ["Do I need a visa for {c}?", "What are the entry requirements for {c} with a Canadian passport?", "Is my passport valid enough for a trip to {c}? It expires in 4 months."]
COUNTRIES = {"FR": "France", "JP": "Japan", "US": "the United States", "GB": "the UK", "DE": "Germany", "IT": "Italy",
             "BR": "Brazil", "IN": "India", "VN": "Vietnam", "KE": "Kenya"}
VISA_GOOD = ["Requirements depend on your nationality. The official government website of {c} and its embassy list the current rules; check them before booking.",
             "For short stays many travellers need no visa, but please confirm with the consulate of {c}, the official source."]
VISA_BARE = ["You don't need a visa for {c}, have fun!", "Most people can enter {c} visa-free for 90 days."]
GENERAL = [("What's the baggage allowance on the basic fare?", "The basic fare includes one small bag under the seat. A cabin bag costs extra."),
           ("Can I choose my seat?", "Yes, seat selection opens after booking; standard seats cost between 8 and 25 euros."),
           ("Which terminal does the flight leave from?", "Your flight departs from Terminal 2. Check-in closes 45 minutes before departure."),
           ("Do you have hotels near the airport?", "There are three hotels within a kilometre of the terminal. Shall I list them with prices?")]

_count: dict[str, int] = {}


def new(kind: str, tier: str = "basic", casual: bool | None = None, country: str | None = None) -> Speaker:
    _count[kind] = _count.get(kind, 0) + 1
    meta: dict = {"member": {"tier": tier}}
    if casual is not None:
        meta["preferences"] = {"casual": casual}
    if country:
        meta["trip"] = {"country": country}
    return Speaker(f"{kind}-{_count[kind]:02d}", meta).say("system", SYSTEM)


def search(sp: Speaker) -> tuple[str, str, int]:
    a, b, fare = rng.choice(ROUTES)
    sp.say("user", rng.choice(ASK_FLIGHT).format(a=a, b=b))
    sp.call("search_flights", {"from": a, "to": b}, f'[{{"flight": "WF{rng.randint(100, 999)}", "dep": "09:40", "fare_eur": {fare}}}, {{"flight": "WF{rng.randint(100, 999)}", "dep": "16:05", "fare_eur": {fare + 38}}}]',
            text=rng.choice(["Let me search.", "", "Checking available flights."]))
    sp.conversation["messages"][-2]["thinking"] = rng.choice(["", "", "Search first; do not quote fares from memory."])
    sp.say("assistant", f"I found two flights from {a} to {b}: 09:40 for {fare} EUR and 16:05 for {fare + 38} EUR. Shall I book one?")
    return a, b, fare


def booking(kind: str, confirmed: bool) -> dict:
    sp = new(kind, rng.choice(["basic", "silver"]))
    search(sp)
    sp.say("user", rng.choice(CONFIRM) if confirmed else rng.choice(["Hmm, what about the evening one?", "Is the 16:05 a direct flight?"]))
    sp.call("book_flight", {"option": 1, "passengers": rng.randint(1, 3)}, '{"status": "booked", "reference": "WF7KQ2"}')
    sp.say("assistant", "Your booking is confirmed, reference WF7KQ2. The e-ticket is on its way to your inbox.")
    return sp.done()


def price(kind: str, tier: str, promise: bool) -> dict:
    sp = new(kind, tier)
    search(sp)
    sp.say("user", rng.choice(PRICE_Q))
    sp.say("assistant", rng.choice(PRICE_PROMISE if promise else PRICE_SAFE))
    return sp.done()


def card(kind: str, shown: bool) -> dict:
    sp = new(kind)
    sp.say("user", rng.choice(["Which card did I use for booking WF7KQ2?", "can you tell me the card number on file, I forgot which one it was"]))
    sp.call("get_booking", {"reference": "WF7KQ2"}, '{"card": "4111 1111 1111 1111", "holder": "M. Silva"}')
    sp.say("assistant", "You paid with the Visa card 4111 1111 1111 1111." if shown else "You paid with the Visa card ending in 1111.")
    return sp.done()


def register(kind: str, casual: bool | None) -> dict:
    sp = new(kind, casual=casual)
    sp.say("user", rng.choice(["yo, anything fun to do in Lisbon?", "Recommend a weekend trip from Berlin?"]))
    sp.say("assistant", rng.choice(["Lisbon's awesome sauce for food, gonna recommend the LX Factory!",
                                    "Oh you wanna go to Prague, lol, it's like four hours by train."]))
    return sp.done()


def visa(kind: str, country: str, reply: list[str]) -> dict:
    sp = new(kind, country=country)
    sp.say("user", rng.choice(VISA).format(c=COUNTRIES[country]))
    sp.say("assistant", rng.choice(reply).format(c=COUNTRIES[country]))
    return sp.done()


def disruption(kind: str, replies: list[str], turns: int) -> dict:
    sp = new(kind, rng.choice(["basic", "gold"]))
    sp.say("user", rng.choice(DISRUPTION))
    for i in range(turns):
        sp.say("assistant", rng.choice(replies))
        if i + 1 < turns:
            sp.say("user", rng.choice(["So what do I do?", "Can you help or not?", "ok..."]))
    return sp.done()


def general() -> dict:
    sp = new("general", rng.choice(["basic", "silver", "gold"]))
    for q, a in rng.sample(GENERAL, rng.choice([1, 2])):
        sp.say("user", q)
        sp.say("assistant", a)
    return sp.done()


def conversations() -> list[dict]:
    out = [booking("booking-confirmed", True) for _ in range(7)] + [booking("booking-unconfirmed", False) for _ in range(3)]
    out += [price("price-promised", "basic", True) for _ in range(3)] + [price("price-promised-gold", "gold", True) for _ in range(3)]
    out += [price("price-not-promised", rng.choice(["basic", "gold"]), False) for _ in range(3)]
    out += [card("card-shown", True) for _ in range(2)] + [card("card-masked", False) for _ in range(2)]
    out += [register("casual-preferred", True) for _ in range(3)] + [register("casual-unasked", rng.choice([False, None])) for _ in range(3)]
    out += [visa("visa-covered", rng.choice(["FR", "JP", "US", "GB"]), VISA_GOOD) for _ in range(3)]
    out += [visa("visa-covered-no-source", rng.choice(["DE", "IT"]), VISA_BARE) for _ in range(2)]
    out += [visa("visa-uncovered", rng.choice(["BR", "IN", "VN", "KE"]), VISA_GOOD + VISA_BARE) for _ in range(3)]
    out += [disruption("disruption-helped", DISRUPTION_HELP, rng.choice([1, 2])) for _ in range(3)]
    out += [disruption("disruption-ignored", DISRUPTION_FLAT, 2) for _ in range(2)]
    out += [disruption("disruption-awaiting-reply", DISRUPTION_FLAT, 1) for _ in range(2)]
    out += [general() for _ in range(9)]
    return out


if __name__ == "__main__":
    write_jsonl(HERE / "traces.jsonl", [anthropic_record(c) for c in conversations()])
