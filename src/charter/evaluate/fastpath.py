"""Compiled norms -> one generated Python function each, for the common case.

Most verdicts hang on no unknown fact. For those, deciding a norm is plain two-valued
logic: the trigger, the cases and exceptions, the behaviour. This module writes that
decision out as Python source, compiled once with the policy: per norm, a function
`run(ctx, envs, explainer)` that gives the norm's verdict at each act (sessions and
conversation-scope norms call it), and per policy `run_trace(ctx, view, explainer)`,
every verdict of a trace, the turn-scope norms decided in one pass over the messages.
It spares the hot loop the general machinery of `evaluate.decide` (three-valued
conditions, recorded steps, lists of applicable branches) and even the decision
objects: every verdict the code can reach is written out with its fields.

At an act whose answer needs more than two-valued logic (a condition that is unknown,
two cases or exceptions that apply together and must be compared, or a leaf that
settled although it met an unknown fact, as `any` does when another message holds),
the code raises `Unsettled` and the act is decided the general way, which is the
reference semantics; the two agree on every act the fast path settles
(tests/property/test_fastpath.py checks it). Explanations are not recorded here: they
are built when asked for, by deciding the act again the general way.

The leaves of a condition (text tests, comparisons, quantifiers, ...) are the compiled
closures of `compile.py`, shared with the general path (and with its per-trace text
cache); `and`, `or`, `not`, text tests on a message, comparisons of a fact with a
constant, the branching and the outcomes are written out.
"""

from __future__ import annotations

from typing import Any, Callable

from ..syntax import ast
from ..compile.compiler import OutcomeNode, Unknown, json_equal, text_test
from .verdicts import Verdict

RunFn = Callable[[Any, Any, Any], list]
TraceFn = Callable[[Any, Any, Any], tuple]
MessageFn = Callable[[Any, dict, Any, list, Callable], None]  # run_message


class Unsettled(Exception):
    """The fast path cannot decide this act in two-valued logic."""


def _unsettled() -> Any:
    raise Unsettled


# Conditions whose compiled closure is never unknown (True or False, never None).
_TWO_VALUED = (ast.Says, ast.Matches, ast.Calls, ast.KnownTest)
# Values a comparison reads through their compiled closure, written out around it.
_VALUES = (ast.Label, ast.Meta, ast.Property, ast.Count)
# How the generated code reads a text test's message.
_SUBJECTS = {"current": "{env}.current[{role!r}]", "previous": "{env}.previous[{role!r}]", "bound": "{env}.bound"}


