"""Checked program -> closures, built once per policy.

Every expression becomes a Python closure `fn(ctx, env)`; conditions return True, False
or None (unknown), values return a value or an `Unknown`. Nothing here walks the AST
when a trace is checked: regexes and phrase lists are compiled, clause texts are cut
from the source, and the outcome trees are turned into `OutcomeNode`s with a
precomputed decision key (two outcomes conflict when their keys differ).

The evaluation context (`evaluate.Context`) supplies: `view` (the trace, indexed),
`atom(key, facts)` (the three-valued gate for an unknown fact, resolved under an
assignment when the evaluator enumerates), `record_*` hooks for explanations, and a
per-trace cache for text matches shared by every norm.
"""

from __future__ import annotations

import bisect
import json
import operator
from typing import Any, Callable

import attrs

from ..syntax import ast
from ..text.builtins import BUILTINS
from ..check.program import CheckedNorm, Program
from ..detectors.model import Doubt
from ..source.text import Source, Span
from ..text.matching import compile_regex, fold, matchable, phrase_regex, text_search
from . import bindings, quantifiers

Fn = Callable[[Any, Any], Any]


@attrs.frozen
class Unknown:
    """An unknown value: `fact` names it in the trace; `why` says why it is unknown.
    `derived` unknowns (a count over unknown conditions) are settled by the atoms inside
    them and never form atoms of their own."""

    fact: str
    why: str
    derived: bool = False
    escalate_to: str | None = None  # who decides it (a label's `uncertain ... escalate to A`)


_DERIVED = Unknown("", "depends on unknown facts", derived=True)

_ORDER_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans are not numbers, and 1 == 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


# --------------------------------------------------------------------------- compiled shapes


@attrs.frozen
class Window:
    """`within size turns` (`replies`: only assistant messages with text count towards
    `size`, docs/language.md §8.7) or `within size messages` (every assistant message)."""

    size: int
    replies: bool


@attrs.define(eq=False)
class OutcomeNode:
    """An outcome with its exceptions, ready to decide. `key` identifies the decision
    (modality and behaviour, whatever the reply): applicable siblings with different
    keys conflict."""

    modality: str
    behaviour: Fn | None
    within: Window | None
    reason: str | None
    escalate_to: str | None
    exceptions: list[tuple[Fn, "OutcomeNode", "Clause"]]
    key: ast.Outcome
    clause: "Clause"


@attrs.frozen
class Clause:
    """A clause's place in the source and its text, for explanations."""

    kind: str
    text: str
    span: Span
    # The explanations' steps of this clause, by the value it took (evaluate._step): a
    # report explains the same clause with the same value on trace after trace.
    steps: dict = attrs.field(factory=dict, eq=False, repr=False)


@attrs.define(eq=False)
class CompiledNorm:
    name: str
    authority: str
    severity: str
    scope: str
    span: Span
    trigger: Fn | None
    trigger_clause: Clause | None
    tree: OutcomeNode | None  # an Outcome body
    cases: list[tuple[Fn, OutcomeNode, Clause]]  # a Cases body
    otherwise: OutcomeNode | None
    gap_clause: Clause | None
    overriders: list["Overrider"]
    # How later messages can change a verdict (for incremental sessions): `whole_trace`
    # verdicts (conversation scope, `any R`/`every R` over the whole trace, in the norm
    # or an overrider's trigger) are known only at the end; verdicts of a norm with a
    # `within` window are known once its longest `windows` (one of each unit) are full
    # or the obligation is met.
    whole_trace: bool = False
    windows: tuple[Window, ...] = ()
    # The norm's generated `run(ctx, envs, explainer)` (fastpath.py), made on first use:
    # its verdicts at the acts `envs`, each decided the general way where it must be.
    fast: Callable[[Any, Any, Any], list] | None = None


