"""Put tests/ on the import path so that `oracle` and `property` import the same way
however pytest was started."""

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent.parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
