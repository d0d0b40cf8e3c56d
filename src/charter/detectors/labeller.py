"""Detected labels added to traces before they are checked.

A label is detected where a policy declares `label NAME from detector D` (or the
command line maps `--detector NAME=D`), on the messages of the roles the policy reads
it on, when the message does not carry the label itself: a trace's own value always
wins. Each detector is called once per batch of traces, on the distinct texts of the
batch that neither this run (while they fit in `MEMORY`) nor the disk cache (`Store`)
has an answer for; each call is bounded in time (`timeout`). A detector that fails on
a batch is asked again text by text, so that a text it cannot judge costs only that
text's label; one that times out or is `Unavailable` costs the batch, without asking
again. What a detector cannot judge, is unsure of or cannot run for becomes a `Doubt`,
an unknown fact that names the detector; where each value came from is kept in
`Trace.detected` for the explanations.
"""

from __future__ import annotations

import math
import threading
from typing import Callable, Iterable, Sequence

import attrs

from ..traces.model import Message, Trace
from . import registry
from .model import CACHE, CALL, TRACE, Detection, Detector, Doubt, Source, Unavailable, Value
from .store import TEXT, Store

# Texts whose answers are kept for the rest of the run, per detector.
MEMORY = 100_000
# The most texts sent to a detector in one call.
CALL_TEXTS = 256
# How long one call may take, in seconds, unless the run says otherwise (--detector-timeout).
DEFAULT_TIMEOUT = 60.0

# An answer as kept for the run: the detector's (None: it could not judge the text; a
# Doubt: it failed, timed out or cannot run) with where it came from (None: no detector ran).
Answer = tuple[Detection | Doubt | None, Source | None]


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


class _TimedOut(Exception):
    pass


class Labeller:
    """Adds detected labels to batches of traces (made once per run, or per worker).

    `load` finds a detector by name (`registry.load`, or `settings.Settings.load` for
    the configured HTTP detectors); `store` is the disk cache (None: none); `timeout`
    bounds each call in seconds (None: unbounded). `label` may be called from several
    threads (a Dask worker's): one batch at a time."""

    def __init__(self, wanted: Iterable[Wanted], load: Callable[[str], Detector | str] = registry.load,
                 store: Store | None = None, timeout: float | None = DEFAULT_TIMEOUT):
        self.wanted = tuple(wanted)
        self.detectors: dict[str, Detector | str] = {}
        for want in self.wanted:
            if want.detector not in self.detectors:
                self.detectors[want.detector] = load(want.detector)
        # A detector's own band, where the policy declares none.
        self.wanted = tuple(attrs.evolve(w, band=w.band or getattr(self.detectors[w.detector], "band", None))
                            for w in self.wanted)
        self.memory: dict[str, dict[str, Answer]] = {name: {} for name in self.detectors}
        self._carried = {name: Source(name, None, TRACE) for name in self.detectors}  # one per detector
        self.store, self.timeout = store, timeout
        self.calls = 0  # detector calls made, for the cache's tests and the benchmark
        self._busy: dict[str, threading.Thread] = {}  # a call that timed out and still runs
        self._lock = threading.Lock()
        self._store_said = False

    @property
    def problems(self) -> list[str]:
        """Why some detectors cannot run (their labels are unknown throughout)."""
        return [d for d in self.detectors.values() if isinstance(d, str)]

    def label(self, traces: Sequence[Trace]) -> list[Trace]:
        """Each trace with its detected labels and their sources (`Trace.detected`), a note
        (`Trace.notes`) per message a detector failed on, and on the first trace a note
        when the disk cache stopped working."""
        with self._lock:
            # A trace a labeller went through already (charter check's workers, then the
            # Policy it calls) keeps its labels and their sources.
            fresh = [trace for trace in traces if trace.detected is None]
            for name in self.detectors:
                self._judge(name, {m.content for t in fresh for m in t.messages if self._needs(name, m)})
            done = iter([self._labelled(trace) for trace in fresh])
            labelled = [next(done) if trace.detected is None else trace for trace in traces]
            if self.store is not None and self.store.problem and not self._store_said and labelled:
                self._store_said = True
                labelled[0] = attrs.evolve(labelled[0], notes=labelled[0].notes + (self.store.problem,))
            return labelled

    def label_among(self, records: Sequence[object]) -> list:
        """`records` with each trace among them labelled (`label`), the others as they are."""
        labelled = iter(self.label([r for r in records if isinstance(r, Trace)]))
        return [next(labelled) if isinstance(r, Trace) else r for r in records]

    def _needs(self, detector: str, message: Message) -> bool:
        return bool(message.content) and any(
            w.detector == detector and message.role in w.roles and w.label not in message.labels for w in self.wanted)

    def _judge(self, name: str, texts: set[str]) -> None:
        """Answers for the texts not judged yet: from the disk cache, then from calls of
        at most CALL_TEXTS texts, whose answers the cache keeps."""
        memory = self.memory[name]
        new = texts - memory.keys()
        if len(memory) + len(new) > MEMORY:
            memory.clear()
            new = set(texts)
        detector = self.detectors[name]
        if isinstance(detector, str):
            memory.update(dict.fromkeys(new, (Doubt(detector), None)))
            return
        version = str(detector.version)
        if self.store is not None and new:
            for text, answer in self.store.get(name, version, TEXT, new).items():
                memory[text] = (answer, _source(name, version, CACHE, answer))
            new -= memory.keys()
        ordered = sorted(new)
        for start in range(0, len(ordered), CALL_TEXTS):
            chunk = ordered[start:start + CALL_TEXTS]
            answers = self._call(detector, chunk)
            memory.update((t, (a, _source(name, version, CALL, a))) for t, a in zip(chunk, answers))
            if self.store is not None:
                self.store.put(name, version, TEXT, {t: a for t, a in zip(chunk, answers) if not isinstance(a, Doubt)})

    def _call(self, detector: Detector, texts: list[str]) -> list[Detection | Doubt | None]:
        self.calls += 1
        name = detector.name
        try:
            answers = self._bounded(detector, texts)
            if len(answers) != len(texts):
                raise ValueError(f"{len(answers)} answers for {len(texts)} texts")
        except _TimedOut as busy:
            return [Doubt(f"detector `{name}` {busy}")] * len(texts)
        except Unavailable as error:
            return [Doubt(f"detector `{name}` is unavailable: {error}")] * len(texts)
        except Exception as error:  # noqa: BLE001 - a plugin's failure costs its labels, not the run
            if len(texts) > 1:
                return [answer for text in texts for answer in self._call(detector, [text])]
            return [Doubt(f"detector `{name}` failed: {type(error).__name__}: {error}")]
        return [_answer(name, a) for a in answers]

    def _bounded(self, detector: Detector, texts: list[str]) -> list:
        """`detector.detect(texts)`, in a thread given `timeout` seconds. A call that takes
        longer is left to finish on its own (a thread cannot be stopped), and the detector
        is not called again while it runs: it is never run twice at once."""
        if self.timeout is None:
            return list(detector.detect(texts))
        running = self._busy.get(detector.name)
        if running is not None and running.is_alive():
            raise _TimedOut(f"is still busy with a call that took longer than {self.timeout:g} s")
        result: dict[str, object] = {}

        def call() -> None:
            try:
                result["answers"] = list(detector.detect(texts))
            except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
                result["error"] = error

        thread = threading.Thread(target=call, name=f"charter-detector-{detector.name}", daemon=True)
        thread.start()
        thread.join(self.timeout)
        if thread.is_alive():
            self._busy[detector.name] = thread
            raise _TimedOut(f"timed out after {self.timeout:g} s")
        if "error" in result:
            raise result["error"]  # type: ignore[misc]
        return result["answers"]  # type: ignore[return-value]

    def _labelled(self, trace: Trace) -> Trace:
        notes: list[str] = []
        detected: dict[str, Source] = {}
        messages = list(trace.messages)
        changed = False
        for i, message in enumerate(messages):
            added: dict[str, Value | Doubt] = {}
            for want in self.wanted:
                if message.role not in want.roles or not message.content:
                    continue
                fact = f"messages[{message.index}].labels.{want.label}"
                if want.label in message.labels:
                    detected[fact] = self._carried[want.detector]
                    continue
                answer, source = self.memory[want.detector].get(message.content, (None, None))
                value = _value(want, answer)
                added[want.label] = value
                if source is not None:
                    detected[fact] = source
                if isinstance(answer, Doubt) and source is not None:  # a failure, not a detector missing
                    notes.append(f"{fact}: {answer.why}")
            if added:
                messages[i] = attrs.evolve(message, labels={**message.labels, **added})
                changed = True
        if not changed and not detected:
            return trace
        return attrs.evolve(trace, messages=tuple(messages), notes=trace.notes + tuple(notes),
                            detected={**(trace.detected or {}), **detected})


