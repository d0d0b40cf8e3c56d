"""The abstract syntax of a Charter file: frozen attrs nodes, one class per construct.

Every node carries the `span` of the text it came from. Spans are ignored by equality
and hashing, so two trees that say the same thing compare equal wherever they were
written: the checker relies on that to decide whether two outcomes are the same, and
the printer tests rely on it for "print then parse gives an equal tree".

Children are tuples, so a tree is immutable and can be shared (a `let` body is used at
every place the name appears without being copied).
"""

from __future__ import annotations

import json
from typing import Union

import attrs

from ..source.text import NOWHERE, Span

# The roles a message may have, in the trace model and in subjects.
ROLES = ("system", "developer", "user", "assistant", "tool")
# What `within N …` may count, by the word written: replies with text, or every assistant message.
WINDOW_UNITS = {"turn": "turns", "turns": "turns", "message": "messages", "messages": "messages"}
SCOPES = ("assistant turn", "user turn", "tool call", "conversation")
SEVERITIES = ("low", "medium", "high", "critical")
MODALITIES = ("require", "forbid", "permit", "unspecified")
VERDICT_KINDS = (
    "complied",
    "violated",
    "unspecified",
    "not_applicable",
    "conflict",
    "overridden",
    "pending",
)
DEFAULT_AUTHORITIES = ("platform", "developer", "user")


def _span() -> attrs.Attribute:
    return attrs.field(default=NOWHERE, eq=False, repr=False, kw_only=True)


# --------------------------------------------------------------------------- expressions


@attrs.frozen
class Literal:
    """A constant: a number, a string, `true`/`false` or `null`."""

    value: float | int | str | bool | None
    span: Span = _span()


@attrs.frozen
class ListLiteral:
    """`[a, b, ...]`: constants for `says any of`, `in`, and pattern phrase lists."""

    items: tuple["Expr", ...]
    span: Span = _span()


@attrs.frozen
class Name:
    """A reference to a `let`, a `pattern`, a parameter or a norm: `parts` is `("pii", "email")`
    for `pii.email`."""

    parts: tuple[str, ...]
    span: Span = _span()

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@attrs.frozen
class Apply:
    """A call of a parameterised `let`: `name(arg, ...)`. Expanded by the checker."""

    name: Name
    args: tuple["Expr", ...]
    span: Span = _span()


@attrs.frozen
class Subject:
    """A message (or the call, or the trace) an expression talks about.

    `which` is one of:
      - "current": `assistant`, `user`, `system`, `developer`, `tool` as bound by the scope;
      - "previous": `previous assistant` (the latest such message before the act);
      - "bound": the message a `Quantified` node is ranging over;
      - "call": the tool call of a `tool call` norm (`role` is "call");
      - "trace": the whole trace (`role` is "trace").
    """

    role: str
    which: str = "current"
    span: Span = _span()


@attrs.frozen
class Quantified:
    """`any earlier user says ...`, `every assistant matches ...`: `body` holds for some
    (`any`) or every (`every`) message of `role` in the range (`earlier`: before the act;
    `all`: the whole trace). Inside `body` the message is `Subject(role, "bound")`."""

    quantifier: str  # "any" | "every"
    range: str  # "earlier" | "all"
    role: str
    body: "Expr"
    span: Span = _span()


@attrs.frozen
class Says:
    """`S says "p"` (mode "one"), `S says any of [...]`, `S says all of [...]`: case-insensitive
    whole-word phrase matching. `phrases` is a string, a list, or a name bound to one."""

    subject: Subject
    mode: str  # "one" | "any" | "all"
    phrases: "Expr"
    span: Span = _span()


@attrs.frozen
class Regex:
    """A regular expression literal `/source/flags`, run by a linear-time engine, with an
    optional `where CHECK`: a built-in (charter.text.builtins) that must accept a match's text."""

    source: str
    flags: str = ""
    check: Name | None = None
    span: Span = _span()


