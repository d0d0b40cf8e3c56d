"""Finding detectors by name: the Python entry-point group `charter.detectors`.

Each entry point names a callable that takes no argument and returns a `Detector` (a
class will do). The built-in detectors are registered there too, by Charter's own
package metadata, so a plugin and a built-in are found the same way.
"""

from __future__ import annotations

from .model import Detector

GROUP = "charter.detectors"

# The built-in detectors as pyproject.toml registers them, found from here too where the
# installed metadata predates one (an editable install made before it was added).
BUILT_IN = {
    "language": "charter.detectors.language:LanguageDetector",
    "profanity": "charter.detectors.profanity:ProfanityDetector",
    "secrets": "charter.detectors.secrets:SecretsDetector",
    "sentiment": "charter.detectors.sentiment:SentimentDetector",
}


def _registered() -> list:
    """The group's entry points, and the built-in ones the metadata lacks. importlib.metadata
    (with email, csv and zipfile) is imported here, not at start-up: about 20 ms a command
    that names no detector spares."""
    from importlib.metadata import EntryPoint, entry_points

    found = list(entry_points(group=GROUP))
    known = {ep.name for ep in found}
    return found + [EntryPoint(name, target, GROUP) for name, target in BUILT_IN.items() if name not in known]


def names() -> list[str]:
    """The detectors installed, sorted."""
    return sorted({ep.name for ep in _registered()})


def load(name: str) -> Detector | str:
    """The detector called `name`, or why there is none (never raises: a detector that
    cannot be had leaves its labels unknown, it does not stop a run)."""
    found = [ep for ep in _registered() if ep.name == name]
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