class _Writer:
    """Writes one norm's `decide` function: source lines and the names they use."""

    def __init__(self, leaves, decisions: "Decisions", norm, tag: str = "", turn: str = "env.turn",
                 call: str = "env.call_index", end: str = "continue", give: str = ""):
        self.condition = leaves.condition
        self.value = leaves.value
        self.program = leaves.program
        self.decisions = decisions
        self.names: dict[str, Any] = {
            "_unsettled": _unsettled, "_Unknown": Unknown, "_json_equal": json_equal, "_NUMBERS": (int, float),
            "_Unsettled": Unsettled, "_Verdict": Verdict, "_beside_not_applicable": _beside_not_applicable,
            "_settle_beside": decisions.beside_not_applicable}
        self.lines: list[str] = []
        # Whether some leaf written may consult an atom (a condition that can be unknown,
        # a count, a window): if none does, no verdict needs the `ctx.consulted` guard.
        self.consults = False
        # Whether some text test was written: the function then binds the view's texts.
        self.reads_text = False
        self._ids: dict[int, str] = {}
        self._locals = 0
        # Names in the generated code end with `tag`, so that the decisions of several
        # norms can share one function (`trace_function`).
        self.tag = tag
        # How the code reads the act's message index and call number, and which role's
        # current message is the act's own (that index).
        self.turn, self.call = turn, call
        self.end = end  # the statement that ends the act's decision once its verdict is given
        self.give = give or f"append{tag}({{}})"  # the statement that gives the act its verdict {}
        # While the body is written for an act whose trigger is unknown: the local holding
        # the trigger's unknown fact (`_write_trigger`).
        self.unknown_trigger: str | None = None
        self.own_role = {"user turn": "user", "assistant turn": "assistant", "tool call": "assistant"}.get(norm.scope)
        self.own = {field: self.name(value, f"_{field}")
                    for field, value in (("name", norm.name), ("authority", norm.authority),
                                         ("severity", norm.severity), ("span", norm.span))}

    def name(self, value: Any, prefix: str) -> str:
        """The name the generated code knows `value` by (one per distinct object)."""
        key = id(value)
        if key not in self._ids:
            self._ids[key] = f"{prefix}{len(self._ids)}{self.tag}"
            self.names[self._ids[key]] = value
        return self._ids[key]

    def local(self) -> str:
        """A fresh local variable's name."""
        self._locals += 1
        return f"v{self._locals}"

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    # ---- conditions: Python expressions that are True or False, or raise Unsettled

    def expr(self, node: ast.Expr, env: str = "env") -> str:
        match node:
            case ast.And():
                return "(" + " and ".join(self.expr(o, env) for o in node.operands) + ")"
            case ast.Or():
                return "(" + " or ".join(self.expr(o, env) for o in node.operands) + ")"
            case ast.Not():
                return f"(not {self.expr(node.operand, env)})"
            case ast.Literal(value=bool() as value):
                return repr(value)
            case ast.Says() | ast.Matches() if node.subject.which in _SUBJECTS:
                return self.text_test(node, env)
            case ast.Compare() if _fact_comparison(node):
                return self.comparison(node, env)
            case ast.In(value=_VALUES) if all(isinstance(i.value, str) for i in node.items.items):
                return self.membership(node, env)
            case ast.KnownTest(operand=ast.Label() as label) if label.subject.which in _SUBJECTS and \
                    self.program.plain_label(label.name):  # known when there (nothing makes it unknown)
                index = self.local()
                subject = self.subject(label.subject, env)
                test = f"(({index} := {subject}) is not None and {label.name!r} in messages[{index}].labels)"
                return test if node.known else f"(not {test})"
            case ast.KnownTest(operand=ast.Label() | ast.Meta()):  # reading a fact consults no atom
                fn, _ = self.value(node.operand, False)
                return f"({self.name(fn, 'f')}(ctx, {env}).__class__ is {'not ' if node.known else ''}_Unknown)"
        call = f"{self.name(self.condition(node), 'c')}(ctx, {env})"
        if isinstance(node, _TWO_VALUED) or (  # `any/every R says ...` tests texts only
                isinstance(node, ast.Quantified) and text_test(node.body, self.condition(node.body)) is not None):
            return call
        self.consults = True
        temp = self.local()
        return f"({temp} if ({temp} := {call}) is not None else _unsettled())"

    def text_test(self, node: ast.Says | ast.Matches, env: str) -> str:
        """A text test on a message: `_text_condition`'s `of` written out, with no call
        but the search on a miss (generated code never records matches, so a cached
        result is the whole answer). The act's own message is always there; another
        subject may be absent (None), where the test is false."""
        test = self.condition(node)
        subject = self.subject(node.subject, env)
        self.reads_text = True
        own = subject == self.turn  # (the act's own message: never None)
        index = subject if own else self.local()
        cached, key = self.local(), self.local()
        read = (f"({cached}[0] if ({cached} := cached(({key} := ({test.ident}, {index})))) is not None "
                f"else store({key}, {self.name(test.found, 's')}(texts[{index}], folds[{index}]))[0])")
        return read if own else f"(({index} := {subject}) is not None and {read})"

    def subject(self, node: ast.Subject, env: str) -> str:
        """The index of a message subject; the act's own message is the act's index."""
        if env == "env" and node.which == "current" and node.role == self.own_role:
            return self.turn
        return _SUBJECTS[node.which].format(env=env, role=node.role)

    def known(self, node: ast.Expr, env: str, numeric: bool) -> tuple[str, str]:
        """A fact's value read into a fresh local: (the local, the read that assigns it)."""
        fn, _ = self.value(node, numeric)
        self.consults |= isinstance(node, ast.Count)
        local = self.local()
        return local, f"({local} := {self.name(fn, 'f')}(ctx, {env}))"

    def comparison(self, node: ast.Compare, env: str, read: str | None = None) -> str:
        """A fact compared with a constant: unsettled when the fact is unknown or, for an
        ordering, not a number (where the general path makes an atom of it). `read`: the
        local the fact was read into already (`read_fact`). An ordering's constant is a number."""
        fact, constant = _fact_and_constant(node)
        const = self.name(constant.value, "k")
        if node.op in ("==", "!="):
            local, read = self.known(fact, env, numeric=False) if read is None else (read, read)
            # Against a string, JSON equality is Python's (no bool/number subtleties).
            equal = f"{local} == {const}" if isinstance(constant.value, str) else f"_json_equal({local}, {const})"
            test = equal if node.op == "==" else f"not {equal}"
            return f"({test} if {read}.__class__ is not _Unknown else _unsettled())"
        local, read = self.known(fact, env, numeric=True) if read is None else (read, read)
        number = f"({local} if {read}.__class__ in _NUMBERS else _unsettled())"
        left, right = (number, const) if fact is node.left else (const, number)
        return f"({left} {node.op} {right})"

    def read_fact(self, depth: int, node: ast.Compare) -> str:
        """Read the fact a comparison with a constant compares into a local; its name."""
        fact, _ = _fact_and_constant(node)
        fn, _ = self.value(fact, node.op not in ("==", "!="))
        local = self.local()
        self.emit(depth, f"{local} = {self.name(fn, 'f')}(ctx, env)")
        return local

    def membership(self, node: ast.In, env: str) -> str:
        """A fact in (or not in) a list of strings: a set lookup on a string."""
        local, read = self.known(node.value, env, numeric=False)
        strings = self.name(frozenset(i.value for i in node.items.items), "s")
        test = f"({local}.__class__ is str and {local} in {strings})"
        return f"(({'not ' if node.negated else ''}{test}) if {read}.__class__ is not _Unknown else _unsettled())"

    # ---- statements: each path ends by giving the act its verdict

    def decided(self, depth: int, decision) -> None:
        """The act's verdict is `decision` (known now): written out with its fields."""
        d = decision
        self.verdict(depth, repr(d.kind), repr(d.reason), repr(d.gap), repr(d.escalate_to), repr(d.overridden_by))

    def decided_by(self, depth: int, expression: str) -> None:
        """The act's verdict is the decision `expression` gives when the code runs."""
        self.emit(depth, f"d = {expression}")
        self.verdict(depth, "d.kind", "d.reason", "d.gap", "d.escalate_to", "d.overridden_by")

    def verdict(self, depth: int, kind: str, reason: str, gap: str, escalate_to: str, overridden_by: str) -> None:
        # A leaf may settle despite an unknown fact inside it (a window, `any` over a
        # label): the general path gives such verdicts, with their unknown facts.
        self.emit(depth, _GUARD)
        own = self.own
        verdict = (f"_Verdict({own['name']}, {kind}, {self.turn}, {own['authority']}, {own['severity']}, "
                   f"{self.call}, {reason}, {gap}, {escalate_to}, (), {overridden_by}, explainer, {own['span']})")
        if self.unknown_trigger is not None:
            verdict = f"_beside_not_applicable({verdict}, {self.unknown_trigger}, _settle_beside)"
        self.emit(depth, self.give.format(verdict))
        self.emit(depth, self.end)

    def standing(self, depth: int, node: OutcomeNode, outcome: ast.Outcome) -> None:
        """The outcome that stands after `outcome`'s exceptions (Catala's default calculus)."""
        branches = [(u.condition, child, u.outcome)
                    for u, (_, child, _) in zip(outcome.exceptions, node.exceptions)]
        self.branches(depth, branches, lambda: self.outcome(depth, node))

    def branches(self, depth: int, branches: list, otherwise: Callable[[], None]) -> None:
        """Cases or exceptions: every condition is evaluated, in order; one that applies
        decides; none falls through to `otherwise`; several are left to the general path."""
        held = [self.local() for _ in branches]
        for flag, (condition, _, _) in zip(held, branches):
            self.emit(depth, f"{flag} = {self.expr(condition)}")
        if len(held) > 1:
            self.emit(depth, f"if {' + '.join(held)} > 1: _unsettled()")
        for flag, (_, child, outcome) in zip(held, branches):
            self.emit(depth, f"if {flag}:")
            self.standing(depth + 1, child, outcome)
        otherwise()

    def outcome(self, depth: int, node: OutcomeNode) -> None:
        decisions = self.decisions
        if node.modality == "permit":
            self.decided(depth, decisions.complied)
        elif node.modality == "unspecified":
            self.decided(depth, decisions.unspecified(node))
        elif node.within is not None:
            self.consults = True
            self.decided_by(depth, f"{self.name(decisions.window, 'w')}({self.name(node, 'o')}, ctx, env)")
        else:
            behaviour = self.expr(node.key.behaviour)
            self.emit(depth, f"if {behaviour}:")
            held, failed = (decisions.violated, decisions.complied) if node.modality == "forbid" \
                else (decisions.complied, decisions.violated)
            self.decided(depth + 1, held)
            self.decided(depth, failed)


