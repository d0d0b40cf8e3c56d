"""Hypothesis strategies for small traces and small checked programs.

Traces use a tiny vocabulary so that phrases and regexes match often, labels `a`/`b` that are
often missing, and trace meta whose values are sometimes ill-typed. Programs are built
directly as `Program`s (no parser, no checker) but respect the checker's rules: `call` only
in tool-call scope, ordering comparisons against numbers, no `within` in conversation scope,
overrides only where scopes allow and without cycles.
"""

from __future__ import annotations

import random
from typing import Any

import attrs
from hypothesis import strategies as st

from charter.syntax import ast
from charter.check.program import Program
from charter.traces.model import Message, ToolCall, Trace
from oracle.build import AUTHORITIES, checked_norm, program
from oracle.reference import max_atoms

# The contract's compiled evaluator gives up past 12 atoms at one act; generated cases stay below.
MAX_ATOMS = 12

WORDS = ("refund", "Refund", "yes", "YES,", "no", "no.", "not", "988", "lol", "hello", "yesno")
PHRASES = ("refund", "yes", "no", "988", "lol", "hello", "yes no", "no.")
REGEXES = (
    ast.Regex(r"\bno\b"), ast.Regex("^y"), ast.Regex("^y", "i"), ast.Regex("refund", "i"),
    ast.Regex("9+"), ast.Regex("lol$", "m"), ast.Regex("o.l", "s"), ast.Regex("LOL"),
)
LABEL_NAMES = ("a", "b")
LABEL_VALUES = (0.1, 0.5, 0.6, 0.9, True, False)
TOOLS = ("delete", "search")
ABSENT = object()  # a meta key left out
NUMBERS = (0, 0.5, 0.6, 1, 2, 10, 18, 45, 100)
CONSTANTS = (0.5, 0.6, 1, 10, 45, "x", "s", "t", "delete", True, False, None)
ORDERING = ("<", "<=", ">", ">=")
REASONS = ("r1", "r2")
SCOPES = ("assistant turn", "assistant turn", "assistant turn", "user turn", "tool call",
          "conversation")

TRACE = ast.Subject("trace", "trace")
CALL = ast.Subject("call", "call")


# --------------------------------------------------------------------------- traces


tool_calls = st.builds(
    ToolCall, st.sampled_from(TOOLS), st.sampled_from(({"path": "x"}, {"path": "y"}, {})))


ROLE_MIX = ("user", "assistant", "user", "assistant", "system", "tool")


@st.composite
def messages(draw: st.DrawFn, index: int, roles: tuple[str, ...] = ROLE_MIX) -> Message:
    role = draw(st.sampled_from(roles))
    return Message(
        index=index,
        role=role,
        # blank text too: an assistant message with none is not a turn of a `within` window
        content=draw(st.one_of(st.lists(st.sampled_from(WORDS), max_size=4).map(" ".join),
                               st.sampled_from((" ", "\n\t")))),
        tool_calls=tuple(draw(st.lists(tool_calls, max_size=2))) if role == "assistant" else (),
        labels=draw(st.dictionaries(st.sampled_from(LABEL_NAMES), st.sampled_from(LABEL_VALUES),
                                    max_size=2)),
        meta=draw(st.sampled_from(({}, {"x": 1}, {"x": "s"}))),
    )


@st.composite
def traces(draw: st.DrawFn) -> Trace:
    """0–6 messages, and trace meta `age` (sometimes a string or null) and `vip`."""
    count = draw(st.integers(0, 6))
    meta: dict[str, Any] = {}
    for key, choices in (("age", (10, 45, 100, "x", None, ABSENT)), ("vip", (True, False, ABSENT))):
        choice = draw(st.sampled_from(choices))
        if choice is not ABSENT:
            meta[key] = choice
    return Trace(id="t", messages=tuple(draw(messages(i)) for i in range(count)), meta=meta)


# --------------------------------------------------------------------------- expressions


@attrs.frozen
class Where:
    """What an expression may talk about: the norm's scope and the quantified roles in force,
    and whether it may follow values between messages (bindings)."""

    scope: str
    bound: tuple[str, ...] = ()
    bindings: bool = False

    def binding(self, role: str) -> "Where":
        return attrs.evolve(self, bound=(*self.bound, role))


