"""Finding detectors by name: the Python entry-point group `charter.detectors`.

Each entry point names a callable that takes no argument and returns a `Detector` (a
class will do). The built-in detectors are registered there too, by Charter's own
package metadata, so a plugin and a built-in are found the same way.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from .model import Detector

GROUP = "charter.detectors"


def names() -> list[str]:
    """The detectors installed, sorted."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def load(name: str) -> Detector | str:
    """The detector called `name`, or why there is none (never raises: a detector that
    cannot be had leaves its labels unknown, it does not stop a run)."""
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        installed = ", ".join(names()) or "none"
        return f"detector `{name}` is not installed (installed: {installed})"
    try:
        detector = found[0].load()()
    except Exception as error:  # noqa: BLE001 - a plugin's failure, reported as a value
        return f"detector `{name}` cannot start: {type(error).__name__}: {error}"
    if not isinstance(detector, Detector):
        return f"detector `{name}` does not have a name, a version and detect(texts)"
    return detector
