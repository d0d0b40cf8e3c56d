"""The review application's pages, rendered on the server: every page works without
scripts (forms and links); `static/review.js` only adds keyboard shortcuts and hides the
fields an outcome does not use. The evidence is the gaps report's own (`example_html`),
so a question reads the same in the report and here."""

from __future__ import annotations

import datetime
import html
from typing import Any, Iterable

from ..decisions.ledger import Decision
from ..reports.gaps import CSS, example_html, fact_text, trace_ids_html
from .decide import Plan, adoption
from .state import Identity, Question, Workspace

OUTCOMES = (
    ("permit", "Permit", "The behaviour is allowed here: the verdict becomes complied."),
    ("forbid", "Forbid a behaviour", "Name what the assistant must not do here."),
    ("require", "Require a behaviour", "Name what the assistant must do here, optionally within N turns."),
    ("keep-open", "Keep it open", "Leave it unspecified, with a clearer reason and who decides it."),
    ("needs-fact", "Needs a fact we don't have", "Name the fact (a label or a metadata field) that would settle it."),
)
_KIND = {"explicit": "Decide", "gap": "Gap", "uncertain": "Unknown facts"}


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _code_spans(text: str) -> str:
    """Escape text, showing `back-quoted` parts as code."""
    return "".join(f"<code>{_e(p)}</code>" if i % 2 else _e(p) for i, p in enumerate(text.split("`")))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun if count == 1 else noun + 's'}"


def page(title: str, body: str, identity: Identity | None = None, workspace: Workspace | None = None) -> str:
    who = ""
    if identity is not None:
        who = (f'<span class="who" title="deciding as">{_e(identity.authority)} · {_e(identity.name)}</span> '
               '<a href="/identity" accesskey="i">change</a>')
    policies = ", ".join(workspace.policy_paths) if workspace else ""
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)} · Charter review</title>",
        f"<style>{CSS}</style>", '<link rel="stylesheet" href="/static/review.css">',
        '<script src="/static/review.js" defer></script>', "</head>", "<body>",
        '<a class="skip" href="#main">Skip to the content</a>',
        f'<nav class="bar"><a class="home" href="/questions">Charter review</a>'
        f'<span class="policy"><code>{_e(policies)}</code></span><span class="me">{who}</span>'
        '<span class="keys" aria-hidden="true">j/k move · Enter opens · ? keys</span></nav>',
        f'<main id="main" tabindex="-1">{body}</main>', "</body>", "</html>", ""])


def identity_page(authorities: Iterable[str], error: str | None = None, current: Identity | None = None) -> str:
    authorities = list(authorities)
    chosen = current.authority if current else authorities[0] if authorities else ""
    options = "".join(
        f'<label class="choice"><input type="radio" name="authority" value="{_e(a)}"'
        f'{" checked" if a == chosen else ""}> <strong>{_e(a)}</strong>'
        f'<span class="rank">{"highest" if i == 0 else "lowest" if i == len(authorities) - 1 else ""}</span></label>'
        for i, a in enumerate(authorities))
    chain = " &gt; ".join(_e(a) for a in authorities)
    return f"""
<section class="card narrow">
  <h1>Who is deciding?</h1>
  <p>The policy's chain of command is <code>{chain}</code>. You see the questions escalated to
  your authority or below it; your decision is recorded in the ledger under your authority and name.</p>
  {_error(error)}
  <form method="post" action="/identity" class="identity">
    <fieldset><legend>Your authority</legend>{options}</fieldset>
    <label class="field">Your name <input name="name" autocomplete="name" required maxlength="100"
      value="{_e(current.name if current else "")}" autofocus></label>
    <button type="submit">See my questions</button>
  </form>
</section>"""


def _error(message: str | None) -> str:
    return f'<p class="error" role="alert">{_e(message)}</p>' if message else ""