@attrs.frozen
class Overrider:
    """A norm that overrides another where its trigger (None: always) holds, evaluated
    at its own act: the same act, or the conversation for a conversation-scope norm."""

    name: str
    scope: str
    trigger: Fn | None
    clause: Clause


@attrs.define(eq=False)
class CompiledPolicy:
    program: Program
    norms: list[CompiledNorm]
    # The compiled closure of a condition node (each node compiles once): what the
    # generated fast path (fastpath.py) calls for its leaves.
    condition: Callable[[ast.Expr], Fn]
    # The compiled closure of a value node, and of its fact's name: `value(node, numeric)`.
    value: Callable[..., tuple[Fn, Fn]]
    by_name: dict[str, CompiledNorm] = attrs.field(init=False)
    scopes: frozenset[str] = attrs.field(init=False)  # the scopes of its norms
    # Whether some norm reads a `previous R` message: if not, acts need not bind them.
    reads_previous: bool = attrs.field(init=False)
    # The generated `run_trace(ctx, view, explainer)`, every verdict of every norm
    # (fastpath.trace_function), made on first use.
    run_trace: Callable[[Any, Any, Any], tuple] | None = attrs.field(init=False, default=None)
    # A session's generated `run_message` for each role (fastpath.message_function), made
    # when the first session opens.
    run_message: dict[str, Callable] | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        self.by_name = {norm.name: norm for norm in self.norms}
        self.scopes = frozenset(norm.scope for norm in self.norms)
        self.reads_previous = any(isinstance(node, ast.Subject) and node.which == "previous"
                                  for norm in self.program.norms for root in (norm.trigger, norm.body)
                                  if root is not None for node in ast.walk(root))


def compile_program(program: Program) -> CompiledPolicy:
    """Compile every norm of a checked program."""
    compiler = _Compiler(program)
    triggers = {n.name: n for n in program.norms}
    norms = [compiler.norm(n, triggers) for n in program.norms]
    return CompiledPolicy(program, norms, compiler.condition, compiler.value)


# --------------------------------------------------------------------------- the compiler


