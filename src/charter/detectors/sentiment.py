"""`sentiment`: how negative or positive a message is, by VADER (vaderSentiment, the
`sentiment` extra), a lexicon and rules for social-media English; the lexicon ships in
the package: offline.

The value is VADER's compound score moved to [0, 1]: 0 the most negative, 0.5 neutral
(no word VADER knows), 1 the most positive. Unless the policy declares its own band, a
score strictly inside `BAND` is unknown: below it a text is read as negative, from its
top as not negative (docs/detectors.md says how the band was measured). VADER reads
English words; other languages mostly score a neutral 0.5.
"""

from __future__ import annotations

from typing import Sequence

from .model import Detection

BAND = (0.15, 0.55)


class SentimentDetector:
    name = "sentiment"
    band = BAND

    def __init__(self) -> None:
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError as error:
            raise ImportError("install charter[sentiment] (vaderSentiment)") from error
        from importlib.metadata import version

        self.version = f"vaderSentiment-{version('vaderSentiment')}"
        self._vader = SentimentIntensityAnalyzer()

    def detect(self, texts: Sequence[str]) -> list[Detection]:
        score = self._vader.polarity_scores
        return [Detection(round((score(text)["compound"] + 1) / 2, 4)) for text in texts]
