"""Escalations: the guardrail candidates whose verdicts left a question open, kept in a
queue (an SQLite file) for the people who must answer them (`queue.py`)."""

from .queue import Escalation, EscalationQueue, QueueError

__all__ = ["Escalation", "EscalationQueue", "QueueError"]