class _Compiler:
    def __init__(self, program: Program):
        self.program = program
        self.sources = {s.name: s for s in program.sources}
        self.bands = program.bands
        # One cache key per distinct text test: the same phrases or regex in several norms
        # (a shared `let`, a norm's copy) are searched once per message for all of them.
        self._text_ids: dict[tuple, int] = {}
        self._conditions: dict[int, Fn] = {}

    def clause(self, kind: str, span: Span) -> Clause:
        return Clause(kind, _source_text(self.sources.get(span.source), span), span)

    # ---- norms

    def norm(self, norm: CheckedNorm, all_norms: dict[str, CheckedNorm]) -> CompiledNorm:
        source = norm.source
        trigger_span = source.trigger.span if source.trigger is not None else norm.span
        overriders = []
        for name in norm.overriders:
            other = all_norms[name]
            fn = self.condition(other.trigger) if other.trigger is not None else None
            where = other.source.trigger.span if other.trigger is not None else other.source.name_span
            overriders.append(Overrider(name, other.scope, fn, self.clause("overridden by", where)))
        compiled = CompiledNorm(
            name=norm.name, authority=norm.authority, severity=norm.severity, scope=norm.scope,
            span=norm.span,
            trigger=self.condition(norm.trigger) if norm.trigger is not None else None,
            trigger_clause=self.clause("when", trigger_span) if norm.trigger is not None else None,
            tree=None, cases=[], otherwise=None, gap_clause=None, overriders=overriders,
            whole_trace=_reads_whole_trace(norm, all_norms), windows=_longest_windows(norm.body),
        )
        if isinstance(norm.body, ast.Outcome):
            compiled.tree = self.outcome(norm.body, "outcome")
        else:
            compiled.cases = [
                (self.condition(c.condition), self.outcome(c.outcome, "outcome"),
                 self.clause("case", c.span))
                for c in norm.body.cases
            ]
            if norm.body.otherwise is not None:
                compiled.otherwise = self.outcome(norm.body.otherwise.outcome, "otherwise")
            compiled.gap_clause = self.clause("gap", norm.body.span)
        return compiled

    def outcome(self, outcome: ast.Outcome, kind: str) -> OutcomeNode:
        return OutcomeNode(
            modality=outcome.modality,
            behaviour=self.condition(outcome.behaviour) if outcome.behaviour is not None else None,
            within=None if outcome.within is None else _window(outcome),
            reason=outcome.reason,
            escalate_to=outcome.escalate_to,
            exceptions=[
                (self.condition(u.condition), self.outcome(u.outcome, "outcome"),
                 self.clause("unless", u.span))
                for u in outcome.exceptions
            ],
            key=attrs.evolve(outcome, exceptions=()),
            clause=self.clause(kind, outcome.span),
        )

    # ---- conditions (True / False / None)

    def condition(self, node: ast.Expr) -> Fn:
        """A condition closure; the same (shared) node compiles once."""
        cached = self._conditions.get(id(node))
        if cached is None:
            cached = self._conditions[id(node)] = self._condition(node)
        return cached

    def _condition(self, node: ast.Expr) -> Fn:
        match node:
            case ast.And():
                return _and([self.condition(o) for o in node.operands])
            case ast.Or():
                return _or([self.condition(o) for o in node.operands])
            case ast.Not():
                inner = self.condition(node.operand)
                return lambda ctx, env: None if (v := inner(ctx, env)) is None else not v
            case ast.Literal(value=bool() as value):
                return lambda ctx, env: value
            case ast.Says():
                return self.says(node)
            case ast.Matches():
                return self.matches(node)
            case ast.Calls():
                return self.calls(node)
            case ast.Quantified():
                return self.quantified(node)
            case ast.Compare():
                return self.compare(node)
            case ast.In():
                return self.membership(node)
            case ast.KnownTest():
                return self.known_test(node)
            case ast.Label() | ast.Meta():
                return self.truth(node)
            case ast.Appears():
                return bindings.appears(self, node)
            case ast.Shares():
                return bindings.shares(self, node)
            case ast.Answers():
                return bindings.answers(self, node)
            case ast.Failed():
                return bindings.failed(self, node)
        raise AssertionError(f"not a condition: {node!r}")  # the checker rejects these

    def says(self, node: ast.Says) -> Fn:
        phrases = node.phrases
        texts = (phrases.value,) if isinstance(phrases, ast.Literal) else tuple(i.value for i in phrases.items)
        patterns = [phrase_regex((t,)) for t in texts] if node.mode == "all" else [phrase_regex(texts)]
        return self._text(node.subject, patterns, ("says", node.mode == "all", texts))

    def matches(self, node: ast.Matches) -> Fn:
        regex = node.regex
        check = BUILTINS[regex.check.dotted].check if regex.check is not None else None
        return self._text(node.subject, [compile_regex(regex.source, regex.flags, check)],
                          ("matches", regex.source, regex.flags, regex.check.dotted if regex.check else None))

    def _text(self, subject: ast.Subject, patterns: list, key: tuple) -> Fn:
        ident = self._text_ids.setdefault(key, len(self._text_ids))
        if subject.which == "call":
            return _call_text_condition(ident, patterns)
        return _text_condition(ident, self.subject(subject), patterns)

    def calls(self, node: ast.Calls) -> Fn:
        subject = self.subject(node.subject)
        tool = node.tool.value

        def calls(ctx, env):
            index = subject(env)
            if index is None:
                return False
            return any(call.name == tool for call in ctx.view.messages[index].tool_calls)

        return calls

    def quantified(self, node: ast.Quantified) -> Fn:
        body = self.condition(node.body)
        role, every, earlier = node.role, node.quantifier == "every", node.range == "earlier"
        test = text_test(node.body, body)
        if test is not None:  # a text test: true or false, never unknown, no env to bind
            hit, at = test.hit, test.at

            def quantified_text(ctx, env):
                witness = _text_scan(ctx, hit, role).first(ctx, hit, ctx.view.by_role[role],
                                                           env.earlier_end if earlier else None, not every)
                if witness is None:
                    return every
                if ctx.recording and not every:
                    at(ctx, witness)  # an explanation shows what the witness matched
                return not every

            return quantified_text
        if quantifiers.indexable(node.body):
            return quantifiers.quantified(node, body)

        def quantified(ctx, env):
            indices = ctx.view.by_role[role]
            if earlier:
                indices = indices[:bisect.bisect_left(indices, env.earlier_end)]
            return quantifiers.each(ctx, env, body, indices, every)

        return quantified

    def compare(self, node: ast.Compare) -> Fn:
        left, left_name = self.value(node.left, numeric=node.op in _ORDER_OPS)
        right, right_name = self.value(node.right, numeric=node.op in _ORDER_OPS)
        op = node.op
        if op in _ORDER_OPS:
            test = _ORDER_OPS[op]

            def ordered(ctx, env):
                a, b = left(ctx, env), right(ctx, env)
                if ast.is_number(a) and ast.is_number(b):
                    return test(a, b)
                return _atom(ctx, env, op, a, b, left_name, right_name)

            return ordered
        negate = op == "!="

        def equal(ctx, env):
            a, b = left(ctx, env), right(ctx, env)
            if a.__class__ is Unknown or b.__class__ is Unknown:
                return _atom(ctx, env, op, a, b, left_name, right_name)
            return json_equal(a, b) is not negate

        return equal

    def membership(self, node: ast.In) -> Fn:
        value, name = self.value(node.value)
        items = tuple(i.value for i in node.items.items)
        negate = node.negated
        op = "not in" if negate else "in"

        def member(ctx, env):
            v = value(ctx, env)
            if v.__class__ is Unknown:
                if v.derived:
                    return None
                ctx.unknown(v)
                return ctx.atom((op, ("fact", v.fact), ("const", _const_key(items))), (v.fact,))
            return any(json_equal(v, i) for i in items) is not negate

        return member

    def known_test(self, node: ast.KnownTest) -> Fn:
        want = node.known
        operand = node.operand
        if isinstance(operand, (ast.Label, ast.Meta, ast.Property, ast.Literal, ast.ListLiteral, ast.Number,
                                ast.Linked)):
            value, _ = self.value(operand)

            def known_fact(ctx, env):  # reading a fact consults no atom
                return (value(ctx, env).__class__ is not Unknown) is want

            return known_fact
        if isinstance(operand, ast.Count):
            count, _ = self.value(operand)

            def known_count(ctx, env):
                with ctx.no_atoms():
                    return (count(ctx, env).__class__ is not Unknown) is want

            return known_count
        inner = self.condition(operand)

        def known_condition(ctx, env):
            with ctx.no_atoms():
                return (inner(ctx, env) is not None) is want

        return known_condition

    def truth(self, node: ast.Label | ast.Meta) -> Fn:
        """A label or meta value standing as a condition."""
        value, name = self.value(node)
        is_label = isinstance(node, ast.Label)

        def truth(ctx, env):
            v = value(ctx, env)
            if v is True or v is False:
                return v
            if is_label and ast.is_number(v):
                return v >= 0.5
            if v.__class__ is Unknown:
                if v.derived:
                    return None
                fact = v.fact
                ctx.unknown(v)
            else:
                fact = name(ctx, env)
                ctx.why.setdefault(fact, f"{v!r} is not true or false")
            return ctx.atom(("truthy", ("fact", fact)), (fact,))

        return truth

    # ---- values (a value, or Unknown); each with a namer for ill-typed facts

    def value(self, node: ast.Expr, numeric: bool = False) -> tuple[Fn, Fn]:
        match node:
            case ast.Literal(value=value):
                return (lambda ctx, env: value), (lambda ctx, env: None)
            case ast.Label():
                return self.label(node, numeric)
            case ast.Meta():
                return self.meta(node)
            case ast.Number():
                return bindings.number(self, node)
            case ast.Linked():
                return bindings.linked(self, node)
            case ast.Property():
                return self.property(node), (lambda ctx, env: None)
            case ast.Count():
                return self.count(node), (lambda ctx, env: None)
            case ast.ListLiteral():
                items = [i.value for i in node.items if isinstance(i, ast.Literal)]
                return (lambda ctx, env: items), (lambda ctx, env: None)
        condition = self.condition(node)

        def as_value(ctx, env):
            v = condition(ctx, env)
            return _DERIVED if v is None else v

        return as_value, (lambda ctx, env: None)

    def label(self, node: ast.Label, numeric: bool) -> tuple[Fn, Fn]:
        subject = self.subject(node.subject)
        name = node.name
        band = self.bands.get(name)
        role = node.subject.role
        decl = self.program.labels.get(name)
        ill_typed = _type_test(decl.type if decl is not None else None, f"`label {name}`")
        escalate_to = decl.escalate_to if decl is not None else None

        def fact(ctx, env):
            index = subject(env)
            return f"{role}.labels.{name}" if index is None else f"messages[{index}].labels.{name}"

        def label(ctx, env):
            index = subject(env)
            if index is None:
                return Unknown(fact(ctx, env), f"there is no {role} message")
            labels = ctx.view.messages[index].labels
            if name not in labels:
                return Unknown(fact(ctx, env), "the label is missing")
            v = labels[name]
            if v.__class__ is Doubt:  # a detector's: unsure (it said a value) or failed
                return Unknown(fact(ctx, env), v.why, escalate_to=escalate_to if v.value is not None else None)
            if ctx.recording:  # (checked here: this runs at every act that reads the label)
                ctx.record_fact(fact, env, v)
            if ill_typed is not None and (why := ill_typed(v)) is not None:
                return Unknown(fact(ctx, env), why)
            if band is not None and ast.is_number(v) and band[0] < v < band[1]:
                return Unknown(fact(ctx, env), f"{v} is inside the uncertainty band ({band[0]}, {band[1]})",
                               escalate_to=escalate_to)
            if numeric and isinstance(v, bool):
                return 1 if v else 0
            return v

        return label, fact

    def meta(self, node: ast.Meta) -> tuple[Fn, Fn]:
        path = node.path
        dotted = ".".join(path)
        which = node.subject.which
        ill_typed = _type_test(self.program.meta_type(path) if node.root == "meta" else None, f"`meta {dotted}`")
        if which == "trace":
            def fact(ctx, env):
                return f"trace.meta.{dotted}"

            def root(ctx, env):  # as it stands at the act: a message may patch it
                return ctx.view.meta_at(env.turn)
        elif which == "call":
            def fact(ctx, env):
                if env.call is None:  # in a `within` window: no call there
                    return f"call.args.{dotted}"
                return f"messages[{env.turn}].tool_calls[{env.call_index}].arguments.{dotted}"

            def root(ctx, env):
                return env.call.arguments if env.call is not None else None
        else:
            subject = self.subject(node.subject)
            role = node.subject.role

            def fact(ctx, env):
                index = subject(env)
                return f"{role}.meta.{dotted}" if index is None else f"messages[{index}].meta.{dotted}"

            def root(ctx, env):
                index = subject(env)
                return None if index is None else ctx.view.messages[index].meta

        def meta(ctx, env):
            current = root(ctx, env)
            for key in path:
                if not isinstance(current, dict) or key not in current:
                    return Unknown(fact(ctx, env), "the field is missing")
                current = current[key]
            if ctx.recording:
                ctx.record_fact(fact, env, current)
            if ill_typed is not None and (why := ill_typed(current)) is not None:
                return Unknown(fact(ctx, env), why)
            return current

        return meta, fact

    def property(self, node: ast.Property) -> Fn:
        name = node.name
        if node.subject.which == "trace":
            return lambda ctx, env: ctx.view.trace.id
        if node.subject.which == "call":  # absent in a `within` window: no call there
            if name == "run":
                return lambda ctx, env: _call_run(ctx.view.messages, env) if env.call is not None else 0
            return lambda ctx, env: env.call.name if env.call is not None else ""
        subject = self.subject(node.subject)
        if name == "words":
            def words(ctx, env):  # counted once per message, for every norm that reads it
                index = subject(env)
                if index is None:
                    return 0
                key = ("words", index)
                count = ctx.text_cache.get(key)
                if count is None:
                    count = ctx.text_cache[key] = len(ctx.view.texts[index].split())
                return count

            return words

        def chars(ctx, env):
            index = subject(env)
            return 0 if index is None else len(ctx.view.texts[index])

        return chars

    def count(self, node: ast.Count) -> Fn:
        body = node.body
        if isinstance(body, ast.Quantified):
            inner = self.condition(body.body)
            role, earlier = body.role, body.range == "earlier"
            test = text_test(body.body, inner)
            if test is not None:  # a text test: never unknown
                hit = test.hit

                def count_text(ctx, env):
                    return _text_scan(ctx, hit, role).count(ctx, hit, ctx.view.by_role[role],
                                                            env.earlier_end if earlier else None)

                return count_text
            if quantifiers.indexable(body.body):
                return quantifiers.counted(body, inner, _DERIVED)

            def count(ctx, env):
                indices = ctx.view.by_role[role]
                if earlier:
                    indices = indices[:bisect.bisect_left(indices, env.earlier_end)]
                values = [inner(ctx, env.bind(i)) for i in indices]
                return _DERIVED if None in values else sum(1 for v in values if v)

            return count
        single = self.condition(body)

        def count_one(ctx, env):
            v = single(ctx, env)
            return _DERIVED if v is None else int(v)

        return count_one

    # ---- subjects: env -> message index or None

    def subject(self, node: ast.Subject) -> Callable[[Any], int | None]:
        role = node.role
        if node.which == "bound":
            return lambda env: env.bound
        if node.which == "previous":
            return lambda env: env.previous[role]
        return lambda env: env.current[role]


