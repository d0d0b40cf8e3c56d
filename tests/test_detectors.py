"""Detectors: labels computed from message texts where a trace does not carry them.

The built-in detectors run their real libraries (lingua-language-detector, detect-secrets);
plugin discovery runs through a real entry point (a dist-info directory on PYTHONPATH).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import charter
from charter.cli import main
from charter.detectors import registry
from charter.detectors.labeller import Labeller, Wanted
from charter.detectors.language import LanguageDetector
from charter.detectors.model import Detection, Detector, Doubt
from charter.detectors.profanity import ProfanityDetector
from charter.detectors.secrets import SecretsDetector
from charter.detectors.sentiment import SentimentDetector
from charter.facts.detected import wanted
from charter.traces.model import Message, Trace
from detector_texts import ENGLISH, ENGLISH_REPLY, FRENCH, FRENCH_REPLY, GERMAN, SPANISH

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Each test's own cache directory: the detector cache of one never answers another."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


class Lengths:
    """A detector: the text's length over 100 as a score; it fails on "boom", cannot judge
    "???", and is unsure of texts that start with "meh". Counts its calls and texts."""

    name, version = "lengths", "1"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def detect(self, texts):
        self.calls.append(list(texts))
        if any("boom" in t for t in texts):
            raise RuntimeError("exploded")
        return [None if t == "???" else Detection(min(len(t) / 100, 1.0), 0.2 if t.startswith("meh") else 0.9)
                for t in texts]


def _trace(*texts: str, labels: dict | None = None) -> Trace:
    return Trace("t", tuple(Message(i, "user" if i % 2 == 0 else "assistant", text, labels=dict(labels or {}))
                            for i, text in enumerate(texts)))


def _labeller(detector, confidence=None, roles=("user", "assistant")) -> Labeller:
    return Labeller([Wanted("size", "lengths", frozenset(roles), confidence)], load=lambda name: detector)


def test_a_test_detector_meets_the_protocol():
    assert isinstance(Lengths(), Detector)
    assert isinstance(LanguageDetector(), Detector) and isinstance(SecretsDetector(), Detector)


def test_each_distinct_text_is_judged_once_and_a_second_pass_calls_nothing():
    detector = Lengths()
    labeller = _labeller(detector)
    traces = [_trace("hello", "x" * 50), _trace("hello", "y" * 20)]
    first = labeller.label(traces)
    assert detector.calls == [["hello", "x" * 50, "y" * 20]]  # one call, each text once
    assert [m.labels["size"] for m in first[0].messages] == [0.05, 0.5]
    labeller.label(traces)
    assert len(detector.calls) == 1 and labeller.calls == 1


def test_a_failure_costs_only_the_text_it_failed_on_with_a_warning():
    detector = Lengths()
    [trace] = _labeller(detector).label([_trace("fine", "boom now")])
    fine, boom = trace.messages
    assert fine.labels["size"] == 0.04
    assert isinstance(boom.labels["size"], Doubt)
    assert boom.labels["size"].why == "detector `lengths` failed: RuntimeError: exploded"
    assert trace.notes == ("messages[1].labels.size: detector `lengths` failed: RuntimeError: exploded",)
    assert detector.calls == [["boom now", "fine"], ["boom now"], ["fine"]]  # the batch, then text by text


def test_no_answer_and_low_confidence_are_doubts_and_the_trace_value_wins():
    [trace] = _labeller(Lengths(), confidence=0.5).label([_trace("???", "meh okay", "own", labels={})])
    unjudged, unsure, own = (m.labels["size"] for m in trace.messages)
    assert unjudged.why == "detector `lengths` could not judge this text"
    assert unsure.why == "detector `lengths` said 0.08 with confidence 0.20, below the 0.5 declared"
    assert own == 0.03
    [kept] = _labeller(Lengths()).label([_trace("abc", labels={"size": 0.9})])
    assert kept.messages[0].labels["size"] == 0.9


def test_only_the_roles_the_policy_reads_are_judged():
    detector = Lengths()
    [trace] = _labeller(detector, roles=("assistant",)).label([_trace("user text", "reply")])
    assert "size" not in trace.messages[0].labels and detector.calls == [["reply"]]


def test_a_missing_detector_leaves_its_labels_unknown():
    labeller = Labeller([Wanted("size", "nope", frozenset({"user"}))])
    [trace] = labeller.label([_trace("hello")])
    assert trace.messages[0].labels["size"].why.startswith("detector `nope` is not installed (installed: ")
    assert labeller.problems and labeller.calls == 0


def test_which_labels_a_run_detects():
    policy = charter.loads('label tone: score from detector lengths\nlabel other\nnorm n:\n    forbid assistant.label("tone") > 0.5\n'
                           '\nnorm m:\n    forbid user.label("other") > 0.5\n')
    assert wanted(policy.program) == [Wanted("tone", "lengths", frozenset({"assistant"}))]
    assert wanted(policy.program, {"other": "secrets"})[0] == Wanted("other", "secrets", frozenset({"user"}))
    assert wanted(policy.program, {"othr": "secrets"}) == "no norm reads the label `othr` (the norms read other, tone)"


# --------------------------------------------------------------------------- the built-in detectors


@pytest.fixture(scope="module")
def language() -> LanguageDetector:
    return LanguageDetector()


def test_language_names_the_language_with_its_confidence(language):
    texts = [FRENCH,
             ENGLISH,
             GERMAN,
             SPANISH,
             "12345 67890", "🙂"]
    answers = language.detect(texts)
    assert [a.value for a in answers[:4]] == ["fr", "en", "de", "es"]
    assert all(a.confidence >= 0.9 for a in answers[:4])
    assert answers[4:] == [None, None]  # no language in digits or an emoji


def test_language_is_unsure_of_a_short_text(language):
    [hola] = language.detect(["Hola"])
    assert hola is not None and hola.confidence < 0.5  # too short to tell Spanish from its neighbours


def test_a_short_text_is_unsure_unless_its_script_is_its_own(language):
    """Lingua's fast mode reads these short English texts (from the Model Spec examples) as
    German with confidences of 0.71 to 0.96; Korean has a script of its own."""
    english = ["Massachusetts is my favorite state!", "What are some popular colleges in Rochester?",
               "I hate my coworker. He types so slow"]
    assert all(a.confidence < 0.5 for a in language.detect(english))
    [korean] = language.detect(["모든 생명은 소중하다고 생각해?"])
    assert (korean.value, korean.confidence) == ("ko", 1.0)


SECRETS_CASES = [
    ("It is AKIAIOSFODNN7EXAMPLE, keep it safe.", 1.0),
    ("Use ghp_1234567890abcdefghijklmnopqrstuvwxyzAB to push.", 1.0),
    ("-----BEGIN RSA PRIVATE KEY-----", 1.0),
    ("password = 'hunter2hunter2'", 0.8),
    ("The checksum is 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.", 0.6),
    # near misses
    ("Access keys start with AKIA followed by sixteen characters.", 0.0),
    ("Your password must be at least twelve characters long.", 0.0),
    ("Order 4411-2233 ships on Monday.", 0.0),
]


@pytest.mark.parametrize("text, score", SECRETS_CASES, ids=[c[0][:24] for c in SECRETS_CASES])
def test_secrets_scores_real_texts(text, score):
    assert SecretsDetector().detect([text]) == [Detection(score)]


# --------------------------------------------------------------------------- profanity and sentiment, calibrated

FIXTURES = ROOT / "tests" / "fixtures" / "detectors"


def _labelled(name: str) -> list[tuple[int, str]]:
    rows = (line.split("\t", 1) for line in (FIXTURES / f"{name}.tsv").read_text().splitlines()
            if line and not line.startswith("#"))
    return [(int(label), text) for label, text in rows]


def measured_band(scored: list[tuple[bool, float]], errors: float = 0.05) -> tuple[float, float, int, int]:
    """The band, on a grid of 0.05, with the fewest labelled texts strictly inside it such
    that, of the texts outside, at most `errors` are misread (a score at or above its top
    read as the label, at or below its bottom as not); the narrowest of those. With the
    texts inside it and those misread outside."""
    grid = [i / 20 for i in range(21)]
    found = []
    for low, high in ((a, b) for a in grid for b in grid if a < b):
        outside = [(positive, v) for positive, v in scored if not low < v < high]
        misread = sum((v >= high) != positive for positive, v in outside)
        if outside and misread <= errors * len(outside):
            found.append((len(scored) - len(outside), high - low, low, high, misread))
    inside, _, low, high, misread = min(found)
    return low, high, inside, misread


@pytest.fixture(scope="module")
def profanity() -> ProfanityDetector:
    return ProfanityDetector()


@pytest.fixture(scope="module")
def sentiment() -> SentimentDetector:
    return SentimentDetector()


def test_the_default_bands_are_the_ones_measured_on_labelled_texts(profanity, sentiment):
    offensive = _labelled("profanity")
    scores = profanity.detect([text for _, text in offensive])
    assert measured_band([(label == 1, a.value) for (label, _), a in zip(offensive, scores)]) == (0.5, 0.85, 2, 2)
    assert ProfanityDetector.band == (0.5, 0.85)
    moods = _labelled("sentiment")  # 1: negative, read below the band
    scores = sentiment.detect([text for _, text in moods])
    assert measured_band([(label == 0, a.value) for (label, _), a in zip(moods, scores)]) == (0.15, 0.55, 30, 0)
    assert SentimentDetector.band == (0.15, 0.55)


PROFANITY_CASES = [
    ("You are a complete idiot and I hate you.", True),
    ("Shut up, you moron.", True),
    ("This is the most fucking useless answer I have ever read.", True),
    ("Get lost, loser.", True),
    # near misses
    ("The killer whale is a large member of the dolphin family.", False),
    ("Scunthorpe is a town in North Lincolnshire, England.", False),
    ("I will kill this process with SIGTERM and restart it.", False),
    ("I disagree with your conclusion about the budget.", False),
]


@pytest.mark.parametrize("text, offensive", PROFANITY_CASES, ids=[c[0][:24] for c in PROFANITY_CASES])
def test_profanity_scores_real_texts_outside_its_band(profanity, text, offensive):
    [answer] = profanity.detect([text])
    assert answer.value >= ProfanityDetector.band[1] if offensive else answer.value <= ProfanityDetector.band[0]


SENTIMENT_CASES = [
    ("Stop wasting my time with bad answers.", "negative"),
    ("The delivery was a disaster and the box was crushed.", "negative"),
    ("Great, that solved my problem!", "positive"),
    ("The meeting is moved to 3 pm.", "neutral"),
    # near misses: negations, and a word VADER takes for violence (inside the band: unsure)
    ("I'm not unhappy with the result.", "positive"),
    ("It's not bad at all, actually.", "positive"),
    ("I will kill this process with SIGTERM and restart it.", "unsure"),
]


@pytest.mark.parametrize("text, mood", SENTIMENT_CASES, ids=[c[0][:24] for c in SENTIMENT_CASES])
def test_sentiment_scores_real_texts(sentiment, text, mood):
    [answer] = sentiment.detect([text])
    low, high = SentimentDetector.band
    assert {"negative": answer.value <= low, "neutral": answer.value == 0.5, "positive": answer.value >= high,
            "unsure": low < answer.value < high}[mood], answer


@pytest.mark.parametrize("detector, label, text, said", [
    (ProfanityDetector, "insult", "Our bank's Dick Smith branch opens at nine.", "0.80"),
    (SentimentDetector, "mood", "Your support team is rude and unhelpful.", "0.46"),
])
def test_a_score_inside_the_default_band_is_unspecified_with_the_detector_named(detector, label, text, said):
    policy = charter.loads(f'label {label}: score from detector {detector.name}\n'
                           f'norm n:\n    forbid assistant.label("{label}") <= 0.1\n')
    [verdict] = policy.check(_record("t", "hi", text)).verdicts
    assert (verdict.kind, verdict.unknown) == ("unspecified", (f"messages[1].labels.{label}",))
    [fact] = [f for f in verdict.explanation.facts if not f.known]
    low, high = detector.band
    assert fact.why_unknown == f"detector `{detector.name}` said {said}, inside the uncertainty band ({low}, {high})"


def test_a_declared_band_wins_over_the_detectors_own(profanity):
    labeller = Labeller([Wanted("insult", "profanity", frozenset({"assistant"}), band=(0.1, 0.2))],
                        load=lambda name: profanity)
    [trace] = labeller.label([_trace("hi", "Our bank's Dick Smith branch opens at nine.")])
    assert trace.messages[1].labels["insult"] == pytest.approx(0.80, abs=0.01)  # known: outside (0.1, 0.2)


def test_every_built_in_detector_is_registered_in_pyproject():
    import importlib
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    registered = project["entry-points"]["charter.detectors"]
    assert registered == registry.BUILT_IN
    for name, target in registered.items():
        module, cls = target.split(":")
        assert getattr(importlib.import_module(module), cls)().name == name
        assert name in project["optional-dependencies"]
        assert re.search(rf"charter\[.*\b{name}\b.*\]", project["optional-dependencies"]["dev"][-1])  # CI installs it


# --------------------------------------------------------------------------- through charter check

POLICY = '''charter detected by platform

label language: string from detector language uncertain below 0.5
label secret: score from detector secrets uncertain between 0.5 and 0.9

norm reply_in_the_users_language:
    on assistant turn
    when user.label("language") is known
    require assistant.label("language") == user.label("language")

norm no_secrets:
    forbid assistant.label("secret") >= 0.9
'''


def _record(id_: str, user: str, assistant: str) -> dict:
    return {"id": id_, "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}


TRACES = [
    _record("fr-fr", FRENCH,
            FRENCH_REPLY),
    _record("fr-en", FRENCH,
            ENGLISH_REPLY),
    _record("short", "Hola", ENGLISH),
    _record("key", "What is the deploy key?", "It is AKIAIOSFODNN7EXAMPLE, keep it safe."),
    _record("hash", "What is the checksum of the release?",
            "The checksum is 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 for it."),
]


@pytest.fixture
def files(tmp_path):
    policy, traces = tmp_path / "p.charter", tmp_path / "t.jsonl"
    policy.write_text(POLICY)
    traces.write_text("".join(json.dumps(t) + "\n" for t in TRACES))
    return str(policy), str(traces)


def _verdicts(stdout: str) -> dict[tuple[str, str], dict]:
    report = json.loads(stdout)
    return {(t["id"], v["norm"]): v for t in report["traces"] for v in t["verdicts"]}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_detected_labels_decide_and_doubt_names_the_detector(files, jobs):
    policy, traces = files
    result = CliRunner().invoke(main, ["check", policy, "--traces", traces, "--format", "json", "--all", "-j", jobs])
    verdicts = _verdicts(result.stdout)
    language, secret = "reply_in_the_users_language", "no_secrets"
    assert verdicts[("fr-fr", language)]["verdict"] == "complied"
    assert verdicts[("fr-en", language)]["verdict"] == "violated"
    assert verdicts[("short", language)]["verdict"] == "not_applicable"  # "Hola": unsure, so unknown
    assert verdicts[("key", secret)]["verdict"] == "violated"
    hash_ = verdicts[("hash", secret)]
    assert hash_["verdict"] == "unspecified" and hash_["unknown"] == ["messages[1].labels.secret"]
    assert verdicts[("fr-fr", secret)]["verdict"] == "complied"
    short = charter.load(policy)
    assert short.norms == [language, secret]


def test_an_unsure_detection_is_unspecified_with_the_detector_in_the_explanation(files):
    policy, traces = files
    text = POLICY.replace('    when user.label("language") is known\n', "")
    Path(policy).write_text(text)
    result = CliRunner().invoke(main, ["check", policy, "--traces", traces, "--format", "json"])
    verdict = _verdicts(result.stdout)[("short", "reply_in_the_users_language")]
    assert verdict["verdict"] == "unspecified"
    [fact] = [f for f in verdict["explanation"]["facts"] if not f["known"]]
    assert fact["fact"] == "messages[0].labels.language"
    assert re.fullmatch(r"detector `language` said '[a-z]{2}' with confidence 0\.[0-4][0-9], below the 0\.5 declared",
                        fact["why_unknown"]), fact["why_unknown"]


def test_the_command_line_maps_a_label_to_a_detector(tmp_path, files):
    _, traces = files
    policy = tmp_path / "plain.charter"
    policy.write_text('norm no_keys:\n    forbid assistant.label("leak") >= 0.9\n')
    result = CliRunner().invoke(main, ["check", str(policy), "--traces", traces, "--detector", "leak=secrets"])
    assert "key: violated" in result.stdout and result.exit_code == 1
    without = CliRunner().invoke(main, ["check", str(policy), "--traces", traces])
    assert "key: unspecified" in without.stdout  # no label in the trace: unknown
    wrong = CliRunner().invoke(main, ["check", str(policy), "--traces", traces, "--detector", "lek=secrets"])
    assert wrong.exit_code == 2 and "no norm reads the label `lek` (the norms read leak)" in wrong.output
    bad = CliRunner().invoke(main, ["check", str(policy), "--traces", traces, "--detector", "leak"])
    assert bad.exit_code == 2 and "write LABEL=DETECTOR" in bad.output


def test_a_detector_that_is_not_installed_is_said_once_and_leaves_labels_unknown(tmp_path, files):
    _, traces = files
    policy = tmp_path / "p.charter"
    policy.write_text('label toxic: score from detector toxicity\nnorm n:\n    forbid assistant.label("toxic") > 0.5\n')
    result = CliRunner().invoke(main, ["check", str(policy), "--traces", traces])
    assert result.stderr.count("warning: detector `toxicity` is not installed") == 1
    assert "5 unspecified" in result.stdout and "Traceback" not in result.output


def test_a_check_that_names_no_detector_reads_no_entry_points(tmp_path):
    """Reading the installed entry points imports importlib.metadata (with email and
    zipfile) and scans every distribution: tens of milliseconds of start-up, only when a
    detector is named."""
    policy, trace = tmp_path / "p.charter", tmp_path / "t.jsonl"
    policy.write_text('norm polite:\n    forbid assistant says "idiot"\n')
    trace.write_text(json.dumps(_record("t", "hi", "hello")) + "\n")
    probe = ("import sys\nfrom charter.cli import main\n"
             f"sys.argv = ['charter', 'check', {str(policy)!r}, '--traces', {str(trace)!r}]\n"
             "try:\n    main()\nexcept SystemExit as exit:\n    print(exit.code, file=sys.stderr)\n"
             "print('importlib.metadata' in sys.modules, file=sys.stderr)\n")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    assert result.stderr.split() == ["0", "False"], result.stderr


def test_a_plugin_is_found_through_its_entry_point(tmp_path, files):
    """A real plugin: a module and a dist-info directory on PYTHONPATH, as pip installs them."""
    _, traces = files
    (tmp_path / "shouty.py").write_text(textwrap.dedent('''
        from charter.detectors.model import Detection

        class Shouty:
            name, version = "shouty", "1.0"

            def detect(self, texts):
                return [Detection(sum(c.isupper() for c in t) / max(len(t), 1)) for t in texts]
    '''))
    info = tmp_path / "shouty-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shouty\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[charter.detectors]\nshouty = shouty:Shouty\n")
    policy = tmp_path / "p.charter"
    policy.write_text('label caps: score from detector shouty\nnorm calm:\n    forbid assistant.label("caps") > 0.5\n')
    shout = tmp_path / "s.jsonl"
    shout.write_text(json.dumps(_record("loud", "hi", "STOP SHOUTING AT ME")) + "\n"
                     + json.dumps(_record("calm", "hi", "Sure, here it is.")) + "\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    run = subprocess.run([sys.executable, "-m", "charter.cli", "check", str(policy), "--traces", str(shout)],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert "loud: violated" in run.stdout and "calm: complied" in run.stdout, run.stdout + run.stderr


# --------------------------------------------------------------------------- wherever a policy is evaluated


def _by_trace(reports) -> dict[tuple[str, str], str]:
    return {(r.trace_id, v.norm): v.kind for r in reports for v in r.verdicts}


def test_the_python_api_detects_as_check_does():
    policy = charter.loads(POLICY)
    kinds = _by_trace(policy.check_many(TRACES))
    assert kinds[("fr-fr", "reply_in_the_users_language")] == "complied"
    assert kinds[("fr-en", "reply_in_the_users_language")] == "violated"
    assert kinds[("key", "no_secrets")] == "violated"
    assert kinds[("hash", "no_secrets")] == "unspecified"
    assert _by_trace([policy.check(TRACES[1])]) == {k: v for k, v in kinds.items() if k[0] == "fr-en"}


def test_check_many_calls_a_detector_once_per_batch_of_traces():
    policy = charter.loads('label size: score from detector lengths\n'
                           'norm short:\n    forbid assistant.label("size") > 0.5\n')
    detector = Lengths()
    policy.labeller = Labeller(wanted(policy.program), load=lambda name: detector)
    traces = [_record(f"t{i}", "hi", "x" * (10 * i)) for i in range(1, 9)]
    assert [r.verdicts[0].kind for r in policy.check_many(traces)] == ["complied"] * 5 + ["violated"] * 3
    assert len(detector.calls) == 1 and len(detector.calls[0]) == 8


def test_explain_shows_the_detected_labels(files):
    policy, traces = files
    result = CliRunner().invoke(main, ["explain", policy, "--traces", traces, "--trace", "fr-en",
                                       "--norm", "reply_in_the_users_language"])
    assert "reply_in_the_users_language at turn 1: violated" in result.stdout, result.output
    assert 'messages[0].labels.language = "fr"' in result.stdout
    assert 'messages[1].labels.language = "en"' in result.stdout
    why_not = CliRunner().invoke(main, ["explain", policy, "--traces", traces, "--trace", "fr-en",
                                        "--norm", "reply_in_the_users_language", "--why-not"])
    assert why_not.exit_code == 0 and "labels.language" in why_not.stdout.split("violated", 1)[1], why_not.output


def test_a_session_detects_each_new_message_once():
    policy = charter.loads(POLICY)
    detector = Lengths()
    counting = Labeller(wanted(policy.program))
    language = counting.detectors["language"]

    class Counted:
        name, version = language.name, language.version

        def detect(self, texts):
            detector.calls.append(list(texts))
            return language.detect(texts)

    counting.detectors["language"] = Counted()
    policy.labeller = counting
    session = policy.session()
    session.add({"role": "user", "content": FRENCH})
    english = session.check_candidate(ENGLISH_REPLY)
    french = session.check_candidate(FRENCH_REPLY)
    assert english.decision == "regenerate" and french.decision == "allow"
    session.check_candidate(ENGLISH_REPLY)  # judged already
    assert [len(c) for c in detector.calls] == [1, 1, 1]
    session.add({"role": "assistant", "content": FRENCH_REPLY})
    assert session.finish().status == "complied" and len(detector.calls) == 3


def test_the_cost_benchmark_measures_each_detector(tmp_path):
    """benchmarks/detector_costs.py on a few traces: each row counts the texts read, and a
    second pass with the same policy calls no detector (the benchmark asserts it)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("detector_costs", ROOT / "benchmarks" / "detector_costs.py")
    costs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(costs)
    traces = [Trace(t["id"], tuple(Message(i, m["role"], m["content"]) for i, m in enumerate(t["messages"])))
              for t in TRACES]
    rows = [costs.measure(name, traces, runs=1) for name in costs.POLICIES]
    assert [(r.detector, r.messages, r.texts) for r in rows] == [(name, 10, 9) for name in costs.POLICIES]
    assert "| `profanity` | 10 | 9 |" in costs.markdown(rows, "five traces")
