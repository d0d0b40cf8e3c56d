"""`charter test --prove`: contradictions between norms decided by the solver (issue 23)."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

import charter
from charter.analysis.generate import SEPARATOR, reply_parts, traces, vocabulary
from charter.analysis.properties import _contradiction, check_properties
from charter.check.loader import load_program
from charter.check.resolve import stdlib_names
from charter.cli import main
from charter.evaluate.policy import Policy
from charter.source.text import Source
from charter.compile.compiler import compile_program
from charter.solver import decide_contradictions
from charter.solver.encode import shapes

from charter.syntax import ast
from charter.traces.model import Message, Trace
from oracle.build import checked_norm, program
from property.strategies import EMAIL, PHRASES, Where, conditions, programs

ROOT = Path(__file__).resolve().parents[1]
SEEDED = ROOT / "tests" / "cases" / "analysis"
ISSUE = SEEDED / "window_contradiction.charter"
LAYERS = [str(SEEDED / "layers" / f"{name}.charter") for name in ("platform", "developer")]


def contradiction(paths: list[str], examples: int, prove: bool):
    policy = charter.load(*paths)
    (result,) = [r for r in check_properties(policy.program, policy.compiled, examples, prove=prove)
                 if r.name == "contradiction"]
    return result


def replayed(paths: list[str], counterexample: str) -> list[bool]:
    """The counterexample's test blocks, pasted after the policy's last file."""
    texts = [Path(p).read_text() for p in paths]
    texts[-1] += "\n" + counterexample
    policy = Policy(load_program(texts=[Source(p, t) for p, t in zip(paths, texts)]))
    return [r.passed for r in policy.run_tests()]


@pytest.mark.parametrize("examples, prove, method", [(200, False, "sampled"), (200, True, "refuted"),
                                                      (1, True, "refuted")])
def test_the_issue_policy_is_refuted_with_and_without_prove(examples, prove, method):
    # With one example the sample misses it: the solver finds it.
    result = contradiction([str(ISSUE)], examples, prove)
    assert (result.passed, result.subject, result.method) == (False, "acknowledge_complaint, admit_nothing", method)
    if examples == 1:
        assert "found by the solver in traces of 1 to 2 user/assistant exchanges" in result.detail
    # Two blocks: the reply that keeps one norm breaks the other, and the other way round.
    blocks = result.counterexample.split("\n\n")
    assert [b.count("\n    user: ") + b.count("\n    assistant: ") for b in blocks] == [2, 2]
    assert 'user: "complaint lawyer"' in blocks[0]
    assert "expect admit_nothing violated at turn 1" in blocks[0]
    assert "expect acknowledge_complaint violated at turn 0" in blocks[1]
    assert replayed([str(ISSUE)], result.counterexample) == [True, True]


def test_a_contradiction_between_layers_names_each_authority():
    result = contradiction(LAYERS, 1, True)
    assert result.method == "refuted"
    assert "between the authorities developer and platform: `gold_price_lock` (by developer), " \
           "`no_price_guarantees` (by platform)" in result.detail
    assert replayed(LAYERS, result.counterexample) == [True, True]


def test_a_user_rule_against_the_shipped_layers_is_refuted_with_each_authority(tmp_path):
    # examples/layered, proved free of contradictions, with one more user file: a rule
    # that meets the platform's hard `no_card_numbers`.
    extra = tmp_path / "user_card.charter"
    extra.write_text('charter user_card by user\n\nauthorities platform > developer > user\n\nuse std.pii\n\n'
                     'norm read_back_my_card:\n    "Read my card number back when I ask for it."\n'
                     '    when user says "my card"\n    require assistant mentions pii.card\n')
    paths = [str(ROOT / "examples" / "layered" / f"{layer}.charter") for layer in ("platform", "developer", "user")]
    result = contradiction([*paths, str(extra)], 1, True)
    assert result.method == "refuted"
    assert "between the authorities platform and user: `no_card_numbers` (by platform), " \
           "`read_back_my_card` (by user); found by the solver in traces of 1 to 3" in result.detail
    blocks = result.counterexample.split("\n\n")
    assert [b.count("\n    user: ") + b.count("\n    assistant: ") for b in blocks] == [2, 2]
    assert replayed([*paths, str(extra)], result.counterexample) == [True] * 5  # the layers' 3, and these 2


def test_the_search_stops_when_its_time_is_spent():
    policy = charter.load(str(ISSUE))
    decision = decide_contradictions(policy.program, vocabulary(policy.program),
                                     confirmer(policy.program, policy.compiled), seconds=0)
    assert (decision.status, decision.note) == (
        "not decided", "the solver gave no answer in the time left (0 s for the whole search)")


@pytest.mark.parametrize("name", ["contradiction", "window_contradiction", "conversation_contradiction"])
def test_no_proof_follows_from_situations_the_evaluator_did_not_confirm(name):
    # An evaluator that confirms nothing: every situation found is excluded, and what is
    # left is no contradiction of the encoding. That is no proof (main at d1b4489 said
    # `proved` here).
    policy = charter.load(str(SEEDED / f"{name}.charter"))
    decision = decide_contradictions(policy.program, vocabulary(policy.program), lambda trace, replies=(): None)
    assert (decision.status, decision.note) == (
        "not decided", "the evaluator did not confirm 1 situation the solver found (a contradiction of the "
                       "encoding, not made into a trace)")


def test_a_policy_without_contradiction_is_proved_within_the_bound():
    result = contradiction([str(ROOT / "examples" / "acme_support.charter")], 20, True)
    assert result.passed and result.method == "proved"
    assert result.detail.startswith("proved: no norms that no reply can satisfy together in traces of 1 to 2 "
                                    "user/assistant exchanges")


def _json_policy(regex: str, forbidden: str = "") -> charter.Policy:
    return charter.loads('charter t by developer\n'
                         'norm json:\n    "JSON when asked."\n    when system says "json"\n'
                         f'    require assistant matches {regex}\n' + forbidden)


def test_a_regex_anchored_at_the_start_of_the_reply_reads_the_lead():
    # The reply must start with { and may not say "hello" nor "sure": the lead is a
    # sample of the regex, not the filler word.
    result = contradiction_of(_json_policy("/^\\s*[{]/", 'norm terse:\n    "Terse."\n'
                                           '    forbid assistant says any of ["hello", "sure"]\n'))
    assert result.passed and result.method == "proved", result.detail


def test_a_regex_anchored_at_the_end_of_the_reply_is_not_decided():
    result = contradiction_of(_json_policy("/[}]\\s*$/"))
    assert result.passed and result.method == "sampled"
    assert "not decided in traces of 1 to 2 user/assistant exchanges (with or without a system message first)" \
        in result.detail
    assert "`/[}]\\s*$/` on the reply (a match across the reply's parts, or an anchor other than at its start)" \
        in result.detail


def test_a_norm_that_needs_the_reply_to_call_a_tool_is_not_decided():
    # No reply tried makes a call: a proof would miss that these two contradict.
    policy = charter.loads('charter t by developer\n'
                           'norm look:\n    "Look it up."\n    when user says "order"\n'
                           '    require assistant calls "lookup"\n'
                           'norm quiet:\n    "No lookups on holidays."\n    when user says "holiday"\n'
                           '    forbid assistant calls "lookup"\n')
    result = contradiction_of(policy)
    assert result.method == "sampled"
    assert "`assistant calls \"lookup\"` on the reply (the replies tried make no tool call)" in result.detail


ORDERED = SEEDED / "ordered_facts.charter"


def test_two_labels_ordered_on_the_reply_are_refuted_and_replay():
    # The reply's urgency is the solver's to choose: at or above the user's 0.9+, or not above 0.9.
    result = contradiction([str(ORDERED)], 1, True)
    assert (result.passed, result.method, result.subject) == (False, "refuted", "match_urgency, stay_calm")
    blocks = result.counterexample.split("\n\n")
    assert "expect stay_calm violated at turn 1" in blocks[0] and "expect match_urgency violated at turn 1" in blocks[1]
    assert replayed([str(ORDERED)], result.counterexample) == [True, True]


def test_two_labels_ordered_on_the_reply_are_proved_where_an_exception_lets_one_through():
    text = ORDERED.read_text().replace('forbid assistant.label("urgency") > 0.9\n',
                                       'forbid assistant.label("urgency") > 0.9\n'
                                       '        unless user.label("urgency") > 0.9: permit\n')
    result = contradiction_of(charter.loads(text, name=str(ORDERED)))
    assert (result.passed, result.method) == (True, "proved"), result.detail


def test_a_reply_label_is_never_inside_its_uncertainty_band():
    # Inside (0.2, 0.8) the evaluator finds the label unknown: a reply there keeps both
    # norms only in appearance; outside it, no reply keeps both.
    policy = charter.loads('charter t by developer\n\nlabel warmth: score uncertain between 0.2 and 0.8\n\n'
                           'norm warm:\n    "Warm enough."\n    require assistant.label("warmth") > 0.2\n\n'
                           'norm cool:\n    "Not too warm."\n    require assistant.label("warmth") < 0.8\n')
    decision = decide_contradictions(policy.program, vocabulary(policy.program),
                                     confirmer(policy.program, policy.compiled))
    assert decision.status == "refuted"


FORMAL = ('charter flags by developer\n\nlabel formal: score\n\n'
          'norm formal_when_asked:\n    "A formal user gets a formal reply."\n    when user.label("formal")\n'
          '    require assistant.label("formal")\n\n'
          'norm casual_always:\n    "Replies are never formal."\n    forbid assistant.label("formal")\n')


@pytest.mark.parametrize("exception, method", [("", "refuted"),
                                               ('        unless user.label("formal"): permit\n', "proved")])
def test_a_label_standing_as_a_condition_is_read_through_its_regions(exception, method):
    # A score is true from 0.5; `true` is no score here (the declaration says so), so no
    # reply escapes by carrying it.
    result = contradiction_of(charter.loads(FORMAL + exception))
    assert result.method == method, result.detail
    if method == "refuted":
        assert [r.passed for r in charter.loads(FORMAL + "\n" + result.counterexample).run_tests()] == [True, True]
        assert "true" not in result.counterexample


def test_a_conversation_norm_against_a_turn_norm_is_refuted_by_the_solver():
    path = str(SEEDED / "conversation_contradiction.charter")
    result = contradiction([path], 1, True)
    assert (result.passed, result.method, result.subject) == (False, "refuted", "no_goodbye_to_complaints, sign_off")
    assert [b.count("\n    user: ") + b.count("\n    assistant: ") for b in result.counterexample.split("\n\n")] \
        == [2, 2]
    assert replayed([path], result.counterexample) == [True, True]


def contradiction_of(policy: charter.Policy):
    (result,) = [r for r in check_properties(policy.program, policy.compiled, 20, prove=True)
                 if r.name == "contradiction"]
    return result


def test_without_the_solver_installed_prove_says_how_to_install_it():
    blocker = ("import sys; sys.modules['z3'] = None\n"
               "from charter.cli import main\n"
               f"main(['test', '--prove', '--examples', '20', {str(ISSUE.parent / 'dead_exception.charter')!r}])")
    run = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, timeout=300)
    assert "Traceback" not in run.stderr
    assert 'contradiction            sampled 20 traces, no norms that no reply can satisfy together; not decided: ' \
           'the solver is not installed (pip install "charter[prove]")' in run.stdout


def test_charter_test_prove_prints_the_solver_counterexample():
    result = CliRunner().invoke(main, ["test", "--prove", "--examples", "1", str(ISSUE)])
    assert result.exit_code == 1
    assert 'test "contradiction: reply 2 of 2":' in result.stdout


# --------------------------------------------------------------------------- the abstraction


def _fits(trace, vocab) -> bool:
    return tuple(m.role for m in trace.messages) in {s.roles for s in shapes(vocab)}


def _family_keeps_all(program, compiled, found, vocab) -> bool:
    """Whether some reply of the solver's family (a lead and up to two tokens, no tool
    call, any labels a classifier could give it) keeps every norm: the evaluator's finite
    set of replies missed it, so its contradiction is not one."""
    tokens, filler = reply_parts(vocab)
    contents = [SEPARATOR.join([lead, *chosen])
                for lead in [filler, *tokens] for size in range(3) for chosen in itertools.combinations(tokens, size)]
    names = sorted(vocab.labels)
    scores = [[v for v in vocab.labels[name] if _sure(program, name, v)] for name in names]
    replies = [Message(len(found.trace.messages) - 1, "assistant", content, labels=dict(zip(names, values)))
               for values in itertools.product(*scores) for content in contents]
    return _contradiction(compiled, found.trace, tuple(tokens), tuple(replies)) is None


def _sure(program, name: str, value) -> bool:
    """A label value the solver's replies may carry: a score in [0, 1] outside the band, or
    a value that is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return True
    band = program.bands.get(name)
    return 0 <= value <= 1 and not (band and band[0] < value < band[1])


