"""From decisions to policy text: the narrowest edit that settles each decided question.

Where the edit goes, for a decision by authority A on a question of norm N:

1. N's file is A's layer (`charter ... by A`): the open clause is rewritten in place (its
   `unspecified` outcome replaced; for a gap, an `otherwise:` added).
2. A has a layer and may override N (A outranks N's author, or N is a default that A may
   lift): a norm by A that overrides N exactly where the question is open is added to A's
   layer.
3. A is the target N's author named (`escalate to A`) but may not override N: the author
   delegated the question, so the clause is rewritten in N's own file.
4. Otherwise the decision cannot be written (a problem, nothing is written).

Each edit carries its mark (`# Q1a2b3c4: decided by ...`) and one inline test per
evidence trace, expecting the verdicts the amended policy gives there. The amended files
are laid out by `charter fmt`, and must load, pass every inline test, and raise no
conflict or gap that `charter test --prove`'s analysis did not find before; the corpus is
checked with both policies (`charter diff`) for the preview. Any failure is a problem,
and `Amendment.write` refuses to write when there is one.
"""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable

import attrs

from ..analysis.printer import as_test_block
from ..analysis.properties import check_properties
from ..analysis.prove import analyse, describe
from ..check.loader import Loaded
from ..check.program import CheckedNorm, Program
from ..check.resolve import Module
from ..evaluate.policy import Policy
from ..evaluate.inline_tests import block_trace
from ..evaluate.verdicts import aggregate
from ..reports.render import diagnostic_json
from ..review.diff import DiffChecker, DiffCollector, DiffResult
from ..source.diagnostics import Diagnostic, PolicyError, Severity
from ..source.text import Source
from ..syntax import ast
from ..syntax.format import format_source
from ..traces.reader import Skipped
from .ledger import Decision, read_ledger
from .rulings import Ruling, mark, rule
from .survey import Survey, corpus, read_policy


@attrs.frozen
class Edit:
    """What one decision writes: where, how, the policy text, and its tests' names."""

    decision: Decision
    file: str
    how: str
    text: str
    tests: tuple[str, ...] = ()


@attrs.define
class Amendment:
    """The planned change of the policy files. `files` holds the new text of each file
    that changes; `diff` the verdict changes over the corpus (None when nothing changes
    or the amended policy did not load); `problems` why it may not be written; `warnings`
    what else changed in `charter test --prove`'s findings."""

    ledger: str
    rulings: list[Ruling]
    edits: list[Edit]
    originals: dict[str, str]
    files: dict[str, str]
    diff: DiffResult | None
    problems: list[Diagnostic]
    sources: dict[str, Source] = attrs.Factory(dict)
    warnings: list[Diagnostic] = attrs.Factory(list)  # worth knowing, no reason not to write

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        """The plan as JSON data (`charter amend --format json`)."""
        return {
            "ledger": self.ledger,
            "decisions": [{"question": r.decision.question, "authority": r.decision.authority,
                           "person": r.decision.person, "outcome": r.decision.outcome.text(),
                           "status": r.status, "note": r.note} for r in self.rulings],
            "edits": [{"question": e.decision.question, "file": e.file, "how": e.how, "text": e.text,
                       "tests": list(e.tests)} for e in self.edits],
            "files": sorted(self.files),
            "diff": self.diff.to_json() if self.diff is not None else None,
            "problems": [diagnostic_json(d) for d in self.problems],
            "warnings": [diagnostic_json(d) for d in self.warnings],
        }

    def patch(self) -> str:
        """The change as a unified diff of the policy files."""
        return "".join("".join(difflib.unified_diff(
            self.originals[path].splitlines(True), text.splitlines(True), f"a/{path}", f"b/{path}"))
            for path, text in self.files.items())

    def write(self) -> list[str]:
        """Write the amended files (each replaced whole, atomically); the paths written.
        Raises `PolicyError` with the problems when there is one."""
        if self.problems:
            raise PolicyError(self.problems, self.sources)
        for path, text in self.files.items():
            target = Path(path)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temporary, target)
        return list(self.files)


