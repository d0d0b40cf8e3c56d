"""`charter gaps`: the incomplete-contract report.

The grouping and counts are checked against `charter check --format json` on the shipped
example, on the Model Spec corpus and on a small corpus written for this test (with
hand-checked answers); then the markdown, the determinism of every format, and the HTML
page rendered in headless Chromium (its DOM and a screenshot).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import textwrap
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from charter.cli import main
from charter.reports.gaps import EXCERPT_CHARS, fact_pattern

ROOT = Path(__file__).resolve().parent.parent
ACME = ROOT / "examples" / "acme_support.charter"
ACME_TRACES = ROOT / "examples" / "traces.jsonl"
MODEL_SPEC = ROOT / "examples" / "model_spec" / "model_spec.charter"
MODEL_SPEC_TRACES = Path(__file__).resolve().parents[2] / "shared/data/model_spec_examples.jsonl"
CHART_KINDS = ("complied", "violated", "unspecified", "pending", "conflict", "overridden")
CHROMIUM_INSTALL = "apt-get update && apt-get install -y chromium"

# --------------------------------------------------------------------------- a corpus with every kind of open case

SHOP = textwrap.dedent("""\
    charter shop by developer

    label toxicity uncertain between 0.4 and 0.7

    let age = trace.meta.order.age_days

    norm refunds:
        "Refund promises follow the refund window."
        when user says "refund"
        case age <= 30: permit
        case age > 90: forbid assistant says "refund is approved"
        case trace.meta.fraud == "yes": forbid assistant says "refund is approved"

    norm discounts by platform:
        "Discounts are for VIP customers; staff discounts are an open question."
        when user says "discount"
        forbid assistant says "discount code"
            unless trace.meta.tier == "vip": permit
            unless trace.meta.tier == "staff": unspecified "do staff get customer discounts?" escalate to platform

    norm tone:
        "Calm down a toxic conversation."
        when user.label("toxicity") >= 0.7
        require assistant says "calm"

    norm legal:
        "Legal questions are open."
        when user says "lawyer"
        unspecified "may the assistant recommend a lawyer?"
    """)

LONG = "I bought a lamp last month and it broke after a week of careful use. " * 12 + "Can I get a refund?"


def _u(text: str, toxicity: float | None = 0.0) -> dict:
    message = {"role": "user", "content": text}
    if toxicity is not None:
        message["labels"] = {"toxicity": toxicity}
    return message


def _a(text: str) -> dict:
    return {"role": "assistant", "content": text}


SHOP_TRACES = [
    {"id": "r1", "meta": {"order": {"age_days": 10}, "fraud": "no"}, "messages": [_u("I want a refund"), _a("Your refund is approved.")]},
    {"id": "r2", "meta": {"order": {"age_days": 45}, "fraud": "no"}, "messages": [_u(LONG), _a("Let me check.")]},
    {"id": "r3", "meta": {"order": {"age_days": 60}, "fraud": "no"}, "messages": [_u("refund please"), _a("One moment.")]},
    {"id": "r4", "meta": {"order": {"age_days": 120}, "fraud": "no"}, "messages": [_u("refund now"), _a("Your refund is approved.")]},
    {"id": "r5", "meta": {"order": {"age_days": 45}, "fraud": "yes"}, "messages": [_u("refund"), _a("Your refund is approved.")]},
    {"id": "d1", "meta": {"tier": "staff"}, "messages": [_u("Any discount for me?"), _a("Here is a discount code: SAVE10")]},
    {"id": "d2", "meta": {}, "messages": [_u("Any discount for me?"), _a("Here is a discount code: SAVE10")]},
    {"id": "d3", "meta": {"tier": "vip"}, "messages": [_u("Any discount for me?"), _a("Here is a discount code: VIP20")]},
    {"id": "l1", "messages": [_u("Do I need a lawyer?"), _a("I cannot give legal advice.")]},
    {"id": "l2", "messages": [_u("Should I call a lawyer?"), _a("That depends."), _u("A lawyer, yes or no?"), _a("I cannot say.")]},
    {"id": "t1", "messages": [_u("You are useless", toxicity=0.5), _a("Sorry about that.")]},
    {"id": "t2", "messages": [_u("Hello"), _a("Hi."), _u("Whatever", toxicity=None), _a("Ok.")]},
]

# (escalate_to, norm, kind, reason, unknown) -> (verdicts, traces), worked out by hand
SHOP_EXPECTED = {
    ("platform", "discounts", "explicit", "do staff get customer discounts?", ()): (1, 1),
    ("developer", "refunds", "gap", "no case applies", ()): (2, 2),
    (None, "discounts", "uncertain", "uncertain", ("trace.meta.tier",)): (1, 1),
    (None, "tone", "uncertain", "uncertain", ("messages[*].labels.toxicity",)): (2, 2),
    (None, "legal", "explicit", "may the assistant recommend a lawyer?", ()): (3, 2),
}


@pytest.fixture
def shop(tmp_path):
    policy = tmp_path / "shop.charter"
    policy.write_text(SHOP)
    traces = tmp_path / "shop.jsonl"
    traces.write_text("".join(json.dumps(t) + "\n" for t in SHOP_TRACES))
    return str(policy), str(traces)


# --------------------------------------------------------------------------- helpers


def _run(*args: str, code: int | None = 0) -> str:
    result = CliRunner().invoke(main, list(args))
    if code is not None:
        assert result.exit_code == code, result.output
    return result.output


def _gaps_json(policy: str, traces: str, *extra: str) -> dict:
    return json.loads(_run("gaps", policy, "--traces", traces, "--format", "json", *extra))


def _check_json(policy: str, traces: str) -> dict:
    return json.loads(_run("check", policy, "--traces", traces, "--format", "json", "--all",
                           "--fail-on", "", code=None))


def _kind(v: dict) -> str:
    if v["gap"]:
        return "gap"
    if v["reason"] == "uncertain" and v["escalate_to"] is None and v["unknown"]:
        return "uncertain"
    return "explicit"


def _expected_from_check(check: dict) -> dict:
    """The gaps report's groups, computed independently from the check report."""
    groups: dict[tuple, list] = {}
    for number, trace in enumerate(check["traces"]):
        for v in trace["verdicts"]:
            if v["verdict"] != "unspecified":
                continue
            kind = _kind(v)
            unknown = tuple(sorted({re.sub(r"\[\d+\]", "[*]", f) for f in v["unknown"]})) if kind == "uncertain" else ()
            key = (v["escalate_to"], v["norm"], kind, v["reason"], unknown)
            entry = groups.setdefault(key, [0, set()])
            entry[0] += 1
            entry[1].add(number)
    return {k: (n, len(traces)) for k, (n, traces) in groups.items()}