def questions_page(workspace: Workspace, identity: Identity, questions: list[Question], notice: str | None) -> str:
    done = f'<p class="notice" role="status">{_e(notice)}</p>' if notice else ""
    total = len(workspace.questions)
    if not questions:
        rows = (f'<p class="empty">No question is waiting for {_e(identity.authority)}'
                f'{f" ({total} open for other authorities)" if total else ""}.</p>')
    else:
        rows = _question_list(workspace, questions)
    above = workspace.above(identity)
    higher = f"""
<section class="card above">
  <h2>{_e(_plural(len(above), "question"))} for authorities above {_e(identity.authority)}</h2>
  <p class="sub">You may read them and propose an answer: a proposal is recorded in the ledger, and the policy
  changes only when the authority who must decide adopts it.</p>
  {_question_list(workspace, above)}
</section>""" if above else ""
    return f"""
{done}
<section class="card">
  <h1>{_e(_plural(len(questions), "question"))} waiting for {_e(identity.authority)}</h1>
  <p class="sub">Open questions of the policy over {_e(_plural(workspace.traces, "trace"))}
  {"and the escalation queue " if workspace.queue else ""}that {_e(identity.authority)} may decide
  (escalated to it or to an authority below it), most frequent first.</p>
  {rows}
</section>
{higher}"""


def _question_list(workspace: Workspace, questions: list[Question]) -> str:
    return ('<ol class="questions" data-nav="list">'
            + "".join(_question_row(q, len(workspace.proposals(q))) for q in questions) + "</ol>")


def _question_row(question: Question, proposals: int) -> str:
    item, kind = question.item, question.item["kind"]
    escalated = (f'<span class="chip escalated">{_plural(len(question.escalations), "escalation")}</span>'
                 if question.escalations else "")
    proposed = f'<span class="chip proposed">{_plural(proposals, "proposal")}</span>' if proposals else ""
    decide = _e(item["decide"]) if kind == "explicit" else _code_spans(item["decide"])
    return (f'<li><a class="question-link" href="/questions/{_e(question.id)}" data-question="{_e(question.id)}">'
            f'<span class="qid"><code>{_e(question.id)}</code></span>'
            f'<span class="badge {kind}">{_KIND[kind]}</span>'
            f'<span class="decide">{decide}</span>'
            f'<span class="meta"><code>{_e(question.norm["norm"])}</code> · for {_e(question.decider or "nobody named")} · '
            f'{_e(_plural(item["verdicts"], "verdict"))} in {_e(_plural(item["traces"], "trace"))}</span>'
            f'<span class="chips">{escalated}{proposed}</span></a></li>')


def question_page(workspace: Workspace, identity: Identity, question: Question, form: dict[str, str] | None = None,
                  preview: str = "", error: str | None = None) -> str:
    item, norm, kind = question.item, question.norm, question.item["kind"]
    decide = _e(item["decide"]) if kind == "explicit" else _code_spans(item["decide"])
    meta = [f"by {norm['authority']}" if norm["authority"] else None,
            f"severity {norm['severity']}" if norm["severity"] else None,
            f"{norm['file']}:{norm['line']}" if norm["file"] else None,
            f"to be decided by {question.decider or 'nobody named'}"]
    clauses = "".join(f'<li><span class="loc">{_e(c["file"])}:{c["line"]}</span> <code>{_e(c["text"])}</code></li>'
                      for c in item["clauses"])
    cases = "".join(f'<li><span class="loc">{_e(c["file"])}:{c["line"]}</span> <code>{_e(c["text"])}</code></li>'
                    for c in item.get("cases", ()))
    facts = _facts(item)
    may, proposals = workspace.may_decide(identity, question), workspace.proposals(question)
    examples = "".join(example_html(e, opened=i == 0) for i, e in enumerate(item["examples"]))
    escalations = "".join(_escalation_html(e, opened=not item["examples"] and i == 0)
                          for i, e in enumerate(question.escalations))
    return f"""
<p class="crumbs"><a href="/questions" accesskey="u">← All questions for {_e(identity.authority)}</a></p>
<article class="card question" data-question="{_e(question.id)}">
  <p class="eyebrow"><code class="qid">{_e(question.id)}</code> <span class="badge {kind}">{_KIND[kind]}</span>
    <code>{_e(norm["norm"])}</code></p>
  <h1 class="decide">{decide}</h1>
  {f'<p class="desc">{_e(norm["description"])}</p>' if norm["description"] else ""}
  <p class="meta">{_e(" · ".join(m for m in meta if m))}</p>
  <p class="why">{_code_spans(item["why"])}</p>
  {f'<h2>The clause that leaves it open</h2><ul class="clauses">{clauses}</ul>' if clauses else ""}
  {f'<h2>The cases (none applied)</h2><ul class="clauses">{cases}</ul>' if cases else ""}
  {facts}
  <h2>Evidence <span class="count">{_e(_plural(item["verdicts"], "verdict"))} in
    {_e(_plural(item["traces"], "trace"))} of {workspace.traces}</span></h2>
  <div class="examples" data-nav="evidence">{examples}{escalations}</div>
  {trace_ids_html(item)}
  {_recorded([d for d in workspace.decided.get(question.id, ()) if d not in proposals])}
</article>
{_proposals(question, proposals, may)}
{decision_form(workspace, question, form or {}, error, None if may else identity)}
{preview}"""