@st.composite
def subjects(draw: st.DrawFn, where: Where) -> ast.Subject:
    """A message subject: current (mostly assistant/user), previous, or a bound message."""
    choices = [ast.Subject(r) for r in ("assistant", "assistant", "user", "user", "system", "tool")]
    choices += [ast.Subject("assistant", "previous"), ast.Subject("user", "previous")]
    choices += [ast.Subject(r, "bound") for r in where.bound] * 4
    return draw(st.sampled_from(choices))


@st.composite
def values(draw: st.DrawFn, where: Where, facts_only: bool = False) -> ast.Expr:
    """A value: a label or meta (trace, message, call args), or unless `facts_only` (a value
    used as a condition must be a fact: the checker rejects properties there) a property."""
    subject = draw(subjects(where))
    choices: list[ast.Expr] = [
        ast.Label(subject, "a"), ast.Label(subject, "a"), ast.Label(subject, "b"),
        ast.Meta(TRACE, "meta", ("age",)), ast.Meta(TRACE, "meta", ("vip",)),
        ast.Meta(TRACE, "meta", ("order", "age")), ast.Meta(subject, "meta", ("x",)),
    ]
    if where.scope == "tool call":
        choices.append(ast.Meta(CALL, "args", ("path",)))
    if not facts_only:
        choices += [ast.Property(subject, "words"), ast.Property(subject, "chars"),
                    ast.Property(TRACE, "id")]
        if where.scope == "tool call":
            choices.append(ast.Property(CALL, "name"))
    return draw(st.sampled_from(choices))


def literals(choices: tuple) -> st.SearchStrategy[ast.Literal]:
    return st.sampled_from(choices).map(ast.Literal)


@st.composite
def comparisons(draw: st.DrawFn, where: Where) -> ast.Expr:
    """`value OP constant` (ordering against numbers), sometimes `value OP value`."""
    op = draw(st.sampled_from(("<", "<=", ">", ">=", "==", "!=")))
    left = draw(values(where))
    if draw(st.integers(0, 4)) == 0:
        right: ast.Expr = draw(values(where))
    else:
        right = draw(literals(NUMBERS if op in ORDERING else CONSTANTS))
    return ast.Compare(op, left, right)


@st.composite
def leaves(draw: st.DrawFn, where: Where) -> ast.Expr:
    """A condition without sub-conditions."""
    subject = draw(subjects(where))
    kind = draw(st.sampled_from(("says", "says", "matches", "calls", "compare", "compare", "in",
                                 "value", "literal") + (("binding",) * 6 if where.bindings else ())))
    if kind == "binding":
        return draw(binding_leaves(where))
    if kind == "says":
        mode = draw(st.sampled_from(("one", "any", "all")))
        if mode == "one":
            return ast.Says(subject, mode, draw(literals(PHRASES)))
        items = draw(st.lists(literals(PHRASES), min_size=1, max_size=2))
        return ast.Says(subject, mode, ast.ListLiteral(tuple(items)))
    if kind == "matches":
        return ast.Matches(subject, draw(st.sampled_from(REGEXES)))
    if kind == "calls":
        return ast.Calls(subject, draw(literals(TOOLS)))
    if kind == "compare":
        return draw(comparisons(where))
    if kind == "in":
        items = draw(st.lists(literals(CONSTANTS), min_size=1, max_size=3))
        return ast.In(draw(values(where)), ast.ListLiteral(tuple(items)), draw(st.booleans()))
    if kind == "value":
        return draw(values(where, facts_only=True))
    return draw(literals((True, False)))


@st.composite
def conditions(draw: st.DrawFn, where: Where, depth: int = 3) -> ast.Expr:
    """A condition of depth at most `depth`, built from every expanded node kind."""
    if depth <= 1 or draw(st.integers(0, 2)) == 0:
        return draw(leaves(where))
    # Quantifiers do not nest: the parser binds one quantified subject per predicate.
    nested = () if where.bound else ("quantified", "count")
    kind = draw(st.sampled_from(("not", "and", "or", "known") + nested))
    if kind == "not":
        return ast.Not(draw(conditions(where, depth - 1)))
    if kind in ("and", "or"):
        operands = tuple(draw(st.lists(conditions(where, depth - 1), min_size=2, max_size=3)))
        return ast.And(operands) if kind == "and" else ast.Or(operands)
    if kind == "known":
        operand = draw(st.one_of(values(where), conditions(where, depth - 1)))
        return ast.KnownTest(operand, draw(st.booleans()))
    quantified = draw(quantifieds(where, depth - 1))
    if kind == "quantified":
        return quantified
    body = quantified if draw(st.booleans()) else draw(conditions(where, depth - 1))
    return ast.Compare(draw(st.sampled_from(ORDERING + ("==",))), ast.Count(body),
                       draw(literals((0, 1, 2, 3))))


