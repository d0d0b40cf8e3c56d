"""Declared facts: undeclared and misspelt reads are load errors with a suggestion, a
comparison that cannot hold for the declared type is one too, and a trace value of the
wrong type is an unknown fact, never coerced and never a crash."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import charter
from charter.cli import main

DECLARED = '''charter p by platform
label fraud_risk: score uncertain between 0.4 and 0.8
label pii_leak: boolean
meta user.verified: boolean
meta user.tier: one of ["free", "pro"]
meta order.age_days: number
meta order.id: string
'''

# (id, the norm's condition, code, column of the error in its line, words, hint)
ERRORS = [
    ("misspelt_label", 'user.label("fraud_risks") >= 0.5', "E323", 10,
     'label "fraud_risks" is not declared', "did you mean `fraud_risk`?"),
    ("undeclared_label", 'user.label("toxicity") >= 0.5', "E323", 10,
     'label "toxicity" is not declared', "declare it: `label toxicity: score`"),
    ("misspelt_meta", "trace.meta.user.verifed", "E324", 10,
     "metadata field `user.verifed` is not declared", "did you mean `user.verified`?"),
    ("misspelt_message_meta", "user.meta.order.age_dayz > 3", "E324", 10,
     "metadata field `order.age_dayz` is not declared", "did you mean `order.age_days`?"),
    ("boolean_against_number", "trace.meta.user.verified == 1", "E325", 38,
     "metadata `user.verified` is declared boolean, so it never equals 1", None),
    ("boolean_ordered", "trace.meta.user.verified > 0", "E325", 10,
     "`>` orders numbers, and metadata `user.verified` is declared boolean", None),
    ("string_ordered", "trace.meta.order.id < 3", "E325", 10, "`<` orders numbers", None),
    ("unlisted_value", 'trace.meta.user.tier == "proo"', "E325", 34,
     'declared one of ["free", "pro"], so it never equals "proo"', "did you mean `pro`?"),
    ("unlisted_member", 'trace.meta.user.tier in ["free", "gold"]', "E325", 43, 'never equals "gold"', None),
    ("number_against_string", 'trace.meta.order.age_days != "old"', "E325", 39,
     "declared number, so it never equals \"old\"", None),
    ("score_out_of_range", 'user.label("fraud_risk") > 2', "E325", 37, "is a score in [0, 1]", None),
    ("score_against_boolean", 'user.label("fraud_risk") == true', "E325", 38, "never equals true", None),
    ("string_as_condition", "trace.meta.order.id", "E325", 10, "so it is never true or false", None),
    ("two_facts_of_other_types", 'trace.meta.order.id == user.label("pii_leak")', "E325", 10,
     "they are never equal or ordered", None),
]


def _diagnostics(text: str):
    with pytest.raises(charter.PolicyError) as raised:
        charter.loads(text, "p.charter")
    return raised.value.diagnostics


@pytest.mark.parametrize("name, condition, code, column, words, hint", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_at_the_place_with_the_words(name, condition, code, column, words, hint):
    text = DECLARED + f"\nnorm n:\n    when {condition}\n    forbid assistant says \"x\"\n"
    found = [d for d in _diagnostics(text) if d.code == code]
    assert len(found) == 1, found
    [d] = found
    assert (d.span.line, d.span.column) == (10, column)
    assert words in d.message
    if hint is not None:
        assert d.hint == hint


DECLARATION_ERRORS = [
    ("unknown_type", "label x: scor\n", "E322", "unknown type `scor`", "did you mean `score`?"),
    ("band_on_a_boolean", "label x: boolean uncertain between 0.2 and 0.4\n", "E326",
     "`uncertain between` bounds a score", None),
    ("confidence_out_of_range", "label x: string uncertain below 1.5\n", "E320", "must be in (0, 1]", None),
    ("escalate_to_nobody", "label x: score uncertain between 0.2 and 0.4 escalate to admin\n", "E303",
     "unknown authority `admin`", None),
    ("meta_declared_twice", "meta a.b: number\nmeta a.b: string\n", "E321",
     "metadata field `a.b` is declared again with another type", None),
    ("label_redeclared_with_a_detector", "label x: score from detector d\nlabel x: score from detector e\n", "E321",
     "declared again with another detector", None),
    ("one_of_a_name", "meta a: one of [free]\n", "E126", "`one of` lists the values", None),
]


@pytest.mark.parametrize("name, text, code, words, hint", DECLARATION_ERRORS, ids=[e[0] for e in DECLARATION_ERRORS])
def test_declaration_errors(name, text, code, words, hint):
    found = [d for d in _diagnostics(text + "norm n:\n    permit\n") if d.code == code]
    assert found and words in found[0].message, found
    assert hint is None or found[0].hint == hint


def test_an_untyped_declaration_agrees_with_a_typed_one():
    policy = charter.loads('label x\nlabel x: boolean\nnorm n:\n    forbid assistant.label("x")\n')
    trace = {"id": "t", "messages": [{"role": "user", "content": "hi"},
                                     {"role": "assistant", "content": "a", "labels": {"x": 0.9}}]}
    assert [v.kind for v in policy.check(trace).verdicts] == ["unspecified"]  # 0.9 is no boolean


def test_errors_render_on_the_command_line(tmp_path):
    policy = tmp_path / "p.charter"
    policy.write_text(DECLARED + '\nnorm n:\n    when user.label("fraud_risks") >= 0.5\n    forbid assistant says "x"\n')
    result = CliRunner().invoke(main, ["check", str(policy), "--traces", str(policy)])
    assert result.exit_code == 2
    assert "error[E323]: label \"fraud_risks\" is not declared" in result.output
    assert f"{policy}:10:10" in result.output and "hint: did you mean `fraud_risk`?" in result.output


def test_a_file_that_declares_nothing_reads_what_it_names():
    policy = charter.loads('norm n:\n    when user.label("anything") >= 0.5 and trace.meta.whatever\n    permit\n')
    assert policy.norms == ["n"]


def test_declaring_labels_leaves_metadata_free_and_a_prefix_is_declared():
    charter.loads('label x: score\nmeta user.tier: string\nnorm n:\n    when user.label("x") >= 0.5 and '
                  'trace.meta.user is known\n    permit\n')
    charter.loads('label x: score\nnorm n:\n    when trace.meta.anything == 3\n    permit\n')


def test_a_let_from_another_file_is_checked_where_it_was_written(tmp_path):
    (tmp_path / "vocab.charter").write_text('label risky: score\nlet risky = user.label("riskyy") >= 0.5\n')
    (tmp_path / "p.charter").write_text('use "vocab.charter" as v\nnorm n:\n    when v.risky\n    permit\n')
    with pytest.raises(charter.PolicyError) as raised:
        charter.load(str(tmp_path / "p.charter"))
    [d] = [d for d in raised.value.diagnostics if d.code == "E323"]
    assert d.span.source.endswith("vocab.charter") and d.hint == "did you mean `risky`?"


# --------------------------------------------------------------------------- at run time

TYPED = DECLARED + '''
norm verified_only:
    when trace.meta.user.verified == false
    forbid assistant says "balance"

norm pii:
    forbid assistant.label("pii_leak")
'''


def _trace(meta, labels) -> dict:
    return {"id": "t", "meta": meta, "messages": [
        {"role": "user", "content": "what is my balance"},
        {"role": "assistant", "content": "your balance is 3", "labels": labels}]}


def test_a_value_of_the_wrong_type_is_unknown_with_why():
    report = charter.loads(TYPED).check(_trace({"user": {"verified": "no"}}, {"pii_leak": 0.9}))
    kinds = {v.norm: v for v in report.verdicts}
    assert kinds["verified_only"].kind == "unspecified"
    [fact] = [f for f in kinds["verified_only"].explanation.facts if not f.known]
    assert fact.name == "trace.meta.user.verified"
    assert fact.why_unknown == '"no" is not a boolean, as `meta user.verified` declares'
    assert kinds["pii"].kind == "unspecified"  # 0.9 is not a boolean: not coerced to true
    assert "is not a boolean" in kinds["pii"].explanation.facts[0].why_unknown


def test_the_same_trace_without_declarations_coerces_as_before():
    undeclared = 'norm pii:\n    forbid assistant.label("pii_leak")\n'
    report = charter.loads(undeclared).check(_trace({}, {"pii_leak": 0.9}))
    assert [v.kind for v in report.verdicts] == ["violated"]


VALUES = {
    "score": st.floats(0, 1), "boolean": st.booleans(), "number": st.floats(-1e9, 1e9) | st.integers(-10**9, 10**9),
    "string": st.text(max_size=8), "tier": st.sampled_from(["free", "pro"]),
}
PROBE = '''label s: score
label b: boolean
meta n: number
meta str: string
meta tier: one of ["free", "pro"]
norm probe:
    on assistant turn
    when assistant.label("s") >= 0.5 or assistant.label("b") or trace.meta.n > 0 or trace.meta.str == "a"
        or trace.meta.tier == "pro"
    forbid assistant says "zzz"
'''.replace("\n        or", " or")


@settings(max_examples=150, deadline=None)
@given(s=VALUES["score"], b=VALUES["boolean"], n=VALUES["number"], text=VALUES["string"], tier=VALUES["tier"])
def test_a_declared_present_fact_of_its_type_is_never_unknown(s, b, n, text, tier):
    policy = _probe()
    trace = {"id": "t", "meta": {"n": n, "str": text, "tier": tier}, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello", "labels": {"s": s, "b": b}}]}
    [verdict] = policy.check(trace).verdicts
    assert verdict.kind in ("complied", "not_applicable")
    assert all(f.known for f in verdict.explanation.facts)


_PROBE: list = []


def _probe():
    if not _PROBE:
        _PROBE.append(charter.loads(PROBE))
    return _PROBE[0]


# --------------------------------------------------------------------------- presence over a corpus

PRESENCE_POLICY = '''label fraud_risk: score
label flagged: boolean
meta user.verified: boolean
norm n:
    when trace.meta.user.verified == true and user.label("fraud_risk") >= 0.5 and user.label("flagged")
    forbid assistant says "x"
'''
PRESENCE_TRACES = [
    {"id": "a", "meta": {"user": {"verified": "yes"}},
     "messages": [{"role": "user", "content": "hi", "labels": {"flagged": 0.7}}, {"role": "assistant", "content": "x"}]},
    {"id": "b", "meta": {"user": {"verified": True}},
     "messages": [{"role": "user", "content": "hi", "labels": {"fraud_risks": 0.7}}, {"role": "assistant", "content": "x"}]},
]


@pytest.fixture
def presence_files(tmp_path):
    import json
    policy, traces = tmp_path / "p.charter", tmp_path / "t.jsonl"
    policy.write_text(PRESENCE_POLICY)
    traces.write_text("".join(json.dumps(t) + "\n" for t in PRESENCE_TRACES))
    return str(policy), str(traces)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_summary_counts_each_declared_fact(presence_files, jobs):
    import json
    policy, traces = presence_files
    result = CliRunner().invoke(main, ["check", policy, "--traces", traces, "--format", "json", "-j", jobs])
    facts = json.loads(result.stdout)["summary"]["facts"]
    assert facts == [
        {"kind": "label", "name": "flagged", "present": 1, "wrong_type": 1},
        {"kind": "label", "name": "fraud_risk", "present": 0, "wrong_type": 0},
        {"kind": "meta", "name": "user.verified", "present": 2, "wrong_type": 1},
    ]
    assert f"{traces}:1: warning: trace.meta.user.verified is \"yes\", not of the type declared " \
           "(`meta user.verified: boolean`): read as unknown" in result.stderr
    assert result.exit_code == 0


def test_a_fact_present_in_no_trace_is_flagged_and_can_fail_the_run(presence_files):
    policy, traces = presence_files
    text = CliRunner().invoke(main, ["check", policy, "--traces", traces])
    assert "warning: label `fraud_risk` appears in 0 of 2 traces" in text.stdout
    assert "label `flagged` in 1 (1 with the wrong type)" in text.stdout
    assert text.exit_code == 0
    strict = CliRunner().invoke(main, ["check", policy, "--traces", traces, "--fail-on-absent-facts"])
    assert strict.exit_code == 1


def test_a_policy_without_declarations_has_no_facts_in_its_summary(tmp_path, presence_files):
    import json
    _, traces = presence_files
    policy = tmp_path / "plain.charter"
    policy.write_text('norm n:\n    forbid assistant says "x"\n')
    result = CliRunner().invoke(main, ["check", str(policy), "--traces", traces, "--format", "json",
                                       "--fail-on-absent-facts"])
    assert "facts" not in json.loads(result.stdout)["summary"] and result.exit_code == 1  # (x is said: violated)


# --------------------------------------------------------------------------- who decides inside a band

BAND_POLICY = '''authorities platform > trust_and_safety > developer > user

label toxic: score uncertain between 0.4 and 0.8 escalate to trust_and_safety
label spam: score uncertain between 0.4 and 0.8

norm no_toxic_replies:
    forbid assistant.label("toxic") >= 0.8

norm no_spam:
    forbid assistant.label("spam") >= 0.8
'''


def _reply(**labels) -> dict:
    return {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x", "labels": labels}]}


@pytest.mark.parametrize("score, kind, escalate_to", [
    (0.2, "complied", None), (0.4, "complied", None),       # below the band, its bound known
    (0.6, "unspecified", "trust_and_safety"),                # inside: the band's authority decides
    (0.8, "violated", None), (0.95, "violated", None),
])
def test_a_verdict_that_hinges_on_a_label_inside_its_band_goes_to_the_bands_authority(score, kind, escalate_to):
    verdicts = {v.norm: v for v in charter.loads(BAND_POLICY).check(_reply(toxic=score, spam=score)).verdicts}
    toxic = verdicts["no_toxic_replies"]
    assert (toxic.kind, toxic.escalate_to) == (kind, escalate_to)
    assert verdicts["no_spam"].escalate_to is None  # a band without `escalate to`: nobody named
    if kind == "unspecified":
        assert toxic.reason == "uncertain" and toxic.unknown == ("messages[1].labels.toxic",)


def test_a_missing_label_is_not_the_bands_to_decide():
    [verdict, _] = charter.loads(BAND_POLICY).check(_reply()).verdicts
    assert (verdict.kind, verdict.escalate_to) == ("unspecified", None)


def test_a_session_escalates_an_uncertain_reply_to_the_bands_authority():
    session = charter.loads(BAND_POLICY).session()
    session.add({"role": "user", "content": "hi"})
    check = session.check_candidate({"role": "assistant", "content": "x", "labels": {"toxic": 0.6, "spam": 0.1}})
    assert check.decision == "escalate" and check.targets == ("trust_and_safety",)


def test_an_inline_test_gives_a_label_of_its_declared_type():
    text = ('label language: string\nnorm n:\n    forbid assistant.label("language") == "xx"\n\n'
            'test "t":\n    user: "hi"\n    assistant: "yo" labels {{"language": {}}}\n    expect n complied\n')
    assert all(r.passed for r in charter.loads(text.format('"en"')).run_tests())
    with pytest.raises(charter.PolicyError) as caught:
        charter.loads(text.format("0.5"))
    [error] = caught.value.diagnostics
    assert (error.code, error.message) == ("E332", "label `language` must be of the type declared (`string`), not 0.5")