def _facts(item: dict[str, Any]) -> str:
    """The facts the explanations read, once each (from every example), and why the
    unknown ones are unknown."""
    seen: dict[str, str] = {}
    for example in item["examples"]:
        for fact in example["facts"]:
            seen.setdefault(fact["fact"], fact_text(fact))
    why = "".join(f'<li><code>{_e(w["fact"])}</code>: {_e(w["why"])} ({w["verdicts"]}×)</li>'
                  for w in item.get("why_unknown", ()))
    if not seen and not why:
        return ""
    listed = "".join(f"<li><code>{_e(t)}</code></li>" for t in seen.values())
    return f'<h2>Facts the verdicts read</h2><ul class="facts-list">{listed}{why}</ul>'


def _recorded(decisions: Iterable[Decision]) -> str:
    """The ledger's other entries on this question (a fact asked for, a disagreement):
    what the next decider should know."""
    rows = "".join(f'<li><strong>{_e(d.authority)}, {_e(d.person)}</strong> · {_e(d.at)} · '
                   f'<code>{_e(d.outcome.text())}</code> — {_e(d.why)}</li>' for d in decisions)
    return f'<h2>In the ledger already</h2><ul class="recorded">{rows}</ul>' if rows else ""


def _proposals(question: Question, proposals: list[Decision], may_decide: bool) -> str:
    """The proposals from below the decider; the decider adopts one with a button (its
    preview, then confirm) or decides otherwise in the form below."""
    if not proposals:
        return ""
    rows = "".join(f"""
  <li class="proposal"><p><strong>{_e(p.authority)}, {_e(p.person)}</strong> proposes
    <code>{_e(p.outcome.text())}</code> <span class="at">{_e(p.at)}</span></p>
    <p class="why">{_e(p.why)}</p>{_adopt(question, p) if may_decide else ""}</li>""" for p in proposals)
    whose = ("Adopt one (you see its amendment and impact before you confirm), or decide otherwise below."
             if may_decide else f"Recorded in the ledger, not applied: {_e(question.decider)} "
             "or an authority above it must adopt one.")
    return f"""
<section class="card proposals" id="proposals">
  <h2>{_e(_plural(len(proposals), "proposal"))} from below {_e(question.decider)}</h2>
  <p class="sub">{whose}</p>
  <ul class="proposals">{rows}</ul>
</section>"""


def _adopt(question: Question, proposal: Decision) -> str:
    fields = "".join(f'<input type="hidden" name="{_e(k)}" value="{_e(v)}">' for k, v in adoption(proposal).items())
    return (f'<form method="post" action="/questions/{_e(question.id)}/preview#preview">{fields}'
            f'<button type="submit" class="adopt">Adopt {_e(proposal.person)}\'s proposal</button></form>')


def _when(stamp: str) -> str:
    """An ISO time as a person reads it (to the minute, in UTC); as given if it is not one."""
    try:
        moment = datetime.datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return str(stamp)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _escalation_html(evidence: dict[str, Any], opened: bool) -> str:
    head = (f'<p class="escalation-head">Escalated by the guardrail · #{evidence["escalation"]} · '
            f'{_e(_when(evidence["created"]))} · to {_e(", ".join(evidence["targets"]) or "nobody named")}</p>')
    return f'<div class="escalation">{head}{example_html(evidence, opened)}</div>'