@st.composite
def quantifieds(draw: st.DrawFn, where: Where, depth: int) -> ast.Quantified:
    role = draw(st.sampled_from(("user", "assistant", "user", "assistant", "system", "tool")))
    if where.bindings and draw(st.integers(0, 2)) == 0:  # over tool results' own facts (an index of their own)
        role, body = "tool", draw(result_facts())
    else:
        body = draw(conditions(where.binding(role), depth))
    return ast.Quantified(draw(st.sampled_from(("any", "every"))), draw(st.sampled_from(("earlier", "all"))), role,
                          body)


@st.composite
def result_facts(draw: st.DrawFn) -> ast.Expr:
    """What a quantifier over tool results asks of each one alone: which call it answers,
    whether it failed (unknown when unlinked, or not said)."""
    bound = ast.Subject("tool", "bound")
    fact = draw(st.sampled_from([ast.Answers(bound, ast.Literal(tool)) for tool in AGENT_TOOLS] + [ast.Failed(bound)]))
    other = draw(st.sampled_from([ast.Failed(bound), ast.Calls(bound, ast.Literal("send_email")),
                                  ast.Says(bound, "one", ast.Literal("yes"))]))
    return draw(st.sampled_from([fact, fact, ast.Not(fact), ast.And((fact, ast.Not(other))), ast.Or((fact, other))]))


# --------------------------------------------------------------------------- bindings (issue 22)

# Agent traces: addresses and amounts that travel, calls with ids, results tied to them or not.
AGENT_WORDS = ("ann@x.org", "Ann@X.org", "bob@y.org", "250", "1,250", "yes", "confirm", "send", "7", "no")
AGENT_TOOLS = ("fetch_url", "send_email")
CALL_IDS = ("c0", "c1", None)
AGENT_ARGS = ({"to": "ann@x.org"}, {"to": "bob@y.org"}, {"amount": 250}, {"amount": 7}, {})
EMAIL = ast.Regex(r"[a-z]+@[a-z]+\.org", "i")


@st.composite
def agent_messages(draw: st.DrawFn, index: int) -> Message:
    role = draw(st.sampled_from(("user", "assistant", "tool", "assistant", "tool")))
    calls = ()
    if role == "assistant":
        calls = tuple(ToolCall(draw(st.sampled_from(AGENT_TOOLS)), draw(st.sampled_from(AGENT_ARGS)),
                               draw(st.sampled_from(CALL_IDS))) for _ in range(draw(st.integers(0, 2))))
    return Message(
        index=index, role=role, content=" ".join(draw(st.lists(st.sampled_from(AGENT_WORDS), max_size=3))),
        tool_calls=calls,
        tool_call_id=draw(st.sampled_from(CALL_IDS)) if role == "tool" else None,
        error=draw(st.sampled_from((True, False, None))) if role == "tool" else None,
    )


@st.composite
def agent_traces(draw: st.DrawFn) -> Trace:
    count = draw(st.integers(0, 6))
    return Trace(id="t", messages=tuple(draw(agent_messages(i)) for i in range(count)))


@st.composite
def events(draw: st.DrawFn, where: Where) -> ast.Events:
    """The messages a binding reads: a filtered range, or one subject."""
    quantifier = draw(st.sampled_from(("any", "every", "latest", "one")))
    role = draw(st.sampled_from(("user", "tool", "assistant")))
    if quantifier == "one":
        choices = [ast.Subject(role), ast.Subject(role, "previous")] + ([CALL] if where.scope == "tool call" else [])
        subject = draw(st.sampled_from(choices))
        return ast.Events("one", "earlier", subject.role, subject=subject)
    bound = ast.Subject(role, "bound")
    filters = [None, ast.Says(bound, "one", ast.Literal("yes"))] + (
        [ast.Answers(bound, ast.Literal("fetch_url"))] * 2 if role == "tool" else [])
    range_ = "earlier" if quantifier == "latest" else draw(st.sampled_from(("earlier", "later", "all")))
    return ast.Events(quantifier, range_, role, draw(st.sampled_from(filters)))


