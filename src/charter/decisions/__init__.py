"""Decisions on open questions, and the amendments they make (issue 20; docs/decisions.md).

    questions = open_questions(["policy.charter"], ["traces.jsonl"])
    append("decisions.ledger", Decision(questions[0].id, "platform", "Dana Ruiz", now(),
                                        Outcome("permit"), "why", questions[0].traces))
    amendment = plan_amendment(["policy.charter"], "decisions.ledger", ["traces.jsonl"])
    if amendment.ok:
        amendment.write()
"""

from .amend import Amendment, Edit, plan_amendment
from .ledger import Decision, Outcome, append, now, parse_ledger, parse_outcome, read_ledger
from .rulings import STATUS_TEXT, Ruling, rule
from .survey import Question, Survey, open_questions, survey

__all__ = [
    "Amendment", "Decision", "Edit", "Outcome", "Question", "Ruling", "STATUS_TEXT", "Survey", "append", "now",
    "open_questions", "parse_ledger", "parse_outcome", "plan_amendment", "read_ledger", "rule", "survey",
]