@attrs.frozen
class Matches:
    """`S matches /regex/flags`."""

    subject: Subject
    regex: Regex
    span: Span = _span()


@attrs.frozen
class Mentions:
    """`S mentions P`, where P names a `pattern`."""

    subject: Subject
    pattern: Name
    span: Span = _span()


@attrs.frozen
class Calls:
    """`S calls "tool_name"`: the message makes a tool call of that name."""

    subject: Subject
    tool: "Expr"
    span: Span = _span()


@attrs.frozen
class Events:
    """The messages a binding looks for a value in (docs/language.md §6.14).

    `quantifier` is "any", "every" or "latest" over the messages of `role` in `range`
    ("earlier": before the act, "later": after it, "all": the whole trace; "latest" is
    the latest earlier one) that pass `filter` (a condition on `Subject(role, "bound")`,
    or None); or "one" for the single `subject` (`user`, `previous user`, `call`)."""

    quantifier: str  # "any" | "every" | "latest" | "one"
    range: str  # "earlier" | "later" | "all"
    role: str
    filter: "Expr | None" = None
    subject: Subject | None = None
    span: Span = _span()


@attrs.frozen
class Appears:
    """`V appears in EVENTS`: the value occurs, as a whole value, in the text of the
    messages `events` names (a number: as a number equal to it)."""

    value: "Expr"
    events: Events
    span: Span = _span()


@attrs.frozen
class Shares:
    """`S shares P with EVENTS`: a text the pattern P matches in S is matched in the
    messages `events` names too; `S mentions P not found in EVENTS` (`negated`): one is
    not. The checker replaces the name `pattern` by the pattern's regex or phrases."""

    subject: Subject
    pattern: "Name | Regex | ListLiteral"
    events: Events
    negated: bool = False
    span: Span = _span()


@attrs.frozen
class Answers:
    """`S answers "tool"`: the tool result S answers a call of that tool (unknown when
    S is linked to no call)."""

    subject: Subject
    tool: "Expr"
    span: Span = _span()


@attrs.frozen
class Failed:
    """`S failed`: the tool result S (or the result of `call`) reports a failure
    (unknown when the trace does not say, or no result is linked)."""

    subject: Subject
    span: Span = _span()


@attrs.frozen
class Number:
    """`S.number`, `(latest user that ...).number`: the number a message's text holds
    (unknown when it holds none, or several different ones)."""

    source: "Subject | Events"
    span: Span = _span()


@attrs.frozen
class Linked:
    """`S.call.name`, `S.call.args.PATH`: the call the tool result S answers (`path`
    starts with "name" or "args"); unknown when S is linked to no call."""

    subject: Subject
    path: tuple[str, ...]
    span: Span = _span()


@attrs.frozen
class Label:
    """`S.label("name")`: a classifier score or annotation, unknown when missing or uncertain."""

    subject: Subject
    name: str
    span: Span = _span()


@attrs.frozen
class Meta:
    """`trace.meta.a.b`, `S.meta.x`, or `call.args.path` (subject `call`, `root` "args")."""

    subject: Subject
    root: str  # "meta" | "args"
    path: tuple[str, ...]
    span: Span = _span()


@attrs.frozen
class Property:
    """A computed property: `S.words`, `S.chars`, `call.name`, `trace.id`."""

    subject: Subject
    name: str
    span: Span = _span()


@attrs.frozen
class Count:
    """`count(E)`: how many messages satisfy a quantified condition (0 or 1 otherwise)."""

    body: "Expr"
    span: Span = _span()


