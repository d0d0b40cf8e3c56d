"""How a run detects labels: which labels the command line maps to detectors, the disk
cache, the time bound of a call, and the HTTP detectors a configuration file declares.

`Settings` is a small frozen value, sent as it is to --jobs workers and to Dask and
Spark workers; each makes its `Labeller` from it (`facts.detected.labeller`). The
configuration file (`charter check --detector-config FILE`) is TOML, one table per HTTP
detector, named as policies and --detector name it:

    [detectors.moderation]
    kind = "openai"                                  # or "json"
    url = "https://api.openai.com/v1/moderations"
    model = "omni-moderation-latest"
    category = "harassment"                          # none: the highest category score
    api_key_env = "OPENAI_API_KEY"                   # the key is read from this variable

The other keys and their defaults are `endpoint.Service`'s (docs/detectors.md). A
configured name hides an installed detector of the same name.
"""

from __future__ import annotations

import tomllib
from typing import Any

import attrs

from . import registry
from .endpoint import KINDS, HttpDetector, Service
from .labeller import DEFAULT_TIMEOUT
from .model import Detector
from .store import Store


@attrs.frozen
class Settings:
    """`mapping`: (label, detector) pairs beside the policy's declarations (--detector);
    `cache`: the disk cache's path (None: no disk cache); `timeout`: the bound of one
    detector call in seconds (None: unbounded); `services`: the configured HTTP detectors."""

    mapping: tuple[tuple[str, str], ...] = ()
    cache: str | None = None
    timeout: float | None = DEFAULT_TIMEOUT
    services: tuple[Service, ...] = ()

    def load(self, name: str) -> Detector | str:
        """The detector called `name`: a configured HTTP detector, else an installed one;
        or why there is none."""
        for service in self.services:
            if service.name == name:
                try:
                    return HttpDetector(service)
                except LookupError as error:
                    return f"detector `{name}` cannot start: {error}"
        return registry.load(name)

    def names(self) -> list[str]:
        """The detectors this run can use: installed and configured."""
        return sorted({*registry.names(), *(s.name for s in self.services)})

    def store(self) -> Store | None:
        return None if self.cache is None else Store(self.cache)


# key: (the types it may have, what to say when it has another); `name` is the table's.
_KEYS: dict[str, tuple[tuple[type, ...], str]] = {
    "kind": ((str,), f"one of {', '.join(KINDS)}"), "url": ((str,), "an http:// or https:// URL"),
    "model": ((str,), "a string"), "category": ((str,), "a string"), "request_field": ((str,), "a string"),
    "scores": ((str,), "a dotted path such as results.*.score"), "api_key_env": ((str,), "a variable's name"),
    "version": ((str,), "a string"), "timeout": ((int, float), "a number of seconds > 0"),
    "retries": ((int,), "a whole number >= 0"), "backoff": ((int, float), "a number of seconds >= 0"),
    "batch": ((int,), "a whole number >= 1"),
}


def read_config(path: str) -> tuple[Service, ...] | str:
    """The HTTP detectors a configuration file declares, or what is wrong with it, located
    (`FILE: detectors.NAME.KEY: ...`)."""
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as error:
        return f"{path}: cannot be read ({error.strerror or error})"
    except tomllib.TOMLDecodeError as error:
        return f"{path}: not TOML: {error}"
    unknown = sorted(set(data) - {"detectors"})
    if unknown:
        return f"{path}: `{unknown[0]}`: unknown table (detectors are declared as [detectors.NAME])"
    tables = data.get("detectors", {})
    services = []
    for name, table in tables.items():
        made = _service(name, table) if isinstance(table, dict) else "a table of keys, [detectors.NAME]"
        if isinstance(made, str):
            return f"{path}: detectors.{name}{made if made.startswith('.') else ': ' + made}"
        services.append(made)
    return tuple(services)


def _service(name: str, table: dict[str, Any]) -> Service | str:
    for key, value in table.items():
        if key not in _KEYS:
            return f".{key}: unknown key (the keys are {', '.join(_KEYS)})"
        types, expected = _KEYS[key]
        if not isinstance(value, types) or isinstance(value, bool) or not _admissible(key, value):
            return f".{key}: {value!r} is not {expected}"
    if "url" not in table:
        return "the `url` is missing"
    if table.get("kind", "openai") == "json" and "scores" not in table:
        return "a json detector needs `scores`, the path of the values in the answer (results.*.score)"
    return Service(name, **table)


def _admissible(key: str, value: Any) -> bool:
    if key == "kind":
        return value in KINDS
    if key == "url":
        return value.startswith(("http://", "https://"))
    if key == "timeout":
        return value > 0
    if key in ("retries", "backoff"):
        return value >= 0
    if key == "batch":
        return value >= 1
    return bool(value)