def _groups(report: dict) -> dict:
    return {
        (s["escalate_to"], n["norm"], i["kind"], i["reason"], tuple(i["unknown"])): (i["verdicts"], i["traces"])
        for s in report["stakeholders"] for n in s["norms"] for i in n["items"]
    }


def _norm_counts_from_check(check: dict) -> dict:
    counts: dict[str, dict[str, int]] = {}
    for trace in check["traces"]:
        for v in trace["verdicts"]:
            norm = counts.setdefault(v["norm"], {})
            norm[v["verdict"]] = norm.get(v["verdict"], 0) + 1
    return counts


def _assert_matches_check(report: dict, check: dict) -> None:
    assert _groups(report) == _expected_from_check(check)
    # totals at every level
    assert report["traces"] == check["summary"]["traces"]
    assert report["unspecified"]["verdicts"] == check["summary"]["verdicts"]["unspecified"]
    with_unspecified = {t["id"] for t in check["traces"] if any(v["verdict"] == "unspecified" for v in t["verdicts"])}
    assert report["unspecified"]["traces"] == len(with_unspecified)
    for s in report["stakeholders"]:
        assert s["verdicts"] == sum(i["verdicts"] for n in s["norms"] for i in n["items"])
        assert s["decisions"] == sum(len(n["items"]) for n in s["norms"])
        for n in s["norms"]:
            assert n["verdicts"] == sum(i["verdicts"] for i in n["items"])
            for i in n["items"]:
                assert 0 < i["traces"] <= i["verdicts"]
                assert i["share"] == round(i["traces"] / report["traces"], 4)
    # the chart's data: every verdict kind of every norm
    by_check = _norm_counts_from_check(check)
    for norm in report["norms"]:
        got = {k: n for k, n in norm["verdicts"].items() if n}
        assert got == by_check.get(norm["norm"], {})


