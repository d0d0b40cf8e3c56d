"""`secrets`: credentials in a message's text, by Yelp's detect-secrets (the `secrets`
extra), with its default plugins. Offline: the plugins are regexes and entropy tests.

The value is a score saying how sure the find is: 1.0 when a plugin for a known
credential format matched (an AWS or Stripe key, a GitHub token, a private key, ...),
0.8 for a value assigned to a secret-looking name (`password = "..."`, the keyword
plugin), 0.6 for a string whose only sign is its high entropy (often a hash or an id),
0.0 for nothing found. A band such as `uncertain between 0.5 and 0.9` leaves the
keyword and entropy finds to a person. Each line of the text is scanned as detect-secrets
scans a string given on its command line, high-entropy candidates kept only above the
plugin's own entropy limit.
"""

from __future__ import annotations

from typing import Sequence

from .model import Detection

KEYWORD, ENTROPY, NOTHING = 0.8, 0.6, 0.0


class SecretsDetector:
    name = "secrets"

    def __init__(self) -> None:
        try:
            from detect_secrets.core import scan
            from detect_secrets.settings import default_settings
        except ImportError as error:
            raise ImportError("install charter[secrets] (detect-secrets)") from error
        from importlib.metadata import version

        self.version = f"detect-secrets-{version('detect-secrets')}"
        self._scan, self._settings = scan, default_settings

    def detect(self, texts: Sequence[str]) -> list[Detection]:
        with self._settings():
            plugins = {p.secret_type: p for p in self._scan.get_plugins()}
            return [Detection(max((self._score(s, plugins) for line in text.splitlines()
                                   for s in self._scan.scan_line(line)), default=NOTHING))
                    for text in texts]

    @staticmethod
    def _score(secret, plugins) -> float:
        plugin = plugins.get(secret.type)
        limit = getattr(plugin, "entropy_limit", None)
        if limit is not None:  # an entropy plugin: scan_line reports every candidate, with its entropy
            return ENTROPY if plugin.calculate_shannon_entropy(secret.secret_value or "") > limit else NOTHING
        return KEYWORD if secret.type == "Secret Keyword" else 1.0
