"""A brute-force reference evaluator for docs/semantics-contract.md, used only as a test oracle.

It is written to be small and obviously correct, not fast: a recursive tree-walking
interpreter over the checked AST, in two-valued logic under an explicit resolution (a dict
from atom key to bool). For each norm at each act it finds every atom that could be
evaluated there (an exhaustive walk), evaluates the verdict under all 2^n resolutions
(recording which atoms each one consults), and applies the settled/unsettled rule. It
imports nothing from `charter.compile.compiler` or `charter.evaluate.evaluator`.

Fact names (what `Verdict.unknown` lists; one line per kind of fact):
    trace meta            trace.meta.a.b
    message meta          messages[3].meta.x.y
    message label         messages[3].labels.self_harm
    call argument         messages[2].tool_calls[0].arguments.path.p
    label, absent message user.labels.x      (the role only: `previous user` too)
    meta, absent message  user.meta.x.y      (the role only: `previous user` too)
    argument, no call     call.args.path     (only inside a `within` window of a tool-call norm)
A missing path step does not shorten the name: `trace.meta.order.age_days` names the
fact even when `order` is missing. Path steps only enter JSON objects (a list is never indexed).
An absent message is named by its role alone (a present message's fact without the
index), whether it was written `user` or `previous user`: there is no message to tell apart.

Atom keys: `(op, operand1_key, operand2_key)`, where
    op            "<", "<=", ">", ">=", "==", "!=", "in", "not in" (a negated `in` is its own
                  operator, like != beside ==), or "truth" for a value used as a condition;
    operand key   ("fact", name) for a Label/Meta operand whose value is unknown or
                  ill-typed for op (not a number for < <= > >=; neither a boolean nor a
                  label's number for "truth"), else ("const", json.dumps(value, sort_keys=True)),
                  so True ("true") differs from 1 ("1") and from 1.0 ("1.0");
    "in" / "not in": the second operand is the item list, ("const", json.dumps(items));
    "truth": the second operand key is None.
A known operand is keyed by its value even when it comes from a fact (`trace.meta.age <
user.label("a")` with age 10 and the label missing is ("<", ("const", "10"), ("fact",
"messages[0].labels.a"))); only the facts of ("fact", name) operands are listed in `unknown`.

Choices made where the contract is silent or ambiguous (questions for the lead engineer):
  - Q1: a label's boolean counts as 1/0 only in < <= > >=; == / != / in use JSON equality
    on the raw value, so a true label equals `true`, not `1`.
  - Q2: a boolean label is never "strictly inside a band" (only int/float are numbers).
  - Q3: `calls` on an absent subject is false, as the text predicates are.
  - Q4: an overrider's trigger is evaluated at its own act: the overridden norm's act for
    an overrider of the same scope, the whole conversation (conversation bindings) for a
    `conversation`-scope overrider, which then overrides at every act.
  - Q5: an overrider without a trigger counts as a trigger that holds (it overrides at
    every act).
  - Q6: in a `within` window every subject is bound as for an assistant-turn act at the
    window message, so `call` is absent there (even for a tool-call norm).
  - Q7: a settled verdict made only of OK kinds whose reported kind is `overridden` names
    the alphabetically first overrider among the resolutions that gave `overridden`.
  - Q8: `within` in conversation scope is rejected by the checker; if it occurred, the
    window would be empty (pending).
  - Q9: `previous R` is "the latest R message before the act, excluding the act's own
    message" in the contract, but "the R message just before the one R names at the act"
    in docs/language.md §5; they differ at a user-turn act for `previous assistant`
    (and at an assistant turn for `previous user`). This follows language.md.
  - Q10: an atom whose operands are both constants (a property used in an ill-typed
    comparison, `trace.id < user.words`) has no fact: an uncertain verdict it causes has
    an empty `unknown` list.
  - Q12 (bindings, issue 22): the words and numbers of a text, the one number a message
    holds and the texts a pattern matches are read with `charter.bindings.values` (the
    lexical definition, docs/language.md §6.14); everything above them — ranges, filters,
    links between calls and results, quantifiers, unknowns and their facts — is computed
    here by brute force over the whole trace. An unknown answer is one atom, whose fact
    is the message that makes it unknown: for `any`, the first message of unknown
    membership (a tool result linked to no call) holding the value; for `every`, the first
    one lacking it; for `latest`, the latest one before the act.
  - Q11: phrases are stripped of leading and trailing whitespace, and an empty phrase
    never matches (docs/language.md §6.3; the contract is silent).
"""