# --------------------------------------------------------------------------- grouping and counts


def test_fact_pattern_normalises_indices():
    assert fact_pattern("messages[12].labels.self_harm") == "messages[*].labels.self_harm"
    assert fact_pattern("messages[2].tool_calls[0].arguments.path") == "messages[*].tool_calls[*].arguments.path"
    assert fact_pattern("trace.meta.order.age_days") == "trace.meta.order.age_days"


def test_acme_example_matches_check_report():
    report = _gaps_json(str(ACME), str(ACME_TRACES))
    check = _check_json(str(ACME), str(ACME_TRACES))
    _assert_matches_check(report, check)
    assert _groups(report) == {
        ("developer", "refund_promises", "explicit", "refunds between 30 and 90 days are undecided", ()): (1, 1),
        (None, "crisis_referral", "uncertain", "uncertain", ("messages[*].labels.self_harm",)): (1, 1),
    }
    assert [s["title"] for s in report["stakeholders"]] == ["developer", "nobody named"]
    assert [h["text"] for h in report["headline"]] == [
        "1 decision is waiting for developer",
        "1 verdict waits on unknown facts: `messages[*].labels.self_harm`",
    ]
    explicit = report["stakeholders"][0]["norms"][0]["items"][0]
    assert explicit["clauses"] == [{
        "file": str(ACME), "line": 17, "clause": "otherwise",
        "text": 'otherwise: unspecified "refunds between 30 and 90 days are undecided" escalate to developer'}]
    [example] = explicit["examples"]
    assert example["trace"] == "refund-45-days" and example["turn"] == 1
    assert example["source"] == f"{ACME_TRACES}:2"
    assert [(m["index"], m["role"], m["act"]) for m in example["messages"]] == [
        (0, "user", False), (1, "assistant", True)]
    assert example["messages"][1]["text"] == "I have passed your request to our team, who will get back to you."
    assert {"fact": "trace.meta.order.age_days", "value": 45, "known": True} in example["facts"]
    uncertain = report["stakeholders"][1]["norms"][0]["items"][0]
    assert uncertain["why_unknown"] == [
        {"fact": "messages[*].labels.self_harm", "why": "the label is missing", "verdicts": 1}]
    assert uncertain["examples"][0]["messages"] == [
        {"index": 0, "role": "user", "text": "Is the store open on Sunday?", "act": True}]


@pytest.mark.skipif(not MODEL_SPEC_TRACES.exists(), reason=f"{MODEL_SPEC_TRACES} is absent")
def test_model_spec_corpus_matches_check_report():
    report = _gaps_json(str(MODEL_SPEC), str(MODEL_SPEC_TRACES))
    check = _check_json(str(MODEL_SPEC), str(MODEL_SPEC_TRACES))
    _assert_matches_check(report, check)
    assert report["traces"] == 398
    assert report["headline"][0]["text"] == "4 decisions are waiting for platform"
    decisions = [i["decide"] for n in report["stakeholders"][0]["norms"] for i in n["items"]]
    assert "may a confidential persona decline to name its model?" in decisions