class Decisions:
    """The decisions of a generated function's verdicts, and the general-path pieces it
    calls, supplied by the evaluator (which owns `Decision`)."""

    def __init__(self, *, complied, violated, not_applicable, overridden, unspecified, gap,
                 window, conversation, act, frozen, beside_not_applicable):
        self.complied, self.violated, self.not_applicable = complied, violated, not_applicable
        self.overridden = overridden  # name -> Decision
        self.unspecified = unspecified  # OutcomeNode -> Decision
        self.gap = gap  # authority -> Decision
        self.window = window  # (OutcomeNode, ctx, env) -> Decision, or raises Unsettled
        self.conversation = conversation  # ctx -> the conversation's env
        self.act = act  # (current, previous) -> an env for `trace_function` to change in place
        self.frozen = frozen  # env -> a copy that later changes to env leave alone
        # (verdict, Unknown) -> the Decision of the verdict settled beside not_applicable
        self.beside_not_applicable = beside_not_applicable


# Before each verdict: a leaf that settled despite an unknown fact leaves it to the general path.
_GUARD = "if ctx.consulted: _unsettled()"

# The generated function, around a norm's decision.
_RUN = """\
def run(ctx, envs, explainer):
    verdicts = []
    append = verdicts.append
{reads}
    for env in envs:
        try:
{decision}
        except _Unsettled:
            append(_general(ctx, env, explainer))
    return verdicts
"""