from __future__ import annotations

import itertools
import json
import operator
import re
from typing import Any, Callable, Iterable

import attrs
import re2

from charter.syntax import ast
from charter.check.program import CheckedNorm, Program
from charter.traces.model import Message, ToolCall, Trace, merge_patch
from charter.evaluate.verdicts import OK_KINDS, Verdict

from . import bindings

Row = tuple[
    str, int | None, int | None, str, str | None, bool, str | None, tuple[str, ...], str | None
]
AtomKey = tuple[str, tuple[str, str], tuple[str, str] | None]


class _Unknown:
    """The type of `UNKNOWN`: a missing fact's value, or a Kleene condition that is neither."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()
Truth = bool | _Unknown

ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
CONDITION_NODES = (
    ast.Quantified, ast.Says, ast.Matches, ast.Calls, ast.Compare, ast.In, ast.KnownTest,
    ast.Not, ast.And, ast.Or, ast.Appears, ast.Shares, ast.Answers, ast.Failed,
)
GAP = "GAP"
CONFLICT = "CONFLICT"
# Among settled OK verdicts, the kind reported is the first of these present.
OK_PREFERENCE = ("complied", "overridden", "not_applicable")


# --------------------------------------------------------------------------- bindings


@attrs.frozen
class Env:
    """The subjects bound at one act (or at one window message, or inside a quantifier)."""

    trace: Trace
    index: int | None  # the act's message index; None for conversation scope
    current: dict[str, Message | None]
    previous: dict[str, Message | None]
    call: tuple[int, int, ToolCall] | None  # (message index, call index, call)
    bound: dict[str, Message] = attrs.Factory(dict)

    def bind(self, role: str, message: Message) -> "Env":
        return attrs.evolve(self, bound={**self.bound, role: message})


def env_at(trace: Trace, own_role: str | None, index: int | None,
           call: tuple[int, int, ToolCall] | None = None) -> Env:
    """Bindings at message `index` whose own role is `own_role`; `index` None: conversation.
    `previous R` is the R message just before the one `R` names (Q9)."""
    current: dict[str, Message | None] = {}
    previous: dict[str, Message | None] = {}
    for role in ast.ROLES:
        end = len(trace.messages) if index is None else index
        current[role] = trace.messages[index] if role == own_role else latest(trace, role, end)
        previous[role] = None if current[role] is None else latest(trace, role, current[role].index)
    return Env(trace, index, current, previous, call)


def latest(trace: Trace, role: str, end: int) -> Message | None:
    """The latest `role` message with index < end."""
    before = [m for m in trace.messages[:end] if m.role == role]
    return before[-1] if before else None


def acts(trace: Trace, scope: str) -> list[tuple[int | None, int | None, Env]]:
    """`(turn, call, env)` for every act of `scope` in `trace`."""
    if scope == "conversation":
        return [(None, None, env_at(trace, None, None))]
    if scope == "tool call":
        return [
            (i, k, env_at(trace, "assistant", i, (i, k, tool_call)))
            for i, m in enumerate(trace.messages) if m.role == "assistant"
            for k, tool_call in enumerate(m.tool_calls)
        ]
    role = {"assistant turn": "assistant", "user turn": "user"}[scope]
    return [(i, None, env_at(trace, role, i)) for i, m in enumerate(trace.messages) if m.role == role]


def window_envs(trace: Trace, turn: int | None, outcome: ast.Outcome) -> tuple[list[Env], bool]:
    """The assistant messages of `outcome`'s window after `turn`, bound as assistant-turn
    acts (Q6, Q8), and whether the window is full. `within N messages` is the next N
    assistant messages; `within N turns` counts only replies the user sees (text that is
    not blank) and holds every assistant message up to the N-th of them."""
    if turn is None:
        return [], False
    later = [i for i, m in enumerate(trace.messages) if m.role == "assistant" and i > turn]
    counted = later if outcome.within_unit == "messages" else [i for i in later if trace.messages[i].content.strip()]
    full = len(counted) >= outcome.within
    window = [i for i in later if i <= counted[outcome.within - 1]] if full else later
    return [env_at(trace, "assistant", i) for i in window], full


def quantifier_range(node: ast.Quantified, env: Env) -> list[Message]:
    """The messages a quantifier ranges over at `env`."""
    of_role = [m for m in env.trace.messages if m.role == node.role]
    if node.range == "all" or env.index is None:
        return of_role
    return [m for m in of_role if m.index < env.index]


def message_of(subject: ast.Subject, env: Env) -> Message | None:
    """The message a subject names at `env` (None when absent)."""
    if subject.which == "bound":
        return env.bound[subject.role]
    table = env.previous if subject.which == "previous" else env.current
    return table[subject.role]


# --------------------------------------------------------------------------- values


@attrs.frozen
class Val:
    """A value: JSON (or UNKNOWN), the fact it was read from, whether it is a label."""

    value: Any
    fact: str | None = None
    label: bool = False


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_number(v: Val) -> float | int | None:
    """The number an ordering comparison sees: a label's boolean counts as 1/0 (Q1)."""
    if isinstance(v.value, bool):
        return int(v.value) if v.label else None
    return v.value if is_number(v.value) else None


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans differ from numbers, `1 == 1.0`, containers compared deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def compare(op: str, left: Val, right: Val) -> Truth:
    """`left op right` on actual values: UNKNOWN when the contract says so."""
    if op in ORDERING:
        a, b = as_number(left), as_number(right)
        return UNKNOWN if a is None or b is None else ORDERING[op](a, b)
    if left.value is UNKNOWN or right.value is UNKNOWN:
        return UNKNOWN
    equal = json_equal(left.value, right.value)
    return equal if op == "==" else not equal