def plan_amendment(policy_paths: Iterable[str], ledger_path: str | os.PathLike[str], traces: Iterable[str],
                   input_format: str | None = None) -> Amendment:
    """The amendment the ledger's applicable decisions make to the policy, checked and
    previewed on the corpus, written nowhere. Raises `PolicyError` when the policy or the
    ledger cannot be read."""
    paths, traces = list(policy_paths), list(traces)
    decisions = read_ledger(ledger_path)
    survey = Survey(read_policy(paths), corpus(traces, input_format))
    rulings = rule(decisions, survey)
    planner = _Planner(survey, str(ledger_path))
    for ruling in rulings:
        if ruling.status == "apply":
            planner.plan(ruling.decision)
    originals = {s.name: s.text for s in survey.loaded.program.sources if s.name in planner.texts}
    amendment = Amendment(str(ledger_path), rulings, [], originals, {}, None, planner.problems,
                          {s.name: s for s in survey.loaded.program.sources})
    if not planner.planned or planner.problems:
        return amendment
    planner.check(paths, traces, input_format, amendment)
    return amendment


# --------------------------------------------------------------------------- planning


@attrs.define
class _Planned:
    decision: Decision
    file: str  # where the policy text and the tests go
    how: str
    text: str
    # The norms whose verdicts the tests expect: (as reports name it, as an `expect` in
    # the file says it).
    expects: tuple[tuple[str, str], ...]


