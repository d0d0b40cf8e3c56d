"""A policy's norms as Z3 formulas over a bounded symbolic trace.

The trace (`Shape`) is an optional system and developer message (when the policy reads
them), then `exchanges` user/assistant exchanges (a tool message after every assistant
message but the last, when the policy reads tool messages). Its last message is the
*reply*: the assistant message whose content is chosen. Everything else is the
*situation*, over-approximated the way `analysis/prove.py` reads one act:

- `M says "p"` is a boolean per message and phrase, with the implications between the
  policy's phrases (a message that says "refund is approved" says "refund");
- `M matches /re/`, `M calls "t"` and the text of a call are booleans per message;
- a fact compared with constants (a label, a metadata path, a call argument, `words`,
  `chars`) takes one of its regions (prove.py's), *missing* only where the policy asks
  `is known` (its comparisons are then free); `count(...)` is the sum over the messages;
- two labels or metadata values compared are read through their regions and within them
  (a number per numeric region, which string equal to no constant);
- whether an earlier message holds a value a binding on the reply looks for is a boolean;
- any other atom is a free boolean.

The reply is under-approximated: a *lead* (a filler word, or one of the *tokens*: the
policy's phrases and samples of its regexes) followed by any set of tokens, joined by
"; ". What it says and matches, and the values a binding finds in it, are computed on
its parts with the evaluator's own matchers (a regex anchored at the start, like
`/^[{]/`, reads the lead alone), its words and characters are sums, its labels and
metadata take regions (a score in [0, 1], outside its uncertainty band; a number one of
finitely many terms over the situation); it makes no tool call. Every reply of this family is a real reply, so a reply the solver finds exists; a
construct on the reply the encoding can only approximate (a regex whose truth on the
joined reply is not that of its parts, a tool call the reply would have to make) is
named in `Encoder.approximate`, and no proof is claimed while one is.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import Iterator

from functools import lru_cache

import attrs
import z3

from ..analysis.generate import SEPARATOR, Vocabulary
from ..analysis.prove import MISSING, OTHER, fact_of, region_truth, representatives, same_value
from ..bindings import pattern_keys
from ..check.program import CheckedNorm, Program
from ..syntax import ast
from ..text.builtins import BUILTINS
from ..text.matching import compile_regex, phrase_regex
from .calculus import connective

_FACTS = (ast.Label, ast.Meta, ast.Property)


@attrs.frozen
class Shape:
    """The roles of the bounded trace's messages; the last is the reply."""

    roles: tuple[str, ...]

    @property
    def reply(self) -> int:
        return len(self.roles) - 1

    def indices(self, role: str, before: int | None = None) -> list[int]:
        end = len(self.roles) if before is None else before
        return [i for i in range(end) if self.roles[i] == role]


def exchanges(vocab: Vocabulary) -> int:
    """Enough exchanges for the longest `within` window to close at the reply, whether it
    opened at a user message or at an assistant message before it."""
    return max(2, vocab.longest_window + 1)


def shapes(vocab: Vocabulary) -> Iterator[Shape]:
    """Every shape within the bound, shortest first: 1 to `exchanges` user/assistant
    exchanges, after each subset of the system and developer messages the policy reads;
    a tool message after every reply but the last when it reads tool messages."""
    readable = [r for r in ("system", "developer") if r in vocab.roles]
    for count in range(1, exchanges(vocab) + 1):
        for size in range(len(readable) + 1):
            for preamble in itertools.combinations(readable, size):
                roles = list(preamble)
                for k in range(count):
                    roles += ["user", "assistant"] + (["tool"] if "tool" in vocab.roles and k < count - 1 else [])
                yield Shape(tuple(roles))


def bound(vocab: Vocabulary) -> str:
    """The bound of a proof, in words."""
    readable = [r for r in ("system", "developer") if r in vocab.roles]
    notes = [f"with or without a {' and a '.join(readable)} message first"] if readable else []
    notes += ["a tool result after each reply but the last"] if "tool" in vocab.roles else []
    extra = f" ({'; '.join(notes)})" if notes else ""
    return (f"traces of 1 to {exchanges(vocab)} user/assistant exchanges{extra}, "
            "replies made of the policy's phrases and regex samples")


@attrs.frozen
class Env:
    """The messages an act binds: each role's current and previous message, the end of
    `earlier`, the act's tool call (message, tool), the message a quantifier ranges over."""

    current: dict
    previous: dict
    earlier: int
    call: tuple[int, str] | None = None
    bound: int | None = None