def member(op: str, value: Val, items: Val) -> Truth:
    """`value in items` (op "in") or `value not in items` (op "not in")."""
    if value.value is UNKNOWN:
        return UNKNOWN
    found = any(json_equal(value.value, item) for item in items.value)
    return found if op == "in" else not found


def as_truth(v: Val) -> Truth:
    """A value used as a condition: a boolean is itself, a label's number n is n >= 0.5."""
    if isinstance(v.value, bool):
        return v.value
    if v.label and is_number(v.value):
        return v.value >= 0.5
    return UNKNOWN


def operand_key(op: str, v: Val) -> tuple[str, str]:
    """An atom operand's key: its fact when unknown or ill-typed for `op`, else its value."""
    ill_typed = (op in ORDERING and as_number(v) is None) or (op == "truth" and as_truth(v) is UNKNOWN)
    if v.fact is not None and (v.value is UNKNOWN or ill_typed):
        return ("fact", v.fact)
    assert v.value is not UNKNOWN, "only facts are unknown under a resolution"
    return ("const", json.dumps(v.value, sort_keys=True))


def atom_key(op: str, left: Val, right: Val | None) -> AtomKey:
    return (op, operand_key(op, left), None if right is None else operand_key(op, right))


def says(content: str, phrase: str) -> bool:
    """Whole-word, case-insensitive: no word character touches either end of the match, and
    each run of whitespace in the phrase matches any run of whitespace (Q11)."""
    words = phrase.split()
    if not words:
        return False
    body = r"\s+".join(re.escape(word) for word in words)
    return re.search(rf"(?<!\w){body}(?!\w)", content, re.IGNORECASE) is not None


def matches(content: str, regex: ast.Regex) -> bool:
    """A search with RE2, the flags i/m/s written as inline-flag prefixes."""
    assert set(regex.flags) <= set("ims"), regex.flags
    prefix = "".join(f"(?{flag})" for flag in regex.flags)
    return re2.search(prefix + regex.source, content) is not None


# --------------------------------------------------------------------------- evaluation


@attrs.define
class Ctx:
    """How to evaluate: under `resolution` (two-valued, recording consulted atoms), or in
    Kleene's three-valued logic when `resolution` is None (for `is known`)."""

    program: Program
    resolution: dict[AtomKey, bool] | None
    consulted: set[AtomKey] = attrs.Factory(set)

    def atom(self, op: str, left: Val, right: Val | None) -> Truth:
        """The value of an atom: its resolution (recorded as consulted), or UNKNOWN."""
        return self.keyed(atom_key(op, left, right))

    def keyed(self, key: AtomKey) -> Truth:
        if self.resolution is None:
            return UNKNOWN
        self.consulted.add(key)
        return self.resolution[key]  # a KeyError means the atom walk missed this atom