class _Planner:
    def __init__(self, survey: Survey, ledger: str):
        self.survey = survey
        self.program: Program = survey.loaded.program
        self.ledger = Path(ledger).name
        self.modules = {m.source.name: m for m in survey.loaded.policies}
        self.layers = {m.file.header.authority: m for m in survey.loaded.policies
                       if m.file.header is not None and m.file.header.authority}
        self.texts = {name: m.source.text for name, m in self.modules.items()}
        self.edits: dict[str, list[tuple[int, int, str]]] = {}  # file -> (start, end, new text)
        self.appended: dict[str, list[str]] = {}  # file -> blocks added at its end
        self.planned: list[_Planned] = []
        self.problems: list[Diagnostic] = []

    def problem(self, decision: Decision, code: str, message: str, hint: str | None = None) -> None:
        self.problems.append(Diagnostic(code, message, decision.span, hint=hint))

    def plan(self, decision: Decision) -> None:
        question = self.survey.question(decision.question)
        assert question is not None  # `rule` applies only decisions on existing questions
        norm = self.program.norm(question.norm)
        outcome = decision.outcome.policy_text()
        if question.kind == "uncertain":
            return self.problem(decision, "D030", f"{decision.question} waits on unknown facts "
                                f"({', '.join(question.unknown)}): no clause of `{norm.name}` says what to do "
                                "without them", "decide it with `--needs-fact NAME`, or edit the clause")
        declared = self.survey.declared.get(decision.question)
        if declared is not None and declared[2].exceptions:
            return self.problem(decision, "D031", f"the open outcome of `{norm.name}` has exceptions under it; "
                                "rewrite it by hand")
        home = self.modules.get(norm.span.source)
        home_authority = home.file.header.authority if home and home.file.header else None
        layer = self.layers.get(decision.authority)
        chain = self.program.authorities
        if home is not None and home_authority == decision.authority:
            return self.in_place(decision, norm, declared, outcome, "")
        if layer is not None and _may_override(chain, decision.authority, norm):
            return self.override(decision, norm, declared, outcome, layer)
        if home is not None and decision.authority == question.escalate_to:
            return self.in_place(decision, norm, declared, outcome, f" (delegated by {norm.authority})")
        if layer is None:
            return self.problem(decision, "D032", f"no policy file is {decision.authority}'s layer "
                                f"(`charter NAME by {decision.authority}`), and the text of `{norm.name}` is "
                                f"{home_authority or 'nobody'}'s",
                                f"give a file whose header says `by {decision.authority}` with the policy")
        self.problem(decision, "D033", f"{decision.authority} may not override `{norm.name}` "
                     f"(by {norm.authority}, not a default {decision.authority} may lift)",
                     f"have {norm.authority} decide it, or make it `default norm` with "
                     f"`overridable by {decision.authority}`")

    def in_place(self, decision: Decision, norm: CheckedNorm, declared, outcome: str, delegated: str) -> None:
        """Rewrite the open clause where it is written."""
        file = norm.span.source
        text = self.texts[file]
        note = mark(decision, self.ledger) + delegated
        if declared is not None:
            _, holder, open_outcome = declared
            start = _offset(text, holder.span.line, 1)
            indent = _indent(text, start)
            self.edit(file, start, start, f"{indent}{note}\n")
            self.edit(file, _offset(text, open_outcome.span.line, open_outcome.span.column),
                      _offset(text, open_outcome.span.end_line, open_outcome.span.end_column) + 1, outcome)
            how = "rewrote the open outcome"
        else:  # a gap: say what happens when no case applies
            body = norm.source.body
            assert isinstance(body, ast.Cases)
            indent = _indent(text, _offset(text, body.cases[0].span.line, 1))
            end = _line_end(text, body.span.end_line)
            self.edit(file, end, end, f"\n{indent}{note}\n{indent}otherwise: {outcome}")
            how = "added an `otherwise:`"
        self.planned.append(_Planned(decision, file, how + delegated, outcome, ((norm.name, norm.source.name),)))

    def override(self, decision: Decision, norm: CheckedNorm, declared, outcome: str, layer: Module) -> None:
        """Add a norm by the decider that overrides `norm` where the question is open."""
        name = f"{norm.source.name}_{decision.question.lower()}"
        home = self.modules[norm.span.source]
        conditions = [f"({_expr(home, norm.source.trigger)})"] if norm.source.trigger is not None else []
        conditions += _path(home, norm.source.body, declared[1] if declared else None)
        lines = [mark(decision, self.ledger),
                 f"norm {name} by {decision.authority} overrides {norm.charter}.{norm.source.name}:",
                 f"    {json.dumps('Decided ' + decision.question + ': ' + decision.why, ensure_ascii=False)}"]
        if norm.severity != "medium":
            lines.append(f"    severity {norm.severity}")
        if norm.scope != "assistant turn":
            lines.append(f"    on {norm.scope}")
        if conditions:
            lines.append(f"    when {' and '.join(conditions)}")
        lines.append(f"    {outcome}")
        block = "\n".join(lines) + "\n"
        self.appended.setdefault(layer.source.name, []).append(block)
        self.planned.append(_Planned(decision, layer.source.name, f"added a norm that overrides `{norm.name}`",
                                     block, ((name, name), (norm.name, f"{norm.charter}.{norm.source.name}"))))

    def edit(self, file: str, start: int, end: int, text: str) -> None:
        self.edits.setdefault(file, []).append((start, end, text))

    # ---- the amended texts, checked

    def amended(self, tests: dict[str, list[str]] | None = None) -> dict[str, str]:
        """Every changed file's text with the edits made and blocks appended."""
        out = {}
        for file in sorted({*self.edits, *self.appended, *(tests or {})}):
            text = self.texts[file]
            for start, end, new in sorted(self.edits.get(file, []), reverse=True):
                text = text[:start] + new + text[end:]
            blocks = self.appended.get(file, []) + (tests or {}).get(file, [])
            if blocks:
                text = text.rstrip("\n") + "\n" + "".join("\n" + b for b in blocks)
            out[file] = text
        return out

    def check(self, paths: list[str], traces: list[str], input_format: str | None, amendment: Amendment) -> None:
        """Build the tests, lay the files out, and check the result (problems go to the
        amendment)."""
        first = self.load(paths, self.amended(), amendment)
        if first is None:
            return
        repinned = self.repin(Policy(first.program))
        tests: dict[str, list[str]] = {}
        edits = []
        for planned in self.planned:
            names = []
            for trace, verdict in self.survey.evidence(planned.decision.question):
                expects = _expects(Policy(first.program), trace, verdict.turn, planned)
                block = as_test_block(f"{planned.decision.question}: {trace.id}", trace, expects)
                tests.setdefault(planned.file, []).append(block)
                names.append(f"{planned.decision.question}: {trace.id}")
            how = planned.how + (f"; {repinned[planned.decision.question]} existing expectation(s) of "
                                 "`unspecified` now expect the decided verdict"
                                 if repinned.get(planned.decision.question) else "")
            edits.append(Edit(planned.decision, planned.file, how, planned.text, tuple(names)))
        amendment.edits = edits
        files = {}
        for file, text in self.amended(tests).items():
            formatted, problems = format_source(Source(file, text))
            if formatted is None:
                amendment.problems += problems
                amendment.sources[file] = Source(file, text)
                return
            files[file] = formatted.text
        final = self.load(paths, files, amendment)
        if final is None:
            return
        amendment.files = {f: t for f, t in files.items() if t != self.modules[f].source.text}
        policy = Policy(final.program)
        for result in policy.run_tests():
            if not result.passed:
                failed = next(e for e in result.expectations if not e.passed)
                amendment.problems.append(Diagnostic(
                    "D040", f"the amended policy fails its test {result.name!r}: `{failed.norm}` is {failed.got}, "
                    f"expected {failed.expected}", result.span))
        findings = _new_findings(self.survey.policy, policy)
        amendment.problems += [f for f in findings if f.is_error]
        amendment.warnings += [f for f in findings if not f.is_error]
        amendment.diff = _diff(self.survey.policy, policy, traces, input_format)

    def repin(self, amended: Policy) -> dict[str, int]:
        """Rewrite the inline tests' `expect NORM unspecified` lines that pinned a question
        now decided, to the verdict the amended policy gives; how many per question."""
        decided = {p.decision.question for p in self.planned}
        count: dict[str, int] = {}
        for test in self.program.tests:
            trace = block_trace(test.block)
            old, new = self.survey.policy.check(trace).verdicts, amended.check(trace).verdicts
            for expect, norm in zip(test.block.expects, test.norm_names):
                if expect.verdict != "unspecified":
                    continue
                at = [v for v in old if v.norm == norm and (expect.turn is None or v.turn == expect.turn)]
                questions = {self.survey.index.id(v) for v in at if v.kind == "unspecified"} & decided
                got = [v.kind for v in new if v.norm == norm and (expect.turn is None or v.turn == expect.turn)]
                if not questions or not got:
                    continue
                text = self.texts[expect.span.source]
                start = _offset(text, expect.span.line, expect.span.column)
                end = _offset(text, expect.span.end_line, expect.span.end_column) + 1
                word = text.rindex("unspecified", start, end)
                self.edit(expect.span.source, word, word + len("unspecified"), aggregate(got))
                for question in questions:
                    count[question] = count.get(question, 0) + 1
        return count

    def load(self, paths: list[str], files: dict[str, str], amendment: Amendment) -> Loaded | None:
        try:
            return read_policy(paths, files)
        except PolicyError as error:
            amendment.problems += [attrs.evolve(d, message="the amended policy does not load: " + d.message)
                                   for d in error.diagnostics]
            amendment.sources.update({name: Source(name, text) for name, text in files.items()})
            return None