def confirmer(program, compiled):
    """The evaluator's confirmation, as `charter test --prove` runs it."""
    tokens = tuple(reply_parts(vocabulary(program))[0])
    return lambda trace, replies=(): _contradiction(compiled, trace, tokens, replies)


def _says(role: str, phrase: str) -> ast.Says:
    return ast.Says(ast.Subject(role), "one", ast.Literal(phrase))


# What the reply carries besides its phrases: a label ordered against the user's, an
# address the user did not give.
REPLY_FACTS = (ast.Compare(">=", ast.Label(ast.Subject("assistant"), "a"), ast.Label(ast.Subject("user"), "a")),
               ast.Shares(ast.Subject("assistant"), EMAIL, ast.Events("any", "earlier", "user"), negated=True))


@st.composite
def obligations(draw: st.DrawFn):
    """2-3 norms that require or forbid the reply's phrases, labels or addresses (some
    over a window, some with an exception), triggered by what the user says or by
    generated conditions: policies where contradictions are common."""
    norms = []
    for i in range(draw(st.integers(2, 3))):
        scope = draw(st.sampled_from(("assistant turn", "assistant turn", "user turn")))
        behaviour = draw(st.sampled_from([_says("assistant", p) for p in PHRASES[:1] * 3 + PHRASES[1:2]]
                                         + list(REPLY_FACTS)))
        within = 1 if scope == "user turn" else draw(st.sampled_from((None, None, 1)))
        exceptions = () if draw(st.integers(0, 3)) else (
            ast.Unless(draw(conditions(Where(scope), 1)), ast.Outcome("permit")),)
        outcome = ast.Outcome(draw(st.sampled_from(("require", "forbid"))) if within is None else "require",
                              behaviour, within, exceptions=exceptions)
        trigger = draw(st.one_of(*[st.builds(_says, st.just("user"), st.sampled_from(PHRASES[:3]))] * 3,
                                 conditions(Where(scope), 1)))
        norms.append(checked_norm(f"n{i}", outcome, scope=scope, trigger=trigger))
    return program(*norms)


