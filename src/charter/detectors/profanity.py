"""`profanity`: how offensive a message is, by alt-profanity-check (the `profanity`
extra), a linear SVM over word n-grams trained on ~200,000 human-labelled texts, whose
model ships in its wheel: offline.

The value is the model's probability that the text is offensive (insults, abuse,
vulgarity), in [0, 1]. Unless the policy declares its own band, a score strictly inside
`BAND` is unknown: the library is unsure there, and a verdict that hinges on it is
`unspecified` (docs/detectors.md says how the band was measured).
"""

from __future__ import annotations

from typing import Sequence

from .model import Detection

BAND = (0.5, 0.85)


class ProfanityDetector:
    name = "profanity"
    band = BAND

    def __init__(self) -> None:
        try:
            from profanity_check import predict_prob
        except ImportError as error:
            raise ImportError("install charter[profanity] (alt-profanity-check)") from error
        from importlib.metadata import version

        self.version = f"alt-profanity-check-{version('alt-profanity-check')}"
        self._predict = predict_prob

    def detect(self, texts: Sequence[str]) -> list[Detection]:
        return [Detection(round(float(p), 4)) for p in self._predict(list(texts))]