def _may_override(chain: tuple[str, ...], authority: str, norm: CheckedNorm) -> bool:
    """The language's rule (E312, E313): a strictly higher authority may always override;
    otherwise the norm must be a default whose `overridable by` reaches the authority."""
    if chain.index(authority) < chain.index(norm.authority):
        return True
    lowest = norm.source.overridable_by or norm.authority
    return norm.is_default and chain.index(authority) <= chain.index(lowest)


def _expects(policy: Policy, trace, turn: int | None, planned: _Planned) -> list[tuple[str, str, int | None]]:
    """What the amended policy says at the evidence's act about the norms the edit touched."""
    report = policy.check(trace)
    expects = []
    for reported, written in planned.expects:
        kinds = [v.kind for v in report.verdicts if v.norm == reported and v.turn == turn]
        if kinds:
            expects.append((written, aggregate(kinds), turn))
    return expects


BLOCKING = ("conflict", "gap")  # what an amendment may not add (issue 20): the rest is a warning


def _new_findings(before: Policy, after: Policy) -> list[Diagnostic]:
    """What `charter test --prove` would find after the amendment and not before: a norm
    whose atoms can now combine into a conflict or a gap (prove.py's exhaustive analysis,
    an error), and a property of the sampled checks that now fails (an error for a
    conflict or a gap, else a warning: an overridden clause is dead, by design). The Z3
    search for contradictions is left to `charter test --prove` itself: it can take
    minutes, and a contradiction never blocks an amendment."""
    old, new = analyse(before.program), analyse(after.program)
    found = [Diagnostic("D041", f"with the amendment, `{name}` can give a {what} "
                        f"({describe(after.program, getattr(analysis, what))})", after.program.norm(name).span,
                        hint="choose an outcome that agrees with the other clauses where they meet")
             for name, analysis in new.items() for what in BLOCKING
             if getattr(analysis, what) is not None and getattr(old.get(name), what, None) is None]
    held = {r.name for r in check_properties(before.program, before.compiled) if r.passed}
    return found + [
        Diagnostic("D041" if r.name in BLOCKING else "D042",
                   f"with the amendment, `charter test` finds a {r.name}: {r.detail}"
                   + (f" ({r.subject})" if r.subject else ""), r.span or after.program.norms[0].span,
                   severity=Severity.ERROR if r.name in BLOCKING else Severity.WARNING)
        for r in check_properties(after.program, after.compiled) if not r.passed and r.name in held]