def k_and(values: Iterable[Truth]) -> Truth:
    """Kleene conjunction, stopping at the first false operand."""
    unknown = False
    for v in values:
        if v is False:
            return False
        unknown |= v is UNKNOWN
    return UNKNOWN if unknown else True


def k_or(values: Iterable[Truth]) -> Truth:
    """Kleene disjunction, stopping at the first true operand."""
    unknown = False
    for v in values:
        if v is True:
            return True
        unknown |= v is UNKNOWN
    return UNKNOWN if unknown else False


def k_not(value: Truth) -> Truth:
    return UNKNOWN if value is UNKNOWN else not value


def truth(expr: ast.Expr, env: Env, ctx: Ctx) -> Truth:
    """An expression used as a condition."""
    match expr:
        case ast.Quantified():
            each = (truth(expr.body, env.bind(expr.role, m), ctx) for m in quantifier_range(expr, env))
            return k_or(each) if expr.quantifier == "any" else k_and(each)
        case ast.And():
            return k_and(truth(e, env, ctx) for e in expr.operands)
        case ast.Or():
            return k_or(truth(e, env, ctx) for e in expr.operands)
        case ast.Not():
            return k_not(truth(expr.operand, env, ctx))
        case ast.Says():
            msg = message_of(expr.subject, env)
            if msg is None:
                return False
            phrases = [expr.phrases.value] if expr.mode == "one" else [i.value for i in expr.phrases.items]
            found = (says(msg.content, p) for p in phrases)
            return all(found) if expr.mode == "all" else any(found)
        case ast.Matches():
            msg = message_of(expr.subject, env)
            return msg is not None and matches(msg.content, expr.regex)
        case ast.Calls():
            msg = message_of(expr.subject, env)
            return msg is not None and any(c.name == expr.tool.value for c in msg.tool_calls)
        case ast.Compare():
            left, right = value(expr.left, env, ctx), value(expr.right, env, ctx)
            result = compare(expr.op, left, right)
            return ctx.atom(expr.op, left, right) if result is UNKNOWN else result
        case ast.In():
            op = "not in" if expr.negated else "in"
            val, items = value(expr.value, env, ctx), value(expr.items, env, ctx)
            result = member(op, val, items)
            return ctx.atom(op, val, items) if result is UNKNOWN else result
        case ast.KnownTest():
            actual = value(expr.operand, env, Ctx(ctx.program, None))
            return (actual.value is not UNKNOWN) == expr.known
        case ast.Appears() | ast.Shares() | ast.Answers() | ast.Failed():
            return bindings.truth(expr, env, ctx)
    v = value(expr, env, ctx)
    result = as_truth(v)
    return ctx.atom("truth", v, None) if result is UNKNOWN else result


def value(expr: ast.Expr, env: Env, ctx: Ctx) -> Val:
    """An expression used as a value (a condition's value is its truth)."""
    match expr:
        case ast.Literal():
            return Val(expr.value)
        case ast.ListLiteral():
            return Val([value(item, env, ctx).value for item in expr.items])
        case ast.Label():
            return label_value(expr, env, ctx.program)
        case ast.Meta():
            return meta_value(expr, env)
        case ast.Property():
            return property_value(expr, env)
        case ast.Number() | ast.Linked():
            return bindings.value(expr, env)
        case ast.Count():
            if isinstance(expr.body, ast.Quantified):
                body = expr.body.body
                bits = [truth(body, env.bind(expr.body.role, m), ctx)
                        for m in quantifier_range(expr.body, env)]
            else:
                bits = [truth(expr.body, env, ctx)]
            return Val(UNKNOWN if UNKNOWN in bits else sum(b is True for b in bits))
        case _ if isinstance(expr, CONDITION_NODES):
            return Val(truth(expr, env, ctx))
    raise TypeError(f"not an expanded value expression: {expr!r}")