@attrs.frozen
class Compare:
    """`left OP right` with OP one of `< <= > >= == !=`."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@attrs.frozen
class In:
    """`value in [...]` (`negated` for `not in`)."""

    value: "Expr"
    items: "Expr"
    negated: bool = False
    span: Span = _span()


@attrs.frozen
class KnownTest:
    """`E is known` (`known` True) or `E is unknown`; always true or false, never unknown."""

    operand: "Expr"
    known: bool
    span: Span = _span()


@attrs.frozen
class Not:
    operand: "Expr"
    span: Span = _span()


@attrs.frozen
class And:
    operands: tuple["Expr", ...]
    span: Span = _span()


@attrs.frozen
class Or:
    operands: tuple["Expr", ...]
    span: Span = _span()


Expr = Union[
    Literal, ListLiteral, Name, Apply, Subject, Quantified, Says, Matches, Mentions, Calls,
    Label, Meta, Property, Count, Compare, In, KnownTest, Not, And, Or, Regex,
    Events, Appears, Shares, Answers, Failed, Number, Linked,
]


# --------------------------------------------------------------------------- norm bodies


@attrs.frozen
class Outcome:
    """What a clause decides, with the exceptions indented under it.

    `require B [within N turns|messages]`, `forbid B`, `permit [B]`,
    `unspecified "reason" [escalate to A]`.
    """

    modality: str
    behaviour: Expr | None = None
    within: int | None = None
    reason: str | None = None
    escalate_to: str | None = None
    exceptions: tuple["Unless", ...] = ()
    within_unit: str = "turns"  # what `within` counts: "turns" (replies with text) or "messages"
    span: Span = _span()

    def same_decision(self, other: "Outcome") -> bool:
        """Whether two outcomes decide the same thing (exceptions aside): equal modality
        and behaviour, whatever the reply is. Unequal outcomes that both apply conflict."""
        return attrs.evolve(self, exceptions=()) == attrs.evolve(other, exceptions=())


@attrs.frozen
class Unless:
    """`unless C: outcome`: where C holds, `outcome` replaces the outcome above it."""

    condition: Expr
    outcome: Outcome
    span: Span = _span()


@attrs.frozen
class Case:
    """`case C: outcome`, or `otherwise: outcome` when `condition` is None."""

    condition: Expr | None
    outcome: Outcome
    span: Span = _span()


@attrs.frozen
class Cases:
    """A body made of `case` lines and an optional `otherwise`."""

    cases: tuple[Case, ...]
    otherwise: Case | None = None
    span: Span = _span()


Body = Union[Outcome, Cases]


@attrs.frozen
class Norm:
    """`[default] norm NAME [by A] [overrides M, ...]:` and its indented lines."""

    name: str
    body: Body
    is_default: bool = False
    authority: str | None = None
    overrides: tuple[Name, ...] = ()
    description: str | None = None
    severity: str = "medium"
    overridable_by: str | None = None
    scope: str = "assistant turn"
    trigger: Expr | None = None
    span: Span = _span()
    name_span: Span = _span()
    # Where each setting line was written ("authority", "severity", "scope", ...), so
    # that a diagnostic about one points at its own line.
    setting_spans: tuple[tuple[str, Span], ...] = attrs.field(default=(), eq=False, repr=False)

    def where(self, setting: str) -> Span:
        """The span of a setting line, or of the norm's header if it was not written."""
        return next((span for name, span in self.setting_spans if name == setting), self.span)


# --------------------------------------------------------------------------- declarations


@attrs.frozen
class Header:
    """`charter NAME [by AUTHORITY]`."""

    name: str
    authority: str | None = None
    span: Span = _span()


@attrs.frozen
class Use:
    """`use std.pii [as m]` (`path` None) or `use "file.charter" as m`."""

    module: str
    alias: str
    is_path: bool = False
    span: Span = _span()


@attrs.frozen
class Authorities:
    """`authorities A > B > C`, highest first."""

    names: tuple[str, ...]
    span: Span = _span()


@attrs.frozen
class Let:
    """`let N = E` or `let N(x, y) = E`."""

    name: str
    body: Expr
    params: tuple[str, ...] | None = None
    span: Span = _span()


@attrs.frozen
class PatternDecl:
    """`pattern N = /re/flags` (`regex`) or `pattern N = any of ["...", ...]` (`phrases`)."""

    name: str
    regex: Regex | None = None
    phrases: tuple[str, ...] = ()
    span: Span = _span()


