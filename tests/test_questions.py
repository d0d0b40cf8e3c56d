"""Question IDs (`charter.reports.questions`): one per open question `charter gaps` groups,
derived from the policy's content only."""

from __future__ import annotations

import json
import re
import textwrap

from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

import charter
from charter.cli import main
from charter.reports.questions import Questions, question_id

POLICY = textwrap.dedent("""\
    charter shop by developer

    authorities platform > developer > user

    norm refunds:
        "Refund promises follow the refund window."
        when user says "refund"
        case trace.meta.age <= 30: permit
        case trace.meta.age > 90: unspecified "late refunds" escalate to platform
        case trace.meta.vip == true: unspecified "late refunds" escalate to platform

    norm discounts:
        when user says "discount"
        case trace.meta.tier == "vip": permit

    norm tone:
        when trace.meta.angry == true
        require assistant says "sorry"
    """)

# The same policy reformatted by hand: other indentation, a comment, a list split.
REFORMATTED = POLICY.replace("    case trace.meta.age > 90:", "    # the long tail\n    case trace.meta.age   >   90:")


def _trace(id: str, **meta) -> dict:
    return {"id": id, "meta": meta, "messages": [
        {"role": "user", "content": "A refund and a discount please"},
        {"role": "assistant", "content": "Let me see."}]}


TRACES = [_trace("late", age=120), _trace("vip", age=50, vip=True), _trace("gap", age=50, vip=False, tier="x"),
          _trace("unknown", age=50, tier="vip")]


def _ids(text: str) -> dict[tuple[str, str], str]:
    """(norm, trace id) -> question ID of every unspecified verdict."""
    policy = charter.loads(text, "shop.charter")
    found = {}
    for trace in TRACES:
        for verdict in policy.check(trace).verdicts:
            if verdict.kind == "unspecified":
                found[(verdict.norm, trace["id"])] = question_id(verdict, policy)
    return found


def test_ids_have_the_documented_shape_and_tell_questions_apart():
    ids = _ids(POLICY)
    assert all(re.fullmatch(r"Q[0-9a-f]{7}", q) for q in ids.values())
    refunds = [ids[("refunds", t)] for t in ("late", "vip", "gap", "unknown")]
    assert len(set(refunds)) == 4  # two clauses with the same reason, a gap, unknown `vip`
    assert ids[("discounts", "late")] == ids[("discounts", "vip")] != ids[("discounts", "gap")]
    assert len({ids[("tone", t["id"])] for t in TRACES}) == 1  # the same unknown fact: one question
    assert len(set(ids.values())) == 7


def test_ids_survive_reformatting_and_unrelated_edits():
    ids = _ids(POLICY)
    assert _ids(REFORMATTED) == ids
    formatted, _ = charter_format(POLICY)
    assert _ids(formatted) == ids
    added = POLICY + '\nnorm unrelated:\n    forbid assistant says "never"\n'
    assert {k: v for k, v in _ids(added).items() if k[0] != "unrelated"} == ids


def test_editing_the_clause_changes_its_id_only():
    ids = _ids(POLICY)
    edited = _ids(POLICY.replace("case trace.meta.age > 90:", "case trace.meta.age > 60:"))
    assert edited[("refunds", "late")] != ids[("refunds", "late")]
    assert edited[("refunds", "vip")] == ids[("refunds", "vip")]
    reworded = _ids(POLICY.replace('"late refunds" escalate to platform\n    case trace.meta.vip',
                                   '"refunds after 90 days" escalate to platform\n    case trace.meta.vip'))
    assert reworded[("refunds", "late")] != ids[("refunds", "late")]
    assert reworded[("refunds", "vip")] == ids[("refunds", "vip")]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True), unique=True, max_size=4))
def test_other_norms_never_move_an_id(names):
    """Norms added between the others (so every line below moves) leave the IDs alone."""
    names = [n for n in names if n not in ("refunds", "discounts", "tone")]
    extra = "".join(f'norm {n}:\n    unspecified "open {n}" escalate to user\n\n' for n in names)
    ids = {k: v for k, v in _ids(POLICY.replace("norm discounts:", extra + "norm discounts:")).items()
           if k[0] not in names}
    assert ids == _ids(POLICY)


def charter_format(text: str) -> tuple[str, list]:
    from charter.source.text import Source
    from charter.syntax.format import format_source

    formatted, problems = format_source(Source("shop.charter", text))
    assert formatted is not None, problems
    return formatted.text, problems


def test_declared_questions_match_the_verdicts():
    policy = charter.loads(POLICY, "shop.charter")
    declared = Questions(policy).declared()
    ids = _ids(POLICY)
    assert {ids[("refunds", "late")], ids[("refunds", "vip")]} == set(declared)


def test_every_gaps_format_shows_the_ids(tmp_path):
    (tmp_path / "shop.charter").write_text(POLICY)
    (tmp_path / "t.jsonl").write_text("".join(json.dumps(t) + "\n" for t in TRACES))
    ids = set(_ids(POLICY).values())

    def run(fmt):
        result = CliRunner().invoke(main, ["gaps", str(tmp_path / "shop.charter"), "--traces",
                                           str(tmp_path / "t.jsonl"), "--format", fmt])
        assert result.exit_code == 0, result.output
        return result.output

    data = json.loads(run("json"))
    items = [i for s in data["stakeholders"] for n in s["norms"] for i in n["items"]]
    assert {i["question"] for i in items} == ids and len(items) == len(ids)
    assert set(re.findall(r"^#### `(Q[0-9a-f]{7})`", run("markdown"), re.M)) == ids
    assert set(re.findall(r'<code class="question"[^>]*>(Q[0-9a-f]{7})</code>', run("html"))) == ids
