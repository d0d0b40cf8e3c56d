"""`language`: the language a message is written in, by lingua-language-detector (the
`language` extra). Offline: the library ships its models in its wheel.

The value is the ISO 639-1 code of the likeliest language (`"en"`, `"fr"`); the
confidence is lingua's for it, in [0, 1] (the likeliest's share among the languages
considered). Short or mixed texts get low confidences, so declare a floor:
`label language: string from detector language uncertain below 0.5`. A text in which
lingua finds no language at all (digits, an emoji) gets no answer: unknown.

It considers the `LANGUAGES` below, in lingua's low-accuracy mode (trigram models only):
it starts in half a second instead of ten, and judges a text in about 0.05 ms. That mode
is reliable from about 120 characters (lingua's documentation); below, it can be sure and
wrong: of the 572 distinct user and assistant texts of the Model Spec examples, 23 short
English ones ("Massachusetts is my favorite state!") came out German, Portuguese, ...
with a confidence of 0.5 or more. So on a text shorter than `RELIABLE_CHARS` the
confidence is lingua's times the text's share of that length, except for a language
whose script no other considered language writes (`OWN_SCRIPT`: Arabic, Hebrew, Hindi,
Korean): then 2 such misreadings are left, and 163 texts are unsure instead.
"""

from __future__ import annotations

from typing import Sequence

from .model import Detection

LANGUAGES = (
    "ARABIC", "CHINESE", "DUTCH", "ENGLISH", "FRENCH", "GERMAN", "HEBREW", "HINDI", "INDONESIAN", "ITALIAN",
    "JAPANESE", "KOREAN", "POLISH", "PORTUGUESE", "RUSSIAN", "SPANISH", "SWEDISH", "TURKISH", "UKRAINIAN",
    "VIETNAMESE",
)
RELIABLE_CHARS = 120
OWN_SCRIPT = frozenset({"ar", "he", "hi", "ko"})


class LanguageDetector:
    name = "language"

    def __init__(self) -> None:
        try:
            import lingua
        except ImportError as error:
            raise ImportError("install charter[language] (lingua-language-detector)") from error
        from importlib.metadata import version

        self.version = f"lingua-{version('lingua-language-detector')}-low-accuracy-{len(LANGUAGES)}"
        languages = [getattr(lingua.Language, name) for name in LANGUAGES]
        self._lingua = lingua.LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()

    def detect(self, texts: Sequence[str]) -> list[Detection | None]:
        # One text at a time, not lingua's `..._in_parallel`: its thread pool does not survive
        # the fork that starts --jobs workers (a forked worker would wait on it forever);
        # the workers are the parallelism.
        rank = self._lingua.compute_language_confidence_values
        return [_best(rank(text), len(text)) for text in texts]


def _best(values, length: int) -> Detection | None:
    if not values or values[0].value <= 0:
        return None
    top = values[0]
    code = top.language.iso_code_639_1.name.lower()
    share = 1.0 if code in OWN_SCRIPT else min(1.0, length / RELIABLE_CHARS)
    return Detection(code, top.value * share)
