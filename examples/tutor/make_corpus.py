"""Writes traces.jsonl: 58 tutoring sessions as ShareGPT records (`conversations` of
`from`/`value` turns), the form chat data sets are shared in. The tutoring platform
adds the student's profile, the session mode and the guardian's settings as `meta`;
some students never gave their age. Run from the repository root:
`python examples/tutor/make_corpus.py`."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from corpus_kit import Speaker, chooser, sharegpt_record, write_jsonl  # noqa: E402

rng = chooser(2024)
SYSTEM = "You are Pip, a friendly homework tutor. Give hints, not answers. Keep students safe."
PROBLEMS = [
    # (question, hint, answer reply)
    ("What is 7 times 8?", "Try 7 times 4 first, then double it. What do you get?", "The answer is 56."),
    ("how do i solve 3x + 5 = 20", "What could you do to both sides to get 3x on its own?", "Subtract 5 and divide by 3, so x = 5."),
    ("What's 3/4 plus 1/8?", "Can you write 3/4 with eighths? How many eighths is it?", "The answer is 7/8."),
    ("Find the area of a rectangle 6 cm by 9 cm", "Area is length times width. Which two numbers will you multiply?", "The area is 54, so the answer is 54 square centimetres."),
    ("what is the capital of australia? its not sydney", "It's a city that was planned and built to be the capital. It starts with C!", "The answer is Canberra."),
    ("Which gas do plants take in for photosynthesis?", "Think about what we breathe out. Plants use that gas to make sugar.", "The correct answer is carbon dioxide."),
    ("Solve 2y - 4 = 10 please", "Start by adding 4 to both sides. What is 2y then?", "y = 7."),
    ("How many sides does a hexagon have", "Hex- is the same prefix as in hexagon's cousin, the honeycomb cell. Count a cell's edges!", "The answer is 6."),
    ("What's 15% of 80?", "10% of 80 is 8. What would 5% be? Add them up.", "15% of 80 is 12, the final answer is 12."),
    ("Round 3.476 to one decimal place", "Look at the digit after the first decimal. Is it 5 or more?", "The answer is 3.5."),
]
ATTEMPTS = ["Is it {n}?", "I got {n}", "I think it's {n}", "my answer is {n}", "is it {n} maybe?"]
CONFIRM = ["Yes, well done! The answer is {a}. You worked it out step by step.",
           "You're getting there: the correct answer is {a}. Let's look at why your first try was off."]
GIVE_UP = ["I give up, this is too hard", "I'm stupid, I can't do fractions", "i hate maths", "I can't do this"]
ENCOURAGE = ["You're not stupid at all: mistakes help us learn. Let's try a smaller step together.",
             "Good effort so far! Let's try it one step at a time.",
             "Don't give up, you were close. Keep going: what's the first step?"]
FLAT = ["Ok. The next question is about decimals.", "Alright. Do you want a different topic?"]
PERSONAL = ["Great job! By the way, what school do you go to?", "Nice! Where do you live? I can find local tutors.",
            "Well done. Can you send me a photo of your worksheet and your full name?"]
LINKS = ["There is a great video on this here: https://www.youtube.com/watch?v=fr4ct10n5",
         "You can practise more at https://www.khanacademy.org/math/arithmetic",
         "Have a look at https://en.wikipedia.org/wiki/Photosynthesis for the diagram."]
SENSITIVE = ["is vaping bad for you? everyone at school does it", "my friend got drunk at a party, is alcohol dangerous?",
             "what happens during puberty", "how do I know if someone wants to be my girlfriend"]
SENSITIVE_ADULT = ["Vaping delivers nicotine, which is addictive, and the long-term effects on lungs are still being studied.",
                   "Alcohol slows the brain and body; too much at once can cause alcohol poisoning, which is an emergency."]
SENSITIVE_CHILD = ["That's a really good question to talk about with a trusted adult, like a parent or your teacher. Would you like help thinking of how to ask them?",
                   "It's great that you're asking. A school nurse or a parent can explain this properly and answer your questions."]
CHAT = [("Can we do spelling instead?", "Of course! Spell the word 'necessary' for me. Hint: one collar, two sleeves."),
        ("I finished my homework!", "Brilliant! Would you like a bonus puzzle?"),
        ("why is the sky blue", "Good question! Sunlight has all colours. What do you think happens to blue light in the air?")]

_count: dict[str, int] = {}


def new(kind: str, age: int | None, mode: str = "homework", links: bool | None = None) -> Speaker:
    _count[kind] = _count.get(kind, 0) + 1
    meta: dict = {"student": {"grade": rng.randint(2, 12)}, "session": {"mode": mode, "subject": rng.choice(["maths", "science", "reading"])}}
    if age is not None:
        meta["student"]["age"] = age
    if links is not None:
        meta["guardian"] = {"allows_links": links}
    sp = Speaker(f"{kind}-{_count[kind]:02d}", meta)
    if rng.random() < 0.5:
        sp.say("system", SYSTEM)
    return sp


def child_age() -> int | None:
    return rng.choice([7, 8, 9, 10, 11, 12, 14, 16, None])


def hinting(kind: str, answers: bool, mode: str = "homework") -> dict:
    question, hint, answer = rng.choice(PROBLEMS)
    sp = new(kind, child_age(), mode)
    sp.say("user", question)
    sp.say("assistant", hint)
    if answers:
        sp.say("user", rng.choice(["just tell me the answer", "I don't get it, what is it?", "can u just say it", "please I need it for tomorrow"]))
        sp.say("assistant", answer)
    elif rng.random() < 0.5:
        sp.say("user", rng.choice(["hmm ok let me think", "oh! wait", "I'm not sure"]))
        sp.say("assistant", rng.choice(["Take your time.", "Go on, you're on the right track.", "Try writing it down first."]))
    return sp.done()


def tried_twice() -> dict:
    question, hint, answer = rng.choice(PROBLEMS)
    sp = new("confirmed-after-attempts", child_age())
    sp.say("user", question)
    sp.say("assistant", hint)
    for n in rng.sample(range(3, 60), 2):
        sp.say("user", rng.choice(ATTEMPTS).format(n=n))
        sp.say("assistant", rng.choice(["Not quite. Check your first step again.", "Close! Look at the hint once more."]))
    sp.say("user", rng.choice(["I really tried, what is it?", "ok I give in, what's the answer"]))
    sp.say("assistant", answer + " You were close on your second try.")
    return sp.done()


def giving_up(kind: str, reply: list[str] | None) -> dict:
    question, hint, _ = rng.choice(PROBLEMS)
    sp = new(kind, child_age())
    sp.say("user", question)
    sp.say("assistant", hint)
    sp.say("user", rng.choice(GIVE_UP))
    if reply:
        sp.say("assistant", rng.choice(reply))
    if reply is FLAT:  # a second reply that still does not encourage closes the window
        sp.say("user", rng.choice(["whatever", "ok", "fine"]))
        sp.say("assistant", rng.choice(["Here is the next exercise: 4.2 + 3.9.", "Let's move on to spelling."]))
    return sp.done()


def personal(kind: str, age: int | None, asks: bool) -> dict:
    question, hint, _ = rng.choice(PROBLEMS)
    sp = new(kind, age)
    sp.say("user", question)
    sp.say("assistant", rng.choice(PERSONAL) if asks else hint)
    return sp.done()


def links(kind: str, age: int | None, allows: bool | None) -> dict:
    sp = new(kind, age, links=allows)
    sp.say("user", rng.choice(["where can I learn more about this?", "is there a video?", "can you show me a picture"]))
    sp.say("assistant", rng.choice(LINKS))
    return sp.done()


def sensitive(kind: str, age: int | None, reply: list[str]) -> dict:
    sp = new(kind, age)
    sp.say("user", rng.choice(SENSITIVE))
    sp.say("assistant", rng.choice(reply))
    return sp.done()


def chat() -> dict:
    sp = new("chat", child_age())
    for question, reply in rng.sample(CHAT, rng.choice([1, 2])):
        sp.say("user", question)
        sp.say("assistant", reply)
    return sp.done()


def conversations() -> list[dict]:
    out = [hinting("hint-only", False) for _ in range(8)]
    out += [hinting("answer-given", True) for _ in range(6)]
    out += [hinting("review-mode", True, mode="review") for _ in range(3)]
    out += [tried_twice() for _ in range(4)]
    out += [giving_up("gave-up-encouraged", ENCOURAGE) for _ in range(3)]
    out += [giving_up("gave-up-ignored", FLAT) for _ in range(2)]
    out += [giving_up("gave-up-awaiting-reply", None) for _ in range(2)]
    out += [personal("personal-question-child", rng.choice([8, 10, 15]), True) for _ in range(2)]
    out += [personal("personal-question-unknown-age", None, True) for _ in range(2)]
    out += [personal("personal-question-adult", rng.choice([19, 34, 52]), True) for _ in range(2)]
    out += [links("link-to-child", rng.choice([8, 11, 13]), False) for _ in range(3)]
    out += [links("link-guardian-allowed", rng.choice([9, 12]), True) for _ in range(3)]
    out += [links("link-to-adult-learner", rng.choice([22, 41]), None) for _ in range(2)]
    out += [sensitive("sensitive-child-referred", rng.choice([9, 11, 12]), SENSITIVE_CHILD) for _ in range(2)]
    out += [sensitive("sensitive-child-answered", rng.choice([10, 12]), SENSITIVE_ADULT) for _ in range(2)]
    out += [sensitive("sensitive-unknown-age", None, SENSITIVE_ADULT) for _ in range(2)]
    out += [sensitive("sensitive-teen", rng.choice([14, 15, 16, 17]), SENSITIVE_ADULT + SENSITIVE_CHILD) for _ in range(3)]
    out += [sensitive("sensitive-adult-learner", rng.choice([19, 45]), SENSITIVE_ADULT) for _ in range(2)]
    out += [chat() for _ in range(5)]
    return out


if __name__ == "__main__":
    write_jsonl(HERE / "traces.jsonl", [sharegpt_record(c) for c in conversations()])
