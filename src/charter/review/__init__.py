"""Reviewing policies and verdicts: what a policy change does to a corpus (`diff`), the
smallest change that turns a verdict (`whynot`), and replayable decision records (`records`)."""
