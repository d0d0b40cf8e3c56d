"""The incomplete-contract report: every `unspecified` verdict of a corpus, as worklists.

`charter gaps` reads a corpus once, streaming, and keeps only counts and a few example
excerpts. Each `unspecified` verdict is filed under

1. the stakeholder who must decide it (`escalate_to`; a gap escalates to the norm's
   authority; an uncertain verdict, or an explicit one with no `escalate to`, names
   nobody),
2. its norm,
3. what is open: an **explicit** case with the author's reason, a **gap** (no case
   applies), or **uncertain** (the verdict hinges on unknown facts, grouped by the facts'
   names with message indices normalised: `messages[*].labels.self_harm`).

`GapCollector` gathers; `GapCollector.result()` is the report as JSON data, and the
renderers (`render_markdown`, `render_html`, `render_json`) only read that data, so
every format says the same thing. Every output is deterministic: the same policy and
corpus give byte-identical output.
"""

from __future__ import annotations

import html
import json
import re
from typing import IO, Any, Iterable

import attrs

from ..evaluate.policy import Policy
from ..traces.model import Trace
from ..evaluate.verdicts import AGGREGATE_ORDER, TraceReport, Verdict
from .questions import Questions, fact_pattern, reason_kind

FORMATS = ("markdown", "html", "json")
# The kinds drawn in the chart, in stacking order (not_applicable is counted, not drawn).
CHART_KINDS = ("complied", "violated", "unspecified", "pending", "conflict", "overridden")
REASON_KINDS = ("explicit", "gap", "uncertain")
NOBODY = "nobody named"
EXCERPT_CHARS = 280
MAX_FACTS = 8  # facts shown per example



# --------------------------------------------------------------------------- collecting


@attrs.define
class _Tally:
    """A verdict count and the number of distinct traces they fell in (traces arrive in
    order, so a trace is new when its number differs from the last one seen)."""

    verdicts: int = 0
    traces: int = 0
    _last: int = -1

    def add(self, trace_number: int) -> bool:
        """Count one verdict; True when it is the first in its trace."""
        self.verdicts += 1
        if trace_number == self._last:
            return False
        self.traces += 1
        self._last = trace_number
        return True


@attrs.define
class _Item:
    question: str  # its ID (`questions.py`): what a decision names
    kind: str
    reason: str | None
    escalate_to: str | None
    unknown: tuple[str, ...]
    tally: _Tally = attrs.Factory(_Tally)
    clauses: dict[tuple[str, int], dict[str, Any]] = attrs.Factory(dict)
    why_unknown: dict[tuple[str, str], int] = attrs.Factory(dict)
    examples: list[dict[str, Any]] = attrs.Factory(list)
    trace_ids: list[str] = attrs.Factory(list)  # every trace it fell in, once, in corpus order


@attrs.define
class _NormGroup:
    tally: _Tally = attrs.Factory(_Tally)
    items: dict[str, _Item] = attrs.Factory(dict)  # by question ID


@attrs.define
class _Stakeholder:
    tally: _Tally = attrs.Factory(_Tally)
    norms: dict[str, _NormGroup] = attrs.Factory(dict)