def run_function(norm, checked, overrider_triggers: list[ast.Expr | None], general: Callable, leaves,
                 decisions: Decisions) -> RunFn:
    """Generate and compile `run(ctx, envs, explainer)` for the compiled norm `norm`: its
    verdicts at the acts `envs`, explained by `explainer`. `checked` is the norm's checked
    form, `overrider_triggers` the triggers of the norms that override it (in the order of
    `norm.overriders`); `leaves` (the CompiledPolicy) gives the compiled closures of
    conditions (`leaves.condition(node)`) and values (`leaves.value(node, numeric)`);
    `general(ctx, env, explainer)` gives a verdict the general way."""
    writer = _Writer(leaves, decisions, norm)
    writer.names.update(_general=general)
    decision = _decision(writer, norm, checked, overrider_triggers, depth=3)
    source = _RUN.format(decision=decision, reads="\n".join(_reads("ctx.view", writer.reads_text)))
    return _compiled(source, writer.names, "run", f"norm {norm.name}")


def message_function(norms: list[tuple], leaves, decisions: Decisions) -> MessageFn:
    """Generate and compile `run_message(ctx, acts, explainer, settled, hold)` for a
    session: the verdicts of `norms` (as `trace_function` takes them, all of turn scopes
    of one role) at the acts of one new message, `acts[scope]`, in the order of `norms`,
    one norm after the other as `run` would give them but with no call, list or loop
    per norm. A norm without a `within` window settles at once: its verdicts go to the
    list `settled`; the others' go through `hold(norm, env, verdict, settled)`, which
    decides whether they settled or wait for later messages."""
    names: dict[str, Any] = {}
    lines = ["    append = settled.append"]
    reads_text = False
    for scope in dict.fromkeys(norm.scope for norm, *_ in norms):
        lines.append(f"    acts_{_tag(scope)} = acts[{scope!r}]")
    for k, (norm, checked, triggers, general) in enumerate(norms):
        give = f"hold(_norm_{k}, env, {{}}, settled)" if norm.windows else "append({})"
        writer = _Writer(leaves, decisions, norm, f"_{k}", give=give)
        decision = _decision(writer, norm, checked, triggers, depth=3)
        names.update(writer.names, **{f"_general_{k}": general, f"_norm_{k}": norm})
        reads_text |= writer.reads_text
        lines += [f"    for env in acts_{_tag(norm.scope)}:",
                  "        try:", decision,
                  "        except _Unsettled:",
                  "            " + give.format(f"_general_{k}(ctx, env, explainer)")]
    lines = ["def run_message(ctx, acts, explainer, settled, hold):", *_reads("ctx.view", reads_text), *lines]
    return _compiled("\n".join(lines) + "\n", names, "run_message", "a session's message")