# The types a declared fact may have (`one of [...]` besides), and what each admits.
FACT_TYPES = ("score", "boolean", "number", "string")


@attrs.frozen
class FactType:
    """A declared fact's type: `score` (a number in [0, 1]), `boolean`, `number`,
    `string`, or `one of [...]` (`name` "one of", with its `choices`)."""

    name: str
    choices: tuple[object, ...] = ()
    span: Span = _span()

    def admits(self, value: object) -> bool:
        """Whether a trace value has this type (JSON's: booleans are not numbers)."""
        if self.name == "one of":
            return any(_json_eq(value, choice) for choice in self.choices)
        if self.name == "boolean":
            return isinstance(value, bool)
        if self.name == "string":
            return isinstance(value, str)
        return is_number(value) and (self.name == "number" or 0 <= value <= 1)

    def __str__(self) -> str:
        if self.name != "one of":
            return self.name
        return "one of [" + ", ".join(json.dumps(c, ensure_ascii=False) for c in self.choices) + "]"


def is_number(value: object) -> bool:
    """Whether a value is a number as the language reads one (JSON's: a boolean is not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_eq(a: object, b: object) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)


@attrs.frozen
class LabelDecl:
    """`label NAME [: TYPE] [from detector D] [uncertain between LOW and HIGH | uncertain
    below C] [escalate to A]`: a score strictly inside the band, or a detection less
    confident than `confidence`, is unknown; `escalate_to` decides a verdict that hinges on it."""

    name: str
    low: float | None = None
    high: float | None = None
    type: FactType | None = None
    detector: str | None = None
    confidence: float | None = None
    escalate_to: str | None = None
    span: Span = _span()


@attrs.frozen
class MetaDecl:
    """`meta PATH [: TYPE]`: a metadata field (of the trace or of a message) the policy reads."""

    path: tuple[str, ...]
    type: FactType | None = None
    span: Span = _span()

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


# --------------------------------------------------------------------------- tests


@attrs.frozen
class TestMessage:
    """`role: "text" [labels {...}] [meta {...}] [failed | not failed]` in a test block
    (`failed`: a tool result's error; None when the line does not say)."""

    role: str
    content: str
    labels: tuple[tuple[str, object], ...] = ()
    meta: object = None
    failed: bool | None = None
    span: Span = _span()


@attrs.frozen
class TestCall:
    """`assistant calls NAME {json}`: a tool call (joined to an assistant message just above)."""

    name: str
    arguments: object = None
    span: Span = _span()


@attrs.frozen
class Expect:
    """`expect NORM VERDICT [at turn K]`."""

    norm: Name
    verdict: str
    turn: int | None = None
    span: Span = _span()


@attrs.frozen
class TestBlock:
    """`test "name":` with its trace (`meta`, messages) and expectations."""

    __test__ = False  # not a pytest class

    name: str
    meta: object = None
    messages: tuple[TestMessage | TestCall, ...] = ()
    expects: tuple[Expect, ...] = ()
    span: Span = _span()


Item = Union[Use, Authorities, Let, PatternDecl, LabelDecl, MetaDecl, Norm, TestBlock]


@attrs.frozen
class CharterFile:
    """One parsed file: its header (if written) and its items in source order."""

    source_name: str
    header: Header | None
    items: tuple[Item, ...]
    span: Span = _span()

    def of(self, kind: type) -> list:
        """The items of one kind, in source order."""
        return [item for item in self.items if isinstance(item, kind)]


def children(node) -> list:
    """The child nodes of any node, in field order (spans and plain values excluded)."""
    found = []
    for field in attrs.fields(type(node)):
        if field.name == "span":
            continue
        value = getattr(node, field.name)
        if isinstance(value, tuple):
            found.extend(v for v in value if attrs.has(type(v)))
        elif attrs.has(type(value)):
            found.append(value)
    return found


def walk(node):
    """Every node under `node` (itself included), depth first, without recursion."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))