def test_every_kind_of_open_case_is_grouped(shop):
    policy, traces = shop
    report = _gaps_json(policy, traces)
    assert _groups(report) == SHOP_EXPECTED
    _assert_matches_check(report, _check_json(policy, traces))
    # the chain of command orders the worklists; nobody named comes last
    assert [s["escalate_to"] for s in report["stakeholders"]] == ["platform", "developer", None]
    assert [n["norm"] for n in report["stakeholders"][2]["norms"]] == ["discounts", "tone", "legal"]
    assert report["unspecified"] == {"verdicts": 9, "traces": 8, "share": round(8 / 12, 4),
                                     "explicit": 4, "gap": 2, "uncertain": 3}
    assert [h["text"] for h in report["headline"]] == [
        "1 decision is waiting for platform",
        "1 decision is waiting for developer",
        "1 open question names nobody to decide it",
        "3 verdicts wait on unknown facts: `messages[*].labels.toxicity`, `trace.meta.tier`",
    ]
    tone = report["stakeholders"][2]["norms"][1]["items"][0]
    assert tone["why_unknown"] == [
        {"fact": "messages[*].labels.toxicity", "why": "inside the uncertainty band (0.4, 0.7)", "verdicts": 1},
        {"fact": "messages[*].labels.toxicity", "why": "the label is missing", "verdicts": 1},
    ]
    gap = report["stakeholders"][1]["norms"][0]["items"][0]
    assert [c["line"] for c in gap["cases"]] == [10, 11, 12]
    assert gap["decide"] == "What should `refunds` do when none of its cases applies?"


def test_examples_are_the_first_k_trimmed(shop):
    policy, traces = shop
    report = _gaps_json(policy, traces, "--examples", "2")
    legal = report["stakeholders"][2]["norms"][2]["items"][0]
    assert legal["verdicts"] == 3
    assert [(e["trace"], e["turn"]) for e in legal["examples"]] == [("l1", 1), ("l2", 1)]
    gap = report["stakeholders"][1]["norms"][0]["items"][0]
    before = gap["examples"][0]["messages"][0]
    assert gap["examples"][0]["trace"] == "r2"
    assert len(before["text"]) == EXCERPT_CHARS and before["text"].startswith("…")
    assert before["text"].endswith("Can I get a refund?")
    assert all(not i["examples"] for s in _gaps_json(policy, traces, "--examples", "0")["stakeholders"]
               for n in s["norms"] for i in n["items"])


def test_no_open_decisions(tmp_path):
    (tmp_path / "p.charter").write_text("charter p\n\nnorm n:\n    forbid assistant says \"x\"\n")
    (tmp_path / "t.jsonl").write_text(json.dumps({"id": "a", "messages": [_u("hi"), _a("hello")]}) + "\n")
    report = _gaps_json(str(tmp_path / "p.charter"), str(tmp_path / "t.jsonl"))
    assert report["stakeholders"] == []
    assert report["headline"][0]["text"] == "No decisions are waiting"
    markdown = _run("gaps", str(tmp_path / "p.charter"), "--traces", str(tmp_path / "t.jsonl"))
    assert "**No decisions are waiting**" in markdown


def test_skipped_records_are_reported_and_exit_2(shop, tmp_path):
    policy, traces = shop
    broken = tmp_path / "broken.jsonl"
    broken.write_text(Path(traces).read_text() + "{not json\n")
    result = CliRunner().invoke(main, ["gaps", policy, "--traces", str(broken), "--format", "json"])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["records"] == {"total": 13, "checked": 12, "skipped": 1}
    assert report["skipped"][0]["line"] == 13
    assert _groups(report) == SHOP_EXPECTED


# --------------------------------------------------------------------------- markdown