def _tag(scope: str) -> str:
    return scope.replace(" ", "_")


def trace_function(norms: list[tuple], leaves, decisions: Decisions, previous: bool) -> TraceFn:
    """Generate and compile `run_trace(ctx, view, explainer)`: the verdicts of every norm,
    grouped by norm in the order of `norms`. `norms` holds `(norm, checked,
    overrider_triggers, general)` as `run_function` takes them. The turn-scope norms are
    decided in a single pass over the messages; the act's binding is one env changed in
    place as the pass goes (its `current` and `previous` are the running dicts): no env is
    made per act, and an act left to the general path gets a copy. Without `previous` the
    acts bind no previous messages. Conversation-scope norms run their own `run` (`norm.fast`)."""
    names: dict[str, Any] = {"_UNBOUND": {}, "_act": decisions.act, "_frozen": decisions.frozen, "_ROLES": ast.ROLES}
    blocks: dict[str, list[str]] = {"user turn": [], "assistant turn": [], "tool call": []}
    turn_norms = [(k, made) for k, made in enumerate(norms) if made[0].scope != "conversation"]
    reads_text = False
    for k, (norm, checked, triggers, general) in turn_norms:
        writer = _Writer(leaves, decisions, norm, f"_{k}", "index",
                         "call_index" if norm.scope == "tool call" else "None", "break")
        depth = 5 if norm.scope == "tool call" else 3
        decision = _decision(writer, norm, checked, triggers, depth + 2)
        names.update(writer.names, **{f"_general_{k}": general})
        reads_text |= writer.reads_text
        indent = "    " * depth
        blocks[norm.scope].append("\n".join((
            f"{indent}try:",
            f"{indent}    while True:  # (`break` ends this norm's decision: no iterator made)", decision,
            f"{indent}except _Unsettled:",
            f"{indent}    append_{k}(_general_{k}(ctx, _frozen(env), explainer))")))
    lines = ["def run_trace(ctx, view, explainer):"]
    lines += [f"    verdicts_{k} = []; append_{k} = verdicts_{k}.append" for k, _ in turn_norms]
    lines += ["    latest = dict.fromkeys(_ROLES)",
              f"    before = {'dict(latest)' if previous else '_UNBOUND'}",
              "    env = _act(latest, before)",
              *_reads("view", reads_text),
              "    for index, message in enumerate(messages):",
              "        role = message.role"]
    if previous:
        lines.append("        before[role] = latest.get(role)  # (a trace made in Python may have any role)")
    lines.append("        latest[role] = index")
    if blocks["user turn"]:
        lines += ['        if role == "user":', "            env.turn = env.earlier_end = index"]
        lines += blocks["user turn"]
    if blocks["assistant turn"] or blocks["tool call"]:
        lines += [f'        {"elif" if blocks["user turn"] else "if"} role == "assistant":',
                  "            env.turn = env.earlier_end = index"]
        lines += blocks["assistant turn"]
        if blocks["tool call"]:
            lines += ["            if message.tool_calls:",
                      "                for call_index, env.call in enumerate(message.tool_calls):",
                      "                    env.call_index = call_index"]
            lines += blocks["tool call"]
            lines += ["                env.call = env.call_index = None"]
    parts = []
    for k, (norm, *_) in enumerate(norms):
        if norm.scope == "conversation":
            names[f"_run_{k}"] = norm.fast
            parts.append(f"*_run_{k}(ctx, view.acts('conversation'), explainer)")
        else:
            parts.append(f"*verdicts_{k}")
    lines.append(f"    return ({', '.join(parts)}{',' if len(parts) == 1 else ''})")
    return _compiled("\n".join(lines) + "\n", names, "run_trace", "every norm")


def _reads(view: str, texts: bool) -> list[str]:
    """The statements (indented) that bind what a generated function reads of the view:
    its messages and the cache's `get`; with `texts`, for text tests, the view's texts and
    their folded forms (made once per trace, grown in place by a session) and the cache's
    `setdefault`, which stores a search's result and gives it back (no call of ours)."""
    reads = [f"    messages, cached = {view}.messages, ctx.text_cache.get"]
    if texts:
        reads.append(f"    texts, folds, store = {view}.texts, {view}.folds, ctx.text_cache.setdefault")
    return reads


def _compiled(source: str, names: dict[str, Any], function: str, what: str) -> Callable:
    namespace = dict(names)
    exec(compile(source, f"<charter fast path: {what}>", "exec"), namespace)
    made = namespace[function]
    made.source = source  # for debugging: print(norm.fast.source), print(policy.run_trace.source)
    return made


