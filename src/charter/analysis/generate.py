"""Policy-directed trace generation: hypothesis strategies built from a policy's own words.

The vocabulary is everything the policy reads: the phrases it `says`, the regexes it
`matches` (samples that match them, and for a regex with a built-in check, samples the
check accepts), the labels it compares (values on each side of
every threshold, inside and at the edges of uncertainty bands, and missing), the
metadata paths it compares (values around every constant, and missing), the tools it
calls and the argument paths it reads. Traces are long enough for every `within N
turns` window. For a policy with bindings (docs/language.md §6.14) values travel: a
later message or call argument repeats a value an earlier message holds, or does not;
calls have ids and tool results answer them (or no call), reporting failure or not. Hypothesis shrinks towards fewer messages, fewer words, absent labels and
metadata, so a counterexample comes out minimal.
"""

from __future__ import annotations

import itertools
import random
import re
import string

import attrs
from hypothesis import HealthCheck, find, settings, strategies as st
from hypothesis.errors import NoSuchExample

from ..syntax import ast
from ..text.builtins import BUILTINS
from ..text.matching import phrase_regex
from ..check.program import Program
from ..traces.model import Message, ToolCall, Trace

FILLER = ("hello", "thanks", "ok", "sure", "please")
SEPARATOR = "; "  # between the parts of a reply made of tokens
_RANDOM_SAMPLES = 3  # samples of each regex among a reply's tokens
_MISSING = object()


@attrs.frozen
class Vocabulary:
    phrases: tuple[str, ...]
    phrases_by_role: dict[str, tuple[str, ...]]
    regexes: tuple[str, ...]
    checks: tuple[str, ...]  # built-in checks on regex matches: samples they accept
    labels: dict[str, tuple[object, ...]]
    trace_meta: dict[tuple[str, ...], tuple[object, ...]]
    message_meta: dict[tuple[str, ...], tuple[object, ...]]
    tools: tuple[str, ...]
    args: dict[tuple[str, ...], tuple[object, ...]]
    roles: tuple[str, ...]
    longest_window: int
    # With bindings: the argument paths a binding reads (where a travelling value may land).
    bound_args: tuple[tuple[str, ...], ...] = ()
    binds: bool = False


def vocabulary(program: Program) -> Vocabulary:
    """Everything the policy's norms read."""
    nodes = [n for norm in program.norms for root in (norm.trigger, norm.body) if root is not None
             for n in ast.walk(root)]
    constants: dict[tuple[str, tuple[str, ...]], set] = {}
    for node in nodes:
        if isinstance(node, (ast.Compare, ast.In)):
            _collect_constants(node, constants)
    phrases = sorted({p for n in nodes if isinstance(n, ast.Says) for p in _phrases(n.phrases)})
    by_role: dict[str, set[str]] = {}
    for node in nodes:
        if isinstance(node, ast.Says):
            by_role.setdefault(node.subject.role, set()).update(_phrases(node.phrases))
    regexes = sorted(({_python_regex(n.regex) for n in nodes if isinstance(n, ast.Matches)}
                      | {_python_regex(n.pattern) for n in nodes if isinstance(n, ast.Shares)
                         and isinstance(n.pattern, ast.Regex)}) - {None})
    phrases += sorted({p for n in nodes if isinstance(n, ast.Shares) and isinstance(n.pattern, ast.ListLiteral)
                       for p in _phrases(n.pattern)} - set(phrases))
    checks = sorted({n.regex.check.parts[-1] for n in nodes if isinstance(n, ast.Matches) and n.regex.check})
    labels = {path[0]: _label_values(values, program, path[0])
              for (kind, path), values in constants.items() if kind == "label"}
    labels.update({n.name: _label_values(set(), program, n.name)
                   for n in nodes if isinstance(n, ast.Label) and n.name not in labels})
    tools = sorted({n.tool.value for n in nodes if isinstance(n, (ast.Calls, ast.Answers))}
                   | {str(c) for (kind, path), values in constants.items() if kind == "call.name" for c in values})
    windows = [n.within for n in nodes if isinstance(n, ast.Outcome) and n.within]
    roles = sorted({"user", "assistant"} | {n.role for n in nodes if isinstance(n, (ast.Subject, ast.Quantified,
                                                                                  ast.Events))
                                            and n.role in ast.ROLES})
    binds = any(isinstance(n, _BINDINGS) for n in nodes)
    args = _paths(constants, "args")
    bound_args = tuple(sorted({n.path for n in nodes if isinstance(n, ast.Meta) and n.root == "args"} if binds else ()))
    for path in bound_args:  # a value of its own until one travels there
        args.setdefault(path, ("x",))
    return Vocabulary(
        phrases=tuple(phrases), phrases_by_role={r: tuple(sorted(p)) for r, p in by_role.items()},
        regexes=tuple(regexes), checks=tuple(checks), labels=labels,
        trace_meta=_paths(constants, "trace.meta", program), message_meta=_paths(constants, "meta", program),
        tools=tuple(tools) or ("tool",), args=args, roles=tuple(roles),
        longest_window=max(windows, default=0), bound_args=bound_args, binds=binds,
    )


