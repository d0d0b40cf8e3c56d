"""Several policy files loaded as one layered policy, and modules brought in with `use`."""

from __future__ import annotations

from pathlib import Path

import pytest

import charter

from ._support import assistant, check, kinds, of, one, policy, trace, user


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


PLATFORM = """\
charter plat by platform

norm no_slurs:
    forbid assistant says "slur"

norm be_honest:
    forbid assistant says "I am human"
"""

DEVELOPER = """\
charter shop by developer

default norm formal:
    forbid assistant says "lol"

norm be_honest:
    require assistant says "bot"
"""


def test_norms_of_every_layer_are_checked(tmp_path):
    p = charter.load(write(tmp_path, "plat.charter", PLATFORM), write(tmp_path, "shop.charter", DEVELOPER))
    assert p.norms == ["no_slurs", "plat.be_honest", "formal", "shop.be_honest"]


def test_names_are_qualified_only_where_they_clash(tmp_path):
    p = charter.load(write(tmp_path, "plat.charter", PLATFORM), write(tmp_path, "shop.charter", DEVELOPER))
    report = p.check(trace(user("are you human?"), assistant("I am human lol")))
    assert [(v.norm, v.kind) for v in report.verdicts] == [
        ("no_slurs", "complied"), ("plat.be_honest", "violated"),
        ("formal", "violated"), ("shop.be_honest", "violated")]


def test_a_file_authority_comes_from_its_charter_line(tmp_path):
    p = charter.load(write(tmp_path, "plat.charter", PLATFORM), write(tmp_path, "shop.charter", DEVELOPER))
    report = p.check(trace(user("u"), assistant("a")))
    assert {v.norm: v.authority for v in report.verdicts} == {
        "no_slurs": "platform", "plat.be_honest": "platform",
        "formal": "developer", "shop.be_honest": "developer"}


def test_a_norm_by_clause_beats_the_file_authority():
    p = policy("""
        charter shop by developer
        norm a:
            permit
        norm b by platform:
            permit
    """)
    report = check(p, user("u"), assistant("a"))
    assert (one(report, "a").authority, one(report, "b").authority) == ("developer", "platform")


def test_a_file_without_a_charter_line_is_named_after_the_file(tmp_path):
    a = write(tmp_path, "alpha.charter", "norm n:\n    permit\n")
    b = write(tmp_path, "beta.charter", "norm n:\n    forbid assistant says \"x\"\n")
    p = charter.load(a, b)
    assert p.norms == ["alpha.n", "beta.n"]
    report = p.check(trace(user("u"), assistant("x")))
    assert [(v.norm, v.kind, v.authority) for v in report.verdicts] == [
        ("alpha.n", "complied", "user"), ("beta.n", "violated", "user")]


def test_a_user_layer_overrides_a_developer_default_across_files(tmp_path):
    dev = write(tmp_path, "dev.charter", """\
charter dev by developer
default norm formal:
    overridable by user
    forbid assistant says "lol"
""")
    usr = write(tmp_path, "usr.charter", """\
charter usr by user
norm casual overrides formal:
    when user says "casual"
    permit
""")
    p = charter.load(dev, usr)
    report = p.check(trace(user("casual"), assistant("lol"), user("x"), assistant("lol")))
    assert kinds(report, "formal") == [(1, "overridden"), (3, "violated")]
    assert of(report, "formal")[0].overridden_by == "casual"


def test_an_override_may_name_a_clashing_norm_by_its_qualified_name(tmp_path):
    a = write(tmp_path, "a.charter", "charter a by developer\ndefault norm tone:\n    forbid assistant says \"lol\"\n")
    b = write(tmp_path, "b.charter", "charter b by platform\nnorm tone overrides a.tone:\n"
                                     "    when user says \"casual\"\n    permit\n")
    p = charter.load(a, b)
    v = [v for v in p.check(trace(user("casual"), assistant("lol"))).verdicts if v.norm == "a.tone"][0]
    assert (v.kind, v.overridden_by) == ("overridden", "b.tone")


def test_layers_with_different_chains_of_command_are_rejected(tmp_path):
    a = write(tmp_path, "a.charter", "charter a\nauthorities platform > developer > user\nnorm x:\n    permit\n")
    b = write(tmp_path, "b.charter", "charter b\nauthorities developer > platform > user\nnorm y:\n    permit\n")
    with pytest.raises(charter.PolicyError) as caught:
        charter.load(a, b)
    assert "E301" in [d.code for d in caught.value.diagnostics]


def test_two_layers_with_the_same_charter_name_are_rejected(tmp_path):
    a = write(tmp_path, "a.charter", "charter same\nnorm x:\n    permit\n")
    b = write(tmp_path, "b.charter", "charter same\nnorm y:\n    permit\n")
    with pytest.raises(charter.PolicyError) as caught:
        charter.load(a, b)
    assert "E002" in [d.code for d in caught.value.diagnostics]


