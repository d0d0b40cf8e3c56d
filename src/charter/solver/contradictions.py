"""Is there a trace where the norms that apply leave no reply that satisfies them all?

Over the bounded symbolic trace of `encode.py`, each norm's *violation at the reply* is a
formula: at the reply's own act (its trigger, no override, the outcome that stands after
its cases and exceptions is a `require` the reply breaks or a `forbid` it does), and at
every earlier act whose `within` window closes at the reply with nothing in it that
complied. A contradiction is a situation S where

    every reply R violates some norm, and every such norm alone is kept by some reply

(the second half leaves out a norm that no reply can keep by itself). That is an ∃∀
question, answered by counterexample-guided refinement: find S that the replies tried so
far all break while each norm has a reply of its own; ask for a reply that keeps every
norm at S; if there is one, add it to the replies tried and ask again, else S is a
contradiction of the abstraction. It is then made into a concrete trace and handed to
`confirm` (the evaluator); a situation the evaluator does not confirm is excluded and the
search goes on for one it does, but no proof follows any more: the result is then at best
`not decided`.
"""

from __future__ import annotations

import time
from typing import Callable

import attrs
import z3

from ..analysis.generate import Vocabulary, _nest, reply_parts
from ..analysis.prove import MISSING
from ..check.program import CheckedNorm, Program
from ..syntax import ast
from ..traces.model import Message, ToolCall, Trace
from .calculus import decide_body
from .encode import Encoder, Env, bound, leaves, shapes

# Refinement rounds (replies added) per shape, situations the evaluator does not confirm
# (each costs a search for a reply) over all shapes, and seconds of solving over all
# shapes, before giving up: every question to Z3 is asked with the time left.
MAX_ROUNDS = 400
MAX_UNCONFIRMED = 10
MAX_SECONDS = 120.0


@attrs.frozen
class Decision:
    """`proved` (no contradiction within `bound`), `refuted` (with the evaluator's
    confirmation, `found`) or `not decided` (with the reason in `note`)."""

    status: str
    bound: str
    note: str = ""
    found: object = None
    rounds: int = 0


def decide_contradictions(program: Program, vocab: Vocabulary,
                          confirm: Callable[[Trace, tuple[Message, ...]], object],
                          seconds: float = MAX_SECONDS) -> Decision:
    """Decide the contradiction property within the bound (`encode.shapes`);
    `confirm(trace, replies)` runs the evaluator on a candidate (its last message is the
    reply, `replies` the others to try) and returns what it found, or a false value.
    Solving stops after `seconds` (the result is then `not decided`)."""
    parts = reply_parts(vocab)
    undecided, rounds = [], 0
    budget = _Budget(MAX_UNCONFIRMED, time.monotonic() + seconds, seconds)
    for shape in shapes(vocab):
        if budget.spent():
            undecided.append(budget.note())
            break
        decision = _refine(Encoder(program, vocab, shape, parts), confirm, budget)
        rounds += decision.rounds
        if decision.status == "refuted":
            return attrs.evolve(decision, bound=bound(vocab), rounds=rounds)
        if decision.status == "not decided":
            undecided.append(decision.note)
    if undecided:
        return Decision("not decided", bound(vocab), "; ".join(dict.fromkeys(undecided)), rounds=rounds)
    return Decision("proved", bound(vocab), rounds=rounds)


