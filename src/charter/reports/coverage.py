"""Policy coverage: which norms, cases, exceptions and `otherwise` lines a corpus exercised.

Like `opa test --coverage`, but over a corpus of real conversations. Read from each
verdict's explanation (its path of clauses, each with the value it had):

- a **norm** is exercised at an act where it applied (its verdict is not
  `not_applicable`);
- a **case** or an **exception** (`unless`) where its condition held (`true`);
- an **`otherwise`** where it was reached: its outcome is on the path, or one of its
  own exceptions was evaluated.

A clause whose condition was evaluated only to false or unknown is not exercised; the
report says which, so that a reader can tell "no trace like that" from "the facts are
never there". Not-applicable verdicts carry only their path, which is all this needs.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

import attrs

from ..evaluate.policy import Policy
from ..compile.compiler import Clause, CompiledNorm, OutcomeNode
from ..evaluate.verdicts import TraceReport

KINDS = ("norm", "case", "exception", "otherwise")
_KIND_PLURAL = {"norm": "norms", "case": "cases", "exception": "exceptions", "otherwise": "otherwise"}


@attrs.define
class _Item:
    """One clause of the policy and what the corpus did with it."""

    kind: str
    norm: str
    file: str
    line: int
    column: int
    text: str
    hits: int = 0        # acts where it was exercised
    evaluated: int = 0   # acts where its condition was evaluated (norm: acts in its scope)
    unknown: int = 0     # acts where its condition was unknown

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "norm": self.norm, "file": self.file, "line": self.line,
            "column": self.column, "text": self.text, "exercised": self.hits > 0,
            "hits": self.hits, "evaluated": self.evaluated, "unknown": self.unknown,
        }


def _key(clause: Clause) -> tuple[str, str, int, int]:
    span = clause.span
    return (clause.kind, span.source, span.line, span.column)


class CoverageCollector:
    """Gathers coverage over a corpus, trace by trace."""

    def __init__(self, policy: Policy, trace_files: Iterable[str] = (), policies: Iterable[str] = ()):
        self.policy = policy
        self.trace_files = list(trace_files)
        self.policies = list(policies)
        self.checked = 0
        self.skipped: list[dict[str, Any]] = []
        sources = {s.name: s for s in policy.program.sources}
        self.items: list[_Item] = []
        self.norm_items: dict[str, _Item] = {}
        # per norm: clause key -> item (cases and exceptions), the otherwise item and
        # the keys of the otherwise's own exceptions (evaluated only when it is reached)
        self.by_clause: dict[str, dict[tuple, _Item]] = {}
        self.otherwise: dict[str, tuple[_Item, set[tuple]]] = {}
        self.case_keys: dict[str, set[tuple]] = {}
        for norm in policy.compiled.norms:
            source = sources.get(norm.span.source)
            header = source.line(norm.span.line).strip() if source else f"norm {norm.name}"
            item = _Item("norm", norm.name, norm.span.source, norm.span.line, norm.span.column, header)
            self.items.append(item)
            self.norm_items[norm.name] = item
            self._register(norm)

    def _register(self, norm: CompiledNorm) -> None:
        clauses: dict[tuple, _Item] = {}
        self.by_clause[norm.name] = clauses

        def add(kind: str, clause: Clause) -> _Item:
            span = clause.span
            item = _Item(kind, norm.name, span.source, span.line, span.column, clause.text)
            self.items.append(item)
            clauses[_key(clause)] = item
            return item

        def exceptions(node: OutcomeNode) -> None:
            for _, child, clause in node.exceptions:
                add("exception", clause)
                exceptions(child)

        if norm.tree is not None:
            exceptions(norm.tree)
        self.case_keys[norm.name] = set()
        for _, node, clause in norm.cases:
            add("case", clause)
            self.case_keys[norm.name].add(_key(clause))
            exceptions(node)
        if norm.otherwise is not None:
            node = norm.otherwise
            span = node.clause.span
            item = _Item("otherwise", norm.name, span.source, span.line, span.column, node.clause.text)
            self.items.append(item)
            self.otherwise[norm.name] = (item, {_key(c) for _, _, c in node.exceptions})
            exceptions(node)

    # ---- input

    def skip(self, file: str, line: int | None, reason: str) -> None:
        self.skipped.append({"file": file, "line": line, "reason": reason})

    def add(self, report: TraceReport) -> None:
        self.checked += 1
        for verdict in report.verdicts:
            norm_item = self.norm_items.get(verdict.norm)
            if norm_item is None:
                continue
            norm_item.evaluated += 1
            if verdict.kind != "not_applicable":
                norm_item.hits += 1
            clauses = self.by_clause[verdict.norm]
            otherwise = self.otherwise.get(verdict.norm)
            case_keys = self.case_keys[verdict.norm]
            seen: set[tuple] = set()
            reached = considered = False
            for step in verdict.explanation.steps:
                key = (step.clause, step.span.source, step.span.line, step.span.column)
                if step.clause == "when" and step.value == "unknown":
                    norm_item.unknown += 1
                if key in case_keys:
                    considered = True
                if otherwise is not None and (key[0] == "otherwise" and key[1:] == _where(otherwise[0])
                                              or key in otherwise[1]):
                    reached = True
                item = clauses.get(key)
                if item is None or key in seen:
                    continue
                seen.add(key)
                item.evaluated += 1
                if step.value == "true":
                    item.hits += 1
                elif step.value == "unknown":
                    item.unknown += 1
            if otherwise is not None:
                if considered or reached:
                    otherwise[0].evaluated += 1
                if reached:
                    otherwise[0].hits += 1

    # ---- output

    def result(self) -> dict[str, Any]:
        order = [s.name for s in self.policy.program.sources]
        files: dict[str, list[_Item]] = {}
        for item in self.items:
            files.setdefault(item.file, []).append(item)
        names = sorted(files, key=lambda f: (order.index(f) if f in order else len(order), f))
        reports = []
        for name in names:
            items = sorted(files[name], key=lambda i: (i.line, i.column, KINDS.index(i.kind)))
            reports.append({"file": name, **_summary(items),
                            "items": [i.to_json() for i in items],
                            "never": [i.to_json() for i in items if not i.hits]})
        return {
            "report": "coverage",
            "policies": self.policies,
            "trace_files": self.trace_files,
            "traces": self.checked,
            "records": {"total": self.checked + len(self.skipped), "checked": self.checked,
                        "skipped": len(self.skipped)},
            "skipped": self.skipped,
            "files": reports,
            "total": _summary(self.items),
        }


def _where(item: _Item) -> tuple[str, int, int]:
    return (item.file, item.line, item.column)


def _percent(exercised: int, total: int) -> float | None:
    return round(100 * exercised / total, 1) if total else None


def _summary(items: list[_Item]) -> dict[str, Any]:
    by_kind = {}
    for kind in KINDS:
        of_kind = [i for i in items if i.kind == kind]
        done = sum(1 for i in of_kind if i.hits)
        by_kind[kind] = {"total": len(of_kind), "exercised": done, "percent": _percent(done, len(of_kind))}
    done = sum(1 for i in items if i.hits)
    return {"clauses": len(items), "exercised": done, "percent": _percent(done, len(items)),
            "by_kind": by_kind}


# --------------------------------------------------------------------------- rendering


def render_json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def why_never(item: dict[str, Any]) -> str:
    """Why a clause was never exercised, in words."""
    kind, evaluated, unknown = item["kind"], item["evaluated"], item["unknown"]
    if kind == "norm":
        if not evaluated:
            return f"norm {item['norm']}: no act in its scope in the corpus"
        tail = f", unknown at {unknown}" if unknown else ""
        return f"norm {item['norm']}: its trigger never held ({_plural(evaluated, 'act')}{tail})"
    where = f"{'exception' if kind == 'exception' else kind} in {item['norm']}"
    if kind == "otherwise":
        if not evaluated:
            return f"{where}: never considered (the norm never reached its cases)"
        acts = "the one act" if evaluated == 1 else f"all {evaluated} acts"
        return f"{where}: never reached (a case held or was unknown at {acts} where the cases were evaluated)"
    if not evaluated:
        above = "the norm never applied" if kind == "case" else "the outcome above it never stood"
        return f"{where}: never evaluated ({above})"
    false = evaluated - unknown
    parts = [f"false at {_plural(false, 'act')}"] if false else []
    if unknown:
        parts.append(f"unknown at {_plural(unknown, 'act')}")
    return f"{where}: never held ({', '.join(parts)})"


def render_text(data: dict[str, Any], verbose: bool = False) -> str:
    files = ", ".join(data["trace_files"]) or "the traces"
    out = [f"coverage by {_plural(data['traces'], 'trace')} ({files})"]
    for s in data["skipped"]:
        where = s["file"] if s["line"] is None else f"{s['file']}:{s['line']}"
        out.append(f"{where}: skipped: {s['reason']}")
    for report in data["files"]:
        out.append("")
        out.append(f"{report['file']}: {report['exercised']} of {_plural(report['clauses'], 'clause')} "
                   f"exercised ({_pct(report['percent'])})")
        for kind in KINDS:
            k = report["by_kind"][kind]
            if k["total"]:
                out.append(f"  {_KIND_PLURAL[kind]:<11} {k['exercised']:>4} of {k['total']:<4} {_pct(k['percent']):>7}")
        if verbose:
            out.append("  line  kind        exercised  clause")
            for item in report["items"]:
                mark = f"{item['hits']}/{item['evaluated']}"
                out.append(f"  {item['line']:>4}  {item['kind']:<10}  {mark:>9}  {item['text']}"
                           + ("" if item["hits"] else "   <- never"))
        if report["never"]:
            out.append("  never exercised:")
            for item in report["never"]:
                out.append(f"    {item['file']}:{item['line']}: {item['text']}")
                out.append(f"        {why_never(item)}")
        else:
            out.append("  every clause was exercised")
    total = data["total"]
    out.append("")
    out.append(f"total: {total['exercised']} of {_plural(total['clauses'], 'clause')} exercised "
               f"({_pct(total['percent'])}) in {_plural(len(data['files']), 'file')}")
    return "\n".join(out) + "\n"