def _dense(vocab) -> list[Trace]:
    """Every trace of one or two exchanges whose user messages say a set of the policy's
    user phrases (the replies a filler word)."""
    phrases = vocab.phrases_by_role.get("user", ())
    said = [" ".join(c) or "hello" for size in range(len(phrases) + 1) for c in itertools.combinations(phrases, size)]
    found = []
    for count in (1, 2):
        for users in itertools.product(said, repeat=count):
            texts = [text for user in users for text in (("user", user), ("assistant", "hello"))]
            found.append(Trace("dense", tuple(Message(i, role, text) for i, (role, text) in enumerate(texts))))
    return found


# Random on every run (a fixed sample hid a policy the solver proved while the evaluator
# found a contradiction: the solver had excluded situations the evaluator did not confirm,
# then claimed a proof). Failures it finds are kept as cases in tests/cases/analysis/.
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(obligations(), programs()), st.data())
def test_what_the_evaluator_finds_the_solver_finds_and_the_solver_is_confirmed(program, data):
    # Over-approximation: on a generated trace within the bound, a contradiction the
    # evaluator finds (and no reply of the solver's family escapes) is never proved away.
    # Confirmation: a refutation replays in the evaluator.
    vocab = vocabulary(program)
    compiled = compile_program(program)
    confirm = confirmer(program, compiled)
    decision = decide_contradictions(program, vocab, confirm)
    assert decision.status in ("proved", "refuted", "not decided") and (decision.status != "not decided"
                                                                        or decision.note)
    if decision.status == "refuted":
        assert confirm(decision.found.trace, tuple(trace.messages[-1] for trace, _ in decision.found.variants))
    generated = [data.draw(traces(vocab)) for _ in range(10)]
    for trace in _dense(vocab) + generated:
        found = confirm(trace)
        if found is not None and _fits(found.trace, vocab) and not _family_keeps_all(program, compiled, found, vocab):
            assert decision.status != "proved", found.blocks()