@attrs.define
class _Budget:
    """What is left of the search: situations the evaluator may fail to confirm, and time."""

    unconfirmed: int
    deadline: float
    seconds: float

    def spent(self) -> bool:
        return not self.unconfirmed or time.monotonic() >= self.deadline

    def note(self) -> str:
        if not self.unconfirmed:
            return (f"the evaluator confirmed none of the situations the solver found "
                    f"(at most {MAX_UNCONFIRMED} are tried)")
        return f"the solver gave no answer in the time left ({self.seconds:g} s for the whole search)"

    def check(self, solver: z3.Solver, *preferred: z3.BoolRef) -> z3.CheckSatResult:
        """The solver's answer, within the time left (`unknown` when it runs out); with
        the `preferred` constraints where they leave an answer."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            return z3.unknown
        solver.set("timeout", max(1, int(left * 1000)))
        answer = solver.check(*preferred)
        return self.check(solver) if answer == z3.unsat and preferred else answer


def _refine(encoder: Encoder, confirm, budget: _Budget) -> Decision:
    """The refinement loop over one shape, within `budget`."""
    by_norm = {name: f for name, f in _violations(encoder).items() if not z3.is_false(z3.simplify(f))}
    if not by_norm:
        return _proved(encoder, 0)
    encoder.choose_reply_numbers()
    some = z3.Or(list(by_norm.values()))
    replies = list(encoder.reply_vars)
    situation = encoder.situation_vars()
    outer = z3.Solver()
    outer.add(encoder.domain)
    own_replies = {}
    for name, violated in by_norm.items():  # each norm alone is kept by a reply of its own
        copy = [(v, z3.FreshConst(v.sort(), name)) for v in replies]
        own_replies[name] = [c for _, c in copy]
        outer.add([z3.substitute(d, copy) for d in encoder.reply_domain])
        outer.add(z3.Not(z3.substitute(violated, copy)))
    well_typed = encoder.well_typed()
    inner = z3.Solver()
    inner.add(encoder.reply_domain)
    inner.add(z3.Not(some))
    unconfirmed = 0
    for rounds in range(1, MAX_ROUNDS + 1):
        answer = budget.check(outer, *well_typed)
        if answer == z3.unsat:
            return _proved(encoder, rounds, unconfirmed)
        if answer == z3.unknown:
            return Decision("not decided", "", budget.note(), rounds=rounds)
        model = outer.model()
        fixed = [v == model.eval(v, model_completion=True) for v in situation]
        reply = _keeping_all(inner, fixed, budget)
        if reply is z3.unknown:
            return Decision("not decided", "", budget.note(), rounds=rounds)
        if reply is not None:  # a reply keeps every norm here: the next situation must break it too (or have it be no reply)
            strategy = encoder.strategy(reply)
            outer.add(z3.Or(z3.Not(z3.And([z3.substitute(d, strategy) for d in encoder.reply_domain])),
                            z3.substitute(some, strategy)))
            continue
        tried = tuple(_reply(encoder, model, {v.get_id(): c for v, c in zip(replies, own)})
                      for own in own_replies.values())
        trace = _trace(encoder, model, tried[0])
        found = confirm(trace, tried)
        if found:
            return Decision("refuted", "", found=found, rounds=rounds)
        budget.unconfirmed -= 1
        unconfirmed += 1
        if budget.spent():
            return Decision("not decided", "", budget.note(), rounds=rounds)
        outer.add(z3.Or([f.arg(0) != f.arg(1) for f in fixed] + [False]))
    return Decision("not decided", "", f"more than {MAX_ROUNDS} replies tried", rounds=rounds)


def _keeping_all(inner: z3.Solver, fixed: list, budget: _Budget):
    """A reply that keeps every norm in the situation `fixed`, None if there is none,
    `z3.unknown` if the time ran out."""
    inner.push()
    inner.add(fixed)
    answer = budget.check(inner)
    reply = inner.model() if answer == z3.sat else z3.unknown if answer == z3.unknown else None
    inner.pop()
    return reply


def _proved(encoder: Encoder, rounds: int, unconfirmed: int = 0) -> Decision:
    """A proof, unless the encoding approximated the reply or the search excluded
    situations the evaluator did not confirm (a proof must not follow from leaving them
    out: the encoding may have missed what makes them real)."""
    if unconfirmed:
        return Decision("not decided", "", f"the evaluator did not confirm {_situations(unconfirmed)} the solver "
                        "found (a contradiction of the encoding, not made into a trace)", rounds=rounds)
    if encoder.approximate:
        return Decision("not decided", "", "approximated: " + ", ".join(sorted(encoder.approximate)), rounds=rounds)
    return Decision("proved", "", rounds=rounds)


def _situations(count: int) -> str:
    return "1 situation" if count == 1 else f"{count} situations"


# --------------------------------------------------------------------------- violations


def _violations(encoder: Encoder) -> dict[str, z3.BoolRef]:
    """Each norm's violation decided by the reply, over every act where one can be."""
    return {norm.name: z3.Or([_violated(encoder, norm, env, window, guard)
                              for env, window, guard in _acts(encoder, norm)] + [False])
            for norm in encoder.program.norms}