def decision_form(workspace: Workspace, question: Question, form: dict[str, str], error: str | None,
                  proposer: Identity | None = None) -> str:
    """The outcomes and their fields; for a `proposer` (below the decider) it says that
    what they submit is a proposal, and who must adopt it."""
    chosen = form.get("outcome", "")
    outcomes = "".join(
        f'<label class="choice"><input type="radio" name="outcome" value="{value}" required'
        f'{" checked" if value == chosen else ""}> <strong>{label}</strong> <span class="hint">{hint}</span></label>'
        for value, label, hint in OUTCOMES)
    targets = "".join(f'<option value="{_e(a)}"{" selected" if a == form.get("escalate_to") else ""}>{_e(a)}</option>'
                      for a in workspace.authorities)
    return f"""
<section class="card decide-form" id="decide">
  <h2>{"Your proposal" if proposer else "Your decision"}</h2>
  {f'<p class="proposing" id="proposing">You are deciding as <strong>{_e(proposer.authority)}</strong>, below '
   f'<strong>{_e(question.decider)}</strong>, who must decide this question: what you submit is written to the '
   f'ledger as a <strong>proposal</strong>, not applied. The policy changes only when {_e(question.decider)} '
   f'or an authority above it adopts it.</p>' if proposer else ""}
  {_error(error)}
  <form method="post" action="/questions/{_e(question.id)}/preview#preview">
    <fieldset class="outcomes"><legend>Outcome</legend>{outcomes}</fieldset>
    <div class="fields">
      <label class="field wide" data-for="forbid require">Behaviour (a condition of the policy's language)
        <input name="behaviour" value="{_e(form.get("behaviour", ""))}" placeholder='assistant says "988"'></label>
      <label class="field" data-for="require">Within N turns (optional)
        <input name="within" type="number" min="1" value="{_e(form.get("within", ""))}"></label>
      <label class="field" data-for="keep-open">Clearer reason
        <input name="reason" value="{_e(form.get("reason", ""))}"></label>
      <label class="field" data-for="keep-open">Escalate to
        <select name="escalate_to"><option value="">(unchanged)</option>{targets}</select></label>
      <label class="field" data-for="needs-fact">The fact it needs
        <input name="fact" value="{_e(form.get("fact", ""))}" placeholder="trace.meta.user.verified"></label>
      <label class="field wide">Why (the rationale, recorded in the ledger)
        <textarea name="why" rows="3" required>{_e(form.get("why", ""))}</textarea></label>
    </div>
    <button type="submit" accesskey="p">{"Preview the proposal" if proposer else "Preview the amendment and its impact"}</button>
  </form>
</section>"""


def preview_html(question: Question, form: dict[str, str], plan: Plan, proposal: bool = False) -> str:
    """The amendment the decision would write and what it changes in the corpus, with
    the confirm button (or why it cannot be written); a proposal writes the ledger only."""
    diff, changes, summary, problems = plan.diff, plan.changes, plan.summary, plan.problems
    lines = "".join(
        f'<span class="{"add" if ln.startswith("+") and not ln.startswith("+++") else "del" if ln.startswith("-") and not ln.startswith("---") else "ctx"}">{_e(ln)}</span>\n'
        for ln in diff.splitlines())
    rows = "".join(
        f'<tr><td><code>{_e(c["norm"])}</code></td><td class="v {_e(c["before"])}">{_e(c["before"])}</td>'
        f'<td class="v {_e(c["after"])}">{_e(c["after"])}</td><td class="n">{c["count"]}</td>'
        f'<td>{" ".join(f"<code>{_e(t)}</code>" for t in c["traces"])}</td></tr>'
        for c in changes)
    impact = ('<table class="impact"><thead><tr><th>norm</th><th>before</th><th>after</th><th>traces</th>'
              f"<th>for example</th></tr></thead><tbody>{rows}</tbody></table>" if changes
              else '<p class="empty">No verdict of the corpus changes.</p>')
    hidden = "".join(f'<input type="hidden" name="{_e(k)}" value="{_e(v)}">' for k, v in form.items())
    confirm = ('<ul class="problems" role="alert">' + "".join(f"<li>{_e(p)}</li>" for p in problems)
               + "</ul><p>Nothing will be written. Change the decision above and preview again.</p>") if problems else (
        f'<form method="post" action="/questions/{_e(question.id)}/confirm">{hidden}'
        f'<button type="submit" class="confirm" accesskey="c">Confirm: write the {"proposal to the ledger" if proposal else "ledger entry and the amended policy"}</button>'
        "</form>")
    notes = "".join(f"<li>{_e(s)}</li>" for s in summary)
    return f"""
<section class="card preview" id="preview" tabindex="-1">
  <h2>What this {"proposal" if proposal else "decision"} writes</h2>
  <pre class="diff">{lines}</pre>
  <h2>Impact on the corpus</h2>
  {f'<ul class="summary">{notes}</ul>' if notes else ""}
  {impact}
  {confirm}
</section>"""


def error_page(status: int, message: str) -> str:
    return f'<section class="card narrow"><h1>{status}</h1>{_error(message)}<p><a href="/questions">Back to the questions</a></p></section>'
