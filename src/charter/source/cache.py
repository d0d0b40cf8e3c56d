"""This user's cache directory for Charter: what a run can keep for the next one (the
parser's tables, checked policies). Everything in it is safe to delete."""

from __future__ import annotations

import os


def cache_directory() -> str | None:
    """`$XDG_CACHE_HOME/charter` (`~/.cache/charter`), made readable by this user only
    (the files in it are pickles); None when it cannot be made."""
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(home, "charter")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return directory