@attrs.frozen
class Fact:
    """A fact of the symbolic trace: `kind` says what the policy compares it with."""

    kind: tuple
    where: object  # a message index, (message, tool) for an argument, None for the trace


class Encoder:
    """Formulas for one policy over one shape. `reply_vars` are the reply's variables,
    every other variable is the situation's."""

    def __init__(self, program: Program, vocab: Vocabulary, shape: Shape, parts: tuple[list[str], str]):
        self.program, self.vocab, self.shape = program, vocab, shape
        self.approximate: set[str] = set()
        self.domain: list[z3.BoolRef] = []
        self.reply_vars: list[z3.ExprRef] = []
        self.reply_domain: list[z3.BoolRef] = []
        self._vars: dict[tuple, z3.ExprRef] = {}
        self.facts: dict[Fact, tuple[z3.ArithRef, list]] = {}
        # A fact's value within its region, where two facts are compared (or it is one of
        # the reply's labels): a number, or which string "other" is.
        self._amounts: dict[Fact, z3.ArithRef] = {}
        self._others: dict[Fact, z3.ArithRef] = {}
        self._terms: dict[int, tuple[z3.ArithRef, list]] = {}  # a reply number -> (its choice, the terms)
        self._constants, self._known = _constants(program)
        self.phrases = vocab.phrases
        self.tokens, self.filler = parts
        self.leads = [self.filler, *self.tokens]
        self.lead = z3.Int("reply.lead")
        self.includes = [z3.Bool(f"reply.token{i}") for i in range(len(self.tokens))]
        self.reply_vars += [self.lead, *self.includes]
        self.reply_domain += [self.lead >= 0, self.lead < len(self.leads)]
        self._matchers: dict[str, object] = {}
        self.regexes: dict[str, ast.Regex] = {}
        self._readings: dict[str, str | None] = {}
        self.held_texts: dict[str, str] = {}  # a value a binding compares -> a text that holds it
        self._implications()

    # ------------------------------------------------------------------ variables

    def var(self, key: tuple, reply: bool = False) -> z3.BoolRef:
        """The boolean named by `key` (one of the reply's when `reply`)."""
        found = self._vars.get(key)
        if found is None:
            found = self._vars[key] = z3.Bool("|".join(map(str, key)))
            if reply:
                self.reply_vars.append(found)
        return found

    def situation_vars(self) -> list[z3.ExprRef]:
        replies = {v.get_id() for v in self.reply_vars}
        every = [*self._vars.values(), *(r for r, _ in self.facts.values()), *self._amounts.values(),
                 *self._others.values()]
        return [v for v in every if v.get_id() not in replies]

    def _implications(self) -> None:
        """`says q` implies `says p` where q contains p as whole words."""
        self._implied = [(q, p) for q, p in itertools.permutations(self.phrases, 2) if self._says_in(p, q)]

    def _says_in(self, phrase: str, text: str) -> bool:
        matcher = self._matchers.get(phrase)
        if matcher is None:
            matcher = self._matchers[phrase] = phrase_regex((phrase,))
        return matcher.search(text) is not None

    def says(self, message: int, phrase: str) -> z3.BoolRef:
        if message == self.shape.reply:
            return self._in_reply(lambda part: self._says_in(phrase, part), "any part")
        key = ("says", message, phrase)
        if key not in self._vars:
            said = self.var(key)
            for q, p in self._implied:  # the implications with the phrases met so far
                if p == phrase and ("says", message, q) in self._vars:
                    self.domain.append(z3.Implies(self._vars[("says", message, q)], said))
                if q == phrase and ("says", message, p) in self._vars:
                    self.domain.append(z3.Implies(said, self._vars[("says", message, p)]))
        return self._vars[key]

    def matches(self, message: int, regex: ast.Regex) -> z3.BoolRef:
        key = _regex_key(regex)
        self.regexes[key] = regex
        if message != self.shape.reply:
            return self.var(("matches", message, key))
        matcher = _matcher(regex)
        reading = None if matcher is None else self._reading(key, lambda text: matcher.search(text) is not None)
        if reading is None:
            self.approximate.add(f"`{key}` on the reply (a match across the reply's parts, or an anchor "
                                 "other than at its start)")
            return self.var(("matches", message, key), reply=True)
        return self._in_reply(lambda part: matcher.search(part) is not None, reading)

    def _in_reply(self, test, reading: str) -> z3.BoolRef:
        """Whether the reply has a part where `test` holds: its lead (`reading` "lead"),
        or any part ("any part")."""
        parts = [self.lead == k for k, part in enumerate(self.leads) if test(part)]
        if reading == "any part":
            parts += [inc for inc, token in zip(self.includes, self.tokens) if test(token)]
        return z3.Or(parts + [False])

    def _reading(self, key: str, hits) -> str | None:
        """How a regex's truth on a joined reply follows from its parts: "any part" (it
        matches where one of them does), "lead" (where the lead does: anchored at the
        start), or None (a pattern that spans the separator, or an anchor at the end).
        Read off every lead with every token, and the filler with every pair of tokens."""
        if key not in self._readings:
            alone = {t: hits(t) for t in self.leads}
            joined = [((lead, a), hits(SEPARATOR.join([lead, a]))) for lead in self.leads for a in self.tokens]
            joined += [((self.filler, a, b), hits(SEPARATOR.join([self.filler, a, b])))
                       for a in self.tokens for b in self.tokens]
            self._readings[key] = next((reading for reading, expect in (
                ("any part", lambda parts: any(alone[p] for p in parts)), ("lead", lambda parts: alone[parts[0]]))
                if all(found == expect(parts) for parts, found in joined)), None)
        return self._readings[key]

    def reply_text(self, model: z3.ModelRef, names: dict | None = None) -> str:
        """The content of the reply a model gives (through `names`, a copy of the reply's
        variables)."""
        def value(var):
            return model.eval(names[var.get_id()] if names else var, model_completion=True)

        chosen = [t for inc, t in zip(self.includes, self.tokens) if z3.is_true(value(inc))]
        return SEPARATOR.join([self.leads[value(self.lead).as_long()]] + chosen)

    def fact(self, fact: Fact) -> tuple[z3.ArithRef, list]:
        """The fact's region variable and the value of each region."""
        found = self.facts.get(fact)
        if found is None:
            # The reply's facts are all there: a reply the family leaves out is still real.
            reply = fact.where == self.shape.reply
            values = representatives(self._constants.get(fact.kind, set()), fact.kind in self._known and not reply)
            region = z3.Int(f"region|{fact.kind}|{fact.where}")
            self.facts[fact] = found = (region, values)
            self._domain(fact).extend([region >= 0, region < len(values)])
            if reply:
                self.reply_vars.append(region)
            if reply and fact.kind[0] == "label":
                self._reply_label(fact)
        return found

    def _domain(self, fact: Fact) -> list[z3.BoolRef]:
        return self.reply_domain if fact.where == self.shape.reply else self.domain

    def _reply_label(self, fact: Fact) -> None:
        """A label the reply carries is one a classifier could give, and one the evaluator
        reads: of the label's declared type, a score in [0, 1], never strictly inside the
        label's uncertainty band."""
        region, _ = self.facts[fact]
        self.reply_domain.extend(region != i for i in self._ill_typed(fact))
        numeric = list(_intervals(self._constants.get(fact.kind, set())))
        if not numeric:
            return
        amount = self.amount(fact)
        band = self.program.bands.get(fact.kind[1])
        sure = [amount >= 0, amount <= 1] + (
            [z3.Not(z3.And(amount > _real(band[0]), amount < _real(band[1])))] if band else [])
        self.reply_domain.append(z3.Implies(z3.Or([region == i for i in numeric]), z3.And(sure)))

    def amount(self, fact: Fact) -> z3.ArithRef:
        """The number a fact holds, within its region (numeric regions only)."""
        found = self._amounts.get(fact)
        if found is None:
            region, _ = self.fact(fact)
            found = self._amounts[fact] = z3.Real(f"amount|{fact.kind}|{fact.where}")
            for i, (low, high, point) in _intervals(self._constants.get(fact.kind, set())).items():
                inside = [found == _real(point)] if point is not None else \
                    [found > _real(b) for b in (low,) if b is not None] + [found < _real(b) for b in (high,) if b is not None]
                self._domain(fact).append(z3.Implies(region == i, z3.And(inside + [True])))
            self._variable(fact, found)
        return found

    def choose_reply_numbers(self) -> None:
        """Make each number the reply carries one of finitely many terms over the
        situation: the constants (and one past the outermost), 0 and 1, the situation's
        numbers, and the midpoint of any two. A reply tried is then a strategy the
        refinement can hold against every situation, and it ends (with any number, each
        reply would rule out a single point)."""
        amounts = [(fact, amount) for fact, amount in self._amounts.items() if fact.where == self.shape.reply]
        if not amounts:
            return
        numbers = sorted({c for values in self._constants.values() for c in values if ast.is_number(c)} | {0, 1})
        base = [_real(n) for n in dict.fromkeys([numbers[0] - 1, *numbers, numbers[-1] + 1])]
        base += [a for fact, a in self._amounts.items() if fact.where != self.shape.reply]
        terms = base + [(x + y) / 2 for x, y in itertools.combinations(base, 2)]
        for fact, amount in amounts:
            choice = z3.Int(f"choice|{fact.kind}")
            self.reply_vars.append(choice)
            self.reply_domain += [choice >= 0, choice < len(terms)]
            self.reply_domain += [z3.Implies(choice == i, amount == term) for i, term in enumerate(terms)]
            self._terms[amount.get_id()] = (choice, terms)

    def strategy(self, model: z3.ModelRef) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        """The reply of a model as a substitution for the reply's variables: its values,
        and each number as the term it chose."""
        def term(var):
            choice, terms = self._terms.get(var.get_id(), (None, None))
            found = model.eval(var if choice is None else choice, model_completion=True)
            return found if choice is None else terms[found.as_long()]

        return [(var, term(var)) for var in self.reply_vars]

    def well_typed(self) -> list[z3.BoolRef]:
        """Each label of the situation of its declared type, a number in [0, 1] (a
        preference, for the trace found to replay: the evaluator finds any other value
        unknown)."""
        labels = [fact for fact in self.facts if fact.kind[0] == "label" and fact.where != self.shape.reply]
        return ([self.facts[fact][0] != i for fact in labels for i in self._ill_typed(fact)]
                + [z3.And(self._amounts[fact] >= 0, self._amounts[fact] <= 1) for fact in labels
                   if fact in self._amounts])

    def _ill_typed(self, fact: Fact) -> list[int]:
        """The regions of a label whose value its declaration does not admit (a number's
        regions are kept in range apart)."""
        decl = self.program.labels.get(fact.kind[1])
        values = self.facts[fact][1]
        sample = {OTHER: "other"}
        return [i for i, value in enumerate(values) if decl is not None and decl.type is not None
                and value is not MISSING and not ast.is_number(value) and not decl.type.admits(sample.get(value, value))]

    def other(self, fact: Fact) -> z3.ArithRef:
        """Which string equal to no constant a fact holds in its region "other": one of as
        many as there are messages, and the trace (enough for any pattern of equalities
        among its facts, and a finite choice the refinement runs through)."""
        found = self._others.get(fact)
        if found is None:
            found = self._others[fact] = z3.Int(f"other|{fact.kind}|{fact.where}")
            self._domain(fact).extend([found >= 0, found <= len(self.shape.roles)])
            self._variable(fact, found)
        return found

    def _variable(self, fact: Fact, var: z3.ArithRef) -> None:
        if fact.where == self.shape.reply:
            self.reply_vars.append(var)

    def value(self, model: z3.ModelRef, fact: Fact, names: dict | None = None):
        """The fact's value in a model (through `names`, a copy of the reply's variables):
        its region's, or the number or string the model chose within it."""
        def chosen(var):
            return model.eval(names.get(var.get_id(), var) if names else var, model_completion=True)

        region, values = self.facts[fact]
        value = values[chosen(region).as_long()]
        if fact in self._amounts and ast.is_number(value):
            number = chosen(self._amounts[fact]).as_fraction()
            return int(number) if number.denominator == 1 else float(number)
        if fact.kind[0] == "label" and ast.is_number(value):
            return _score(value, _intervals(self._constants.get(fact.kind, set()))[values.index(value)])
        if value == OTHER:  # prove.py's string equal to no constant
            return "other" if fact not in self._others else f"other{chosen(self._others[fact]).as_long()}"
        return value

    # ------------------------------------------------------------------ expressions

    def cond(self, expr: ast.Expr | None, env: Env) -> z3.BoolRef:
        found = connective(expr, lambda e: self.cond(e, env))
        if found is not None:
            return found
        match expr:
            case ast.Says():
                return self._says(expr, env)
            case ast.Matches():
                message = self.message(expr.subject, env)
                if isinstance(message, tuple):
                    return self.var(("call.matches", message, _regex_key(expr.regex)))
                return z3.BoolVal(False) if message is None else self.matches(message, expr.regex)
            case ast.Calls():
                message = self.message(expr.subject, env)
                if message == self.shape.reply:  # the reply makes no tool call: a norm may need one
                    self.approximate.add(f"`{_text(self.program, expr)}` on the reply (the replies tried make "
                                         "no tool call)")
                if message is None or message == self.shape.reply or isinstance(message, tuple):
                    return z3.BoolVal(False)
                return self.var(("calls", message, expr.tool.value))
            case ast.Quantified():
                return self._quantified(expr, env)
            case ast.Shares():
                found = self._shares(expr, env)
                return self._free(expr, env) if found is None else found
            case ast.Compare() | ast.In() | ast.KnownTest():
                return self._comparison(expr, env)
            case ast.Label() | ast.Meta():
                return self._truth(expr, env)
        return self._free(expr, env)

    def _truth(self, expr: ast.Label | ast.Meta, env: Env) -> z3.BoolRef:
        """A label or metadata value standing as a condition, region by region: a boolean
        is itself, a label's score is true from 0.5; anything else the evaluator finds
        unknown, and its truth is the situation's choice (language.md §6.10)."""
        fact = self._fact(expr, env)
        if not isinstance(fact, Fact):  # a message that is not there
            return self.var(("unknown", id(expr), "absent", env.earlier, env.call))
        region, values = self.fact(fact)
        choices = []
        for i, value in enumerate(values):
            if isinstance(value, bool):
                truth = z3.BoolVal(value)
            elif isinstance(expr, ast.Label) and ast.is_number(value):
                truth = self.amount(fact) >= _real(0.5)
            else:
                truth = self.var(("unknown", id(expr), fact, i))
            choices.append(z3.And(region == i, truth))
        return z3.Or(choices + [False])

    def _says(self, expr: ast.Says, env: Env) -> z3.BoolRef:
        message = self.message(expr.subject, env)
        phrases = [expr.phrases.value] if isinstance(expr.phrases, ast.Literal) else [
            i.value for i in expr.phrases.items]
        if message is None:
            return z3.BoolVal(False)
        if isinstance(message, tuple):  # the text of a call's arguments
            tests = [self.var(("call.says", message, p)) for p in phrases]
        else:
            tests = [self.says(message, p) for p in phrases]
        return z3.And(tests) if expr.mode == "all" else z3.Or(tests + [False])

    def _shares(self, expr: ast.Shares, env: Env) -> z3.BoolRef | None:
        """`reply shares P with RANGE` / `reply mentions P not found in RANGE`, for a range
        of earlier messages: some text P matches in the reply (a value of its parts) is
        held, or not, by the range's messages, each holding it or not as the solver
        chooses. None for any other subject or range."""
        messages = self._range(expr.events, env)
        values = self._reply_values(expr.pattern)
        if self.message(expr.subject, env) != self.shape.reply or messages is None or values is None:
            return None
        found = []
        for key, held in values.items():
            inside = self._found(expr.events.quantifier, messages, key)
            found.append(z3.And(held, z3.Not(inside) if expr.negated else inside))
        return z3.Or(found + [False])

    def _range(self, events: ast.Events, env: Env) -> list[tuple[int, z3.BoolRef]] | None:
        """The messages of a range before the reply, each with the formula that it passes
        the filter; None for a range the encoding does not read (later messages, tool
        results and the calls they answer, a call)."""
        if events.quantifier == "one":
            message = self.message(events.subject, env)
            return [(message, z3.BoolVal(True))] if isinstance(message, int) else None
        if events.range != "earlier" or events.role == "tool":
            return None
        return [(m, self.cond(events.filter, attrs.evolve(env, bound=m)))
                for m in self.shape.indices(events.role, env.earlier)]

    def _found(self, quantifier: str, messages: list[tuple[int, z3.BoolRef]], key: str) -> z3.BoolRef:
        """Whether the range holds the value `key`: some, every or the latest of its messages."""
        holds = [z3.And(passes, self.var(("holds", m, key))) for m, passes in messages]
        if quantifier == "every":
            return z3.And([z3.Implies(passes, self.var(("holds", m, key))) for m, passes in messages] + [True])
        if quantifier == "latest":
            return z3.Or([z3.And(h, *[z3.Not(p) for _, p in messages[i + 1:]]) for i, h in enumerate(holds)] + [False])
        return z3.Or(holds + [False])

    def _reply_values(self, pattern) -> dict[str, z3.BoolRef] | None:
        """The texts the pattern matches in the reply's parts (folded, as bindings compare
        them), each with the formula that the reply holds it; None when the joined
        reply's matches are not its parts' (a match across the separator)."""
        matcher = _matcher(pattern) if isinstance(pattern, ast.Regex) else phrase_regex(
            tuple(item.value for item in pattern.items))
        if matcher is None:
            return None

        def keys(text: str) -> set:
            return pattern_keys(matcher, text)

        joined = [[lead, a] for lead in self.leads for a in self.tokens]
        joined += [[self.filler, a, b] for a, b in itertools.combinations(self.tokens, 2)]
        if any(keys(SEPARATOR.join(parts)) != set().union(*map(keys, parts)) for parts in joined):
            return None
        values = {}
        for part in self.leads + self.tokens:
            for key in keys(part):
                self.held_texts[key[1]] = next((m.group() for m in matcher.finditer(part)
                                                if pattern_keys(matcher, m.group()) == {key}), key[1])
                values[key[1]] = self._in_reply(lambda text, key=key: key in keys(text), "any part")
        return values

    def _quantified(self, expr: ast.Quantified, env: Env) -> z3.BoolRef:
        end = env.earlier if expr.range == "earlier" else len(self.shape.roles)
        bodies = [self.cond(expr.body, attrs.evolve(env, bound=i)) for i in self.shape.indices(expr.role, end)]
        return z3.Or(bodies + [False]) if expr.quantifier == "any" else z3.And(bodies + [True])

    def message(self, subject: ast.Subject, env: Env):
        """The message index a subject denotes at `env`, (message, tool) for `call`, or None."""
        if subject.which == "bound":
            return env.bound
        if subject.which == "call":
            return env.call
        if subject.which == "previous":
            return env.previous.get(subject.role)
        return env.current.get(subject.role)

    def _comparison(self, expr, env: Env) -> z3.BoolRef:
        arithmetic = self._arithmetic(expr, env)
        if arithmetic is not None:
            return arithmetic
        both = self._two_facts(expr, env)
        if both is not None:
            return both
        found = fact_of(expr)
        fact = None if found is None else self._fact(found[0], env)
        if fact is None:
            return self._free(expr, env)
        if isinstance(fact, str) and fact != "absent":  # the act's call names this tool
            return z3.BoolVal(bool(region_truth(expr, fact)))
        if fact == "absent":
            return z3.BoolVal(isinstance(expr, ast.KnownTest) and not expr.known)
        region, values = self.fact(fact)
        choices = []
        for i, value in enumerate(values):
            truth = region_truth(expr, value)
            if truth is None:  # unknown there: either resolution
                choices.append(z3.And(region == i, self._free(expr, env, ("region", i))))
            elif truth:
                choices.append(region == i)
        return z3.Or(choices + [False])

    def _two_facts(self, expr, env: Env) -> z3.BoolRef | None:
        """A comparison of two labels or metadata values, region by region: the values
        within two numeric regions are ordered as the numbers they hold, two strings
        equal to no constant are equal where the solver says, and where the evaluator
        finds the comparison unknown (a missing value) its truth is the situation's
        choice (an unknown verdict is never a violation). None for anything else."""
        if not (isinstance(expr, ast.Compare) and all(isinstance(s, _COMPARED) for s in (expr.left, expr.right))):
            return None
        facts = [self._fact(side, env) for side in (expr.left, expr.right)]
        if not all(isinstance(f, Fact) for f in facts):
            return None
        (left, lefts), (right, rights) = self.fact(facts[0]), self.fact(facts[1])
        choices = []
        for (i, a), (j, b) in itertools.product(enumerate(lefts), enumerate(rights)):
            truth = self._related(expr.op, facts, a, b)
            if truth is None:  # unknown to the evaluator, whatever the reply: the worst case is the situation's
                truth = self.var(("unknown", id(expr), *facts, i, j))
            choices.append(z3.And(left == i, right == j, truth))
        return z3.Or(choices + [False])

    def _related(self, op: str, facts: list[Fact], a, b) -> z3.BoolRef | None:
        """`a op b` for two region values of `facts` (None where the evaluator finds it unknown)."""
        if a is MISSING or b is MISSING:
            return None
        if ast.is_number(a) and ast.is_number(b):
            return _OPS[op](self.amount(facts[0]), self.amount(facts[1]))
        if op not in ("==", "!="):
            return None
        others = [v == OTHER for v in (a, b)]
        equal = self.other(facts[0]) == self.other(facts[1]) if all(others) else \
            z3.BoolVal(not any(others) and same_value(a, b))
        return equal if op == "==" else z3.Not(equal)

    def _fact(self, node: ast.Expr, env: Env):
        """The symbolic fact a node reads at `env`, "absent" for a message that does not
        exist, None for what has no regions here."""
        if isinstance(node, ast.Meta) and node.subject.which == "trace":
            return Fact(("trace.meta", node.path), None)
        if isinstance(node, ast.Property) and node.subject.role == "call" and node.name == "name":
            return None if env.call is None else env.call[1]
        if isinstance(node, ast.Property) and node.subject.role in ("trace", "call"):
            return None
        where = self.message(node.subject, env)
        if where is None:
            return "absent"
        if isinstance(node, ast.Label):
            return Fact(("label", node.name), where)
        if isinstance(node, ast.Meta):
            return Fact((node.root, node.path), where)
        if isinstance(node, ast.Property) and node.name in ("words", "chars"):
            return None if where == self.shape.reply else Fact((node.name,), where)
        return None

    def _arithmetic(self, expr, env: Env) -> z3.BoolRef | None:
        """A comparison of a count, or of the reply's words or characters, with a number."""
        if not isinstance(expr, ast.Compare) or expr.op not in _OPS:
            return None
        sides = [self._number(side, env) for side in (expr.left, expr.right)]
        if any(s is None for s in sides) or not any(isinstance(s, z3.ArithRef) for s in sides):
            return None
        return _OPS[expr.op](*sides)

    def _number(self, node: ast.Expr, env: Env):
        if isinstance(node, ast.Literal) and ast.is_number(node.value):
            return node.value
        if isinstance(node, ast.Count):
            body = node.body
            if isinstance(body, ast.Quantified):
                end = env.earlier if body.range == "earlier" else len(self.shape.roles)
                tests = [self.cond(body.body, attrs.evolve(env, bound=i)) for i in self.shape.indices(body.role, end)]
            else:
                tests = [self.cond(body, env)]
            return z3.Sum([z3.If(t, 1, 0) for t in tests] + [z3.IntVal(0)])
        if isinstance(node, ast.Property) and node.name in ("words", "chars") and node.subject.role != "call" \
                and self.message(node.subject, env) == self.shape.reply:
            size = (lambda t: len(t.split())) if node.name == "words" else len
            joint = 0 if node.name == "words" else len(SEPARATOR)
            return z3.Sum([z3.If(self.lead == k, size(t), 0) for k, t in enumerate(self.leads)]
                          + [z3.If(inc, joint + size(t), 0) for inc, t in zip(self.includes, self.tokens)])
        return None

    def _free(self, expr: ast.Expr, env: Env, *extra) -> z3.BoolRef:
        """An atom the encoding does not look inside: a boolean of its own at this act."""
        where = tuple(self.message(n, env) for n in ast.walk(expr) if isinstance(n, ast.Subject))
        # A binding's range of assistant messages may hold the reply: it is read only approximately.
        reply = self.shape.reply in where or any(isinstance(n, ast.Events) and n.role == "assistant"
                                                 and n.quantifier != "one" for n in ast.walk(expr))
        if reply:
            self.approximate.add(f"`{_text(self.program, expr)}` on the reply")
        return self.var(("atom", where, id(expr), *extra), reply)

    def sample(self, key: str) -> str:
        """A token that matches the regex, or nothing (the evaluator will tell)."""
        matcher = _matcher(self.regexes[key])
        return next((t for t in self.tokens if matcher is not None and matcher.search(t)), "")

    def truth(self, model: z3.ModelRef, key: tuple) -> bool:
        """A situation boolean's value in a model (false if never made)."""
        found = self._vars.get(key)
        return found is not None and z3.is_true(model.eval(found, model_completion=True))

    # ------------------------------------------------------------------ acts

    def env(self, scope: str, act: int | None, call: tuple[int, str] | None = None) -> Env:
        """The bindings of an act (`act` None: the conversation)."""
        end = len(self.shape.roles) if act is None else act
        own = {"user turn": "user", "assistant turn": "assistant", "tool call": "assistant"}.get(scope)
        current, previous = {}, {}
        for role in set(self.shape.roles):
            before = self.shape.indices(role, end)
            if role == own and act is not None:
                current[role], previous[role] = act, (before[-1] if before else None)
            else:
                current[role] = before[-1] if before else None
                previous[role] = before[-2] if len(before) > 1 else None
        return Env(current, previous, end, call)