class GapCollector:
    """Gathers the unspecified verdicts of a corpus, trace by trace.

    `examples` is the most example excerpts kept per item (the first ones met, in
    corpus order). `policies` and `trace_files` are only recorded in the report.
    """

    def __init__(self, policy: Policy, examples: int = 3, policies: Iterable[str] = (),
                 trace_files: Iterable[str] = ()):
        self.policy = policy
        self.max_examples = max(0, examples)
        self.policies = list(policies)
        self.trace_files = list(trace_files)
        self.checked = 0
        self.skipped: list[dict[str, Any]] = []
        self.total = _Tally()
        self.kind_totals = {k: 0 for k in REASON_KINDS}
        self.stakeholders: dict[str | None, _Stakeholder] = {}
        norms = policy.program.norms
        self.norm_info = {n.name: n for n in norms}
        self.kinds = {n.name: {k: 0 for k in AGGREGATE_ORDER} for n in norms}
        self.cases = {n.name: n for n in policy.compiled.norms}
        self.questions = Questions(policy)

    # ---- input

    def skip(self, file: str, line: int | None, reason: str) -> None:
        self.skipped.append({"file": file, "line": line, "reason": reason})

    def add(self, trace: Trace, report: TraceReport) -> None:
        number = self.checked
        self.checked += 1
        for verdict in report.verdicts:
            counts = self.kinds.setdefault(verdict.norm, {k: 0 for k in AGGREGATE_ORDER})
            counts[verdict.kind] = counts.get(verdict.kind, 0) + 1
            if verdict.kind == "unspecified":
                self._unspecified(verdict, trace, report, number)

    def _unspecified(self, verdict: Verdict, trace: Trace, report: TraceReport, number: int) -> None:
        kind = reason_kind(verdict)
        unknown = tuple(sorted({fact_pattern(f) for f in verdict.unknown})) if kind == "uncertain" else ()
        target = verdict.escalate_to
        self.total.add(number)
        self.kind_totals[kind] += 1
        stakeholder = self.stakeholders.setdefault(target, _Stakeholder())
        stakeholder.tally.add(number)
        group = stakeholder.norms.setdefault(verdict.norm, _NormGroup())
        group.tally.add(number)
        question = self.questions.id(verdict)
        item = group.items.get(question)
        if item is None:
            item = group.items[question] = _Item(question, kind, verdict.reason, target, unknown)
        if item.tally.add(number):
            item.trace_ids.append(trace.id)
        explanation = verdict.explanation
        for step in explanation.steps:
            if kind == "explicit" and step.value == "unspecified" \
                    or kind == "uncertain" and step.value == "unknown" \
                    or kind == "uncertain" and step.value.endswith("behaviour unknown") \
                    or kind == "uncertain" and step.value.endswith(": unknown"):
                where = (step.span.source, step.span.line)
                if where not in item.clauses:
                    item.clauses[where] = {"file": step.span.source, "line": step.span.line,
                                           "clause": step.clause, "text": step.text}
        if kind == "uncertain":
            for fact in explanation.facts:
                if not fact.known:
                    why_key = (fact_pattern(fact.name), _why_pattern(fact.why_unknown or "unknown"))
                    item.why_unknown[why_key] = item.why_unknown.get(why_key, 0) + 1
        if len(item.examples) < self.max_examples:
            item.examples.append(_example(trace, report, verdict, explanation))

    # ---- output

    def result(self) -> dict[str, Any]:
        """The report as JSON data (what `--format json` prints)."""
        checked = self.checked
        order = list(self.policy.program.authorities)
        targets = sorted(self.stakeholders, key=lambda t: (
            t is None, order.index(t) if t in order else len(order), t or ""))
        norm_order = {n.name: i for i, n in enumerate(self.policy.program.norms)}
        stakeholders = []
        for target in targets:
            stakeholder = self.stakeholders[target]
            norms = []
            for name in sorted(stakeholder.norms, key=lambda n: (norm_order.get(n, len(norm_order)), n)):
                group = stakeholder.norms[name]
                items = sorted(group.items.values(), key=lambda i: (
                    -i.tally.verdicts, REASON_KINDS.index(i.kind), i.reason or "", i.unknown))
                norms.append({
                    **self._norm_json(name),
                    **_counts(group.tally, checked),
                    "items": [self._item_json(name, item, checked) for item in items],
                })
            decisions = sum(len(n["items"]) for n in norms)
            stakeholders.append({
                "escalate_to": target,
                "title": target if target is not None else NOBODY,
                "decisions": decisions,
                **_counts(stakeholder.tally, checked),
                "norms": norms,
            })
        data: dict[str, Any] = {
            "report": "gaps",
            "policies": self.policies,
            "charters": _charters(self.policy),
            "trace_files": self.trace_files,
            "traces": checked,
            "records": {"total": checked + len(self.skipped), "checked": checked,
                        "skipped": len(self.skipped)},
            "skipped": self.skipped,
            "unspecified": {**_counts(self.total, checked), **self.kind_totals},
            "examples_per_item": self.max_examples,
            "headline": [],
            "stakeholders": stakeholders,
            "norms": [
                {**self._norm_json(name), "verdicts": dict(self.kinds[name])}
                for name in sorted(self.kinds, key=lambda n: (norm_order.get(n, len(norm_order)), n))
            ],
        }
        data["headline"] = headline(data)
        return data

    def _norm_json(self, name: str) -> dict[str, Any]:
        norm = self.norm_info.get(name)
        if norm is None:
            return {"norm": name, "description": None, "authority": None, "severity": None,
                    "file": None, "line": None}
        return {"norm": name, "description": norm.description, "authority": norm.authority,
                "severity": norm.severity, "file": norm.span.source, "line": norm.span.line}

    def _item_json(self, norm: str, item: _Item, checked: int) -> dict[str, Any]:
        clauses = [item.clauses[k] for k in sorted(item.clauses)]
        why = [
            {"fact": fact, "why": reason, "verdicts": count}
            for (fact, reason), count in sorted(item.why_unknown.items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1]))
        ]
        data: dict[str, Any] = {
            "question": item.question,
            "kind": item.kind,
            "reason": item.reason,
            "escalate_to": item.escalate_to,
            "unknown": list(item.unknown),
            "decide": _decide(norm, item),
            "why": _why(item, why, getattr(self.norm_info.get(norm), "authority", None)),
            "clauses": clauses,
            "why_unknown": why,
            **_counts(item.tally, checked),
            "examples": item.examples,
            "trace_ids": item.trace_ids,
        }
        if item.kind == "gap":
            compiled = self.cases.get(norm)
            data["cases"] = [
                {"file": clause.span.source, "line": clause.span.line, "text": clause.text}
                for _, _, clause in (compiled.cases if compiled else [])
            ]
        return data


def _why_pattern(why: str) -> str:
    """Why a fact is unknown, with the value taken out where it varies from trace to trace
    ("0.6 is inside the uncertainty band (0.4, 0.8)" -> "inside the uncertainty band (0.4, 0.8)")."""
    if " is inside the uncertainty band " in why:
        return "inside the uncertainty band " + why.split(" is inside the uncertainty band ", 1)[1]
    if why.endswith(" is not a number"):
        return "not a number"
    if why.endswith(" is not true or false"):
        return "not true or false"
    return why


def _counts(tally: _Tally, checked: int) -> dict[str, Any]:
    return {"verdicts": tally.verdicts, "traces": tally.traces,
            "share": round(tally.traces / checked, 4) if checked else 0.0}


def _charters(policy: Policy) -> list[str]:
    seen: list[str] = []
    for norm in policy.program.norms:
        if norm.charter not in seen:
            seen.append(norm.charter)
    return seen


def _decide(norm: str, item: _Item) -> str:
    """What must be decided, in one sentence. For an explicit item this is the author's
    reason, verbatim; otherwise our own sentence, with `back-quoted` code."""
    if item.kind == "explicit":
        return item.reason or "(no reason given)"
    if item.kind == "gap":
        return f"What should `{norm}` do when none of its cases applies?"
    facts = ", ".join(f"`{f}`" for f in item.unknown)
    return f"Supply {facts}, or decide what `{norm}` should do without {'it' if len(item.unknown) == 1 else 'them'}."