def _acts(encoder: Encoder, norm: CheckedNorm):
    """(env, window, guard) for each act whose verdict the reply decides: the reply's own
    (window None), and each earlier one whose `within N` window closes at the reply."""
    shape = encoder.shape
    assistants = shape.indices("assistant")
    windows = sorted({o.within for o in leaves(norm) if o.within is not None})
    immediate = any(o.within is None for o in leaves(norm))
    true = z3.BoolVal(True)
    if norm.scope == "conversation":
        if windows:
            encoder.approximate.add(f"the `within` window of conversation norm `{norm.name}`")
        if immediate:
            yield encoder.env("conversation", None), None, true
        return
    if norm.scope == "assistant turn" and immediate:
        yield encoder.env("assistant turn", shape.reply), None, true
    for size in windows:
        if len(assistants) <= size - (norm.scope == "user turn"):
            continue
        window = tuple(assistants[-size:])
        if norm.scope == "user turn":
            users = [u for u in shape.indices("user", window[0])]
            if users and (len(assistants) == size or users[-1] > assistants[-size - 1]):
                yield encoder.env("user turn", users[-1]), window, true
            continue
        act = assistants[-size - 1]
        if norm.scope == "assistant turn":
            yield encoder.env("assistant turn", act), window, true
        else:  # a tool call of that message, of each tool the policy names
            for tool in encoder.vocab.tools:
                yield encoder.env("tool call", act, (act, tool)), window, encoder.var(("calls", act, tool))


def _violated(encoder: Encoder, norm: CheckedNorm, env: Env, window: tuple[int, ...] | None,
              guard: z3.BoolRef) -> z3.BoolRef:
    program = encoder.program
    overridden = [encoder.cond(program.norm(name).trigger,
                               encoder.env("conversation", None) if program.norm(name).scope == "conversation" else env)
                  for name in norm.overriders]
    standing = decide_body(norm.body, lambda condition: encoder.cond(condition, env))
    broken = [z3.And(holds, _breaks(encoder, leaf, env, window)) for leaf, holds in standing.values()]
    return z3.And(guard, z3.Not(z3.Or(overridden + [False])), encoder.cond(norm.trigger, env), z3.Or(broken + [False]))


def _breaks(encoder: Encoder, leaf: ast.Outcome, env: Env, window: tuple[int, ...] | None) -> z3.BoolRef:
    """Whether the outcome, standing, is violated because of the reply."""
    if leaf.modality not in ("require", "forbid") or (leaf.within is None) != (window is None):
        return z3.BoolVal(False)
    if window is None:
        holds = encoder.cond(leaf.behaviour, env)
        return holds if leaf.modality == "forbid" else z3.Not(holds)
    if leaf.within != len(window):
        return z3.BoolVal(False)
    # A window is complied with at its first message where the behaviour holds (either modality).
    return z3.And([z3.Not(encoder.cond(leaf.behaviour, encoder.env("assistant turn", w))) for w in window])


# --------------------------------------------------------------------------- a model as a trace


def _facts(encoder: Encoder, model: z3.ModelRef, kind: str, where) -> dict:
    return {fact.kind[1]: value for fact in encoder.facts
            if fact.kind[0] == kind and fact.where == where and (value := encoder.value(model, fact)) is not MISSING}


def _trace(encoder: Encoder, model: z3.ModelRef, reply: Message) -> Trace:
    """The situation of a model as a trace, ending with a filler reply that carries the
    labels and metadata of `reply` (the evaluator tries its other contents with them)."""
    messages = []
    for index, role in enumerate(encoder.shape.roles):
        if index == encoder.shape.reply:
            messages.append(attrs.evolve(reply, content=encoder.filler))
            continue
        words = [encoder.filler] + [p for p in encoder.phrases if encoder.truth(model, ("says", index, p))]
        words += [encoder.sample(key) for key in encoder.regexes if encoder.truth(model, ("matches", index, key))]
        words += [text for key, text in encoder.held_texts.items() if encoder.truth(model, ("holds", index, key))]
        calls = tuple(ToolCall(tool, _nest(_facts(encoder, model, "args", (index, tool))))
                      for tool in encoder.vocab.tools if encoder.truth(model, ("calls", index, tool)))
        messages.append(Message(index, role, " ".join(w for w in words if w), calls,
                                _facts(encoder, model, "label", index), _nest(_facts(encoder, model, "meta", index))))
    return Trace("solver", tuple(messages), _nest(_facts(encoder, model, "trace.meta", None)))


def _reply(encoder: Encoder, model: z3.ModelRef, names: dict) -> Message:
    """The reply that a model's copy (`names`: reply variable -> copy) of the reply's
    variables describes."""
    facts: dict[str, dict] = {"label": {}, "meta": {}}
    for fact in encoder.facts:
        if fact.where == encoder.shape.reply and fact.kind[0] in facts:
            value = encoder.value(model, fact, names)
            if value is not MISSING:
                facts[fact.kind[0]][fact.kind[1]] = value
    return Message(encoder.shape.reply, "assistant", encoder.reply_text(model, names),
                   labels=facts["label"], meta=_nest(facts["meta"]))