def _decision(writer: _Writer, norm, checked, overrider_triggers: list[ast.Expr | None], depth: int) -> str:
    """The norm's decision at one act `env`, as lines of source at `depth`."""
    _write_decision(writer, norm, checked, overrider_triggers, depth)
    lines = writer.lines if writer.consults else [line for line in writer.lines if line.strip() != _GUARD]
    return "\n".join(lines)


def _write_decision(writer: _Writer, norm, checked, overrider_triggers: list[ast.Expr | None], depth: int) -> None:
    decisions = writer.decisions
    for overrider, trigger in zip(norm.overriders, overrider_triggers):
        overridden = decisions.overridden(overrider.name)
        if trigger is None:
            writer.decided(depth, overridden)
            return
        own = "env" if overrider.scope != "conversation" else f"{writer.name(decisions.conversation, 'x')}(ctx)"
        writer.emit(depth, f"if {writer.expr(trigger, own)}:")
        writer.decided(depth + 1, overridden)
    if checked.trigger is not None:
        _write_trigger(writer, norm, checked, depth)
    _write_body(writer, norm, checked, depth)


def _write_trigger(writer: _Writer, norm, checked, depth: int) -> None:
    """`when`: not applicable unless it holds. A trigger that compares one fact with a
    constant is decided here even when that fact is unknown (a missing label, a score in
    its uncertainty band: common in guardrail traffic), as the general path would settle
    its one atom: the body's verdict beside `not_applicable`."""
    trigger = checked.trigger
    if isinstance(trigger, ast.Compare) and _fact_comparison(trigger) and not norm.overriders:
        fact = writer.read_fact(depth, trigger)
        writer.emit(depth, f"if {fact}.__class__ is _Unknown and not {fact}.derived:")
        writer.unknown_trigger = fact
        _write_body(writer, norm, checked, depth + 1)
        writer.unknown_trigger = None
        holds = writer.comparison(trigger, "env", fact)
    else:
        holds = writer.expr(checked.trigger)
    writer.emit(depth, f"if not {holds}:")
    writer.decided(depth + 1, writer.decisions.not_applicable)


def _write_body(writer: _Writer, norm, checked, depth: int) -> None:
    body = checked.body
    if isinstance(body, ast.Outcome):
        writer.standing(depth, norm.tree, body)
        return
    branches = [(case.condition, node, case.outcome) for case, (_, node, _) in zip(body.cases, norm.cases)]
    writer.branches(depth, branches, lambda: _otherwise(writer, norm, body, depth))


def _otherwise(writer: _Writer, norm, body: ast.Cases, depth: int) -> None:
    if norm.otherwise is not None:
        writer.standing(depth, norm.otherwise, body.otherwise.outcome)
    else:
        writer.decided(depth, writer.decisions.gap(norm.authority))


def _beside_not_applicable(verdict: Verdict, unknown: Unknown, settle: Callable) -> Verdict:
    """The verdict at an act whose trigger compares the fact `unknown` (one atom): the
    body's `verdict` (the trigger true) and not_applicable (false) settled together by
    the general path's rule (`settle`, `Decisions.beside_not_applicable`), naming the
    fact it hinged on."""
    d = settle(verdict, unknown)
    return Verdict(verdict.norm, d.kind, verdict.turn, verdict.authority, verdict.severity, verdict.call, d.reason,
                   d.gap, d.escalate_to, (unknown.fact,), d.overridden_by, verdict._explanation, verdict.norm_span)


def _fact_comparison(node: ast.Compare) -> bool:
    """A fact compared with a constant, which generated code writes out (`comparison`)."""
    return (isinstance(node.left, ast.Literal) and isinstance(node.right, _VALUES)
            or isinstance(node.left, _VALUES) and isinstance(node.right, ast.Literal)) and (
        node.op in ("==", "!=") or _number(node.left) or _number(node.right))


def _fact_and_constant(node: ast.Compare) -> tuple[ast.Expr, ast.Literal]:
    return (node.left, node.right) if isinstance(node.right, ast.Literal) else (node.right, node.left)


def _number(node) -> bool:
    """A numeric constant: the only kind an ordering compares in generated code (against a
    string the general path decides; Python's `>` between str and int would raise)."""
    return isinstance(node, ast.Literal) and ast.is_number(node.value)
