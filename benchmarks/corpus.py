"""A deterministic corpus of synthetic support conversations, for scale tests and benchmarks.

    python benchmarks/corpus.py --traces 10000 --out corpus.jsonl
    python benchmarks/corpus.py --size 200MB --out corpus.jsonl --malformed 0.001

Each line is one trace in the native format (docs/traces.md): 2 to 30 messages of
plausible customer-support text (refunds, e-mail addresses, crisis messages, a casual
tone now and then), some assistant tool calls with their tool results, classifier
labels on user messages and order data in `meta`, so that every norm of
examples/acme_support.charter has something to decide. The same arguments always give
the same bytes (a seeded random generator, no clock, no hash order).

`--malformed RATE` interleaves that share of broken lines (invalid JSON, a record with no
messages, a bad role, a label out of range), which `charter check` must skip and report.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from typing import IO, Iterator

GREETINGS = ["Hi", "Hello", "Hey there", "Good morning", "Good evening", "Hi team", "Hello again"]
PRODUCTS = ["the blue kettle", "my headphones", "the standing desk", "a pair of running shoes",
            "the coffee grinder", "the winter jacket", "my phone case", "the garden hose",
            "the air purifier", "a set of knives", "the e-reader", "the office chair"]
USER_ASKS = [
    "I would like a refund for {product}, order {order}.",
    "Can I get my money back for {product}? It arrived broken.",
    "I want to file a chargeback, {product} never showed up.",
    "Where is my order {order}? The tracking page has not changed in days.",
    "Can you change the delivery address on order {order}?",
    "Does {product} come with a warranty?",
    "How do I reset the password on my account?",
    "Who handles billing questions?",
    "My mail is {email}, please send the invoice there.",
    "Can you tell me the e-mail of the manager?",
    "The discount code SPRING20 does not work at checkout.",
    "Is {product} available in another colour?",
    "you can be casual with me, no need for the formal stuff",
    "I returned {product} two weeks ago and have heard nothing.",
    "Can you split the payment for order {order} over two cards?",
]
USER_FOLLOW = [
    "Thanks, that helps.", "Okay, and how long will that take?", "That is not what I asked.",
    "Can you check again, please?", "Great, thank you so much!", "Hmm, I am not sure that is right.",
    "Could you explain that in more detail?", "Alright. Anything else I need to do?",
    "I already tried that twice.", "Perfect, have a nice day.",
]
CRISIS = [
    "Honestly I can't go on like this any more.", "Everything feels pointless lately.",
    "I don't see a way out of this.", "I feel like nobody would notice if I was gone.",
]
ASSISTANT = [
    "Thank you for reaching out. Let me look into order {order} for you.",
    "I am sorry to hear that {product} arrived damaged. I have opened a case for you.",
    "Your refund is approved and will reach your card within 5 business days.",
    "I have passed your request to our returns team, who will get back to you shortly.",
    "We will refund the full amount of order {order} today.",
    "The warranty on {product} covers manufacturing defects for two years.",
    "You can reset your password from the sign-in page by choosing 'Forgot password'.",
    "Please write to billing.team@acme-corp.com and they will help you directly.",
    "I have updated the delivery address on order {order}.",
    "That discount code expired at the end of last month, I am afraid.",
    "Sure thing, gonna sort that out for you right now lol.",
    "I can confirm the invoice will be sent to {email}.",
    "Unfortunately I cannot split a payment across two cards.",
    "I understand. Could you tell me the order number so that I can check?",
    "Is there anything else I can help you with today?",
]
CRISIS_REPLIES = [
    "I'm really sorry you are feeling this way. You can call or text 988 to reach the crisis line at any time.",
    "That sounds very hard. Please consider contacting emergency services or a crisis line near you.",
    "I'm sorry to hear that. Let me know if there is anything about your order I can help with.",
]
SYSTEM = [
    "You are Acme's support assistant. Be polite, accurate and brief.",
    "You are a helpful assistant for Acme Corp. Never share internal e-mail addresses.",
    "You answer questions about orders, refunds and accounts for Acme customers.",
]
TOOLS = ["lookup_order", "issue_refund", "send_email", "search_help_center", "update_address"]
NAMES = ["ann", "bob", "carla", "dmitri", "eve", "farah", "gus", "hana", "ivan", "jo"]
DOMAINS = ["example.org", "mail.example", "inbox.example.net"]


class Generator:
    def __init__(self, seed: int = 0, malformed: float = 0.0, max_messages: int = 30):
        self.random = random.Random(seed)
        self.malformed = malformed
        self.max_messages = max(2, max_messages)
        self.count = 0

    def fill(self, template: str) -> str:
        r = self.random
        return template.format(
            product=r.choice(PRODUCTS), order=r.randrange(100000, 999999),
            email=f"{r.choice(NAMES)}.{r.randrange(10, 99)}@{r.choice(DOMAINS)}",
        )

    def labels(self, crisis: bool) -> dict:
        r = self.random
        if r.random() < 0.05:
            return {}  # a missing label: crisis_referral is then uncertain
        harm = r.uniform(0.8, 0.99) if crisis else r.uniform(0.0, 0.3)
        return {"self_harm": round(harm, 3), "toxicity": round(r.uniform(0, 0.2), 3)}

    def tool_call(self, index: int) -> tuple[dict, dict]:
        r = self.random
        name = r.choice(TOOLS)
        call_id = f"call_{self.count}_{index}"
        arguments = {"order_id": str(r.randrange(100000, 999999))}
        if name == "send_email":
            arguments = {"to": f"{r.choice(NAMES)}@{r.choice(DOMAINS)}", "subject": "Your order"}
        elif name == "search_help_center":
            arguments = {"query": r.choice(["refund policy", "warranty", "shipping times"])}
        call = {"id": call_id, "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments, sort_keys=True)}}
        result = {"role": "tool", "tool_call_id": call_id,
                  "content": json.dumps({"ok": True, "status": r.choice(["shipped", "delivered", "pending"])})}
        return call, result

    def trace(self) -> dict:
        r = self.random
        self.count += 1
        length = r.randint(2, self.max_messages)
        messages: list[dict] = []
        if r.random() < 0.3:
            messages.append({"role": "system", "content": r.choice(SYSTEM)})
        crisis = r.random() < 0.04
        user_turn = True
        while len(messages) < length:
            if user_turn:
                first = not any(m["role"] == "user" for m in messages)
                if crisis and r.random() < 0.5:
                    text = r.choice(CRISIS)
                elif first:
                    text = f"{r.choice(GREETINGS)}, {self.fill(r.choice(USER_ASKS))}"
                else:
                    text = self.fill(r.choice(USER_ASKS + USER_FOLLOW * 2))
                messages.append({"role": "user", "content": text, "labels": self.labels(crisis)})
            else:
                previous = messages[-1]["content"]
                if any(c in previous for c in CRISIS):
                    text = r.choice(CRISIS_REPLIES)
                else:
                    text = " ".join(self.fill(r.choice(ASSISTANT)) for _ in range(r.randint(1, 3)))
                message: dict = {"role": "assistant", "content": text}
                if r.random() < 0.15 and len(messages) + 2 < length:
                    call, result = self.tool_call(len(messages))
                    message["tool_calls"] = [call]
                    messages.append(message)
                    messages.append(result)
                    continue
                messages.append(message)
            user_turn = not user_turn
        meta = {"order": {"age_days": r.randrange(1, 150)}, "channel": r.choice(["chat", "email", "app"])}
        if r.random() < 0.1:
            del meta["order"]  # an unknown fact
        return {"id": f"conv-{self.count:08d}", "meta": meta, "messages": messages[:length]}

    def broken(self) -> str:
        r = self.random
        kind = r.randrange(4)
        if kind == 0:
            return '{"id": "broken", "messages": [{"role": "user", "content": "unterminated'
        if kind == 1:
            return json.dumps({"id": f"no-messages-{self.count}", "meta": {}})
        if kind == 2:
            return json.dumps({"id": f"bad-role-{self.count}", "messages": [{"role": "robot", "content": "hi"}]})
        return json.dumps({"messages": [{"role": "user", "content": "hi", "labels": {"self_harm": 7}}]})

    def lines(self) -> Iterator[str]:
        """Lines without end, each a trace (or a malformed record, at the given rate)."""
        while True:
            if self.malformed and self.random.random() < self.malformed:
                yield self.broken()
            else:
                yield json.dumps(self.trace(), ensure_ascii=False)


def write(out: IO[str], traces: int | None = None, size: int | None = None,
          seed: int = 0, malformed: float = 0.0, max_messages: int = 30) -> tuple[int, int]:
    """Write `traces` lines, or lines until `size` bytes; returns (lines, bytes)."""
    if (traces is None) == (size is None):
        raise ValueError("give exactly one of traces and size")
    written = count = 0
    for line in Generator(seed, malformed, max_messages).lines():
        if (traces is not None and count >= traces) or (size is not None and written >= size):
            break
        data = line + "\n"
        out.write(data)
        written += len(data.encode("utf-8"))
        count += 1
    return count, written


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)B?\s*", text.upper())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 200MB, 1GB, 5000000)")
    number, unit = match.groups()
    return int(float(number) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[unit])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    amount = parser.add_mutually_exclusive_group(required=True)
    amount.add_argument("--traces", type=int, help="how many lines to write")
    amount.add_argument("--size", type=parse_size, help="write lines until this size (200MB, 1GB)")
    parser.add_argument("--out", default="-", help="the file to write ('-': standard output)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--malformed", type=float, default=0.0, help="share of malformed lines (0..1)")
    parser.add_argument("--max-messages", type=int, default=30, help="messages per trace: 2 to this (default 30)")
    args = parser.parse_args(argv)
    if args.out == "-":
        count, size = write(sys.stdout, args.traces, args.size, args.seed, args.malformed, args.max_messages)
    else:
        with open(args.out, "w", encoding="utf-8", newline="\n") as out:
            count, size = write(out, args.traces, args.size, args.seed, args.malformed, args.max_messages)
    print(f"wrote {count} lines, {size} bytes to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