_BINDINGS = (ast.Appears, ast.Shares, ast.Answers, ast.Failed, ast.Number, ast.Linked)


def _collect_constants(node, constants) -> None:
    values = [node.right, node.left] if isinstance(node, ast.Compare) else [node.items]
    target = node.left if isinstance(node, ast.Compare) else node.value
    found = set()
    for value in values:
        if isinstance(value, ast.Literal):
            found.add(value.value)
        elif isinstance(value, ast.ListLiteral):
            found.update(i.value for i in value.items if isinstance(i, ast.Literal))
    for side in (node.left, node.right) if isinstance(node, ast.Compare) else (target,):
        key = _fact_key(side)
        if key is not None:
            constants.setdefault(key, set()).update(v for v in found if not isinstance(v, (list, dict)))


def _fact_key(node) -> tuple[str, tuple[str, ...]] | None:
    match node:
        case ast.Label():
            return ("label", (node.name,))
        case ast.Meta(subject=ast.Subject(which="trace")):
            return ("trace.meta", node.path)
        case ast.Meta(root="args"):
            return ("args", node.path)
        case ast.Meta():
            return ("meta", node.path)
        case ast.Property(name="name") | ast.Linked(path=("name",)):
            return ("call.name", ())
        case ast.Linked():
            return ("args", node.path[1:])
    return None


def _paths(constants, kind: str, program: Program | None = None) -> dict[tuple[str, ...], tuple[object, ...]]:
    return {path: _declared(_values_around(values), program.meta_type(path) if program else None)
            for (k, path), values in constants.items() if k == kind}


def _declared(values: tuple[object, ...], fact_type: ast.FactType | None) -> tuple[object, ...]:
    """A declared field's values: every choice of a `one of` and both booleans first (a
    value the policy never names, such as "no", is how an `otherwise` is reached), then
    the constants around; one value of the wrong type stays, as a trace may carry it."""
    if fact_type is None:
        return values
    domain = list(fact_type.choices) if fact_type.name == "one of" else [True, False] if fact_type.name == "boolean" else []
    fitting = [v for v in values if fact_type.admits(v)]
    wrong = [v for v in values if not fact_type.admits(v)][:1]
    return tuple(dict.fromkeys(domain + fitting + wrong))


def _values_around(values: set) -> tuple[object, ...]:
    """Each constant and, for numbers, a value on each side of it."""
    found: list[object] = []
    for value in sorted(values, key=repr):
        found.append(value)
        if ast.is_number(value):
            found += [value - 1, value + 1]
        elif isinstance(value, str):
            found.append(value + "_other")
    return tuple(dict.fromkeys(found)) or (True, False, 1, "x")


def _label_values(values: set, program: Program, name: str) -> tuple[object, ...]:
    numbers = {0.0, 1.0}
    for value in values:
        if ast.is_number(value):
            numbers.update(round(min(1.0, max(0.0, v)), 4) for v in (value, value - 0.05, value + 0.05))
    band = program.bands.get(name)
    if band is not None:
        numbers.update((band[0], band[1], round((band[0] + band[1]) / 2, 4)))
    decl = program.labels.get(name)
    return tuple(sorted(numbers)) + (True, False) + _strings(values, decl.type if decl is not None else None)


def _strings(values: set, fact_type: ast.FactType | None) -> tuple[str, ...]:
    """A label declared a string takes its declared choices, else the strings it is
    compared with (two of its own when none: enough for two labels to differ)."""
    if fact_type is not None and fact_type.name == "one of":
        return tuple(c for c in fact_type.choices if isinstance(c, str))
    if fact_type is not None and fact_type.name == "string":
        return tuple(sorted(v for v in values if isinstance(v, str))) or ("a", "b")
    return ()


def _phrases(node) -> list[str]:
    if isinstance(node, ast.Literal):
        return [node.value]
    return [i.value for i in node.items]