@st.composite
def binding_leaves(draw: st.DrawFn, where: Where) -> ast.Expr:
    """`appears in`, `shares`, `answers`, `failed`, and comparisons of `.number` and `.call`."""
    tool = draw(st.sampled_from([ast.Subject("tool")] + [ast.Subject("tool", "bound")] * ("tool" in where.bound)))
    sent: list[ast.Expr] = [ast.Literal("ann@x.org"), ast.Literal(250), ast.Linked(tool, ("args", "to")),
                            ast.Number(ast.Subject("user"))]
    if where.scope == "tool call":
        sent += [ast.Meta(CALL, "args", ("to",)), ast.Meta(CALL, "args", ("amount",))] * 2
    kind = draw(st.sampled_from(("appears", "appears", "shares", "answers", "failed", "number", "linked")))
    if kind == "appears":
        return ast.Appears(draw(st.sampled_from(sent)), draw(events(where)))
    if kind == "shares":
        choices = [ast.Subject("user"), ast.Subject("tool")] + ([CALL] if where.scope == "tool call" else [])
        return ast.Shares(draw(st.sampled_from(choices)), EMAIL, draw(events(where)), draw(st.booleans()))
    if kind == "answers":
        return ast.Answers(tool, draw(literals(AGENT_TOOLS)))
    if kind == "failed":
        return ast.Failed(draw(st.sampled_from([tool] + ([CALL] if where.scope == "tool call" else []))))
    if kind == "linked":
        return ast.Compare("==", ast.Linked(tool, draw(st.sampled_from((("name",), ("args", "to"))))),
                           draw(literals(AGENT_TOOLS + ("ann@x.org",))))
    latest = draw(events(where).filter(lambda e: e.quantifier in ("latest", "one") and e.role != "call"))
    return ast.Compare(draw(st.sampled_from(("==", ">"))), draw(st.sampled_from(sent[:2] + sent[4:])),
                       ast.Number(latest))


# --------------------------------------------------------------------------- norm bodies


# A few fixed behaviours, so that sibling outcomes often make the same decision.
shared_behaviours = st.sampled_from((
    ast.Says(ast.Subject("assistant"), "one", ast.Literal("refund")),
    ast.Compare(">", ast.Label(ast.Subject("assistant"), "a"), ast.Literal(0.5)),
    ast.Matches(ast.Subject("assistant"), ast.Regex(r"\bno\b")),
))


@st.composite
def outcomes(draw: st.DrawFn, where: Where, depth: int) -> ast.Outcome:
    """An outcome tree of depth at most `depth`, with 0–2 exceptions per level."""
    modality = draw(st.sampled_from(ast.MODALITIES))
    behaviour = within = reason = escalate_to = None
    within_unit = "turns"
    if modality in ("require", "forbid") or (modality == "permit" and draw(st.booleans())):
        behaviour = draw(st.one_of(shared_behaviours, conditions(where, 2)))
    if modality == "require" and where.scope != "conversation" and draw(st.booleans()):
        within, within_unit = draw(st.integers(1, 2)), draw(st.sampled_from(("turns", "messages")))
    if modality == "unspecified":
        reason = draw(st.sampled_from(REASONS))
        escalate_to = draw(st.sampled_from((None,) + AUTHORITIES))
    exceptions: tuple[ast.Unless, ...] = ()
    if depth > 1:
        exceptions = tuple(draw(st.lists(
            st.builds(ast.Unless, conditions(where, 2), outcomes(where, depth - 1)),
            max_size=2)))
    return ast.Outcome(modality, behaviour, within, reason, escalate_to, exceptions, within_unit)


@st.composite
def bodies(draw: st.DrawFn, where: Where) -> ast.Body:
    if draw(st.booleans()):
        return draw(outcomes(where, 3))
    cases = draw(st.lists(st.builds(ast.Case, conditions(where, 2), outcomes(where, 2)),
                          min_size=1, max_size=3))
    otherwise = None
    if draw(st.booleans()):
        otherwise = ast.Case(None, draw(outcomes(where, 2)))
    return ast.Cases(tuple(cases), otherwise)


# --------------------------------------------------------------------------- programs