def _why(item: _Item, why: list[dict], author: str | None) -> str:
    """Why the case is open, in a sentence or two."""
    if item.kind == "explicit":
        owner = (f"names {item.escalate_to} to decide it" if item.escalate_to
                 else "names nobody to decide it (add `escalate to …` to give it an owner)")
        return f"The policy leaves this case open on purpose and {owner}."
    if item.kind == "gap":
        return ("No case of the norm holds here and it has no `otherwise:` line: a situation "
                "nobody wrote a rule for. Add a case, or an `otherwise:` for everything else.")
    reasons = "; ".join(f"`{w['fact']}`: {w['why']} ({w['verdicts']}×)" for w in why)
    return ("The verdict would change depending on facts these traces leave unknown"
            + (f" — {reasons}" if reasons else "")
            + ". The policy names nobody for this: whoever supplies the facts (classifier labels, "
            "trace metadata) can settle it, or the norm's author"
            + (f" ({author})" if author else "")
            + f" can say what happens without {'it' if len(item.unknown) == 1 else 'them'}.")


def _trim_head(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _trim_tail(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else "…" + text[-(limit - 1):].lstrip()


def conversation_json(trace: Trace, act: int | None) -> list[dict[str, Any]]:
    """Every message in full, with its tool calls: `act` marks the message judged and
    `reply` the assistant message that answers it when the act is not the assistant's
    own (a norm checked at the user's turn judges the reply that follows)."""
    reply = None
    if act is not None and trace.messages[act].role != "assistant":
        reply = next((m.index for m in trace.messages[act + 1:] if m.role == "assistant"), None)
    return [{
        "index": m.index, "role": m.role, "text": m.content or "",
        "tool_calls": [{"name": c.name, "arguments": c.arguments, "id": c.id} for c in m.tool_calls],
        "name": m.name, "tool_call_id": m.tool_call_id,
        "act": m.index == act, "reply": m.index == reply,
    } for m in trace.messages]


def _example(trace: Trace, report: TraceReport, verdict: Verdict, explanation) -> dict[str, Any]:
    """The act's message and the one before it, trimmed (for the conversation: its last
    two), the whole conversation, the trace's metadata, and the facts the verdict read
    (what a decider needs to know about the case)."""
    act = verdict.turn if verdict.turn is not None else len(trace.messages) - 1
    conversation = conversation_json(trace, verdict.turn)
    messages = []
    for index in (act - 1, act):
        if 0 <= index < len(trace.messages):
            text = _conversation_text(conversation[index])
            messages.append({
                "index": index,
                "role": trace.messages[index].role,
                "text": _trim_head(text) if index == act else _trim_tail(text),
                "act": index == act and verdict.turn is not None,
            })
    facts = [
        {"fact": f.name, "value": f.value, "known": f.known} if f.known
        else {"fact": f.name, "value": None, "known": False, "why_unknown": f.why_unknown}
        for f in explanation.facts[:MAX_FACTS]
    ]
    return {"trace": trace.id, "source": report.locator, "turn": verdict.turn,
            "call": verdict.call, "messages": messages, "facts": facts, "meta": trace.meta,
            "conversation": conversation,
            # both ends of each value a binding followed (docs/language.md §6.14)
            "bindings": [str(b) for b in explanation.bindings[:MAX_FACTS]]}


def fact_text(fact: dict[str, Any]) -> str:
    """`trace.meta.order.age_days = 45`, or `messages[0].labels.self_harm unknown (the label is missing)`."""
    if not fact["known"]:
        return f"{fact['fact']} unknown ({fact.get('why_unknown') or 'unknown'})"
    value = json.dumps(fact["value"], ensure_ascii=False, sort_keys=True)
    return f"{fact['fact']} = {value if len(value) <= 60 else value[:59] + '…'}"


# --------------------------------------------------------------------------- headline


def _plural(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun if count == 1 else (plural or noun + 's')}"


def headline(data: dict[str, Any]) -> list[dict[str, str]]:
    """One line per stakeholder: `{"text": "2 decisions are waiting for developer",
    "detail": "(5 verdicts in 4 of 9 traces)"}`."""
    total = data["traces"]
    lines = []
    for group in data["stakeholders"]:
        items = [i for n in group["norms"] for i in n["items"]]
        detail = f"{_plural(group['verdicts'], 'verdict')} in {group['traces']} of {_plural(total, 'trace')}"
        if group["escalate_to"] is not None:
            n = group["decisions"]
            lines.append({"escalate_to": group["escalate_to"],
                          "text": f"{_plural(n, 'decision')} {'is' if n == 1 else 'are'} waiting for {group['escalate_to']}",
                          "detail": detail})
            continue
        open_items = [i for i in items if i["kind"] != "uncertain"]
        uncertain = [i for i in items if i["kind"] == "uncertain"]
        if open_items:
            verdicts = sum(i["verdicts"] for i in open_items)
            n = len(open_items)
            lines.append({"escalate_to": None,
                          "text": f"{_plural(n, 'open question')} name{'s' if n == 1 else ''} nobody to decide {'it' if n == 1 else 'them'}",
                          "detail": f"{_plural(verdicts, 'verdict')}"})
        if uncertain:
            verdicts = sum(i["verdicts"] for i in uncertain)
            facts = sorted({f for i in uncertain for f in i["unknown"]})
            lines.append({"escalate_to": None,
                          "text": f"{_plural(verdicts, 'verdict')} wait{'s' if verdicts == 1 else ''} on unknown facts: "
                                  + ", ".join(f"`{f}`" for f in facts),
                          "detail": "nobody is named to supply or decide them"})
    if not lines:
        lines.append({"escalate_to": None, "text": "No decisions are waiting",
                      "detail": f"every applicable verdict in {_plural(total, 'trace')} was decided"})
    return lines


# --------------------------------------------------------------------------- JSON


def render_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------- markdown

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>#|~]|(?<!\w)_|_(?!\w))")


def _md(text: str) -> str:
    """Text made inert in markdown (no emphasis, links, HTML or table breaks); an
    underscore inside a word is left alone, as markdown does not read it there."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def _md_rich(text: str) -> str:
    """Our own sentences: `back-quoted` parts become code spans, the rest is made inert."""
    parts = text.split("`")
    return "".join(_code(p) if i % 2 else _md(p) for i, p in enumerate(parts))


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def _example_where(example: dict[str, Any]) -> str:
    at = "conversation" if example["turn"] is None else f"turn {example['turn']}"
    if example["call"] is not None:
        at += f", call {example['call']}"
    return at


def _title(data: dict[str, Any]) -> str:
    return "Open decisions in " + (", ".join(data["charters"]) or "the policy")


def render_markdown(data: dict[str, Any]) -> str:
    out: list[str] = [f"# {_md(_title(data))}", ""]
    for line in data["headline"]:
        out.append(f"- **{_md_rich(line['text'])}** ({_md(line['detail'])})")
    out.append("")
    files = ", ".join(_code(f) for f in data["trace_files"]) or "the traces"
    policies = ", ".join(_code(p) for p in data["policies"]) or "the policy"
    u = data["unspecified"]
    out.append(f"Policy {policies}, checked against {_plural(data['traces'], 'trace')} from {files}: "
               f"{_plural(u['verdicts'], 'unspecified verdict')} in {u['traces']} "
               f"{'trace' if u['traces'] == 1 else 'traces'} ({_pct(u['share'])}) — "
               f"{u['explicit']} explicit, {u['gap']} {'gap' if u['gap'] == 1 else 'gaps'}, {u['uncertain']} uncertain.")
    if data["skipped"]:
        out.append("")
        out.append(f"**{_plural(len(data['skipped']), 'record')} could not be read and {'was' if len(data['skipped']) == 1 else 'were'} skipped:**")
        for s in data["skipped"]:
            where = s["file"] if s["line"] is None else f"{s['file']}:{s['line']}"
            out.append(f"- {_code(where)}: {_md(s['reason'])}")
    out += ["", "## Verdicts per norm", ""]
    out.append("| norm | " + " | ".join(k.replace("_", " ") for k in AGGREGATE_ORDER) + " |")
    out.append("|---|" + "---:|" * len(AGGREGATE_ORDER))
    for norm in data["norms"]:
        out.append(f"| {_code(norm['norm'])} | " + " | ".join(str(norm["verdicts"].get(k, 0)) for k in AGGREGATE_ORDER) + " |")
    for group in data["stakeholders"]:
        who = group["title"]
        out += ["", f"## {_md(who)}: {_plural(group['decisions'], 'open decision')}", ""]
        out.append(f"{_plural(group['verdicts'], 'verdict')} in {_plural(group['traces'], 'trace')} "
                   f"({_pct(group['share'])} of {data['traces']}).")
        for norm in group["norms"]:
            out += ["", f"### {_code(norm['norm'])}", ""]
            if norm["description"]:
                out.append(f"> {_md(norm['description'])}")
                out.append("")
            meta = [f"by {norm['authority']}" if norm["authority"] else None,
                    f"severity {norm['severity']}" if norm["severity"] else None,
                    f"{norm['file']}:{norm['line']}" if norm["file"] else None]
            out.append(" · ".join(_code(m) if m == meta[2] else _md(m) for m in meta if m)
                       + f" · {_plural(norm['verdicts'], 'verdict')} "
                       f"in {_plural(norm['traces'], 'trace')}")
            for item in norm["items"]:
                out += ["", f"#### {_code(item['question'])} {_KIND_LABEL[item['kind']]}: {_decide_md(item)}", ""]
                out.append(f"- **Why:** {_md_rich(item['why'])}")
                for clause in item["clauses"]:
                    out.append(f"- **Where:** {_code(clause['file'] + ':' + str(clause['line']))} {_code(clause['text'])}")
                if item["kind"] == "gap" and item.get("cases"):
                    out.append("- **Cases (none applied):** " + "; ".join(
                        f"{_code(c['file'] + ':' + str(c['line']))} {_code(c['text'])}" for c in item["cases"]))
                out.append(f"- **How often:** {_plural(item['verdicts'], 'verdict')} in "
                           f"{_plural(item['traces'], 'trace')} ({_pct(item['share'])} of {data['traces']})")
                if item["examples"]:
                    shown = len(item["examples"])
                    out.append(f"- **Examples** ({shown} of {item['verdicts']}):")
                    for example in item["examples"]:
                        source = f" ({_code(example['source'])})" if example["source"] else ""
                        out.append(f"  - {_code(example['trace'])}, {_example_where(example)}{source}")
                        if example["facts"]:
                            out.append("    " + " · ".join(_code(fact_text(f)) for f in example["facts"]))
                        if example.get("bindings"):
                            out.append("    bindings: " + " · ".join(_code(b) for b in example["bindings"]))
                        if example.get("meta"):
                            out.append("    metadata: " + " · ".join(_code(f"{k} = {_json_short(v)}") for k, v in example["meta"].items()))
                        out.append("")
                        for message in [*example["messages"], *_reply(example)]:
                            marker = " ←" if message["act"] else " (the reply judged)" if message.get("reply") else ""
                            out.append(f"    > **{message['role']}{marker}** {_md(message['text']) or '*(empty)*'}")
                            out.append("    >")
                        if out[-1] == "    >":
                            out.pop()
                        out.append("")
                    if out[-1] == "":
                        out.pop()
                if item.get("trace_ids"):
                    out.append(f"- **Traces** ({len(item['trace_ids'])}): " + ", ".join(_code(t) for t in item["trace_ids"]))
    out.append("")
    return "\n".join(out)


_KIND_LABEL = {"explicit": "Decide", "gap": "Gap", "uncertain": "Unknown facts"}


def _json_short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reply(example: dict[str, Any]) -> list[dict[str, Any]]:
    """The reply judged, trimmed, when the act is not the assistant's (not in `messages`)."""
    return [{**m, "text": _trim_head(_conversation_text(m))}
            for m in example.get("conversation", ()) if m["reply"]]


def _conversation_text(message: dict[str, Any]) -> str:
    """A conversation message as one line: its text, then its tool calls."""
    return message["text"] + "".join(
        f" [calls {c['name']} {json.dumps(c['arguments'], ensure_ascii=False, sort_keys=True)}]"
        for c in message["tool_calls"])


def _decide_md(item: dict[str, Any]) -> str:
    return _md(item["decide"]) if item["kind"] == "explicit" else _md_rich(item["decide"])


# --------------------------------------------------------------------------- HTML

_COLOURS = {
    "complied": "#3f9b5a",
    "violated": "#d1453b",
    "unspecified": "#e8a317",
    "pending": "#3b82c4",
    "conflict": "#8e4bb5",
    "overridden": "#9aa5b1",
}

# The page's style; the review application (`charter review`) shows the same evidence with it.
CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --paper: #ffffff; --bg: #f5f7fa;
        --amber: #e8a317; --amber-soft: #fff7e6; --accent: #2457a6; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 32px 48px; }
header.top { margin-bottom: 18px; }
header.top .eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: var(--muted); font-weight: 600; }
h1 { font-size: 28px; margin: 4px 0 6px; line-height: 1.2; }
.sub { color: var(--muted); margin: 0; }
code, .mono { font-family: "DejaVu Sans Mono", "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.88em; }
.headline { background: var(--paper); border: 1px solid var(--line); border-left: 6px solid var(--amber);
            border-radius: 10px; padding: 16px 22px; margin: 18px 0 22px; }
.headline ul { list-style: none; margin: 0; padding: 0; }
.headline li { font-size: 20px; font-weight: 650; margin: 4px 0; }
.headline li { display: flex; flex-direction: column; }
.headline li .detail { font-size: 14px; font-weight: 400; color: var(--muted); }
.headline li + li { margin-top: 10px; }
.headline li.none { color: var(--muted); }
.tiles { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin-bottom: 22px; }
.tile { background: var(--paper); border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
.tile .n { font-size: 26px; font-weight: 700; line-height: 1.1; }
.tile .l { color: var(--muted); font-size: 13px; }
section.card { background: var(--paper); border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px; margin-bottom: 22px; }
h2 { font-size: 20px; margin: 0 0 4px; }
h2 .count { color: var(--muted); font-weight: 500; font-size: 15px; margin-left: 6px; }
.chart-note { color: var(--muted); font-size: 13px; margin: 0 0 10px; }
svg.chart { display: block; width: 100%; height: auto; }
svg.chart text { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Arial, sans-serif; font-size: 13px; fill: #1f2933; }
svg.chart text.small { font-size: 12px; fill: #616e7c; }
svg.chart .grid { stroke: #e4e7eb; stroke-width: 1; }
svg.chart text.in-bar { font-size: 12px; font-weight: 700; fill: #ffffff; }
.stakeholder > header { display: flex; align-items: baseline; gap: 12px; border-bottom: 1px solid var(--line); padding-bottom: 10px; margin-bottom: 6px; }
.who { display: inline-block; background: var(--accent); color: #fff; border-radius: 999px; padding: 2px 12px; font-size: 14px; font-weight: 600; }
.who.nobody { background: #7b8794; }
.norm { margin-top: 16px; }
.norm h3 { font-size: 17px; margin: 0; }
.norm .desc { margin: 2px 0 0; color: var(--ink); font-style: italic; }
.norm .meta { color: var(--muted); font-size: 13px; margin: 2px 0 8px; }
article.item { border: 1px solid var(--line); border-radius: 8px; margin: 10px 0 0; padding: 12px 16px 14px; background: #fcfcfd; }
article.item h4 { margin: 0 0 6px; font-size: 16px; display: flex; gap: 10px; align-items: baseline; }
.badge { flex: none; font-size: 11px; font-weight: 700; text-transform: uppercase; letter-spacing: .06em; border-radius: 4px; padding: 2px 7px; }
.badge.explicit { background: var(--amber-soft); color: #8a5a00; border: 1px solid #f3d28b; }
.badge.gap { background: #fdecea; color: #a12a20; border: 1px solid #f3b8b2; }
.badge.uncertain { background: #eaf2fb; color: #1d4f85; border: 1px solid #b8d2ee; }
.why { margin: 0 0 6px; }
.where { margin: 0 0 6px; font-size: 13px; color: var(--muted); }
.where code { color: var(--ink); background: #f0f2f5; border-radius: 4px; padding: 1px 5px; }
.often { display: flex; align-items: center; gap: 10px; font-size: 13px; color: var(--muted); margin: 6px 0 8px; }
.meter { width: 160px; height: 8px; background: #eef0f3; border-radius: 4px; overflow: hidden; flex: none; }
.meter span { display: block; height: 100%; background: var(--amber); }
.examples { display: grid; gap: 8px; }
details.example { border: 1px solid #d9dde3; border-left: 3px solid #d9dde3; border-radius: 6px; background: #fff; }
details.example[open] { border-left-color: var(--accent); }
details.example > summary { cursor: pointer; padding: 6px 10px; display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 8px; }
details.example > summary::marker { color: var(--muted); }
details.example > :not(summary) { margin-left: 12px; margin-right: 12px; }
summary:focus-visible, a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible {
  outline: 3px solid #f0b429; outline-offset: 2px; }
.example .src { font-size: 12px; color: var(--muted); }
.chip { font-size: 11.5px; background: #eef2f7; color: #334e68; border-radius: 999px; padding: 0 8px; }
.excerpt { flex-basis: 100%; color: var(--ink); font-size: 13.5px; }
details.example[open] .excerpt { display: none; }
dl.trace-meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 4px 0 8px; font-size: 13px; }
dl.trace-meta div { display: contents; }
dl.trace-meta dt { color: var(--muted); font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
dl.trace-meta dd { margin: 0; overflow-wrap: anywhere; }
.facts { margin: 0 0 4px; display: flex; flex-wrap: wrap; gap: 4px; }
.facts code { font-size: 11.5px; background: #eef2f7; color: #334e68; border-radius: 4px; padding: 1px 6px; }
ol.conversation { list-style: none; margin: 4px 12px 10px; padding: 0; display: grid; gap: 4px; }
ol.conversation .msg { border-radius: 6px; padding: 4px 8px; background: #f7f8fa; }
ol.conversation .msg.role-system, ol.conversation .msg.role-developer { background: #f1f0fb; }
ol.conversation .msg.role-tool { background: #eef6f0; }
ol.conversation .msg.act { background: #fff4d6; box-shadow: inset 3px 0 0 var(--amber); }
ol.conversation .msg.reply { background: #fffaf0; box-shadow: inset 3px 0 0 #f3d28b; }
ol.conversation .head { display: flex; gap: 8px; align-items: baseline; }
ol.conversation .role { font-size: 11px; font-weight: 700; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
ol.conversation .name { font-size: 12px; color: var(--muted); }
ol.conversation .mark { font-size: 11px; font-weight: 700; color: #8a5a00; background: var(--amber-soft); border: 1px solid #f3d28b; border-radius: 4px; padding: 0 6px; }
ol.conversation .text { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 14px; }
ol.conversation .call { margin-top: 4px; font-size: 13px; }
ol.conversation .call.judged pre { box-shadow: inset 3px 0 0 var(--amber); background: #fff8e1; }
ol.conversation .call pre { margin: 2px 0 0; background: #f0f2f5; border-radius: 4px; padding: 4px 8px; font-size: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }
details.trace-ids { margin-top: 6px; font-size: 13px; color: var(--muted); }
details.trace-ids summary { cursor: pointer; }
details.trace-ids p { margin: 4px 0 0; display: flex; flex-wrap: wrap; gap: 4px; }
details.trace-ids code { background: #f0f2f5; border-radius: 4px; padding: 0 5px; color: var(--ink); }
.empty { color: var(--muted); font-style: italic; }
ul.cases { margin: 0 0 6px; padding-left: 20px; font-size: 13px; color: var(--muted); }
ul.cases code { color: var(--ink); background: #f0f2f5; border-radius: 4px; padding: 1px 5px; }
.skipped { border-left: 6px solid #d1453b; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 18px; }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _chart_svg(norms: list[dict[str, Any]]) -> str:
    """One stacked horizontal bar per norm: its verdicts by kind, as shares of the norm's
    verdicts (not_applicable left out), each segment labelled with its count, the total
    at the right. A non-empty segment is at least as wide as its count's label, so that
    every count is visible and not only in a tooltip (the width is taken from the
    largest segment)."""
    label_w, bar_x, bar_w, row_h, top = 230, 240, 600, 32, 48
    width = 1000
    height = top + row_h * max(1, len(norms)) + 12
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="Verdicts per norm">']
    x = bar_x
    for kind in CHART_KINDS:
        parts.append(f'<rect class="legend" x="{x}" y="6" width="12" height="12" rx="2" fill="{_COLOURS[kind]}"/>'
                     f'<text class="small" x="{x + 17}" y="16">{kind}</text>')
        x += 17 + 8 * len(kind) + 22
    for percent in (0, 25, 50, 75, 100):
        gx = bar_x + bar_w * percent // 100
        parts.append(f'<line class="grid" x1="{gx}" y1="{top - 8}" x2="{gx}" y2="{height - 8}"/>')
        parts.append(f'<text class="small" x="{gx}" y="{top - 12}" text-anchor="middle">{percent}%</text>')
    for row, norm in enumerate(norms):
        y = top + row * row_h
        name = norm["norm"]
        counts = [(k, norm["verdicts"].get(k, 0)) for k in CHART_KINDS if norm["verdicts"].get(k, 0)]
        total = sum(c for _, c in counts)
        shown = name if len(name) <= 30 else name[:29] + "…"
        parts.append(f'<g class="norm-row" data-norm="{_e(name)}" data-total="{total}">')
        parts.append(f'<text x="{label_w}" y="{y + 20}" text-anchor="end"><title>{_e(name)}</title>{_e(shown)}</text>')
        widths = [max(_label_width(c), bar_w * c / total) for _, c in counts] if total else []
        if widths:
            widths[widths.index(max(widths))] -= sum(widths) - bar_w
        else:
            parts.append(f'<rect class="empty-bar" x="{bar_x}" y="{y + 6}" width="{bar_w}" height="{row_h - 12}" '
                         'fill="#f5f7fa" stroke="#d9dde3"/>')
        x = float(bar_x)
        for (kind, count), w in zip(counts, widths):
            share = 100 * count / total
            parts.append(
                f'<rect class="bar bar-{kind}" data-norm="{_e(name)}" data-kind="{kind}" data-count="{count}" '
                f'x="{x:.1f}" y="{y + 6}" width="{w:.1f}" height="{row_h - 12}" fill="{_COLOURS[kind]}">'
                f'<title>{_e(name)}: {count} {kind} ({share:.1f}%)</title></rect>')
            parts.append(f'<text class="in-bar" x="{x + w / 2:.1f}" y="{y + 20}" text-anchor="middle">{count}</text>')
            x += w
        na = norm["verdicts"].get("not_applicable", 0)
        label = (_plural(total, "verdict") if total else "no applicable verdict") + (f" · {na} n/a" if na else "")
        parts.append(f'<text class="small" x="{bar_x + bar_w + 10}" y="{y + 20}">{_e(label)}</text>')
        parts.append("</g>")
    if not norms:
        parts.append(f'<text class="small" x="{bar_x}" y="{top + 20}">no norms</text>')
    parts.append("</svg>")
    return "".join(parts)


def _label_width(count: int) -> float:
    """The width a segment needs to show its count (12px bold digits, some padding)."""
    return 8.0 * len(str(count)) + 8


def _tile(n: Any, label: str) -> str:
    return f'<div class="tile"><div class="n">{_e(n)}</div><div class="l">{_e(label)}</div></div>'


def render_html(data: dict[str, Any], version: str = "") -> str:
    """One self-contained page: inline CSS and SVG, no scripts, no external assets."""
    title = _title(data)
    total = data["traces"]
    u = data["unspecified"]
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>", "<main>"]
    files = ", ".join(data["trace_files"]) or "the traces"
    policies = ", ".join(data["policies"]) or "the policy"
    out.append('<header class="top"><div class="eyebrow">Charter · incomplete-contract report</div>'
               f"<h1>{_e(title)}</h1>"
               f'<p class="sub">Policy <code>{_e(policies)}</code> checked against '
               f"{_e(_plural(total, 'trace'))} from <code>{_e(files)}</code>.</p></header>")
    out.append('<section class="headline" id="headline"><ul>')
    for line in data["headline"]:
        cls = ' class="none"' if not data["stakeholders"] else ""
        who = line["escalate_to"] if line["escalate_to"] is not None else ""
        out.append(f'<li{cls} data-escalate-to="{_e(who)}"><span class="main">{_inline_code(line["text"])}</span>'
                   f'<span class="detail">{_e(line["detail"])}</span></li>')
    out.append("</ul></section>")
    out.append('<div class="tiles">'
               + _tile(total, "traces checked")
               + _tile(f"{u['traces']} ({_pct(u['share'])})", "traces with an open verdict")
               + _tile(u["explicit"], "explicitly open verdicts")
               + _tile(u["gap"], "gap verdicts (no case applies)")
               + _tile(u["uncertain"], "uncertain verdicts (unknown facts)")
               + "</div>")
    if data["skipped"]:
        out.append(f'<section class="card skipped"><h2>{_e(_plural(len(data["skipped"]), "record"))} skipped</h2><ul>')
        for s in data["skipped"]:
            where = s["file"] if s["line"] is None else f"{s['file']}:{s['line']}"
            out.append(f"<li><code>{_e(where)}</code>: {_e(s['reason'])}</li>")
        out.append("</ul></section>")
    out.append('<section class="card" id="chart"><h2>Verdicts per norm</h2>'
               '<p class="chart-note">Each norm\'s verdicts over the corpus (one per act where it applied), as shares '
               "stacked by kind, with the counts; not-applicable verdicts (its trigger did not hold) are counted, not drawn.</p>")
    out.append(_chart_svg(data["norms"]))
    out.append("</section>")
    for group in data["stakeholders"]:
        target = group["escalate_to"]
        who_cls = "who" if target is not None else "who nobody"
        out.append(f'<section class="card stakeholder" data-escalate-to="{_e(target or "")}" '
                   f'data-decisions="{group["decisions"]}" data-verdicts="{group["verdicts"]}" data-traces="{group["traces"]}">')
        out.append(f'<header><span class="{who_cls}">{_e(group["title"])}</span>'
                   f'<h2>{_e(_plural(group["decisions"], "open decision"))}'
                   f'<span class="count">{_e(_plural(group["verdicts"], "verdict"))} in '
                   f'{_e(_plural(group["traces"], "trace"))} · {_pct(group["share"])} of {total}</span></h2></header>')
        for norm in group["norms"]:
            out.append(f'<div class="norm" data-norm="{_e(norm["norm"])}" data-verdicts="{norm["verdicts"]}">')
            out.append(f'<h3><code>{_e(norm["norm"])}</code></h3>')
            if norm["description"]:
                out.append(f'<p class="desc">{_e(norm["description"])}</p>')
            meta = [f"by {norm['authority']}" if norm["authority"] else None,
                    f"severity {norm['severity']}" if norm["severity"] else None,
                    f"{norm['file']}:{norm['line']}" if norm["file"] else None]
            out.append(f'<p class="meta">{_e(" · ".join(m for m in meta if m))}</p>')
            for item in norm["items"]:
                out.append(_item_html(item, total))
            out.append("</div>")
        out.append("</section>")
    footer = "charter gaps" + (f" {version}" if version else "")
    out.append(f"<footer>Made by {_e(footer)} · {data['examples_per_item']} examples at most per item · "
               "unspecified verdicts are never a pass or a fail: they are the decisions the policy leaves open.</footer>")
    out += ["</main>", "</body>", "</html>", ""]
    return "\n".join(out)


def _item_html(item: dict[str, Any], total: int) -> str:
    kind = item["kind"]
    out = [f'<article class="item {kind}" data-kind="{kind}" data-verdicts="{item["verdicts"]}" '
           f'data-traces="{item["traces"]}">']
    decide = _e(item["decide"]) if kind == "explicit" else _inline_code(item["decide"])
    out.append(f'<h4><code class="question" title="question ID">{item["question"]}</code>'
               f'<span class="badge {kind}">{_KIND_LABEL[kind]}</span><span>{decide}</span></h4>')
    out.append(f'<p class="why">{_inline_code(item["why"])}</p>')
    for clause in item["clauses"]:
        out.append(f'<p class="where">{_e(clause["file"])}:{clause["line"]} <code>{_e(clause["text"])}</code></p>')
    if kind == "gap" and item.get("cases"):
        out.append('<p class="where">Cases (none applied):</p><ul class="cases">' + "".join(
            f'<li>{_e(c["file"])}:{c["line"]} <code>{_e(c["text"])}</code></li>' for c in item["cases"]) + "</ul>")
    width = round(100 * item["share"], 1)
    out.append(f'<div class="often"><span class="meter"><span style="width: {max(width, 1.0) if item["traces"] else 0}%"></span></span>'
               f'<span>{_e(_plural(item["verdicts"], "verdict"))} in {_e(_plural(item["traces"], "trace"))} '
               f'({_pct(item["share"])} of {total})</span></div>')
    if item["examples"]:
        out.append('<div class="examples">')
        out += [example_html(example, opened=i == 0) for i, example in enumerate(item["examples"])]
        out.append("</div>")
    out.append(trace_ids_html(item))
    out.append("</article>")
    return "\n".join(out)


def example_html(example: dict[str, Any], opened: bool = False) -> str:
    """One example as a collapsible whole conversation: the trace ID, where, the short
    metadata and the act's first words in the summary; inside, every metadata field, the
    facts read, and every message with its tool calls, the act judged highlighted."""
    source = f' · {_e(example["source"])}' if example["source"] else ""
    meta = example.get("meta") or {}
    chips = "".join(f'<span class="chip">{_e(k)}: {_e(_json_short(v))}</span>'
                    for k, v in meta.items() if isinstance(v, (str, int, float, bool)) and len(str(v)) <= 40)
    act = [m for m in example.get("conversation", ()) if m["act"]]
    excerpt = f'<span class="excerpt">{_e(_trim_head(_conversation_text(act[0]), 110))}</span>' if act else ""
    out = [f'<details class="example" data-trace="{_e(example["trace"])}"{" open" if opened else ""}>',
           f'<summary><span class="src"><code>{_e(example["trace"])}</code> · {_e(_example_where(example))}{source}</span>'
           f'{chips}{excerpt}</summary>']
    if meta:
        out.append('<dl class="trace-meta">' + "".join(
            f'<div><dt>{_e(k)}</dt><dd>{_e(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, sort_keys=True))}</dd></div>'
            for k, v in meta.items()) + "</dl>")
    if example["facts"]:
        out.append('<div class="facts">' + " ".join(
            f'<code>{_e(fact_text(f))}</code>' for f in example["facts"]) + "</div>")
    if example.get("bindings"):
        out.append('<div class="facts bindings">' + " ".join(
            f'<code>{_e(binding)}</code>' for binding in example["bindings"]) + "</div>")
    out.append('<ol class="conversation">')
    out += [_message_html(m, example["call"] if m["act"] else None) for m in example.get("conversation", ())]
    out.append("</ol></details>")
    return "\n".join(out)


def _message_html(message: dict[str, Any], judged_call: int | None = None) -> str:
    """One message; `judged_call` is the index of the tool call judged (`on tool call`)."""
    cls = "msg act" if message["act"] else "msg reply" if message["reply"] else "msg"
    mark = ('<span class="mark">the act judged</span>' if message["act"]
            else '<span class="mark">the reply judged</span>' if message["reply"] else "")
    who = f' <span class="name">{_e(message["name"])}</span>' if message.get("name") else ""
    answers = (f' <span class="name">answers <code>{_e(message["tool_call_id"])}</code></span>'
               if message.get("tool_call_id") else "")
    text = (f'<div class="text">{_e(message["text"])}</div>' if message["text"]
            else "" if message["tool_calls"] else '<div class="text empty">(empty)</div>')
    calls = "".join(
        f'<div class="call{" judged" if k == judged_call else ""}"><span class="tool">calls <code>{_e(c["name"])}</code>'
        + (f' <span class="name">{_e(c["id"])}</span>' if c.get("id") else "")
        + (' <span class="mark">the call judged</span>' if k == judged_call else "") + "</span>"
        f'<pre>{_e(json.dumps(c["arguments"], ensure_ascii=False, sort_keys=True, indent=2))}</pre></div>'
        for k, c in enumerate(message["tool_calls"]))
    return (f'<li class="{cls} role-{_e(message["role"])}" data-index="{message["index"]}">'
            f'<div class="head"><span class="role">{_e(message["role"])}</span>{who}{answers}{mark}</div>'
            f"{text}{calls}</li>")


def trace_ids_html(item: dict[str, Any]) -> str:
    """Every trace the item fell in, behind "… and N more" (expandable)."""
    ids = item.get("trace_ids") or []
    if not ids:
        return ""
    more = item["verdicts"] - len(item["examples"])
    label = (f"… and {_plural(more, 'more verdict')} · every trace ({len(ids)})" if more > 0
             else f"Every trace ({len(ids)})")
    return (f'<details class="trace-ids"><summary>{_e(label)}</summary><p>'
            + " ".join(f"<code>{_e(t)}</code>" for t in ids) + "</p></details>")


def _inline_code(text: str) -> str:
    """Escape text, showing `back-quoted` parts as code."""
    parts = text.split("`")
    return "".join(f"<code>{_e(p)}</code>" if i % 2 else _e(p) for i, p in enumerate(parts))


# --------------------------------------------------------------------------- entry point


_SURROGATE = re.compile("[\ud800-\udfff]")


def _printable(text: str) -> str:
    """JSON text may hold a lone surrogate (`\\ud800`), which no UTF-8 output can: it is
    written as that escape (still valid JSON inside a JSON string)."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def render(data: dict[str, Any], output_format: str, version: str = "") -> str:
    if output_format == "json":
        return _printable(render_json(data))
    if output_format == "html":
        return _printable(render_html(data, version))
    return _printable(render_markdown(data))


def write(text: str, output: str | None, stream: IO[str]) -> None:
    """Write to the file `output` (UTF-8, "\\n" line ends), or to `stream`."""
    if output is None:
        stream.write(text)
    else:
        with open(output, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