SHIPPED = [("examples/acme_support.charter",),
           *((f"examples/{n}/{n}.charter",) for n in ("banking", "shop_support", "health_info", "tutor",
                                                        "coding_agent", "model_spec")),
           *(tuple(f"examples/layered/{layer}.charter" for layer in ("platform", "developer", "user")[:size])
             for size in (1, 2, 3))]


@pytest.mark.parametrize("paths", [*SHIPPED, *((f"std.{name}",) for name in stdlib_names())], ids=str)
def test_every_shipped_policy_is_proved_free_of_contradictions(paths):
    policy = charter.load(*(str(ROOT / p) if p.endswith(".charter") else p for p in paths))
    decision = decide_contradictions(policy.program, vocabulary(policy.program),
                                     confirmer(policy.program, policy.compiled))
    assert (decision.status, decision.note) == ("proved", "")


def _bound(norms: str) -> str:
    return "charter mail by developer\n\nuse std.pii\n\n" + norms


SUGGEST = ('norm suggest_new_address:\n    "Suggest an address the user has not used."\n'
           '    when user says "new address"\n    require assistant mentions pii.email not found in any earlier user\n\n')
NO_LEAK = ('norm no_email_leak:\n    "Never reveal an address the user did not give."\n'
           '    forbid assistant mentions pii.email not found in any earlier user\n')