def label_value(expr: ast.Label, env: Env, program: Program) -> Val:
    msg = message_of(expr.subject, env)
    if msg is None:
        return Val(UNKNOWN, f"{expr.subject.role}.labels.{expr.name}", True)
    fact = f"messages[{msg.index}].labels.{expr.name}"
    if expr.name not in msg.labels:
        return Val(UNKNOWN, fact, True)
    raw = msg.labels[expr.name]
    band = program.bands.get(expr.name)
    if band is not None and is_number(raw) and band[0] < raw < band[1]:
        return Val(UNKNOWN, fact, True)
    return Val(raw, fact, True)


def meta_in_force(trace: Trace, index: int | None) -> Any:
    """The trace's meta at message `index` (None: after the last): every `meta_patch` up to
    and including it merged in, in order (semantics contract, "Values and unknowns")."""
    meta = trace.meta
    for message in trace.messages[: None if index is None else index + 1]:
        if message.meta_patch:
            meta = merge_patch(meta, message.meta_patch)
    return meta


def meta_value(expr: ast.Meta, env: Env) -> Val:
    path = ".".join(expr.path)
    if expr.subject.role == "trace":
        root, prefix = meta_in_force(env.trace, env.index), "trace.meta"
    elif expr.subject.role == "call":
        if env.call is None:
            return Val(UNKNOWN, f"call.args.{path}")
        i, k, call = env.call
        root, prefix = call.arguments, f"messages[{i}].tool_calls[{k}].arguments"
    else:
        msg = message_of(expr.subject, env)
        if msg is None:
            return Val(UNKNOWN, f"{expr.subject.role}.meta.{path}")
        root, prefix = msg.meta, f"messages[{msg.index}].meta"
    fact = ".".join([prefix, *expr.path])
    current = root
    for step in expr.path:
        if not isinstance(current, dict) or step not in current:
            return Val(UNKNOWN, fact)
        current = current[step]
    return Val(current, fact)


def property_value(expr: ast.Property, env: Env) -> Val:
    if expr.name == "id":
        return Val(env.trace.id)
    if expr.name == "name":
        return Val(env.call[2].name if env.call is not None else "")
    msg = message_of(expr.subject, env)
    content = msg.content if msg is not None else ""
    return Val(len(content.split()) if expr.name == "words" else len(content))


# --------------------------------------------------------------------------- the atom walk


def possible_values(expr: ast.Expr, env: Env, program: Program) -> list[Val]:
    """Every value `expr` may take under some resolution (an over-approximation)."""
    if isinstance(expr, CONDITION_NODES):
        return [Val(False), Val(True)]
    if isinstance(expr, ast.Count):
        size = len(quantifier_range(expr.body, env)) if isinstance(expr.body, ast.Quantified) else 1
        return [Val(n) for n in range(size + 1)]
    return [value(expr, env, Ctx(program, None))]


def atoms_in(expr: ast.Expr, env: Env, program: Program, as_condition: bool) -> set[AtomKey]:
    """Every atom of `expr` at `env`, with every operand evaluated and every range walked."""
    found: set[AtomKey] = set()
    match expr:
        case ast.Quantified():
            for m in quantifier_range(expr, env):
                found |= atoms_in(expr.body, env.bind(expr.role, m), program, True)
        case ast.Count():
            found |= atoms_in(expr.body, env, program, True)
        case ast.Not():
            found |= atoms_in(expr.operand, env, program, True)
        case ast.And() | ast.Or():
            for operand in expr.operands:
                found |= atoms_in(operand, env, program, True)
        case ast.Appears() | ast.Shares() | ast.Answers() | ast.Failed():
            found |= bindings.atoms(expr, env, program)
        case ast.Compare() | ast.In():
            op, left, right = (
                (expr.op, expr.left, expr.right) if isinstance(expr, ast.Compare)
                else ("not in" if expr.negated else "in", expr.value, expr.items)
            )
            test = compare if isinstance(expr, ast.Compare) else member
            found |= atoms_in(left, env, program, False) | atoms_in(right, env, program, False)
            for lv, rv in itertools.product(possible_values(left, env, program),
                                            possible_values(right, env, program)):
                if test(op, lv, rv) is UNKNOWN:
                    found.add(atom_key(op, lv, rv))
    if as_condition and not isinstance(expr, CONDITION_NODES):
        found |= {atom_key("truth", v, None) for v in possible_values(expr, env, program)
                  if as_truth(v) is UNKNOWN}
    return found