def _diff(old: Policy, new: Policy, traces: list[str], input_format: str | None) -> DiffResult:
    checker = DiffChecker(old, new, input_format)
    collector = DiffCollector(old, new, "before", "after")
    for record in corpus(traces, input_format):
        if isinstance(record, Skipped):
            collector.skip(record.locator.file, record.locator.line, record.reason)
        else:
            collector.add(checker.delta(record))
    return collector.result


# --------------------------------------------------------------------------- text


def _offset(text: str, line: int, column: int) -> int:
    """The offset of a 1-based (line, column) in `text`."""
    start = 0
    for _ in range(line - 1):
        start = text.index("\n", start) + 1
    return start + column - 1


def _line_end(text: str, line: int) -> int:
    end = text.find("\n", _offset(text, line, 1))
    return len(text) if end < 0 else end


def _indent(text: str, start: int) -> str:
    """The indentation of the line that starts at `start`."""
    end = start
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[start:end]


def _expr(module: Module, expr: ast.Expr) -> str:
    """An expression's text as written, with the file's own `let` names replaced by their
    bodies (another layer does not see them)."""
    text = module.source.text
    start = _offset(text, expr.span.line, expr.span.column)
    pieces, at = [], start
    for name in sorted(_let_names(module, expr), key=lambda n: (n.span.line, n.span.column)):
        begin = _offset(text, name.span.line, name.span.column)
        let = module.lets[name.dotted]
        body = _expr(module, let.body)
        pieces += [text[at:begin], body if isinstance(let.body, (ast.ListLiteral, ast.Literal)) else f"({body})"]
        at = _offset(text, name.span.end_line, name.span.end_column) + 1
    return "".join(pieces) + text[at:_offset(text, expr.span.end_line, expr.span.end_column) + 1]


def _let_names(module: Module, node) -> list[ast.Name]:
    if isinstance(node, ast.Name) and len(node.parts) == 1 and node.dotted in module.lets \
            and module.lets[node.dotted].params is None:
        return [node]
    return [found for child in ast.children(node) for found in _let_names(module, child)]


def _path(module: Module, body: ast.Body, holder) -> list[str]:
    """The conditions under which `holder` (None: no case, a gap) is the clause that stands,
    as text to join with `and`."""
    if isinstance(body, ast.Outcome):
        return [f"({_expr(module, u.condition)})" for u in body.exceptions if u is holder]
    cases = list(body.cases)
    if holder is None or holder is body.otherwise:
        return [f"not ({_expr(module, c.condition)})" for c in cases]
    for case in cases:
        if case is holder:
            return [f"({_expr(module, case.condition)})"]
        if any(u is holder for u in case.outcome.exceptions):
            return [f"({_expr(module, case.condition)})", f"({_expr(module, holder.condition)})"]
    return []
