"""Checking: from parsed files to a `Program` — names resolved, lets expanded, authorities
and overrides validated, regexes compiled. `check_files` is the entry point."""