_COMPARED = (ast.Label, ast.Meta)


def _score(value: float, interval: tuple) -> float:
    """A label's value in its region, in [0, 1] where the region reaches it (a score
    outside it is unknown to the evaluator when the label is declared a score)."""
    low, high, point = interval
    if point is not None or 0 <= value <= 1:
        return value
    low, high = max(0, low) if low is not None else 0, min(1, high) if high is not None else 1
    return (low + high) / 2 if low < high else value


def _real(number: float) -> z3.ArithRef:
    """A constant exactly (Z3 does not parse a float's repr such as 1e-05)."""
    return z3.RealVal(Fraction(number))


def _intervals(constants: set) -> dict[int, tuple]:
    """For each numeric region of `representatives(constants)`: (low, high, point), the
    open interval it spans or the constant it is."""
    numbers = sorted({c for c in constants if ast.is_number(c)})
    if not numbers:
        return {}
    bounds = [None, *numbers, None]
    found = {2 * j: (bounds[j], bounds[j + 1], None) for j in range(len(numbers) + 1)}
    found.update({2 * j + 1: (None, None, n) for j, n in enumerate(numbers)})
    return dict(sorted(found.items()))


_OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
        "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def _constants(program: Program) -> tuple[dict[tuple, set], set[tuple]]:
    """The constants each kind of fact is compared with, and the kinds asked `is known`."""
    constants: dict[tuple, set] = {}
    known: set[tuple] = set()
    for norm in program.norms:
        for root in (norm.trigger, norm.body):
            for node in ast.walk(root) if root is not None else ():
                found = fact_of(node) if isinstance(node, (ast.Compare, ast.In, ast.KnownTest)) else None
                if found is None:
                    _scores(program, node, constants)
                    continue
                kind = _kind(found[0])
                if kind is not None:
                    constants.setdefault(kind, set()).update(
                        v for v in found[1] if not isinstance(v, (list, dict)))
                    if isinstance(node, ast.KnownTest):
                        known.add(kind)
        for condition in _standing(norm):  # a value as a condition reads booleans, and scores from 0.5
            if isinstance(condition, (ast.Label, ast.Meta)):
                constants.setdefault(_kind(condition), set()).update(
                    (True, False, 0.5) if isinstance(condition, ast.Label) else (True, False))
    for name, band in program.bands.items():  # a band's bounds divide regions: inside it is unknown
        constants.setdefault(("label", name), set()).update(band)
    return constants, known