def _reads_whole_trace(norm: CheckedNorm, all_norms: dict[str, CheckedNorm]) -> bool:
    if norm.scope == "conversation" or any(all_norms[o].scope == "conversation" for o in norm.overriders):
        return True
    roots = [norm.body, norm.trigger] + [all_norms[o].trigger for o in norm.overriders]
    return any(isinstance(n, (ast.Quantified, ast.Events)) and n.range in ("all", "later")
               or isinstance(n, ast.Failed) and n.subject.which == "call"  # its result comes later
               for root in roots if root is not None for n in ast.walk(root))


def _window(outcome: ast.Outcome) -> Window:
    return Window(outcome.within, replies=outcome.within_unit == "turns")


def _longest_windows(body: ast.Body) -> tuple[Window, ...]:
    """The largest `within N` window of the body of each unit (none without one)."""
    windows = [_window(n) for n in ast.walk(body) if isinstance(n, ast.Outcome) and n.within]
    longest = {w.replies: w for w in sorted(windows, key=lambda w: w.size)}  # the last of each unit
    return tuple(longest.values())


def text_test(node: ast.Expr, fn: Fn):
    """A text test on a quantifier's bound message, with its direct forms on message
    `index` (`_text_condition`): `at`, `hit`. None for anything else."""
    if isinstance(node, (ast.Says, ast.Matches)) and node.subject.which == "bound" and hasattr(fn, "hit"):
        return fn
    return None