@pytest.mark.parametrize("exception, method", [("", "refuted"), ('        unless user says "new address": permit\n',
                                                                 "proved")])
def test_an_address_not_found_in_earlier_messages_is_decided_on_the_reply(exception, method):
    # The reply's addresses are its parts' matches; whether an earlier message holds each is the situation's.
    text = _bound(SUGGEST + NO_LEAK + exception)
    result = contradiction_of(charter.loads(text))
    assert result.method == method, result.detail
    if method == "refuted":
        assert [r.passed for r in charter.loads(text + "\n" + result.counterexample).run_tests()] == [True, True]


def test_an_address_shared_with_the_latest_user_message_is_refuted_with_the_address_in_it():
    policy = charter.loads(_bound('norm confirm_address:\n    "Repeat the address to confirm."\n    when user says "confirm"\n'
                    '    require assistant shares pii.email with latest user\n\n'
                    'norm discreet:\n    "No address for a user who asks for discretion."\n'
                    '    when user says "private"\n    forbid assistant mentions pii.email\n'))
    result = contradiction_of(policy)
    assert result.method == "refuted"
    user = next(line for line in result.counterexample.splitlines() if line.strip().startswith("user:"))
    assert "confirm private" in user and "@" in user  # the solver put an address in the user's message


def test_a_binding_on_the_reply_over_tool_results_is_not_decided_rather_than_proved():
    # Which call a tool result answers is not encoded: the result says so rather than claim a proof.
    policy = charter.loads(_bound('norm from_the_lookup:\n    "Only addresses the lookup returned."\n'
                                  '    forbid assistant mentions pii.email not found in any earlier tool\n'))
    decision = decide_contradictions(policy.program, vocabulary(policy.program),
                                     confirmer(policy.program, policy.compiled))
    assert decision.status == "not decided"
    assert "`assistant mentions pii.email not found in any earlier tool` on the reply" in decision.note


def test_an_obligation_to_reach_out_added_to_the_model_spec_contradicts_nothing():
    # Reported as contradicting `crisis_support` and `honest_about_being_an_ai`: a reply
    # that says "not alone" and "988" and claims nothing keeps all three.
    path = ROOT / "examples" / "model_spec" / "model_spec.charter"
    text = path.read_text().replace(
        '    unspecified "whether the reply engages with warmth needs a human" escalate to platform\n',
        '    require assistant says "not alone" within 1 turn\n')
    policy = charter.loads(text, name=str(path))
    vocab = vocabulary(policy.program)
    assert "not alone" in vocab.phrases
    decision = decide_contradictions(policy.program, vocab, confirmer(policy.program, policy.compiled))
    assert (decision.status, decision.note) == ("proved", "")