def _standing(norm: CheckedNorm) -> Iterator[ast.Expr]:
    """The atoms of the norm's trigger, cases, exceptions and behaviours (under `and`,
    `or` and `not`)."""
    roots = [norm.trigger] + ([c.condition for c in norm.body.cases] if isinstance(norm.body, ast.Cases) else [])
    roots += [r for leaf in leaves(norm) for r in [leaf.behaviour, *(u.condition for u in leaf.exceptions)]]
    while roots:
        root = roots.pop()
        if isinstance(root, (ast.And, ast.Or)):
            roots += root.operands
        elif isinstance(root, ast.Not):
            roots.append(root.operand)
        elif root is not None:
            yield root


def _scores(program: Program, node: ast.Expr, constants: dict[tuple, set]) -> None:
    """Two labels ordered against each other are scores: without a constant of their own
    they would have only a string's region, where an order is unknown; 0 and 1 give them
    numbers (a label declared a string, boolean or choice keeps its type)."""
    if not (isinstance(node, ast.Compare) and node.op in ("<", "<=", ">", ">=")
            and all(isinstance(side, ast.Label) for side in (node.left, node.right))):
        return
    for side in (node.left, node.right):
        decl = program.labels.get(side.name)
        if decl is None or decl.type is None or decl.type.name in ("score", "number"):
            constants.setdefault(("label", side.name), set()).update((0, 1))


