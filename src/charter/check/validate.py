"""Well-formedness of a loaded policy, and the `Program` the compiler consumes.

Checks, each reported with its location: the chain of command (one `authorities`
order for every layer, declared authorities everywhere an authority is named);
severities and scopes; subjects used where they exist; regexes the linear-time engine
can run; declared facts (`facts.py`); overrides (unknown, not a default, authority too low, a cycle,
incompatible scopes); and the expectations of inline tests.
"""

from __future__ import annotations

import attrs

from ..syntax import ast
from ..text.builtins import BUILTINS
from ..source.diagnostics import Diagnostic
from ..source.text import Span
from ..text.matching import RegexError, compile_regex
from .facts import Facts
from .program import CheckedNorm, CheckedTest, Program
from .resolve import Expander, Module, suggest

_MESSAGE_PROPERTIES = ("words", "chars")
_ORDERING = ("<", "<=", ">", ">=")


# What `within 1 UNIT` waits for, by unit (docs/language.md §8.7).
_NEXT = {"turns": "the assistant's next reply with text", "messages": "the assistant's next message"}


class Validator:
    def __init__(self, modules: list[Module], policies: list[Module]):
        self.modules = modules
        self.policies = policies
        self.diagnostics: list[Diagnostic] = []
        self._regexes_checked: set[int] = set()
        self.authorities: tuple[str, ...] = ast.DEFAULT_AUTHORITIES

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, hint=hint))

    # ------------------------------------------------------------------ entry point

    def program(self) -> Program | None:
        self.authorities = self._authorities()
        self._check_patterns()
        self.facts = Facts(self.modules, self.error, self._authority)
        for module in self.policies:
            if module.file.header is not None:
                self._authority(module.file.header.authority, module.file.header.span)
        declared = [(module.charter, norm.name) for module in self.policies for norm in module.norms.values()]
        names = _display_names(declared)
        drafts = [self._norm(module, norm) for module in self.policies for norm in module.norms.values()]
        drafts = [attrs.evolve(d, name=names[(d.charter, d.source.name)]) for d in drafts if d is not None]
        overriders = self._overrides(drafts, names)
        norms = tuple(attrs.evolve(d, overriders=tuple(sorted(overriders.get(d.name, ())))) for d in drafts)
        tests = tuple(t for module in self.policies for t in self._tests(module, names))
        if any(d.is_error for d in self.diagnostics):
            return None
        return Program(self.authorities, norms, self.facts.bands, tests,
                       tuple(m.source for m in self.modules), self.facts.labels, self.facts.meta)

    # ------------------------------------------------------------------ authorities

    def _authorities(self) -> tuple[str, ...]:
        declared: tuple[str, ...] | None = None
        for module in self.policies:
            for decl in module.file.of(ast.Authorities):
                duplicates = sorted({n for n in decl.names if decl.names.count(n) > 1})
                if duplicates:
                    self.error("E302", f"`{duplicates[0]}` appears twice in the chain of command",
                               decl.span, "list each authority once, highest first")
                if declared is None:
                    declared = decl.names
                elif decl.names != declared:
                    self.error("E301", "this chain of command differs from the one declared by "
                               f"another file ({' > '.join(declared)})", decl.span,
                               "every layer of a policy must declare the same `authorities`, or none")
        return declared or ast.DEFAULT_AUTHORITIES

    def _authority(self, name: str | None, span: Span) -> bool:
        if name is None or name in self.authorities:
            return True
        self.error("E303", f"unknown authority `{name}`", span,
                   suggest(name, self.authorities) or
                   "the authorities are " + " > ".join(self.authorities))
        return False

    # ------------------------------------------------------------------ patterns and labels

    def _check_patterns(self) -> None:
        for module in self.modules:
            for pattern in module.patterns.values():
                if pattern.regex is not None:
                    self._regex(pattern.regex)

    def _regex(self, regex: ast.Regex) -> None:
        if id(regex) in self._regexes_checked:
            return  # a pattern's regex is also met at every `mentions` of it: report once
        self._regexes_checked.add(id(regex))
        try:
            compile_regex(regex.source, regex.flags)
        except RegexError as error:
            self.error("E230", str(error), regex.span,
                       "rewrite the pattern without it (RE2 syntax)")
        check = regex.check
        if check is not None and check.dotted not in BUILTINS:
            known = ", ".join(sorted(BUILTINS))
            close = suggest(check.dotted, BUILTINS)
            self.error("E231", f"unknown built-in check `{check.dotted}`", check.span,
                       f"{close + ' ' if close else ''}the built-in checks are: {known}")

    # ------------------------------------------------------------------ norms

    def _norm(self, module: Module, norm: ast.Norm) -> CheckedNorm | None:
        header = module.file.header
        authority = norm.authority or (header.authority if header else None) or self.authorities[-1]
        ok = self._authority(authority, norm.where("authority")) if norm.authority else authority in self.authorities
        ok &= self._authority(norm.overridable_by, norm.where("overridable_by"))
        if norm.severity not in ast.SEVERITIES:
            self.error("E304", f"unknown severity `{norm.severity}`", norm.where("severity"),
                       "the severities are " + ", ".join(ast.SEVERITIES))
        if norm.scope not in ast.SCOPES:
            self.error("E305", f"unknown scope `on {norm.scope}`", norm.where("scope"),
                       suggest(norm.scope, ast.SCOPES) or
                       "the scopes are " + ", ".join(f"`on {s}`" for s in ast.SCOPES))
        if norm.overridable_by is not None and not norm.is_default:
            self.error("E308", f"`{norm.name}` is not a default norm, so it cannot be "
                       "`overridable by` anyone", norm.where("overridable_by"),
                       f"write `default norm {norm.name}:`")
        expander = Expander(module, self.diagnostics.append)
        trigger = expander.expand(norm.trigger) if norm.trigger is not None else None
        body = self._body(norm.body, expander, norm)
        if body is None or (norm.trigger is not None and trigger is None) or not ok:
            return None
        for expr in ([trigger] if trigger is not None else []) + _body_exprs(body):
            self._expression(expr, norm.scope)
            self._conditions(expr)
            self.facts.expression(expr)
        return CheckedNorm(
            name=norm.name, charter=module.charter, authority=authority,
            severity=norm.severity, scope=norm.scope, trigger=trigger, body=body,
            is_default=norm.is_default, description=norm.description, overriders=(),
            span=norm.span, source=norm,
        )

    def _body(self, body: ast.Body, expander: Expander, norm: ast.Norm):
        if isinstance(body, ast.Outcome):
            return self._outcome(body, expander, norm)
        cases = [self._guarded(case, expander, norm) for case in body.cases]
        if None in cases:
            return None
        otherwise = None
        if body.otherwise is not None:
            outcome = self._outcome(body.otherwise.outcome, expander, norm)
            if outcome is None:
                return None
            otherwise = attrs.evolve(body.otherwise, outcome=outcome)
        return attrs.evolve(body, cases=tuple(cases), otherwise=otherwise)

    def _outcome(self, outcome: ast.Outcome, expander: Expander, norm: ast.Norm):
        self._authority(outcome.escalate_to, outcome.span)
        if outcome.within is not None:
            if norm.scope == "conversation":
                self.error("E306", "`within` needs a turn to count from; this norm is checked once "
                           "per conversation", outcome.span,
                           "use `on user turn` or `on assistant turn`, or drop `within`")
            if outcome.within < 1:
                unit = outcome.within_unit
                self.error("E307", f"`within {outcome.within} {unit}` leaves no {unit[:-1]} for the behaviour "
                           f"to happen in: `within` counts at least 1 {unit[:-1]}", outcome.span,
                           f"write `within 1 {unit[:-1]}` to require it by {_NEXT[unit]}")
        behaviour = None
        if outcome.behaviour is not None:
            behaviour = expander.expand(outcome.behaviour)
            if behaviour is None:
                return None
        exceptions = [self._guarded(unless, expander, norm) for unless in outcome.exceptions]
        if None in exceptions:
            return None
        return attrs.evolve(outcome, behaviour=behaviour, exceptions=tuple(exceptions))

    def _guarded(self, branch: ast.Case | ast.Unless, expander: Expander, norm: ast.Norm):
        """A `case` or `unless` with its condition and outcome checked, or None."""
        condition = expander.expand(branch.condition)
        outcome = self._outcome(branch.outcome, expander, norm)
        if condition is None or outcome is None:
            return None
        return attrs.evolve(branch, condition=condition, outcome=outcome)

    # ------------------------------------------------------------------ expressions

    def _expression(self, expr: ast.Expr, scope: str) -> None:
        """Subjects used where they exist, members that exist, comparisons that make sense."""
        for node in ast.walk(expr):
            match node:
                case ast.Subject(which="call") if scope != "tool call":
                    self.error("E221", "`call` exists only in norms `on tool call`", node.span,
                               "add `on tool call` to the norm, or use `assistant calls \"name\"`")
                case ast.Property():
                    self._property(node)
                case ast.Meta():
                    self._meta(node)
                case ast.Label(subject=ast.Subject(which="call" | "trace")):
                    self.error("E224", "labels belong to messages, not to the "
                               f"{node.subject.role}", node.span, 'write `user.label("name")`')
                case ast.Compare(op=op) if op in _ORDERING:
                    for side in (node.left, node.right):
                        if isinstance(side, ast.Literal) and (
                            isinstance(side.value, bool) or not isinstance(side.value, (int, float))
                        ):
                            self.error("E225", f"`{op}` compares numbers, and this is not a number",
                                       side.span, "use == or != for strings, booleans and null")
                case ast.Matches():
                    self._regex(node.regex)
                case ast.Shares(pattern=ast.Regex() as regex):
                    self._regex(regex)
                case ast.Answers() | ast.Failed() | ast.Linked() | ast.Number() | ast.Appears():
                    self._binding(node)
            match node:
                case ast.Says() | ast.Matches() | ast.Calls() | ast.Shares() if node.subject.which == "trace" or (
                        node.subject.which == "call" and isinstance(node, ast.Calls)):
                    verb = {ast.Says: "says", ast.Matches: "matches", ast.Calls: "calls",
                            ast.Shares: "shares"}[type(node)]
                    self.error("E228", f"`{verb}` reads a message, and `{node.subject.role}` is not one",
                               node.span, f"use a message subject, e.g. `assistant {verb} …`"
                               + ("" if verb == "calls" else " (or `call` in a norm `on tool call`)"))

    def _binding(self, node) -> None:
        """The forms that follow a value between messages, on the subjects that have it."""
        match node:
            case ast.Answers(subject=subject) | ast.Linked(subject=subject) if subject.role != "tool":
                what = "`answers`" if isinstance(node, ast.Answers) else "`.call`"
                self.error("E233", f"{what} is about a tool result, and `{_subject_text(subject)}` is not one",
                           node.span, 'use a tool message, e.g. `tool answers "fetch_url"` or '
                           '`any earlier tool answers "fetch_url"`')
            case ast.Failed(subject=subject) if subject.role not in ("tool", "call"):
                self.error("E233", f"`failed` is about a tool result, and `{_subject_text(subject)}` is not one",
                           node.span, "write `tool failed` (the latest tool result) or `call failed` "
                           "(in a norm `on tool call`: the result of the call)")
            case ast.Linked(path=path) if not (path == ("name",) or (path[0] == "args" and len(path) > 1)):
                self.error("E222", f"a tool result's call has no `.{'.'.join(path)}`", node.span,
                           "it has `.call.name` and `.call.args.…`")
            case ast.Number(source=ast.Events(quantifier="any" | "every") as events):
                self.error("E232", f"`{events.quantifier}` ranges over several messages, and `.number` needs one",
                           node.span, "read it on one message: `(latest user that says \"confirm\").number`, "
                           "`user.number`")
            case ast.Number(source=source) if _one_subject(source) in ("call", "trace"):
                self.error("E232", "`.number` reads a message's text", node.span,
                           "use a message subject, e.g. `user.number`; a call's argument is `call.args.…`")
            case ast.Appears(value=value) if _is_condition(value) and not isinstance(
                    value, (ast.Literal, ast.Meta, ast.Label, ast.Linked, ast.Number)):
                self.error("E234", "`appears in` looks for a value, and this is a condition", value.span,
                           "give it a value: a call argument (`call.args.to`), a metadata field, a "
                           "string or a number")

    def _conditions(self, expr: ast.Expr) -> None:
        """Everything standing where a condition is expected must be one."""
        for node in [expr, *_condition_positions(expr)]:
            self.facts.condition(node)
            if not _is_condition(node):
                what = _VALUE_WORDS.get(type(node), "this value")
                self.error("E227", f"{what} is not a condition (something true or false)", node.span,
                           "compare it, e.g. `user.words > 100`, or test it with `is known`")

    def _property(self, node: ast.Property) -> None:
        allowed = {
            "call": ("name", "run"),
            "trace": ("id",),
        }.get(node.subject.role, _MESSAGE_PROPERTIES)
        if node.name not in allowed:
            self.error("E222", f"`{_subject_text(node.subject)}` has no `.{node.name}`", node.span,
                       "it has " + ", ".join(f"`.{a}`" for a in allowed) +
                       (", `.meta.…`" if node.subject.role != "call" else ", `.args.…`") +
                       (', `.label("…")`' if node.subject.role not in ("call", "trace") else ""))

    def _meta(self, node: ast.Meta) -> None:
        want = "args" if node.subject.role == "call" else "meta"
        if node.root != want:
            self.error("E223", f"`{_subject_text(node.subject)}` has `.{want}`, not `.{node.root}`",
                       node.span, f"write `{_subject_text(node.subject)}.{want}.…`")

    # ------------------------------------------------------------------ names and overrides

    def _resolve_norm(self, ref: ast.Name, charter: str, names: dict[tuple[str, str], str]) -> str | None:
        if len(ref.parts) == 2 and (ref.parts[0], ref.parts[1]) in names:
            return names[(ref.parts[0], ref.parts[1])]
        if len(ref.parts) == 1:
            if (charter, ref.parts[0]) in names:
                return names[(charter, ref.parts[0])]
            matches = [n for (c, bare), n in names.items() if bare == ref.parts[0]]
            if len(matches) == 1:
                return matches[0]
        choices = sorted(set(names.values()))
        self.error("E310", f"unknown norm `{ref.dotted}`", ref.span,
                   suggest(ref.dotted, choices) or
                   ("the norms are " + ", ".join(choices[:8]) if choices else None))
        return None

    def _overrides(self, drafts: list[CheckedNorm], names) -> dict[str, list[str]]:
        by_name = {d.name: d for d in drafts}
        edges: dict[str, list[str]] = {}
        for d in drafts:
            for ref in d.source.overrides:
                target_name = self._resolve_norm(ref, d.charter, names)
                if target_name is None:
                    continue
                target = by_name.get(target_name)
                if target is None:
                    continue  # the target has errors of its own, reported where they are
                if self._override_allowed(d, target, ref.span):
                    edges.setdefault(target.name, []).append(d.name)
        self._cycles(edges, by_name)
        return edges

    def _override_allowed(self, overrider: CheckedNorm, target: CheckedNorm, span: Span) -> bool:
        rank = self.authorities.index
        if overrider.name == target.name:
            self.error("E311", f"`{target.name}` overrides itself", span, "remove it from `overrides`")
            return False
        if target.scope != overrider.scope and overrider.scope != "conversation":
            self.error("E314", f"`{overrider.name}` is checked {_scope_words(overrider.scope)} but "
                       f"`{target.name}` {_scope_words(target.scope)}, so it cannot override it",
                       span, f"give `{overrider.name}` the scope `on {target.scope}` (or "
                       "`on conversation`, to override at every act)")
            return False
        if rank(overrider.authority) < rank(target.authority):
            return True  # a strictly higher authority may always override
        if not target.is_default:
            self.error("E313", f"`{target.name}` is not a default norm, and `{overrider.name}` "
                       f"(by {overrider.authority}) does not outrank its author ({target.authority})",
                       span, f"declare it `default norm {target.name}`, or move the override to a "
                       "higher authority")
            return False
        lowest = target.source.overridable_by or target.authority
        if rank(overrider.authority) > rank(lowest):
            self.error("E312", f"`{target.name}` may be overridden by {lowest} or above, not by "
                       f"{overrider.authority}", span,
                       f"add `overridable by {overrider.authority}` to `{target.name}`")
            return False
        return True

    def _cycles(self, edges: dict[str, list[str]], by_name: dict[str, CheckedNorm]) -> None:
        """Report each override cycle once (depth-first search over target -> overriders)."""
        state: dict[str, str] = {}
        for start in sorted(edges):
            if start in state:
                continue
            state[start] = "open"
            path = [start]
            stack = [iter(sorted(edges.get(start, ())))]
            while stack:
                nxt = next(stack[-1], None)
                if nxt is None:
                    state[path.pop()] = "done"
                    stack.pop()
                elif state.get(nxt) == "open":
                    cycle = path[path.index(nxt):] + [nxt]
                    self.error("E311", "these norms override each other in a cycle: "
                               + " -> ".join(reversed(cycle)), by_name[nxt].span,
                               "remove one of the `overrides`")
                elif nxt not in state:
                    state[nxt] = "open"
                    path.append(nxt)
                    stack.append(iter(sorted(edges.get(nxt, ()))))

    # ------------------------------------------------------------------ tests

    def _tests(self, module: Module, names) -> list[CheckedTest]:
        found = []
        for block in module.file.of(ast.TestBlock):
            norm_names = []
            for expect in block.expects:
                if expect.verdict not in ast.VERDICT_KINDS:
                    self.error("E331", f"unknown verdict `{expect.verdict}`", expect.span,
                               suggest(expect.verdict, ast.VERDICT_KINDS) or
                               "the verdicts are " + ", ".join(ast.VERDICT_KINDS))
                norm_names.append(self._resolve_norm(expect.norm, module.charter, names) or "")
            for message in block.messages:
                if isinstance(message, ast.TestMessage):
                    self._test_labels(message)
            found.append(CheckedTest(module.charter, block, tuple(norm_names)))
        return found

    def _test_labels(self, message: ast.TestMessage) -> None:
        for name, value in message.labels:
            decl = self.facts.labels.get(name)
            fact_type = decl.type if decl is not None else None
            if fact_type is not None:  # declared: its type says (`label language: string`)
                if not fact_type.admits(value):
                    self.error("E332", f"label `{name}` must be of the type declared (`{fact_type}`), "
                               f"not {value!r}", message.span)
                continue
            ok = isinstance(value, bool) or (isinstance(value, (int, float)) and 0 <= value <= 1)
            if not ok:
                self.error("E332", f"label `{name}` must be a number in [0, 1] or a boolean, "
                           f"not {value!r}", message.span)