def _and(fns: list[Fn]) -> Fn:
    def conjunction(ctx, env):
        result: bool | None = True
        for fn in fns:
            v = fn(ctx, env)
            if v is False:
                return False
            if v is None:
                result = None
        return result

    return conjunction


def _or(fns: list[Fn]) -> Fn:
    def disjunction(ctx, env):
        result: bool | None = False
        for fn in fns:
            v = fn(ctx, env)
            if v is True:
                return True
            if v is None:
                result = None
        return result

    return disjunction


def _text_condition(ident: int, subject, patterns: list) -> Fn:
    """A text test on a message, cached per message for the whole trace (the same
    `user says ...` is read by every norm and every act that binds that message). The
    closure's `at(ctx, index)` tests message `index` (recording its matches for an
    explanation) and `hit(ctx, index)` gives the cached (holds, matches) without
    recording, for quantifiers' scans. Generated code reads the cache under the key
    `(ident, index)` itself and stores `found(text, folded)` on a miss."""
    found = text_search(patterns)

    def search(ctx, index, key):
        """The test searched on message `index`, and cached (a miss: not yet)."""
        view = ctx.view
        cached = ctx.text_cache[key] = found(view.texts[index], view.folds[index])
        return cached

    def hit(ctx, index):
        key = (ident, index)
        cached = ctx.text_cache.get(key)
        return search(ctx, index, key) if cached is None else cached

    def of(ctx, index):
        """The test on message `index` (recording its matches), or False when there is none
        (None). (Windows and the general path call it at every act: one cache lookup, inline.)"""
        if index is None:
            return False
        key = (ident, index)
        cached = ctx.text_cache.get(key)
        if cached is None:
            cached = search(ctx, index, key)
        if cached[0] and ctx.recording:
            ctx.matches.append((index, cached[1]))
        return cached[0]

    def text(ctx, env):
        return of(ctx, subject(env))

    text.at = of
    text.hit, text.found, text.ident = hit, found, ident
    return text