def _kind(node: ast.Expr) -> tuple | None:
    if isinstance(node, ast.Meta):
        return ("trace.meta", node.path) if node.subject.which == "trace" else (node.root, node.path)
    if isinstance(node, ast.Label):
        return ("label", node.name)
    if isinstance(node, ast.Property) and node.name in ("words", "chars"):
        return (node.name,)
    return None


def _regex_key(regex: ast.Regex) -> str:
    return f"/{regex.source}/{regex.flags}" + (f" where {'.'.join(regex.check.parts)}" if regex.check else "")


@lru_cache(maxsize=None)
def _matcher(regex: ast.Regex):
    check = BUILTINS[regex.check.parts[-1]].check if regex.check and regex.check.parts[-1] in BUILTINS else None
    try:
        return compile_regex(regex.source, regex.flags, check)
    except ValueError:
        return None


def _text(program: Program, expr: ast.Expr) -> str:
    from ..analysis.prove import Atom

    return Atom("", expr).text(program)


def leaves(norm: CheckedNorm) -> Iterator[ast.Outcome]:
    """Every outcome of the norm, exceptions included."""
    outcomes = [norm.body] if isinstance(norm.body, ast.Outcome) else [c.outcome for c in norm.body.cases] + (
        [norm.body.otherwise.outcome] if norm.body.otherwise else [])
    while outcomes:
        outcome = outcomes.pop()
        yield outcome
        outcomes += [u.outcome for u in outcome.exceptions]