def _python_regex(regex: ast.Regex) -> str | None:
    """The regex in Python's syntax for sampling (RE2's is a subset for our purposes)."""
    flags = "".join(f for f in regex.flags if f in "ims")
    source = (f"(?{flags})" if flags else "") + regex.source
    try:
        re.compile(source)
    except re.error:
        return None
    return source


# --------------------------------------------------------------------------- strategies


def traces(vocab: Vocabulary, max_exchanges: int | None = None) -> st.SearchStrategy[Trace]:
    """Traces in the policy's vocabulary: an optional system or developer message, then
    user/assistant exchanges (a reply may be missing at the end), enough of them for the
    longest `within` window."""
    # A value that travels needs room: read in one exchange, passed on in a later one.
    longest = max_exchanges or max(3 if vocab.binds else 2, vocab.longest_window + 2)
    preamble_roles = [r for r in ("system", "developer") if r in vocab.roles]
    preamble = st.lists(_message(vocab, *preamble_roles), max_size=1) if preamble_roles else st.just([])
    exchange = st.tuples(_message(vocab, "user"), _message(vocab, "assistant"))
    if "tool" in vocab.roles:  # a policy that reads tool results gets one, sometimes, after a reply
        exchange = st.tuples(exchange, st.lists(_message(vocab, "tool"), max_size=1)).map(
            lambda pair: pair[0] + tuple(pair[1]))
    made = st.builds(
        _trace, preamble, st.lists(exchange, min_size=1, max_size=longest), st.booleans(),
        _meta(vocab.trace_meta),
    )
    if not vocab.binds:
        return made
    # Shrinks towards no travel: an empty list of picks leaves the messages as they are.
    shapes = [re.compile(source) for source in vocab.regexes]
    return st.builds(lambda trace, picks: _travel(trace, picks, vocab.bound_args, shapes),
                     made, st.lists(st.integers(0, 29), max_size=3 * longest + 2))


def _travel(trace: Trace, picks: list[int], paths: tuple[tuple[str, ...], ...], shapes: list) -> Trace:
    """The trace with values travelling: at message `i`, `picks[i]` (0: nothing) makes the
    message repeat a value an earlier one holds — in its text, or in a bound argument of
    its first call; calls get ids, and a tool result answers the earliest call not
    answered yet (for some picks, none) and reports a failure, or none, or does not say.
    The values that travel are those a binding looks for: matches of the policy's
    regexes, numbers, and call arguments."""
    seen: list[str] = []
    unanswered: list[str] = []
    messages = []
    for message, pick in itertools.zip_longest(trace.messages, picks[:len(trace.messages)], fillvalue=0):
        content, calls = message.content, message.tool_calls
        if pick and seen:
            value = seen[-1 - pick % len(seen)]  # the latest value read is the likeliest to go on
            if calls and paths and pick % 2:
                path = paths[pick % len(paths)]
                calls = (attrs.evolve(calls[0], arguments=_set(calls[0].arguments, path, value)), *calls[1:])
            else:
                content = f"{content} {value}".strip()
        calls = tuple(attrs.evolve(call, id=f"call_{message.index}_{k}") for k, call in enumerate(calls))
        unanswered += [call.id for call in calls]
        link = {}
        if message.role == "tool":
            link = {"tool_call_id": unanswered.pop(0) if unanswered and pick % 5 != 4 else None,
                    "error": (None, False, True)[pick % 3]}
        messages.append(attrs.evolve(message, content=content, tool_calls=calls, **link))
        found = [m.group() for shape in shapes for m in shape.finditer(content)]
        found += [word for word in content.split() if word.isdigit()]
        for value in found + [str(v) for call in calls for v in _leaves(call.arguments)]:
            if value not in seen:
                seen.append(value)
    return attrs.evolve(trace, messages=tuple(messages))


def _set(arguments: dict, path: tuple[str, ...], value: object) -> dict:
    """The arguments with `value` at `path` (objects made on the way)."""
    inner = arguments.get(path[0])
    if len(path) == 1:
        return {**arguments, path[0]: value}
    return {**arguments, path[0]: _set(inner if isinstance(inner, dict) else {}, path[1:], value)}


def _leaves(value: object) -> list[object]:
    """The strings and numbers among a call's arguments (what may travel on)."""
    if isinstance(value, dict):
        return [v for item in value.values() for v in _leaves(item)]
    return [] if isinstance(value, (list, bool)) or value is None else [value]


def _trace(preamble: list[Message], exchanges: list[tuple[Message, ...]], last_reply: bool,
           meta: dict) -> Trace:
    """`exchanges` are (user, assistant) or (user, assistant, tool) messages."""
    messages = preamble + [m for exchange in exchanges for m in exchange]
    if not last_reply:
        # The conversation ends on the user: obligations stay pending.
        messages = messages[:len(messages) - len(exchanges[-1]) + 1]
    return Trace("generated", tuple(attrs.evolve(m, index=i) for i, m in enumerate(messages)), meta)


