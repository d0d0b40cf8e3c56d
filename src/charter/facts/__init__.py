"""Declared facts over a corpus: in how many traces each label and metadata field the
policy declares was present, and where a value had the wrong type.

    presence.py  `Survey` (one trace's facts, made once per policy) and `Presence` (the counts of a run)
"""