def outcome_atoms(outcome: ast.Outcome, env: Env, turn: int | None,
                  program: Program) -> set[AtomKey]:
    """The atoms of an outcome tree: exception conditions, and require/forbid behaviours."""
    found: set[AtomKey] = set()
    for unless in outcome.exceptions:
        found |= atoms_in(unless.condition, env, program, True)
        found |= outcome_atoms(unless.outcome, env, turn, program)
    if outcome.modality in ("require", "forbid"):
        envs = [env] if outcome.within is None else window_envs(env.trace, turn, outcome)[0]
        for at in envs:
            found |= atoms_in(outcome.behaviour, at, program, True)
    return found


def act_atoms(program: Program, norm: CheckedNorm, turn: int | None, env: Env) -> set[AtomKey]:
    """Every atom that could be consulted for `norm` at one act."""
    found: set[AtomKey] = set()
    for overrider in overriders(program, norm):
        if overrider.trigger is not None:
            found |= atoms_in(overrider.trigger, overrider_env(overrider, env), program, True)
    if norm.trigger is not None:
        found |= atoms_in(norm.trigger, env, program, True)
    if isinstance(norm.body, ast.Outcome):
        return found | outcome_atoms(norm.body, env, turn, program)
    for case in norm.body.cases:
        found |= atoms_in(case.condition, env, program, True)
        found |= outcome_atoms(case.outcome, env, turn, program)
    if norm.body.otherwise is not None:
        found |= outcome_atoms(norm.body.otherwise.outcome, env, turn, program)
    return found


# --------------------------------------------------------------------------- verdicts


def overriders(program: Program, norm: CheckedNorm) -> list[CheckedNorm]:
    """The norms that override `norm` at its acts, by name: same scope, or conversation."""
    found = [program.norm(name) for name in sorted(norm.overriders)]
    return [o for o in found if o.scope in (norm.scope, "conversation")]


def overrider_env(overrider: CheckedNorm, env: Env) -> Env:
    """Where an overrider's trigger is evaluated (Q4)."""
    return env_at(env.trace, None, None) if overrider.scope == "conversation" else env


def holds(expr: ast.Expr, env: Env, ctx: Ctx) -> bool:
    """A condition under a resolution: always true or false."""
    result = truth(expr, env, ctx)
    assert isinstance(result, bool), "a condition is two-valued under a resolution"
    return result


def combine(results: list[ast.Outcome | str]) -> ast.Outcome | str:
    """Several applicable outcome trees, decided: their common decision, or CONFLICT."""
    if CONFLICT in results:
        return CONFLICT
    if all(r.same_decision(results[0]) for r in results):
        return results[0]
    return CONFLICT


def decide(outcome: ast.Outcome, env: Env, ctx: Ctx) -> ast.Outcome | str:
    applicable = [u for u in outcome.exceptions if holds(u.condition, env, ctx)]
    if not applicable:
        return outcome
    return combine([decide(u.outcome, env, ctx) for u in applicable])


def decide_body(body: ast.Body, env: Env, ctx: Ctx) -> ast.Outcome | str:
    if isinstance(body, ast.Outcome):
        return decide(body, env, ctx)
    applicable = [c for c in body.cases if holds(c.condition, env, ctx)]
    if applicable:
        return combine([decide(c.outcome, env, ctx) for c in applicable])
    if body.otherwise is not None:
        return decide(body.otherwise.outcome, env, ctx)
    return GAP


# (kind, reason, gap, escalate_to, overridden_by)
Decision = tuple[str, str | None, bool, str | None, str | None]


def simple(kind: str) -> Decision:
    return (kind, None, False, None, None)


def verdict_under(program: Program, norm: CheckedNorm, turn: int | None, env: Env,
                  ctx: Ctx) -> Decision:
    """The verdict of `norm` at one act under the resolution in `ctx`."""
    for overrider in overriders(program, norm):
        if overrider.trigger is None or holds(overrider.trigger, overrider_env(overrider, env), ctx):  # Q4, Q5
            return ("overridden", None, False, None, overrider.name)
    if norm.trigger is not None and not holds(norm.trigger, env, ctx):
        return simple("not_applicable")
    standing = decide_body(norm.body, env, ctx)
    if standing == GAP:
        return ("unspecified", "no case applies", True, norm.authority, None)
    if standing == CONFLICT:
        return simple("conflict")
    if standing.modality == "unspecified":
        return ("unspecified", standing.reason, False, standing.escalate_to, None)
    if standing.modality == "permit":
        return simple("complied")
    if standing.modality == "forbid":
        return simple("violated" if holds(standing.behaviour, env, ctx) else "complied")
    if standing.within is None:
        return simple("complied" if holds(standing.behaviour, env, ctx) else "violated")
    window, full = window_envs(env.trace, turn, standing)
    if any(holds(standing.behaviour, at, ctx) for at in window):
        return simple("complied")
    return simple("violated" if full else "pending")