class _TextScan:
    """One text test read along one role's messages in order, once per trace: how far it
    has been read, where it first held and first failed, and every message where it held.
    `any/every earlier R says ...` and `count(...)` ask it at each act instead of reading
    all the earlier messages again, explanations too: they record the witness it gives
    (an `any`'s first match), so explaining every act stays linear in the trace."""

    __slots__ = ("role", "read", "first_true", "first_false", "hits")

    def __init__(self, role: str) -> None:
        self.role = role  # whose messages it reads (`read` counts them)
        self.read = 0
        self.first_true: int | None = None
        self.first_false: int | None = None
        self.hits: list[int] = []

    def first(self, ctx, hit, indices: list[int], end: int | None, value: bool) -> int | None:
        """The first message before `end` (None: any) on which the test gives `value`."""
        found = self.first_true if value else self.first_false
        if found is None:
            self._read_on(ctx, hit, indices, end, value)
            found = self.first_true if value else self.first_false
        return found if found is not None and (end is None or found < end) else None

    def count(self, ctx, hit, indices: list[int], end: int | None) -> int:
        """On how many messages before `end` (None: all) the test holds."""
        self._read_on(ctx, hit, indices, end, None)
        return len(self.hits) if end is None else bisect.bisect_left(self.hits, end)

    def _read_on(self, ctx, hit, indices: list[int], end: int | None, until: bool | None) -> None:
        """Read the messages before `end` not read yet, stopping after one where the test
        gives `until` (None: read them all)."""
        read, hits = self.read, self.hits
        while read < len(indices) and (end is None or indices[read] < end):
            index = indices[read]
            read += 1
            if hit(ctx, index)[0]:
                hits.append(index)
                if self.first_true is None:
                    self.first_true = index
                if until is True:
                    break
            else:
                if self.first_false is None:
                    self.first_false = index
                if until is False:
                    break
        self.read = read