def _display_names(declared: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Bare norm names, qualified by the charter's name where two layers clash. Every
    declared norm has one, an erroneous norm too: the names that refer to it still find
    it, so its error is not followed by an "unknown norm" for each of them."""
    counts: dict[str, int] = {}
    for _, name in declared:
        counts[name] = counts.get(name, 0) + 1
    return {(charter, name): name if counts[name] == 1 else f"{charter}.{name}" for charter, name in declared}


def _body_exprs(body: ast.Body) -> list[ast.Expr]:
    found: list[ast.Expr] = []
    outcomes: list[ast.Outcome] = []
    if isinstance(body, ast.Outcome):
        outcomes.append(body)
    else:
        for case in (*body.cases, *([body.otherwise] if body.otherwise else [])):
            if case.condition is not None:
                found.append(case.condition)
            outcomes.append(case.outcome)
    while outcomes:
        outcome = outcomes.pop()
        if outcome.behaviour is not None:
            found.append(outcome.behaviour)
        for unless in outcome.exceptions:
            found.append(unless.condition)
            outcomes.append(unless.outcome)
    return found


_VALUE_WORDS = {
    ast.Property: "a number or name", ast.Count: "a count", ast.ListLiteral: "a list",
    ast.Number: "a number", ast.Linked: "a tool result's call",
    ast.Literal: "this constant",
}


def _is_condition(node: ast.Expr) -> bool:
    if isinstance(node, ast.Literal):
        return isinstance(node.value, bool)
    return not isinstance(node, (ast.Property, ast.Count, ast.ListLiteral, ast.Number, ast.Linked))


def _condition_positions(expr: ast.Expr):
    """Nodes that are evaluated as conditions: operands of and/or/not, quantifier and
    count bodies (a `KnownTest` operand may be either)."""
    for node in ast.walk(expr):
        match node:
            case ast.And() | ast.Or():
                yield from node.operands
            case ast.Not():
                yield node.operand
            case ast.Quantified():
                yield node.body
            case ast.Count():
                yield node.body


def _one_subject(source: ast.Subject | ast.Events) -> str | None:
    """The role of the one subject a `.number` reads (None for a range)."""
    subject = source.subject if isinstance(source, ast.Events) else source
    return subject.role if subject is not None else None


def _subject_text(subject: ast.Subject) -> str:
    return {"previous": f"previous {subject.role}"}.get(subject.which, subject.role)


def _scope_words(scope: str) -> str:
    return "once per conversation" if scope == "conversation" else f"at each {scope}"
