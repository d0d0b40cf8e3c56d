"""Detected labels added to traces before they are checked.

A label is detected where a policy declares `label NAME from detector D` (or the
command line maps `--detector NAME=D`), on the messages of the roles the policy reads
it on, when the message does not carry the label itself: a trace's own value always
wins. Each detector is called once per batch of traces, on the distinct texts of the
batch, and each text is judged once per run (results are kept by text while they fit
in `MEMORY`). A detector that fails on a batch is asked again text by text, so that a
text it cannot judge costs only that text's label; what it cannot judge, is unsure of
or cannot run for becomes a `Doubt`, an unknown fact that names the detector.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import attrs

from ..traces.model import Message, Trace
from . import registry
from .model import Detection, Detector, Doubt, Value

# Texts whose answers are kept for the rest of the run, per detector.
MEMORY = 100_000
# The most texts sent to a detector in one call.
CALL_TEXTS = 256


@attrs.frozen
class Wanted:
    """One detected label: its name, the detector's name, the roles it is read on, the
    confidence under which a detection is unknown (`uncertain below C`), and the band
    inside which a score is (`uncertain between LOW and HIGH`; else the detector's own
    `band`, if it has one)."""

    label: str
    detector: str
    roles: frozenset[str]
    confidence: float | None = None
    band: tuple[float, float] | None = None


class Labeller:
    """Adds detected labels to batches of traces (made once per run, or per worker)."""

    def __init__(self, wanted: Iterable[Wanted], load: Callable[[str], Detector | str] = registry.load):
        self.wanted = tuple(wanted)
        self.detectors: dict[str, Detector | str] = {}
        for want in self.wanted:
            if want.detector not in self.detectors:
                self.detectors[want.detector] = load(want.detector)
        # A detector's own band, where the policy declares none.
        self.wanted = tuple(attrs.evolve(w, band=w.band or getattr(self.detectors[w.detector], "band", None))
                            for w in self.wanted)
        self.memory: dict[str, dict[str, Detection | Doubt]] = {name: {} for name in self.detectors}
        self.calls = 0  # detector calls made, for the cache's tests and the benchmark

    @property
    def problems(self) -> list[str]:
        """Why some detectors cannot run (their labels are unknown throughout)."""
        return [d for d in self.detectors.values() if isinstance(d, str)]

    def label(self, traces: Sequence[Trace]) -> list[Trace]:
        """Each trace with its detected labels, and a note (`Trace.notes`) per message a
        detector failed on."""
        for name in self.detectors:
            self._judge(name, {m.content for t in traces for m in t.messages if self._needs(name, m)})
        return [self._labelled(trace) for trace in traces]

    def _needs(self, detector: str, message: Message) -> bool:
        return bool(message.content) and any(
            w.detector == detector and message.role in w.roles and w.label not in message.labels for w in self.wanted)

    def _judge(self, name: str, texts: set[str]) -> None:
        """Answers for the texts not judged yet, in calls of at most CALL_TEXTS texts."""
        memory = self.memory[name]
        new = sorted(texts - memory.keys())
        if len(memory) + len(new) > MEMORY:
            memory.clear()
        detector = self.detectors[name]
        for start in range(0, len(new), CALL_TEXTS):
            chunk = new[start:start + CALL_TEXTS]
            if isinstance(detector, str):
                memory.update(dict.fromkeys(chunk, Doubt(detector)))
            else:
                memory.update(zip(chunk, self._call(detector, chunk)))

    def _call(self, detector: Detector, texts: list[str]) -> list[Detection | Doubt]:
        self.calls += 1
        try:
            answers = list(detector.detect(texts))
            if len(answers) != len(texts):
                raise ValueError(f"{len(answers)} answers for {len(texts)} texts")
        except Exception as error:  # noqa: BLE001 - a plugin's failure costs its labels, not the run
            if len(texts) > 1:
                return [answer for text in texts for answer in self._call(detector, [text])]
            return [Doubt(f"detector `{detector.name}` failed: {type(error).__name__}: {error}")]
        return [_answer(detector.name, a) for a in answers]

    def _labelled(self, trace: Trace) -> Trace:
        notes: list[str] = []
        messages = list(trace.messages)
        changed = False
        for i, message in enumerate(messages):
            added: dict[str, Value | Doubt] = {}
            for want in self.wanted:
                if want.label in message.labels or message.role not in want.roles or not message.content:
                    continue
                answer = self.memory[want.detector].get(message.content)
                value = _value(want, answer)
                added[want.label] = value
                if isinstance(value, Doubt) and " failed: " in value.why:
                    notes.append(f"messages[{message.index}].labels.{want.label}: {value.why}")
            if added:
                messages[i] = attrs.evolve(message, labels={**message.labels, **added})
                changed = True
        if not changed:
            return trace
        return attrs.evolve(trace, messages=tuple(messages), notes=trace.notes + tuple(notes))


def _answer(name: str, answer: object) -> Detection | Doubt:
    if isinstance(answer, Detection):
        return answer
    if answer is None:
        return Doubt(f"detector `{name}` could not judge this text")
    return Doubt(f"detector `{name}` answered {answer!r}, not a Detection")


def _value(want: Wanted, answer: Detection | Doubt | None) -> Value | Doubt:
    """The label's value from a detector's answer, under the declared confidence."""
    if answer is None or isinstance(answer, Doubt):
        return answer or Doubt(f"detector `{want.detector}` gave no answer")
    confident = answer.confidence is None or want.confidence is None or answer.confidence >= want.confidence
    band = want.band
    if confident and band is not None and isinstance(answer.value, float) and band[0] < answer.value < band[1]:
        return Doubt(f"detector `{want.detector}` said {answer.value:.2f}, inside the uncertainty band "
                     f"({band[0]}, {band[1]})", answer.value)
    if confident:
        return answer.value
    return Doubt(f"detector `{want.detector}` said {answer.value!r} with confidence {answer.confidence:.2f}, "
                 f"below the {want.confidence} declared", answer.value)