VOCAB = """\
charter vocab
let asks_refund = user says any of ["refund", "money back"]
let assistant_says(p) = assistant says p
pattern order_id = /\\bORD-[0-9]{4}\\b/
pattern apology = any of ["sorry", "apologise"]
"""


def test_use_a_file_for_its_lets_and_regex_patterns(tmp_path):
    write(tmp_path, "vocab.charter", VOCAB)
    main = write(tmp_path, "main.charter", """\
charter main by developer
use "vocab.charter" as v

norm no_refunds:
    when v.asks_refund
    forbid v.assistant_says("refunded")

norm no_order_ids:
    forbid assistant mentions v.order_id
""")
    p = charter.load(main)
    assert p.norms == ["no_refunds", "no_order_ids"]
    report = p.check(trace(user("money back, it is broken"), assistant("Sorry, ORD-1234 is refunded")))
    assert [(v.norm, v.kind) for v in report.verdicts] == [
        ("no_refunds", "violated"), ("no_order_ids", "violated")]
    report = p.check(trace(user("hello"), assistant("ORD-12345 shipped")))
    assert [(v.norm, v.kind) for v in report.verdicts] == [
        ("no_refunds", "not_applicable"), ("no_order_ids", "complied")]


def test_a_used_file_is_read_relative_to_the_file_that_uses_it(tmp_path, monkeypatch):
    (tmp_path / "lib").mkdir()
    write(tmp_path / "lib", "vocab.charter", VOCAB)
    main = write(tmp_path, "main.charter",
                 'charter main\nuse "lib/vocab.charter" as v\nnorm n:\n    when v.asks_refund\n    permit\n')
    monkeypatch.chdir(tmp_path / "lib")  # not the directory the path is relative to
    assert charter.load(main).norms == ["n"]


def test_use_a_file_for_its_phrase_patterns(tmp_path):
    write(tmp_path, "vocab.charter", VOCAB)
    main = write(tmp_path, "main.charter", """\
charter main by developer
use "vocab.charter" as v

norm apologise:
    when user says "broken"
    require assistant mentions v.apology
""")
    p = charter.load(main)
    report = p.check(trace(user("it is broken"), assistant("Sorry about that")))
    assert [(v.norm, v.kind) for v in report.verdicts] == [("apologise", "complied")]


def test_the_norms_of_a_used_file_do_not_apply(tmp_path):
    write(tmp_path, "lib.charter", "charter lib\nlet x = user says \"x\"\nnorm strict:\n    forbid assistant says \"hi\"\n")
    main = write(tmp_path, "main.charter", "charter main\nuse \"lib.charter\" as lib\nnorm n:\n    when lib.x\n    permit\n")
    p = charter.load(main)
    assert p.norms == ["n"]


def test_using_a_missing_file_is_a_load_error(tmp_path):
    main = write(tmp_path, "main.charter", "charter main\nuse \"nowhere.charter\" as m\nnorm n:\n    permit\n")
    with pytest.raises(charter.PolicyError) as caught:
        charter.load(main)
    assert "E205" in [d.code for d in caught.value.diagnostics]


def test_use_std_pii_gives_the_email_pattern():
    p = policy("""
        use std.pii
        norm no_email:
            forbid assistant mentions pii.email
    """)
    report = check(p, user("u"), assistant("write to ann@example.org"), user("v"), assistant("no"))
    assert kinds(report, "no_email") == [(1, "violated"), (3, "complied")]
    assert [m.text for m in of(report, "no_email")[0].explanation.matches] == ["ann@example.org"]


def test_use_std_with_an_alias():
    p = policy("""
        use std.pii as personal
        norm no_phone:
            forbid assistant mentions personal.phone
    """)
    assert one(check(p, user("u"), assistant("call +14155550123")), "no_phone").kind == "violated"


def test_std_norms_do_not_apply_when_only_used():
    p = policy("""
        use std.pii
        norm n:
            permit
    """)
    assert p.norms == ["n"]


def test_a_std_module_can_be_loaded_as_a_layer():
    p = charter.load("std.pii")
    assert "no_email_leak" in p.norms
    assert all(r.passed for r in p.run_tests())


def test_a_std_layer_and_a_file_clash_by_name(tmp_path):
    mine = write(tmp_path, "mine.charter", "charter mine by developer\nnorm no_email_leak:\n    permit\n")
    p = charter.load("std.pii", mine)
    # only the clashing name is qualified
    assert [n for n in p.norms if n.endswith("no_email_leak")] == ["pii.no_email_leak", "mine.no_email_leak"]
    assert "no_phone_leak" in p.norms
    report = p.check(trace(user("who?"), assistant("bob@example.com")))
    assert [(v.norm, v.kind, v.authority) for v in report.verdicts if v.norm.endswith(".no_email_leak")] == [
        ("pii.no_email_leak", "violated", "platform"), ("mine.no_email_leak", "complied", "developer")]


def test_an_unknown_std_module_is_a_load_error():
    with pytest.raises(charter.PolicyError) as caught:
        policy("""
            use std.nothing
            norm n:
                permit
        """)
    assert "E204" in [d.code for d in caught.value.diagnostics]