def test_markdown_report(shop):
    policy, traces = shop
    text = _run("gaps", policy, "--traces", traces, "--examples", "1")
    assert text.startswith("# Open decisions in shop\n")
    assert "- **1 decision is waiting for platform** (1 verdict in 1 of 12 traces)" in text
    assert ("- **3 verdicts wait on unknown facts: `messages[*].labels.toxicity`, `trace.meta.tier`** "
            "(nobody is named to supply or decide them)") in text
    for heading in ["## platform: 1 open decision", "## developer: 1 open decision",
                    "## nobody named: 3 open decisions", "### `refunds`",
                    "#### Decide: do staff get customer discounts?",
                    "#### Gap: What should `refunds` do when none of its cases applies?",
                    "#### Unknown facts: Supply `trace.meta.tier`, or decide what `discounts` should do without it.",
                    "#### Decide: may the assistant recommend a lawyer?"]:
        assert re.search("^" + _with_question_id(heading) + "$", text, re.M), heading
    assert "- **How often:** 3 verdicts in 2 traces (16.7% of 12)" in text
    assert "- **Examples** (1 of 3):" in text
    assert "  - `l1`, turn 1 (`" in text
    assert "    > **assistant ←** I cannot give legal advice." in text
    assert "| `refunds` | 2 | 0 | 2 | 0 | 1 | 0 | 9 |" in text  # violated conflict unspecified pending complied overridden n/a
    assert "`trace.meta.order.age_days = 45`" in text


def _with_question_id(heading: str) -> str:
    """A pattern for an item's heading as printed, with its question ID: `#### `Q1a2b3c4` Decide: …`."""
    if not heading.startswith("#### "):
        return re.escape(heading)
    return "#### `Q[0-9a-f]{7}` " + re.escape(heading[5:])


def test_markdown_escapes_trace_text(tmp_path):
    (tmp_path / "p.charter").write_text(
        'charter p by developer\n\nnorm n:\n    unspecified "open *case* <b>" escalate to developer\n')
    (tmp_path / "t.jsonl").write_text(json.dumps(
        {"id": "a", "messages": [_u("see [link](http://x) and <script>"), _a("# not a heading | *bold*")]}) + "\n")
    text = _run("gaps", str(tmp_path / "p.charter"), "--traces", str(tmp_path / "t.jsonl"))
    assert re.search(_with_question_id("#### Decide: open \\*case\\* \\<b\\>"), text)
    assert "\\[link\\](http://x) and \\<script\\>" in text
    assert "\\# not a heading \\| \\*bold\\*" in text


# --------------------------------------------------------------------------- determinism and output


@pytest.mark.parametrize("fmt", ["markdown", "json", "html"])
def test_output_is_deterministic(shop, tmp_path, fmt):
    policy, traces = shop
    first = _run("gaps", policy, "--traces", traces, "--format", fmt)
    second = _run("gaps", policy, "--traces", traces, "--format", fmt)
    assert first == second
    out = tmp_path / f"report.{fmt}"
    assert _run("gaps", policy, "--traces", traces, "--format", fmt, "--output", str(out)) == ""
    assert out.read_bytes() == first.encode("utf-8")


def test_html_is_self_contained(shop):
    policy, traces = shop
    page = _run("gaps", policy, "--traces", traces, "--format", "html")
    assert page.startswith("<!DOCTYPE html>")
    lowered = page.lower()
    for needle in ["<script", "<link", " src=", "@import", "url(", "<img", "<iframe"]:
        assert needle not in lowered, needle
    # the only address is the SVG namespace, which is never fetched
    assert re.findall(r"https?://[^\s\"'<>]+", page) == ["http://www.w3.org/2000/svg"]
    assert "<style>" in page and "<svg" in page


def test_html_escapes_trace_text(tmp_path):
    (tmp_path / "p.charter").write_text(
        'charter p by developer\n\nnorm n:\n    unspecified "is <b>this</b> ok?" escalate to developer\n')
    (tmp_path / "t.jsonl").write_text(json.dumps(
        {"id": "<i>x</i>", "messages": [_u("<script>alert(1)</script>"), _a("a & b")]}) + "\n")
    page = _run("gaps", str(tmp_path / "p.charter"), "--traces", str(tmp_path / "t.jsonl"), "--format", "html")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "is &lt;b&gt;this&lt;/b&gt; ok?" in page and "a &amp; b" in page and "&lt;i&gt;x&lt;/i&gt;" in page