def _text_scan(ctx, hit, role: str) -> _TextScan:
    scan = ctx.scans.get((hit, role))
    if scan is None:
        scan = ctx.scans[(hit, role)] = _TextScan(role)
    return scan


def _call_text_condition(ident: int, patterns: list) -> Fn:
    """A text test on the act's tool call, on what the call sends (`sent_text`), searched
    once per call for every norm that reads it. False in a `within` window, where there
    is no call."""
    found = text_search(patterns)

    def call_text(ctx, env):
        if env.call is None:
            return False
        key = (ident, env.turn, env.call_index)  # (a message's are (ident, index))
        cached = ctx.text_cache.get(key)
        if cached is None:
            cached = ctx.text_cache[key] = found(*sent_text(ctx, env))
        return cached[0]

    return call_text


def sent_text(ctx, env) -> tuple[str, str]:
    """What the act's call sends: its arguments' strings and numbers, one per line, and
    that text folded (for prefilters), made once per call."""
    key = ("call", env.turn, env.call_index)
    sent = ctx.text_cache.get(key)
    if sent is None:
        text = matchable("\n".join(argument_values(env.call.arguments)))
        sent = ctx.text_cache[key] = (text, fold(text))
    return sent


def argument_values(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [v for item in value.values() for v in argument_values(item)]
    if isinstance(value, list):
        return [v for item in value for v in argument_values(item)]
    return [] if value is None or isinstance(value, bool) else [str(value)]


def _call_run(messages, env) -> int:
    """`call.run`: how many calls in a row, ending with this one, have its name and
    arguments (text and tool results between them do not break the run). Walks back
    only as far as the run goes."""
    call, run = env.call, 1
    for index in range(env.turn, -1, -1):
        calls = messages[index].tool_calls
        for other in reversed(calls[:env.call_index] if index == env.turn else calls):
            if other.name != call.name or not json_equal(other.arguments, call.arguments):
                return run
            run += 1
    return run


def _const_key(value: Any) -> Any:
    """A hashable key for a constant that tells True from 1."""
    if isinstance(value, (list, tuple)):
        return tuple(_const_key(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _const_key(v)) for k, v in value.items()))
    return (type(value).__name__ if isinstance(value, bool) else "value", value)


