"""The public `Policy`: `check` and `session` (from `evaluate/`), and the reports the
command line makes over traces — `gaps`, `coverage`, `explain`, `why_not` — as typed,
read-only results. The facade (`charter/__init__.py`) re-exports what is public here."""