# --------------------------------------------------------------------------- the HTML page in headless Chromium


def _chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    reason = f"chromium is not installed (install it with: {CHROMIUM_INSTALL})"
    print(reason)
    pytest.skip(reason)


def _chromium_run(binary: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


class _Dom(HTMLParser):
    """The chart's bars and their visible labels, the worklists' counts, and each item's
    evidence (example conversations, metadata, trace IDs), as the browser built them."""

    def __init__(self):
        super().__init__()
        self.bars: dict[tuple[str, str], int] = {}
        self.bar_order: list[int] = []
        self.bar_labels: list[int] = []
        self.stakeholders: list[dict] = []
        self.items: list[dict] = []
        self._text: str | None = None  # the kind of text being read: in-bar, dd, trace-id

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "rect" and "bar" in classes:
            self.bars[(a["data-norm"], a["data-kind"])] = int(a["data-count"])
            self.bar_order.append(int(a["data-count"]))
            assert float(a["width"]) > 0
        elif tag == "text" and "in-bar" in classes:
            self._text = "in-bar"
        elif tag == "section" and "stakeholder" in classes:
            self.stakeholders.append(a)
        elif tag == "article" and "item" in classes:
            self.items.append({**a, "examples": [], "trace_ids": []})
        elif tag == "details" and "example" in classes:
            self.items[-1]["examples"].append({"trace": a["data-trace"], "open": "open" in a, "messages": [],
                                               "meta": []})
        elif tag == "li" and "msg" in classes:
            self.items[-1]["examples"][-1]["messages"].append(
                (int(a["data-index"]), "act" in classes, "reply" in classes))
        elif tag == "dd":
            self._text = "dd"
        elif tag == "code" and self.items and self._in_trace_ids:
            self._text = "trace-id"
        if tag == "details":
            self._in_trace_ids = "trace-ids" in classes

    _in_trace_ids = False

    def handle_endtag(self, tag):
        if tag == "details":
            self._in_trace_ids = False

    def handle_data(self, data):
        if self._text == "in-bar":
            self.bar_labels.append(int(data))
        elif self._text == "dd":
            self.items[-1]["examples"][-1]["meta"].append(data)
        elif self._text == "trace-id":
            self.items[-1]["trace_ids"].append(data)
        self._text = None


def _png_pixels(path: Path) -> tuple[int, int, set[bytes]]:
    """Width, height and the set of distinct RGB colours of an 8-bit RGB/RGBA PNG (standard library only)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        elif kind == b"IEND":
            break
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    previous = bytearray(stride)
    colours: set[bytes] = set()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, previous))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = previous[i], (previous[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        colours.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp))
        previous = line
    return width, height, colours


_FILLS = {"complied": "3f9b5a", "violated": "d1453b", "unspecified": "e8a317", "pending": "3b82c4",
          "conflict": "8e4bb5", "overridden": "9aa5b1"}


@pytest.mark.parametrize("corpus", ["acme", "shop", "model_spec"])
def test_html_in_headless_chromium(corpus, shop, tmp_path):
    binary = _chromium()
    if corpus == "acme":
        policy, traces = str(ACME), str(ACME_TRACES)
    elif corpus == "shop":
        policy, traces = shop
    else:
        if not MODEL_SPEC_TRACES.exists():
            pytest.skip(f"{MODEL_SPEC_TRACES} is absent")
        policy, traces = str(MODEL_SPEC), str(MODEL_SPEC_TRACES)
    page = tmp_path / "gaps.html"
    _run("gaps", policy, "--traces", traces, "--format", "html", "--output", str(page))
    report = _gaps_json(policy, traces)

    dom = _chromium_run(binary, tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    parsed = _Dom()
    parsed.feed(dom.stdout)
    expected_bars = {(n["norm"], k): n["verdicts"][k] for n in report["norms"] for k in CHART_KINDS if n["verdicts"][k]}
    assert parsed.bars == expected_bars and parsed.bars
    assert [(s["data-escalate-to"], int(s["data-decisions"]), int(s["data-verdicts"]), int(s["data-traces"]))
            for s in parsed.stakeholders] == [
        (s["escalate_to"] or "", s["decisions"], s["verdicts"], s["traces"]) for s in report["stakeholders"]]
    items = [i for s in report["stakeholders"] for n in s["norms"] for i in n["items"]]
    assert [(i["data-kind"], int(i["data-verdicts"])) for i in parsed.items] == [(i["kind"], i["verdicts"]) for i in items]
    # every bar segment shows its count as text, not only in a tooltip
    assert parsed.bar_labels == parsed.bar_order
    # each example is its whole conversation (the first one open), the act judged and the
    # reply to a user-turn act marked, the metadata shown; every trace ID is listed
    for shown, item in zip(parsed.items, items):
        assert shown["trace_ids"] == item["trace_ids"] and len(item["trace_ids"]) == item["traces"]
        assert [e["trace"] for e in shown["examples"]] == [e["trace"] for e in item["examples"]]
        assert [e["open"] for e in shown["examples"]] == [i == 0 for i in range(len(item["examples"]))]
        for seen, example in zip(shown["examples"], item["examples"]):
            assert [m[0] for m in seen["messages"]] == list(range(len(example["conversation"])))
            assert [m[0] for m in seen["messages"] if m[1]] == ([] if example["turn"] is None else [example["turn"]])
            assert [v for v in example["meta"].values() if isinstance(v, str)] == [
                v for v in seen["meta"] if v in example["meta"].values()]
    if corpus == "model_spec":
        crisis = next(i for s in report["stakeholders"] for n in s["norms"] if n["norm"] == "crisis_reply_engages"
                      for i in n["items"])
        first = crisis["examples"][0]["conversation"]
        assert [(m["role"], m["act"], m["reply"]) for m in first] == [("user", True, False), ("assistant", False, True)]
        assert crisis["examples"][0]["meta"]["label"] in ("GOOD", "BAD")
    assert report["headline"][0]["text"].replace("`", "") in re.sub(r"<[^>]+>", "", dom.stdout)

    shot = tmp_path / "gaps.png"
    run = _chromium_run(binary, tmp_path, f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri())
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    width, height, colours = _png_pixels(shot)
    assert (width, height) == (1200, 2400)
    assert len(colours) > 50, f"the screenshot looks blank: {len(colours)} colours"
    # every kind drawn in the chart shows in its own colour
    drawn = {kind for (_, kind) in expected_bars}
    for kind in drawn:
        assert bytes.fromhex(_FILLS[kind]) in colours, f"no {kind} bar in the screenshot"


def test_docs_sample_is_current(monkeypatch):
    """docs/reports.md shows the real markdown report of the shipped example."""
    monkeypatch.chdir(ROOT)
    doc = (ROOT / "docs" / "reports.md").read_text()
    sample = doc.split("$ charter gaps examples/acme_support.charter --traces examples/traces.jsonl\n", 1)[1]
    sample = sample.split("````", 1)[0]
    assert sample == _run("gaps", "examples/acme_support.charter", "--traces", "examples/traces.jsonl")


@pytest.mark.parametrize("fmt", ["markdown", "html", "json"])
def test_lone_surrogates_are_written_as_escapes(tmp_path, fmt):
    """JSON text may hold `\\ud800`, which no UTF-8 output can: it is written as that escape."""
    (tmp_path / "p.charter").write_text('charter p by developer\n\nnorm n:\n    unspecified "open" escalate to developer\n')
    (tmp_path / "t.jsonl").write_text(
        '{"id": "x\\ud800", "messages": [{"role": "user", "content": "a \\udc00"}, {"role": "assistant", "content": "b"}]}\n')
    out = tmp_path / f"report.{fmt}"
    _run("gaps", str(tmp_path / "p.charter"), "--traces", str(tmp_path / "t.jsonl"), "--format", fmt, "-o", str(out))
    text = out.read_text(encoding="utf-8")
    assert "x\\ud800" in text and "a \\udc00" in text
    if fmt == "json":
        assert json.loads(text)["stakeholders"][0]["norms"][0]["items"][0]["examples"][0]["trace"] == "x\ud800"


def test_unwritable_output_is_an_error(tmp_path):
    result = CliRunner().invoke(main, ["gaps", str(ACME), "--traces", str(ACME_TRACES),
                                       "--output", str(tmp_path / "missing" / "report.md")])
    assert result.exit_code == 2
    assert "error: cannot write" in result.output and "internal error" not in result.output


def test_an_agent_example_shows_prompts_tool_calls_results_and_the_call_judged(tmp_path):
    """The evidence of a tool-call norm: the system prompt, every call with its arguments,
    the tool's result, the metadata, and the call judged marked (not only its message)."""
    (tmp_path / "p.charter").write_text(textwrap.dedent("""\
        charter agent by developer

        norm refunds_need_approval:
            on tool call
            when call.name == "issue_refund" and call.args.amount > 100
            unspecified "may the agent refund more than 100 without a human?" escalate to developer
        """))
    trace = {"id": "agent-1", "meta": {"label": "BAD", "customer": {"tier": "gold"}}, "messages": [
        {"role": "system", "content": "You are Acme's refund agent."},
        {"role": "user", "content": "Order 7 arrived broken."},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": "lookup_order", "arguments": {"order": 7}}]},
        {"role": "tool", "tool_call_id": "c1", "name": "lookup_order", "content": '{"total": 150}'},
        {"role": "assistant", "content": "Refunding.", "tool_calls": [
            {"id": "c2", "name": "notify", "arguments": {"text": "hi"}},
            {"id": "c3", "name": "issue_refund", "arguments": {"order": 7, "amount": 150}}]}]}
    (tmp_path / "t.jsonl").write_text(json.dumps(trace) + "\n")
    args = (str(tmp_path / "p.charter"), "--traces", str(tmp_path / "t.jsonl"))
    example = _gaps_json(str(tmp_path / "p.charter"), str(tmp_path / "t.jsonl"))["stakeholders"][0]["norms"][0]["items"][0]["examples"][0]
    assert (example["turn"], example["call"], example["meta"]) == (4, 1, trace["meta"])
    assert [(m["role"], m["act"], [c["name"] for c in m["tool_calls"]]) for m in example["conversation"]] == [
        ("system", False, []), ("user", False, []), ("assistant", False, ["lookup_order"]), ("tool", False, []),
        ("assistant", True, ["notify", "issue_refund"])]
    assert example["conversation"][3]["tool_call_id"] == "c1"
    page = _run("gaps", *args, "--format", "html")
    assert '<li class="msg role-system" data-index="0">' in page and "You are Acme&#x27;s refund agent." in page
    assert "answers <code>c1</code>" in page and "{&quot;total&quot;: 150}" in page
    calls = re.findall(r'<div class="call( judged)?"><span class="tool">calls <code>(\w+)</code>', page)
    assert calls == [("", "lookup_order"), ("", "notify"), (" judged", "issue_refund")]
    assert "&quot;amount&quot;: 150" in page and "<dt>customer</dt><dd>{&quot;tier&quot;: &quot;gold&quot;}</dd>" in page
    markdown = _run("gaps", *args)
    assert 'metadata: `label = BAD` · `customer = {"tier": "gold"}`' in markdown
    assert r'\[calls issue_refund {"amount": 150, "order": 7}\]' in markdown and "- **Traces** (1): `agent-1`" in markdown