def _source(name: str, version: str, origin: str, answer: Detection | Doubt | None) -> Source:
    if isinstance(answer, Detection):
        return Source(name, version, origin, answer.value, answer.confidence)
    return Source(name, version, origin)


def _answer(name: str, answer: object) -> Detection | Doubt | None:
    """A detector's answer for one text, checked: a Detection of a number, boolean or
    string, with a confidence in [0, 1] if any; None (it cannot judge the text)."""
    if answer is None:
        return None
    if not isinstance(answer, Detection):
        return Doubt(f"detector `{name}` answered {answer!r}, not a Detection")
    value, confidence = answer.value, answer.confidence
    if not isinstance(value, (bool, int, float, str)) or (isinstance(value, float) and not math.isfinite(value)):
        return Doubt(f"detector `{name}` answered {value!r}, not a number, a boolean or a string")
    if confidence is not None and not (isinstance(confidence, (int, float)) and 0 <= confidence <= 1):
        return Doubt(f"detector `{name}` answered a confidence of {confidence!r}, not in [0, 1]")
    return answer


def _value(want: Wanted, answer: Detection | Doubt | None) -> Value | Doubt:
    """The label's value from a detector's answer, under the declared confidence."""
    if answer is None:
        return Doubt(f"detector `{want.detector}` could not judge this text")
    if isinstance(answer, Doubt):
        return answer
    confident = answer.confidence is None or want.confidence is None or answer.confidence >= want.confidence
    band = want.band
    if confident and band is not None and isinstance(answer.value, float) and band[0] < answer.value < band[1]:
        return Doubt(f"detector `{want.detector}` said {answer.value:.2f}, inside the uncertainty band "
                     f"({band[0]}, {band[1]})", answer.value)
    if confident:
        return answer.value
    return Doubt(f"detector `{want.detector}` said {answer.value!r} with confidence {answer.confidence:.2f}, "
                 f"below the {want.confidence} declared", answer.value)
