"""HTTP detectors against a real HTTP server on localhost (http.server in a thread) that
speaks the documented shapes: an OpenAI-compatible moderation endpoint and a generic
JSON endpoint, one that fails twice then answers, one that hangs, one out of shape."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from charter.cli import main
from charter.detectors.endpoint import HttpDetector, Service
from charter.detectors.model import Detection, Unavailable
from charter.detectors.settings import read_config

from moderation_server import KEY, serving


@pytest.fixture
def server():
    with serving() as running:
        yield running


def _service(url: str, **options) -> Service:
    return Service("mod", url, **{"backoff": 0.01, **options})


def test_an_openai_moderation_endpoint_gives_a_category_score_per_text(server, monkeypatch):
    httpd, base = server
    monkeypatch.setenv("MOD_KEY", KEY)
    detector = HttpDetector(_service(f"{base}/v1/moderations", model="omni-moderation-latest",
                                     category="harassment", api_key_env="MOD_KEY", batch=2))
    texts = ["you idiot", "thank you", "have a nice day"]
    assert detector.detect(texts) == [Detection(0.97), Detection(0.02), Detection(0.02)]
    assert [body for _, body, _ in httpd.requests] == [
        {"input": ["you idiot", "thank you"], "model": "omni-moderation-latest"},
        {"input": ["have a nice day"], "model": "omni-moderation-latest"}]
    anything = HttpDetector(_service(f"{base}/v1/moderations", api_key_env="MOD_KEY"))
    assert anything.detect(["fine"]) == [Detection(0.02)]  # no category: the highest score
    assert anything.version != detector.version  # other fields, other answers: kept apart in the cache


def test_a_generic_json_endpoint_is_read_at_its_configured_path(server):
    _, base = server
    detector = HttpDetector(Service("tox", f"{base}/score", kind="json", request_field="texts",
                                    scores="data.scores.*.toxic"))
    assert detector.detect(["idiot!", "hello"]) == [Detection(0.97), Detection(0.02)]


@pytest.mark.parametrize("route, attempts", [("flaky", 3), ("busy", 2)])
def test_a_service_that_fails_then_answers_is_tried_again(server, route, attempts):
    httpd, base = server
    detector = HttpDetector(_service(f"{base}/{route}", retries=3))
    assert detector.detect(["hello"]) == [Detection(0.02)]
    assert len(httpd.requests) == attempts


@pytest.mark.parametrize("route, options, message", [
    ("flaky", {"retries": 1}, "{base}/flaky: HTTP 503, after 2 attempts"),
    ("hang", {"timeout": 0.3}, "{base}/hang did not answer within 0.3 s"),
    ("v1/moderations", {}, '{base}/v1/moderations answered HTTP 401: {{"error": {{"message": "bad key"}}}}'),
    ("malformed", {"category": "harassment"},
     "the answer's `results[0].category_scores.harassment` from {base}/malformed is a string, not a score"),
    ("short", {}, "{base}/short answered 0 values at `results.*.category_scores` for 1 texts"),
    ("notjson", {}, "{base}/notjson answered no JSON (Expecting value: line 1 column 1 (char 0)): <html>gateway</html>"),
    ("score", {"kind": "json", "request_field": "texts", "scores": "data.results.*"},
     "the answer has no `data.results`"),
])
def test_a_service_that_cannot_answer_says_what_and_where(server, route, options, message):
    _, base = server
    detector = HttpDetector(_service(f"{base}/{route}", **options))
    started = time.monotonic()
    with pytest.raises(Unavailable) as raised:
        detector.detect(["hello"])
    assert str(raised.value) == message.format(base=base)
    assert time.monotonic() - started < 1.5


def test_a_connection_refused_is_tried_again_then_unavailable():
    detector = HttpDetector(_service("http://127.0.0.1:9/v1/moderations", retries=2))
    with pytest.raises(Unavailable, match=r"ConnectionRefusedError: \[Errno 111\] Connection refused, after 3 attempts"):
        detector.detect(["hello"])


# --------------------------------------------------------------------------- through charter check

POLICY = '''label harassment: score from detector moderation uncertain between 0.3 and 0.7
norm no_insults:
    forbid assistant.label("harassment") > 0.5
'''


def _files(tmp_path, base: str, route: str = "v1/moderations", extra: str = "") -> tuple[str, str, str]:
    policy, traces, config = tmp_path / "p.charter", tmp_path / "t.jsonl", tmp_path / "detectors.toml"
    policy.write_text(POLICY)
    traces.write_text("".join(json.dumps({"id": id_, "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": reply}]}) + "\n"
        for id_, reply in [("rude", "You idiot."), ("kind", "Happy to help."), ("again", "You idiot.")]))
    config.write_text(f'[detectors.moderation]\nurl = "{base}/{route}"\nmodel = "omni-moderation-latest"\n'
                      f'category = "harassment"\napi_key_env = "MOD_KEY"\nbackoff = 0.01\n{extra}')
    return str(policy), str(traces), str(config)


def _check(policy, traces, config, *options):
    result = CliRunner().invoke(main, ["check", policy, "--traces", traces, "--format", "json", "--explain", "all",
                                       "--detector-config", config, *options])
    assert "Traceback" not in result.output
    return result, {t["id"]: t["verdicts"][0] for t in json.loads(result.stdout)["traces"]} if result.stdout else {}


def test_charter_check_asks_the_configured_endpoint_once_per_text_and_then_the_cache(server, tmp_path, monkeypatch):
    httpd, base = server
    monkeypatch.setenv("MOD_KEY", KEY)
    policy, traces, config = _files(tmp_path, base)
    cache = str(tmp_path / "answers.sqlite3")
    result, verdicts = _check(policy, traces, config, "--detector-cache", cache)
    assert result.exit_code == 1
    assert {k: v["verdict"] for k, v in verdicts.items()} == {"rude": "violated", "kind": "complied", "again": "violated"}
    assert [body["input"] for _, body, _ in httpd.requests] == [["Happy to help.", "You idiot."]]
    detected = verdicts["rude"]["explanation"]["facts"][0]["detected"]
    assert detected["detector"] == "moderation" and detected["from"] == "call" and detected["value"] == 0.97
    assert detected["version"].startswith("http-")
    _, again = _check(policy, traces, config, "--detector-cache", cache)
    assert len(httpd.requests) == 1 and again["rude"]["explanation"]["facts"][0]["detected"]["from"] == "cache"
    assert KEY not in result.output and KEY not in open(cache, "rb").read().decode("latin-1")


def test_a_hanging_endpoint_leaves_the_labels_unknown_naming_the_detector(server, tmp_path, monkeypatch):
    _, base = server
    monkeypatch.setenv("MOD_KEY", KEY)
    policy, traces, config = _files(tmp_path, base, "hang", "timeout = 0.3\n")
    result, verdicts = _check(policy, traces, config, "--no-detector-cache")
    why = f"detector `moderation` is unavailable: {base}/hang did not answer within 0.3 s"
    assert {v["verdict"] for v in verdicts.values()} == {"unspecified"}
    assert verdicts["rude"]["explanation"]["facts"][0]["why_unknown"] == why
    assert f"t.jsonl:1: warning: messages[1].labels.harassment: {why}" in result.stderr


def test_a_missing_api_key_is_said_once_and_the_labels_are_unknown(server, tmp_path, monkeypatch):
    _, base = server
    monkeypatch.delenv("MOD_KEY", raising=False)
    policy, traces, config = _files(tmp_path, base)
    result, verdicts = _check(policy, traces, config, "--no-detector-cache")
    assert result.stderr.count("warning: detector `moderation` cannot start: the environment variable MOD_KEY "
                               "(api_key_env) is not set") == 1
    assert {v["verdict"] for v in verdicts.values()} == {"unspecified"}


@pytest.mark.parametrize("text, message", [
    ('[detectors.m]\nkind = "openai"\n', "detectors.m: the `url` is missing"),
    ('[detectors.m]\nurl = "ftp://x"\n', "detectors.m.url: 'ftp://x' is not an http:// or https:// URL"),
    ('[detectors.m]\nurl = "http://x"\nretries = -1\n', "detectors.m.retries: -1 is not a whole number >= 0"),
    ('[detectors.m]\nurl = "http://x"\ncategroy = "hate"\n', "detectors.m.categroy: unknown key (the keys are "),
    ('[detectors.m]\nurl = "http://x"\nkind = "json"\n', "detectors.m: a json detector needs `scores`"),
    ('[detector.m]\nurl = "http://x"\n', "`detector`: unknown table (detectors are declared as [detectors.NAME])"),
    ('[detectors.m\n', "not TOML: "),
])
def test_a_configuration_file_that_is_wrong_says_where(tmp_path, text, message):
    config = tmp_path / "detectors.toml"
    config.write_text(text)
    found = read_config(str(config))
    assert isinstance(found, str) and found.startswith(f"{config}: {message}"), found
    policy = tmp_path / "p.charter"
    policy.write_text(POLICY)
    result = CliRunner().invoke(main, ["check", str(policy), "--traces", str(policy), "--detector-config", str(config)])
    assert result.exit_code == 2 and "--detector-config" in result.output and "Traceback" not in result.output