def _words(vocab: Vocabulary, role: str) -> st.SearchStrategy[str]:
    """A few of the policy's phrases (those it looks for in this role's messages first),
    regex samples, and a filler word."""
    own = vocab.phrases_by_role.get(role, ())
    choices = [st.sampled_from(own)] if own else []
    choices += [st.sampled_from(vocab.phrases)] if vocab.phrases else []
    # A regex's own samples mostly fail its built-in check: near misses. Valid instances
    # come from the check's sampler.
    choices += [st.from_regex(source, fullmatch=True, alphabet=string.printable.strip() + " ")
                for source in vocab.regexes]
    choices += [st.randoms(use_true_random=False).map(BUILTINS[name].sample) for name in vocab.checks]
    choices.append(st.sampled_from(FILLER))
    return st.lists(st.one_of(choices), max_size=3).map(" ".join)


def _message(vocab: Vocabulary, *roles: str) -> st.SearchStrategy[Message]:
    """A message of one of `roles`. Each role's strategy is built
    once, here: one built in each draw is validated again every time, and its regex
    strategies come from hypothesis's global cache, whose misses after a long run of other
    tests made generation up to 50x slower. (The draw keeps its shape, a `flatmap`, so a
    seed gives the same traces as before.)"""
    by_role = {name: _message_of(vocab, name) for name in roles}
    return st.sampled_from(roles).flatmap(by_role.__getitem__)


def _message_of(vocab: Vocabulary, role: str) -> st.SearchStrategy[Message]:
    return st.builds(
        lambda content, labels, meta, calls: Message(
            0, role, content, tuple(calls) if role == "assistant" else (), labels, meta),
        _words(vocab, role),
        _assignments({(name,): values for name, values in vocab.labels.items()}).map(
            lambda d: {k[0]: v for k, v in d.items()}),
        _meta(vocab.message_meta),
        st.lists(st.builds(lambda name, args: ToolCall(name, args),
                           st.sampled_from(vocab.tools), _meta(vocab.args)), max_size=1),
    )


def _assignments(choices: dict[tuple[str, ...], tuple[object, ...]]) -> st.SearchStrategy[dict]:
    """A value, or nothing (missing), for each key: shrinks towards missing."""
    if not choices:
        return st.just({})
    keys = sorted(choices)
    return st.tuples(*(st.sampled_from((_MISSING,) + tuple(choices[k])) for k in keys)).map(
        lambda values: {k: v for k, v in zip(keys, values) if v is not _MISSING})


def _meta(choices: dict[tuple[str, ...], tuple[object, ...]]) -> st.SearchStrategy[dict]:
    return _assignments(choices).map(_nest)


def _nest(flat: dict[tuple[str, ...], object]) -> dict:
    nested: dict = {}
    for path, value in flat.items():
        place = nested
        for key in path[:-1]:
            child = place.setdefault(key, {})
            if not isinstance(child, dict):
                break
            place = child
        else:
            place[path[-1]] = value
    return nested


def reply_parts(vocab: Vocabulary) -> tuple[list[str], str]:
    """What the replies tried at a message are made of (the contradiction property, and
    the solver's family of replies): the policy's phrases and a few samples of each regex
    (the check's own samples for a regex with a built-in check), and a filler word none
    of the phrases matches."""
    tokens = list(vocab.phrases)
    rng = random.Random(0)
    for name in vocab.checks:
        tokens += [BUILTINS[name].sample(rng) for _ in range(_RANDOM_SAMPLES)]
    for source in vocab.regexes:
        tokens += _regex_samples(source)
    tokens = list(dict.fromkeys(t for t in tokens if t.strip()))
    filler = next((f for f in FILLER if not any(phrase_regex((p,)).search(f) for p in vocab.phrases)), FILLER[0])
    return tokens, filler


def _regex_samples(source: str) -> list[str]:
    samples: list[str] = []
    try:
        find(st.from_regex(source, fullmatch=True), lambda s: samples.append(s) is not None or len(samples) >= 8,
             settings=settings(max_examples=8, database=None, deadline=None, phases=["generate"],
                               suppress_health_check=list(HealthCheck)), random=random.Random(0))
    except NoSuchExample:
        pass
    return [s.strip() for s in samples if s.strip() and SEPARATOR.strip() not in s][:_RANDOM_SAMPLES]