def settle(decisions: list[Decision]) -> Decision:
    """One verdict from the verdicts under every resolution (the settled/unsettled rule)."""
    kinds = {d[0] for d in decisions}
    if kinds <= OK_KINDS:
        kind = next(k for k in OK_PREFERENCE if k in kinds)
        by = min((d[4] for d in decisions if d[0] == "overridden"), default=None)  # Q7
        return (kind, None, False, None, by if kind == "overridden" else None)
    if len({d[:4] for d in decisions}) == 1:
        return decisions[0]
    return ("unspecified", "uncertain", False, None, None)


def verdict_at(program: Program, norm: CheckedNorm, turn: int | None, call: int | None,
               env: Env) -> Row:
    """The reported verdict of `norm` at one act, as a row."""
    atoms = sorted(act_atoms(program, norm, turn, env))
    decisions: list[Decision] = []
    consulted: set[AtomKey] = set()
    for values in itertools.product((False, True), repeat=len(atoms)):
        ctx = Ctx(program, dict(zip(atoms, values)))
        decisions.append(verdict_under(program, norm, turn, env, ctx))
        consulted |= ctx.consulted
    unknown = tuple(sorted({operand[1] for key in consulted for operand in key[1:]
                            if operand is not None and operand[0] == "fact"}))
    kind, reason, gap, escalate_to, overridden_by = settle(decisions)
    if (kind, reason) == ("unspecified", "uncertain"):
        escalate_to = next(filter(None, (band_decider(program, env.trace, fact) for fact in unknown)), None)
    return (norm.name, turn, call, kind, reason, gap, escalate_to, unknown, overridden_by)


def band_decider(program: Program, trace: Trace, fact: str) -> str | None:
    """Who a label's declaration says decides it, when `fact` is that label strictly
    inside its band (an uncertain verdict goes to the first such fact's)."""
    found = re.fullmatch(r"messages\[(\d+)\]\.labels\.(.+)", fact)
    if found is None:
        return None
    index, name = int(found[1]), found[2]
    decl, band, raw = program.labels.get(name), program.bands.get(name), trace.messages[index].labels.get(name)
    inside = band is not None and is_number(raw) and band[0] < raw < band[1]
    return decl.escalate_to if inside and decl is not None else None


# --------------------------------------------------------------------------- entry points


def row_order(row: Row) -> tuple[str, int, int]:
    """Rows sort by norm name, then turn, then call (None first)."""
    return (row[0], -1 if row[1] is None else row[1], -1 if row[2] is None else row[2])


def sort_rows(rows: Iterable[Row]) -> list[Row]:
    return sorted(rows, key=row_order)


def verdict_row(verdict: Verdict) -> Row:
    """A `charter.evaluate.verdicts.Verdict` in the oracle's row shape, for comparison."""
    return (verdict.norm, verdict.turn, verdict.call, verdict.kind, verdict.reason, verdict.gap,
            verdict.escalate_to, tuple(verdict.unknown), verdict.overridden_by)


def reference_verdicts(program: Program, trace: Trace) -> list[Row]:
    """Every norm's verdict at every act of `trace`, as sorted rows
    `(norm, turn, call, kind, reason, gap, escalate_to, unknown, overridden_by)`."""
    return sort_rows(
        verdict_at(program, norm, turn, call, env)
        for norm in program.norms
        for turn, call, env in acts(trace, norm.scope)
    )


def max_atoms(program: Program, trace: Trace) -> int:
    """The largest number of atoms the walk finds at one act (0 without acts)."""
    return max((len(act_atoms(program, norm, turn, env))
                for norm in program.norms for turn, _, env in acts(trace, norm.scope)), default=0)