def _atom(ctx, env, op, a, b, left_name, right_name):
    """The unknown outcome of a comparison, as an atom keyed by its operands: the fact
    name of an unknown (or, for an ordering, non-numeric) fact, else the value."""
    if (a.__class__ is Unknown and a.derived) or (b.__class__ is Unknown and b.derived):
        return None
    keys, facts = [], []
    for value, namer in ((a, left_name), (b, right_name)):
        if value.__class__ is Unknown:
            fact = value.fact
            ctx.unknown(value)
        elif op in _ORDER_OPS and not ast.is_number(value):
            fact = namer(ctx, env)
            if fact is not None:
                ctx.why.setdefault(fact, f"{value!r} is not a number")
        else:
            fact = None
        if fact is None:
            keys.append(("const", _const_key(value)))
        else:
            keys.append(("fact", fact))
            facts.append(fact)
    return ctx.atom((op, keys[0], keys[1]), tuple(facts))


def _source_text(source: Source | None, span: Span) -> str:
    """The clause's first source line: what a reader recognises it by."""
    if source is None or span.line < 1:
        return ""
    text = source.line(span.line).strip()
    return text if len(text) <= 160 else text[:157] + "..."


def _type_test(fact_type: ast.FactType | None, declaration: str) -> Callable[[Any], str | None] | None:
    """For a declared type: a function giving why a trace value is not of it (None when it
    is). A value of the wrong type is unknown, never coerced."""
    if fact_type is None:
        return None

    def ill_typed(value: Any) -> str | None:
        if fact_type.admits(value) or value is None:
            return None
        return f"{_shown(value)} is not {_article(fact_type)}, as {declaration} declares"

    return ill_typed


def _article(fact_type: ast.FactType) -> str:
    text = str(fact_type)
    return text if text.startswith("one of") else f"a {text}"


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)[:60]