@st.composite
def programs(draw: st.DrawFn, bindings: bool = False) -> Program:
    """1–4 norms `n0`..`n3`; a norm may override an earlier one in the list (so no cycles)
    when scopes are equal or its own is `conversation`; bands sometimes declared for `a`,
    with an authority who decides inside them."""
    count = draw(st.integers(1, 4))
    names = [f"n{i}" for i in range(count)]
    scopes = [draw(st.sampled_from(SCOPES)) for _ in names]
    overriders: dict[str, list[str]] = {name: [] for name in names}
    for j in range(count):
        for i in range(j):
            if (scopes[i] == scopes[j] or scopes[j] == "conversation") and draw(st.integers(0, 3)) == 0:
                overriders[names[i]].append(names[j])
    norms = []
    for name, scope in zip(names, scopes):
        where = Where(scope, bindings=bindings)
        trigger = draw(st.one_of(st.none(), conditions(where, 2)))
        norms.append(checked_norm(
            name, draw(bodies(where)), scope=scope, trigger=trigger,
            authority=draw(st.sampled_from(AUTHORITIES)),
            is_default=bool(overriders[name]) or draw(st.booleans()),
            overriders=tuple(overriders[name]),
        ))
    bands = draw(st.sampled_from(({}, {"a": (0.4, 0.8)}, {"a": (0.55, 0.95)})))
    decider = draw(st.sampled_from((None, *AUTHORITIES))) if bands else None  # `... escalate to A`
    labels = tuple(ast.LabelDecl(name, low, high, escalate_to=decider) for name, (low, high) in bands.items())
    return program(*norms, bands=bands, labels=labels)


@st.composite
def window_cases(draw: st.DrawFn) -> tuple[Program, Trace]:
    """One norm `require B within N turns|messages`, on traces of mostly assistant
    messages, some of them blank or only calling tools (where the two units differ)."""
    scope = draw(st.sampled_from(("user turn", "assistant turn", "tool call")))
    where = Where(scope)
    outcome = ast.Outcome("require", draw(st.one_of(shared_behaviours, conditions(where, 2))),
                          within=draw(st.integers(1, 3)), within_unit=draw(st.sampled_from(("turns", "messages"))))
    trigger = draw(st.one_of(st.none(), conditions(where, 1)))
    roles = ("user", "assistant", "assistant", "assistant", "tool")
    count = draw(st.integers(1, 8))
    trace = Trace(id="t", messages=tuple(draw(messages(i, roles)) for i in range(count)))
    return program(checked_norm("n0", outcome, scope=scope, trigger=trigger)), trace


def small_enough(case: tuple[Program, Trace]) -> bool:
    return max_atoms(*case) <= MAX_ATOMS


binding_cases = st.tuples(programs(bindings=True), agent_traces()).filter(small_enough)
# Every property runs on both: policies without bindings on the usual traces, and with them on agent traces.
cases = st.one_of(st.tuples(programs(), traces()).filter(small_enough), binding_cases)


# --------------------------------------------------------------------------- shuffling


def shuffle_outcome(outcome: ast.Outcome, rnd: random.Random) -> ast.Outcome:
    exceptions = [attrs.evolve(u, outcome=shuffle_outcome(u.outcome, rnd)) for u in outcome.exceptions]
    rnd.shuffle(exceptions)
    return attrs.evolve(outcome, exceptions=tuple(exceptions))


def shuffle_body(body: ast.Body, rnd: random.Random) -> ast.Body:
    if isinstance(body, ast.Outcome):
        return shuffle_outcome(body, rnd)
    cases_ = [attrs.evolve(c, outcome=shuffle_outcome(c.outcome, rnd)) for c in body.cases]
    rnd.shuffle(cases_)
    otherwise = body.otherwise
    if otherwise is not None:
        otherwise = attrs.evolve(otherwise, outcome=shuffle_outcome(otherwise.outcome, rnd))
    return attrs.evolve(body, cases=tuple(cases_), otherwise=otherwise)


def shuffle_program(prog: Program, rnd: random.Random) -> Program:
    """The same program with its norms, every outcome's exceptions and every body's cases
    in another order."""
    norms = [attrs.evolve(n, body=shuffle_body(n.body, rnd)) for n in prog.norms]
    rnd.shuffle(norms)
    return attrs.evolve(prog, norms=tuple(norms))
