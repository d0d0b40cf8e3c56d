"""Broken policies: each kind of mistake an author can make, with the code, the place and
the words Charter reports for it — through the API (`charter.loads` / `charter.load`
raising `PolicyError`) and through `charter check` (exit 2, `file:line:col`, the source
line with a caret, never a traceback).

The table is the specification of the diagnostics. A row marked `bug=` states what the
diagnostic *should* be and is a strict xfail until src/ is fixed.

Golden files: tests/cases/errors/<name>.charter and the exact stderr of `charter check`
in <name>.expected. `CHARTER_UPDATE_GOLDEN=1 pytest tests/test_errors.py` rewrites them
(review the diff before committing).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import charter
from charter.cli import main
from charter.lsp.analysis import Analysis

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "acme_support.charter"
GOLDEN = Path(__file__).resolve().parent / "cases" / "errors"
TRACE = '{"id": "t", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'


@dataclass(frozen=True)
class Broken:
    """One broken policy and the diagnostic it must produce.

    `text` is p.charter; `files` are written next to it; `policies` are the files given
    to `charter check` (and to `charter.load` when there is more than p.charter);
    `where` is the file the diagnostic points into; `column` None means "not pinned";
    `bug` marks a row whose expectation the current code does not meet (strict xfail).
    """

    id: str
    text: str
    code: str
    line: int
    column: int | None
    message: str
    hint: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    policies: tuple[str, ...] = ("p.charter",)
    where: str = "p.charter"
    bug: str | None = None


NESTED_PARENS = "norm n:\n    forbid " + "(" * 500 + 'user says "a"' + ")" * 500 + "\n"
CHAINED_NOT = "norm n:\n    forbid " + "not " * 300 + 'user says "a"\n'

ROWS = [
    # ------------------------------------------------------------------ names (E2xx)
    Broken("unknown_name", 'norm a:\n    forbid assistant says "x" and foo\n',
           "E213", 2, 35, "unknown name `foo`"),
    Broken("unknown_name_did_you_mean",
           'let greeting = user says "hi"\nnorm a:\n    when greetng\n    forbid assistant says "x"\n',
           "E213", 3, 10, "unknown name `greetng`", hint="did you mean `greeting`?"),
    Broken("unknown_pattern", 'norm a:\n    forbid assistant mentions email\n',
           "E216", 2, 31, "unknown pattern `email`"),
    Broken("not_an_imported_module", 'norm a:\n    forbid assistant mentions pii.email\n',
           "E217", 2, 31, "`pii` is not an imported module", hint="use std.pii"),
    Broken("pattern_without_mentions", 'pattern p = /a/\nnorm n:\n    forbid p\n',
           "E212", 3, 12, "`p` is a pattern: use it with `mentions`"),
    Broken("says_a_number", 'norm n:\n    forbid assistant says 42\n',
           "E218", 2, 27, "`says` needs a phrase in double quotes"),
    Broken("says_a_list", 'norm n:\n    forbid assistant says ["x"]\n',
           "E219", 2, 27, "`says` takes one phrase"),
    Broken("calls_a_number", 'norm n:\n    forbid assistant calls 3\n',
           "E210", 2, 28, "`calls` needs a tool name in double quotes"),
    Broken("in_not_a_list", 'norm n:\n    forbid trace.meta.x in trace.meta.y\n',
           "E211", 2, 28, "`in` needs a list of constants"),
    Broken("let_recursion", 'let a = b\nlet b = a\nnorm n:\n    when a\n    permit\n',
           "E215", 1, 1, "defined in terms of itself", hint="lets cannot be recursive"),
    Broken("let_arity", 'let f(x) = user says x\nnorm n:\n    when f("a", "b")\n    permit\n',
           "E214", 3, 10, "`f` takes 1 argument(s), not 2"),
    Broken("let_needs_arguments", 'let f(x) = user says x\nnorm n:\n    forbid f\n',
           "E214", 3, 12, "`f` takes 1 argument(s)"),
    Broken("duplicate_norm", 'norm a:\n    permit\nnorm a:\n    permit\n',
           "E206", 3, 1, "`a` is defined twice"),
    Broken("duplicate_let", 'let a = user says "x"\nlet a = user says "y"\nnorm n:\n    when a\n    permit\n',
           "E206", 2, 1, "`a` is defined twice"),
    Broken("let_and_pattern_of_one_name", 'pattern a = /x/\nlet a = user says "y"\nnorm n:\n    when a\n    permit\n',
           "E206", 2, 1, "`a` is both a let and a pattern"),
    Broken("unknown_stdlib_module", 'use std.pi\nnorm a:\n    permit\n',
           "E204", 1, 1, "there is no standard-library module `std.pi`", hint="did you mean `pii`?"),
    Broken("use_without_std", 'use foo.bar\nnorm a:\n    permit\n',
           "E203", 1, 1, "only standard-library modules are named this way"),
    Broken("import_alias_twice", 'use std.pii\nuse std.pii\nnorm a:\n    permit\n',
           "E202", 2, 1, "`pii` is already the name of an import"),
    Broken("missing_imported_file", 'use "missing.charter" as m\nnorm a:\n    permit\n',
           "E205", 1, 1, 'cannot read "missing.charter": it does not exist'),
    Broken("import_cycle", 'use "a.charter" as a\nnorm n:\n    permit\n',
           "E201", 2, 1, "modules import each other in a cycle",
           files={"a.charter": 'charter a\nuse "b.charter" as b\nlet x = user says "x"\n',
                  "b.charter": 'charter b\nuse "a.charter" as a\nlet y = user says "y"\n'},
           where="b.charter"),
    Broken("call_outside_tool_call_scope", 'norm n:\n    forbid call.name == "x"\n',
           "E221", 2, 12, "`call` exists only in norms `on tool call`"),
    Broken("no_such_property", 'norm n:\n    forbid assistant.foo > 3\n',
           "E222", 2, 12, "`assistant` has no `.foo`"),
    Broken("call_has_args_not_meta", 'norm n:\n    on tool call\n    forbid call.meta.x == 1\n',
           "E223", 3, 12, "`call` has `.args`, not `.meta`"),
    Broken("label_of_the_trace", 'norm n:\n    forbid trace.label("x") > 0.5\n',
           "E224", 2, 12, "labels belong to messages"),
    Broken("ordering_with_string", 'norm n:\n    forbid trace.meta.x < "a"\n',
           "E225", 2, 27, "`<` compares numbers, and this is not a number"),
    Broken("ordering_with_boolean", 'norm n:\n    forbid count(user says "x") >= true\n',
           "E225", 2, 36, "`>=` compares numbers"),
    Broken("regex_lookbehind", 'norm a:\n    forbid assistant matches /(?<=a)b/\n',
           "E230", 2, 30, "lookaround is not supported"),
    Broken("regex_backreference", 'norm a:\n    forbid assistant matches /(a)\\1/\n',
           "E230", 2, 30, "backreferences are not supported"),
    Broken("regex_unknown_flag", 'norm a:\n    forbid assistant matches /ab/x\n',
           "E230", 2, 30, "unknown regex flag 'x'"),
    Broken("regex_in_pattern_declaration", 'pattern p = /(?=x)/\nnorm a:\n    forbid assistant mentions p\n',
           "E230", 1, 13, "lookaround is not supported"),
    Broken("unknown_builtin_check", 'pattern card = /[0-9]{16}/ where lun\n',
           "E231", 1, 34, "unknown built-in check `lun`",
           "did you mean `luhn`? the built-in checks are: iban, ipv6, luhn, payment_card, "
           "pem_private_key, phone, us_ssn"),
    Broken("unknown_builtin_check_in_matches", 'norm a:\n    forbid assistant matches /x/ where nope\n',
           "E231", 2, 40, "unknown built-in check `nope`"),
    Broken("number_of_a_range", 'norm a:\n    on tool call\n    forbid call.args.n == (any user).number\n',
           "E232", 3, 27, "`any` ranges over several messages, and `.number` needs one",
           'read it on one message: `(latest user that says "confirm").number`, `user.number`'),
    Broken("range_field_other_than_number", 'norm a:\n    forbid (latest user).meta.x == 1\n',
           "E232", 2, 12, "a range of messages in parentheses has only `.number`"),
    Broken("answers_on_a_user_message", 'norm a:\n    forbid user answers "fetch_url"\n',
           "E233", 2, 12, "`answers` is about a tool result, and `user` is not one"),
    Broken("failed_on_an_assistant_message", 'norm a:\n    forbid assistant failed\n',
           "E233", 2, 12, "`failed` is about a tool result, and `assistant` is not one"),
    Broken("linked_call_of_a_user_message", 'norm a:\n    forbid user.call.name == "x"\n',
           "E233", 2, 12, "`.call` is about a tool result, and `user` is not one"),
    Broken("appears_in_with_a_condition", 'norm a:\n    forbid (user says "x") appears in any earlier tool\n',
           "E234", 2, 13, "`appears in` looks for a value, and this is a condition"),
    Broken("answers_without_a_tool_name", 'norm a:\n    forbid tool answers fetch\n',
           "E213", 2, 25, "unknown name `fetch`"),
    Broken("shares_an_unknown_pattern", 'norm a:\n    on tool call\n    forbid call shares emial with any earlier tool\n',
           "E216", 3, 24, "unknown pattern `emial`"),
    Broken("expect_unknown_norm", 'norm n:\n    permit\ntest "t":\n    user: "a"\n    expect m complied\n',
           "E310", 5, 12, "unknown norm `m`"),
    Broken("expect_unknown_verdict", 'norm n:\n    permit\ntest "t":\n    user: "a"\n    expect n compiled\n',
           "E331", 5, 5, "unknown verdict `compiled`", hint="did you mean `complied`?"),
    Broken("test_label_out_of_range",
           'norm n:\n    permit\ntest "t":\n    user: "a" labels {"s": 2}\n    expect n complied\n',
           "E332", 4, 5, "label `s` must be a number in [0, 1]"),
    Broken("test_failed_on_a_user_message", 'norm n:\n    permit\ntest "t":\n    user: "a" failed\n    expect n complied\n',
           "E333", 4, 15, "`failed` is about a tool result, and `user` is not one",
           hint='write `tool: "..." failed` for the result of a call'),
    Broken("test_not_failed_on_an_assistant_message",
           'norm n:\n    permit\ntest "t":\n    assistant: "a" not failed\n    expect n complied\n',
           "E333", 4, 20, "`not failed` is about a tool result, and `assistant` is not one"),
    Broken("test_failed_said_twice",
           'norm n:\n    permit\ntest "t":\n    tool: "a" failed meta {} not failed\n    expect n complied\n',
           "E334", 4, 30, "a test message says whether it failed only once",
           hint="keep one `failed` or `not failed`"),
    # ------------------------------------------------------------------ authorities, overrides (E3xx)
    Broken("override_target_not_default", 'norm t:\n    forbid assistant says "x"\nnorm o overrides t:\n    permit\n',
           "E313", 3, 18, "`t` is not a default norm"),
    Broken("override_by_too_low_authority",
           'default norm t by developer:\n    overridable by developer\n    forbid assistant says "x"\n'
           'norm o by user overrides t:\n    permit\n',
           "E312", 4, 26, "may be overridden by developer or above, not by user",
           hint="add `overridable by user`"),
    Broken("override_cycle",
           'default norm a overrides b:\n    forbid assistant says "x"\n'
           'default norm b overrides a:\n    forbid assistant says "y"\n',
           "E311", 1, 1, "override each other in a cycle"),
    Broken("override_unknown_norm", 'norm a overrides nope:\n    permit\n',
           "E310", 1, 18, "unknown norm `nope`"),
    Broken("override_itself", 'default norm a overrides a:\n    permit\n',
           "E311", 1, 26, "`a` overrides itself"),
    Broken("override_across_scopes",
           'default norm a:\n    forbid assistant says "x"\nnorm b by user overrides a:\n    on user turn\n    permit\n',
           "E314", 3, 26, "so it cannot override it"),
    Broken("unknown_authority_in_by", 'norm a by admin:\n    permit\n',
           "E303", 1, None, "unknown authority `admin`", hint="platform > developer > user"),
    Broken("unknown_authority_in_escalate_to", 'norm a:\n    unspecified "r" escalate to boss\n',
           "E303", 2, 5, "unknown authority `boss`"),
    Broken("unknown_authority_in_overridable_by", 'default norm a:\n    overridable by boss\n    permit\n',
           "E303", 2, None, "unknown authority `boss`"),
    Broken("unknown_authority_in_header", 'charter p by boss\nnorm a:\n    permit\n',
           "E303", 1, None, "unknown authority `boss`"),
    Broken("overridable_by_on_plain_norm", 'norm a:\n    overridable by user\n    permit\n',
           "E308", 2, None, "is not a default norm, so it cannot be `overridable by` anyone"),
    Broken("authority_listed_twice", 'authorities platform > platform\nnorm a:\n    permit\n',
           "E302", 1, 1, "`platform` appears twice in the chain of command"),
    Broken("authorities_differ_across_files",
           'charter one\nauthorities platform > developer > user\nnorm x:\n    permit\n',
           "E301", 2, 1, "this chain of command differs from the one declared by another file",
           files={"q.charter": 'charter two\nauthorities platform > user > developer\nnorm y:\n    permit\n'},
           policies=("p.charter", "q.charter"), where="q.charter"),
    Broken("same_charter_name_in_two_files", 'charter one\nnorm x:\n    permit\n',
           "E002", 1, 1, "two policy files are both named `one`",
           files={"q.charter": 'charter one\nnorm y:\n    permit\n'},
           policies=("p.charter", "q.charter"), where="q.charter"),
    Broken("unknown_severity", 'norm a:\n    severity huge\n    permit\n',
           "E304", 2, None, "unknown severity `huge`", hint="low, medium, high, critical"),
    Broken("unknown_scope", 'norm a:\n    on bot turn\n    permit\n',
           "E305", 2, None, "unknown scope `on bot turn`", hint="`on assistant turn`"),
    Broken("within_in_conversation_scope",
           'norm n:\n    on conversation\n    require assistant says "x" within 1 turn\n',
           "E306", 3, 5, "`within` needs a turn to count from"),
    Broken("within_zero_turns", 'norm n:\n    on user turn\n    require assistant says "x" within 0 turns\n',
           "E307", 3, 5, "`within 0 turns` leaves no turn for the behaviour to happen in: `within` counts "
           "at least 1 turn", hint="write `within 1 turn` to require it by the assistant's next reply with text"),
    Broken("within_zero_messages", 'norm n:\n    on user turn\n    require assistant says "x" within 0 messages\n',
           "E307", 3, 5, "`within 0 messages` leaves no message for the behaviour to happen in",
           hint="write `within 1 message` to require it by the assistant's next message"),
    Broken("label_band_out_of_range", 'label x uncertain between 0.5 and 1.5\nnorm n:\n    permit\n',
           "E320", 1, 1, "must satisfy 0 <= low < high <= 1"),
    Broken("label_band_empty", 'label x uncertain between 0.5 and 0.5\nnorm n:\n    permit\n',
           "E320", 1, 1, "must satisfy 0 <= low < high <= 1"),
    Broken("label_declared_twice",
           'label x uncertain between 0.1 and 0.2\nlabel x uncertain between 0.3 and 0.4\nnorm n:\n    permit\n',
           "E321", 2, 1, "label `x` is declared again with another band"),
    # ------------------------------------------------------------------ syntax (E1xx)
    Broken("missing_colon_after_norm_header", 'norm a\n    forbid assistant says "x"\n',
           "E102", 1, 7, "missing ':' at the end of this line"),
    Broken("missing_colon_after_case", 'norm a:\n    case user says "x"\n        permit\n',
           "E102", 2, 23, "missing ':' at the end of this line"),
    Broken("missing_colon_between_case_and_outcome",
           'norm a:\n    case user says "x" permit\n    otherwise: permit\n',
           "E102", 2, None, "missing ':'"),
    Broken("missing_colon_after_unless",
           'norm a:\n    forbid assistant says "x"\n        unless user says "y"\n            permit\n',
           "E102", 3, 29, "missing ':' at the end of this line"),
    Broken("missing_colon_after_test", 'norm a:\n    permit\ntest "t"\n    user: "x"\n    expect a complied\n',
           "E102", 3, 9, "missing ':' at the end of this line"),
    Broken("dedent_to_unknown_level",
           'norm a:\n        forbid assistant says "x"\n            unless user says "y": permit\n      severity high\n',
           "E104", 4, 1, "does not match any enclosing block"),
    Broken("unexpected_indent", 'let x = user says "a"\n    let y = user says "b"\n',
           "E103", 2, None, "this line is indented but nothing above opens a block"),
    Broken("norm_without_body", 'norm a:\nnorm b:\n    permit\n',
           "E105", 2, 1, "expected an indented block here"),
    Broken("norm_header_at_end_of_file", 'norm a:\n',
           "E105", 1, 8, "expected an indented block"),
    Broken("unterminated_string", 'norm a:\n    forbid assistant says "x\n',
           "E106", 2, 27, "this string is not closed on its line"),
    Broken("unterminated_regex", 'norm a:\n    forbid assistant matches /abc\n',
           "E107", 2, 30, "this regular expression is not closed on its line"),
    Broken("unexpected_character", 'norm a:\n    forbid assistant says "x" & user says "y"\n',
           "E108", 2, 31, "unexpected character '&'"),
    Broken("invalid_string_escape", 'norm a:\n    forbid assistant says "a\\qb"\n',
           "E110", 2, 27, "this string has an invalid escape"),
    Broken("within_days", 'norm a:\n    on user turn\n    require assistant says "x" within 2 days\n',
           "E111", 3, 41, "after the number, not 'days'"),
    Broken("user_calls_a_tool_in_test",
           'norm a:\n    permit\ntest "t":\n    user calls foo {}\n    expect a complied\n',
           "E112", 4, 5, "only the assistant makes tool calls"),
    Broken("two_quantified_subjects",
           'norm a:\n    forbid any user.label("a") > every assistant.label("b")\n',
           "E113", 2, 34, "one quantified subject, not two"),
    Broken("expression_missing_operand", 'norm a:\n    forbid assistant says\n',
           "E100", 2, 26, "`says` needs a phrase in double quotes after it",
           hint='for example `assistant says "refund"`'),
    Broken("duplicated_setting_line", 'norm a:\n    severity high\n    severity low\n    permit\n',
           "E120", 3, 5, "this norm already has a severity line"),
    Broken("duplicated_trigger", 'norm a:\n    when user says "a"\n    when user says "b"\n    permit\n',
           "E120", 3, 5, "this norm already has a trigger line"),
    Broken("two_otherwise",
           'norm a:\n    case user says "x": permit\n    otherwise: permit\n    otherwise: forbid assistant says "y"\n',
           "E121", 4, 5, "a norm has at most one `otherwise` line"),
    Broken("outcome_and_case_mixed", 'norm a:\n    permit\n    case user says "x": permit\n',
           "E122", 2, 5, "either one outcome or `case` lines, not both"),
    Broken("two_outcomes", 'norm a:\n    permit\n    forbid assistant says "x"\n',
           "E123", 3, 5, "a norm has one outcome; this is a second one"),
    Broken("otherwise_without_case", 'norm a:\n    otherwise: permit\n',
           "E124", 2, 5, "`otherwise` without any `case` line"),
    Broken("norm_with_no_outcome", 'norm a:\n    severity high\n',
           "E125", 1, 1, "this norm has no outcome"),
    # ------------------------------------------------------------------ a keyword is a whole word (issue 19.4)
    Broken("misspelt_keyword_beside_a_let", 'let d = user says "x"\nnorm a:\n    forbidd\n',
           "E114", 3, 5, "`forbidd` is not a keyword", hint="did you mean `forbid`?"),
    Broken("keyword_with_a_suffix", 'norm a:\n    permitted\n',
           "E114", 2, 5, "`permitted` is not a keyword", hint="did you mean `permit`?"),
    Broken("keyword_at_the_front_of_a_word", 'norm a:\n    forbiddance assistant says "x"\n',
           "E114", 2, 5, "`forbiddance` is not a keyword", hint="did you mean `forbid`?"),
    Broken("requires", 'norm a:\n    requires assistant says "x"\n',
           "E114", 2, 5, "`requires` is not a keyword", hint="did you mean `require`?"),
    Broken("forbids", 'norm a:\n    forbids assistant says "x"\n',
           "E114", 2, 5, "`forbids` is not a keyword", hint="did you mean `forbid`?"),
    Broken("whenever", 'norm a:\n    whenever user says "x"\n    forbid assistant says "y"\n',
           "E114", 2, 5, "`whenever` is not a keyword", hint="did you mean `when`?"),
    Broken("misspelt_verb", 'norm a:\n    forbid assistant sayz "x"\n',
           "E114", 2, 22, "`sayz` is not a keyword", hint="did you mean `says`?"),
    Broken("misspelt_declaration", 'nrom a:\n    permit\n',
           "E114", 1, 1, "`nrom` is not a keyword", hint="did you mean `norm`?"),
    Broken("keyword_glued_to_a_name", 'let nament = user says "x"\nnorm a:\n    forbid assistant says "x" ornament\n',
           "E100", 3, 31, "found 'ornament' where"),
    # ------------------------------------------------------------------ one error, not a cascade (19.5)
    Broken("unknown_norm_hint_lists_norms_with_errors",
           'norm apple:\n    forbid foo\nnorm b:\n    permit\ntest "t":\n    user: "a"\n    expect aple complied\n',
           "E310", 7, 12, "unknown norm `aple`", hint="did you mean `apple`?"),
    # ------------------------------------------------------------------ tabs and spaces (19.6)
    Broken("tab_below_spaces", 'norm a:\n    when user says "y"\n\tforbid assistant says "x"\n',
           "E119", 3, 1, "tabs and spaces are mixed: this line is indented with a tab, line 2 with 4 spaces",
           hint="indent with spaces only"),
    Broken("spaces_below_a_tab", 'norm a:\n\tforbid assistant says "x"\n        unless user says "y": permit\n',
           "E119", 3, 1, "tabs and spaces are mixed: this line is indented with 8 spaces, line 2 with a tab",
           hint="indent with spaces only"),
    # ------------------------------------------------------------------ the code that fits (19.7)
    Broken("within_without_turns", 'norm a:\n    on user turn\n    require assistant says "x" within 1\n',
           "E111", 3, 40, "after the number, not the end of the line",
           hint="write `within 1 turn`"),
    Broken("unquoted_phrase", 'norm a:\n    forbid assistant says refund approved\n',
           "E218", 2, 27, "`says` needs a phrase in double quotes",
           hint='write `says "refund approved"`'),
    Broken("single_quoted_phrase", "norm a:\n    forbid assistant says 'refund'\n",
           "E108", 2, 27, "unexpected character \"'\"", hint='strings are in double quotes: "refund"'),
    Broken("unless_not_indented", 'norm a:\n    forbid assistant says "x"\n    unless user says "y": permit\n',
           "E118", 3, 5, "`unless` must be indented under the outcome it is an exception to",
           hint="indent it more than the `forbid` line above"),
    Broken("unless_on_the_outcome_line", 'norm a:\n    forbid assistant says "x" unless user says "y": permit\n',
           "E118", 2, 31, "`unless` must start a line of its own",
           hint="move it to the next line, indented more than the outcome"),
    Broken("single_equals_sign", 'norm a:\n    when trace.meta.tier = "gold"\n    permit\n',
           "E100", 2, 26, "found '=' where", hint="compare with `==`"),
    Broken("unquoted_word", 'norm a:\n    forbid assistant says refund\n',
           "E218", 2, 27, "`says` needs a phrase in double quotes, and `refund` is not defined with `let`",
           hint='write `says "refund"`'),
    Broken("unknown_name_after_says", 'norm a:\n    forbid assistant says refund_phrase\n',
           "E213", 2, 27, "unknown name `refund_phrase`"),
    Broken("when_at_the_end_of_the_line", 'norm a:\n    when\n    permit\n',
           "E100", 2, 9, "`when` needs a condition after it", hint='for example `when user says "refund"`'),
    Broken("two_phrases_in_a_row", 'norm a:\n    forbid assistant says "x" "y"\n',
           "E100", 2, 31, "found '\"y\"' where the end of the line, 'and' or 'or' was expected",
           hint="join two conditions with `and` or `or`"),
    Broken("norm_line_not_recognised", 'norm a:\n    42\n    permit\n',
           "E100", 2, 5, "found '42' where a norm line was expected",
           hint="a norm's lines are a description in double quotes, `severity`, `overridable by`, `on`, "
           "`when`, `case`, `otherwise`, or an outcome: `require`, `forbid`, `permit`, `unspecified`"),
    Broken("backreference_by_name", 'norm a:\n    forbid assistant matches /(?P<n>a)(?P=n)/\n',
           "E230", 2, 30, "backreferences are not supported"),
    Broken("nested_parentheses_500", NESTED_PARENS,
           "E109", 2, None, "nested too deeply"),
    Broken("chained_not_300", CHAINED_NOT,
           "E109", 2, None, "nested too deeply"),
]


def _param(row: Broken):
    marks = [pytest.mark.xfail(reason="BUG: " + row.bug, strict=True)] if row.bug else []
    return pytest.param(row, id=row.id, marks=marks)


def _write(row: Broken, folder: Path) -> None:
    (folder / "p.charter").write_text(row.text, encoding="utf-8")
    for name, text in row.files.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "t.jsonl").write_text(TRACE, encoding="utf-8")


def _load_error(row: Broken, folder: Path) -> charter.PolicyError:
    _write(row, folder)
    with pytest.raises(charter.PolicyError) as caught:
        if row.policies == ("p.charter",):
            charter.loads(row.text, name="p.charter")
        else:
            charter.load(*row.policies)
    return caught.value


def _shown(diagnostics) -> str:
    return "\n".join(f"{d.code} {d.span} {d.message} (hint: {d.hint})" for d in diagnostics)


def _source_line(row: Broken, name: str, number: int) -> str:
    text = row.text if name == "p.charter" else row.files[name]
    return text.split("\n")[number - 1]


def test_the_table_covers_enough_kinds():
    assert len(ROWS) >= 30
    assert len({r.id for r in ROWS}) == len(ROWS)
    assert len({r.code for r in ROWS}) >= 40


@pytest.mark.parametrize("row", [_param(r) for r in ROWS])
def test_api_reports_code_place_and_message(row: Broken, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    error = _load_error(row, tmp_path)
    found = [
        d for d in error.diagnostics
        if d.code == row.code
        and Path(d.span.source).name == row.where
        and d.span.line == row.line
        and (row.column is None or d.span.column == row.column)
        and row.message in d.message
        and (row.hint is None or row.hint in (d.hint or ""))
    ]
    assert found, f"wanted {row.code} at {row.where}:{row.line}:{row.column} ~ {row.message!r}; got\n" \
        + _shown(error.diagnostics)
    assert all(d.is_error for d in found)
    assert str(error)  # a one-line summary for callers that only print the exception


def _check(args: list[str], **kwargs):
    result = CliRunner().invoke(main, args, **kwargs)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _block(stderr: str, code: str, location: str) -> str | None:
    """The rendered diagnostic whose `error[...` starts with `code` ("E213]", or "E" for
    any) and whose `-->` line starts with `location`."""
    for block in stderr.split("\n\n"):
        if block.startswith(f"error[{code}") and f"  --> {location}" in block:
            return block
    return None


def _caret_offset(block: str, line: int) -> tuple[str, int, int]:
    """(the source line shown, the caret's 0-based offset into it, the caret's width)."""
    rows = block.splitlines()
    prefix = f"{line} | "
    index = next(i for i, r in enumerate(rows) if r.startswith(prefix))
    shown = rows[index][len(prefix):]
    caret_row = rows[index + 1]
    gutter = " " * len(str(line)) + " | "
    assert caret_row.startswith(gutter), caret_row
    marks = caret_row[len(gutter):]
    assert set(marks.strip()) == {"^"}, caret_row
    return shown, len(marks) - len(marks.lstrip(" ")), len(marks.strip())


@pytest.mark.parametrize("row", [pytest.param(r, id=r.id) for r in ROWS])
def test_cli_renders_every_row_cleanly(row: Broken, tmp_path, monkeypatch):
    """Whatever the location: exit 2, nothing on stdout, the code, a source line with a
    caret under it, an error count, and no traceback."""
    monkeypatch.chdir(tmp_path)
    _write(row, tmp_path)
    result = _check(["check", *row.policies, "--traces", "t.jsonl"])
    assert result.exit_code == 2
    assert result.stdout == ""
    # (a row marked as a bug may have the wrong code or message: render whatever it is)
    code = "E" if row.bug else row.code + "]"
    block = _block(result.stderr, code, row.where + ":")
    assert block is not None, result.stderr
    if not row.bug:
        assert row.message in block
    _caret_offset(block, int(block.split("  --> ")[1].split("\n")[0].split(":")[-2]))
    assert result.stderr.rstrip().splitlines()[-1].endswith(("1 error", " errors"))


@pytest.mark.parametrize("row", [_param(r) for r in ROWS])
def test_cli_points_at_the_place(row: Broken, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(row, tmp_path)
    result = _check(["check", *row.policies, "--traces", "t.jsonl"])
    assert result.exit_code == 2
    location = f"{row.where}:{row.line}:" + (f"{row.column}\n" if row.column else "")
    block = _block(result.stderr, row.code + "]", location)
    assert block is not None, f"no error[{row.code}] at {location!r} in:\n{result.stderr}"
    shown, offset, _ = _caret_offset(block, row.line)
    assert shown == _source_line(row, row.where, row.line)
    if row.column is not None:
        assert offset == row.column - 1
    if row.hint:
        assert f"  = hint: " in block and row.hint in block


SCRIPT = Path(sys.executable).parent / "charter"


@pytest.mark.parametrize("row", [pytest.param(r, id=r.id) for r in ROWS
                                 if r.id in ("unknown_name_did_you_mean", "import_cycle",
                                             "regex_backreference", "nested_parentheses_500")])
def test_installed_script_on_broken_policies(row: Broken, tmp_path):
    _write(row, tmp_path)
    done = subprocess.run([str(SCRIPT), "check", *row.policies, "--traces", "t.jsonl"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    location = f"{row.where}:{row.line}:" + (f"{row.column}\n" if row.column else "")
    block = _block(done.stderr, row.code + "]", location)
    assert block is not None, done.stderr
    _caret_offset(block, row.line)


# --------------------------------------------------------------------------- several errors


THREE_ERRORS = """\
norm a:
    forbid assistant says

norm b
    permit

norm c:
    forbid assistant says "x

norm d:
    permit
"""


def test_three_syntax_errors_in_three_norms_are_all_reported(tmp_path, monkeypatch):
    with pytest.raises(charter.PolicyError) as caught:
        charter.loads(THREE_ERRORS, name="p.charter")
    got = [(d.code, d.span.line, d.span.column) for d in caught.value.diagnostics]
    assert got == [("E100", 2, 26), ("E102", 4, 7), ("E106", 8, 27)]
    assert "(and 2 more)" in str(caught.value)

    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.charter").write_text(THREE_ERRORS)
    (tmp_path / "t.jsonl").write_text(TRACE)
    result = _check(["check", "p.charter", "--traces", "t.jsonl"])
    assert result.exit_code == 2
    for location in ("p.charter:2:26", "p.charter:4:7", "p.charter:8:27"):
        assert f"  --> {location}\n" in result.stderr
    assert result.stderr.rstrip().endswith("3 errors")


def test_name_errors_in_several_norms_are_all_reported():
    text = ('norm a:\n    forbid assistant says "x" and foo\n'
            'norm b:\n    on bot turn\n    permit\n'
            'norm c:\n    forbid assistant matches /(?<=a)/\n')
    with pytest.raises(charter.PolicyError) as caught:
        charter.loads(text, name="p.charter")
    assert [d.code for d in caught.value.diagnostics] == ["E213", "E305", "E230"]
    lines = [d.span.line for d in caught.value.diagnostics]
    assert lines == sorted(lines)


def test_diagnostics_come_sorted_by_place():
    text = 'norm z:\n    forbid zz\nnorm a:\n    forbid aa\n'
    with pytest.raises(charter.PolicyError) as caught:
        charter.loads(text, name="p.charter")
    assert [(d.span.line, d.message) for d in caught.value.diagnostics] == [
        (2, "unknown name `zz`"), (4, "unknown name `aa`"),
    ]


def test_a_norm_with_an_error_in_its_body_is_still_a_norm():
    """A misspelt name inside a norm is the one error: the `overrides` and `expect`
    that name the norm still find it (issue 19.5)."""
    text = ('default norm a:\n    when greetng\n    forbid assistant says "x"\n'
            'norm b by platform overrides a:\n    permit\n'
            'test "t":\n    user: "hi"\n    expect a complied\n')
    with pytest.raises(charter.PolicyError) as caught:
        charter.loads(text, name="p.charter")
    assert [(d.code, d.span.line) for d in caught.value.diagnostics] == [("E213", 2)]
    document = Analysis("p.charter")  # the language server's diagnostics of the same text
    document.update(False, text, lambda path: path.read_text())
    assert [(d.code, d.span.line) for d in document.diagnostics] == [("E213", 2)]


def test_syntax_errors_have_a_hint_and_list_everything_expected():
    """Every syntax error in the table says how to fix it, and no list of what was
    expected is cut short (issue 19.7)."""
    for row in ROWS:
        if row.code.startswith("E1") and not row.files:
            with pytest.raises(charter.PolicyError) as caught:
                charter.loads(row.text, name="p.charter")
            for d in caught.value.diagnostics:
                assert d.hint, (row.id, d)
                assert "…" not in d.message + d.hint, (row.id, d)


# --------------------------------------------------------------------------- known defects


def test_otherwise_without_case_does_not_claim_there_is_no_outcome():
    with pytest.raises(charter.PolicyError) as caught:
        charter.loads('norm a:\n    otherwise: permit\n', name="p.charter")
    assert [d.code for d in caught.value.diagnostics] == ["E124"]


def test_unknown_header_authority_is_reported_once():
    text = 'charter p by boss\nnorm a:\n    permit\nnorm b:\n    permit\nnorm c:\n    permit\n'
    with pytest.raises(charter.PolicyError) as caught:
        charter.loads(text, name="p.charter")
    assert [d.code for d in caught.value.diagnostics] == ["E303"]


def test_let_parameter_named_twice_is_an_error():
    with pytest.raises(charter.PolicyError):
        charter.loads('let f(x, x) = user says x\nnorm a:\n    when f("a", "b")\n    permit\n',
                      name="p.charter")


def test_unclosed_parenthesis_is_called_an_unclosed_parenthesis():
    with pytest.raises(charter.PolicyError) as caught:
        charter.loads('norm c:\n    forbid (user says "x"\n', name="p.charter")
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.code != "E105"
    assert "(" in diagnostic.message + (diagnostic.hint or "")


def _let_chain(depth: int) -> str:
    return ('let a0 = user says "x"\n' + "".join(f"let a{i} = not a{i - 1}\n" for i in range(1, depth))
            + f"norm n:\n    forbid a{depth - 1}\n")


def test_deep_let_chain_is_a_policy_error():
    try:
        charter.loads(_let_chain(300), name="p.charter")
    except charter.PolicyError:
        pass
    except RecursionError:
        pytest.fail("RecursionError escaped charter.loads")


def test_deep_let_chain_on_the_command_line_fails_cleanly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.charter").write_text(_let_chain(300))
    (tmp_path / "t.jsonl").write_text(TRACE)
    result = _check(["check", "p.charter", "--traces", "t.jsonl"])
    assert result.exit_code == 2
    assert "error[E109]" in result.stderr and "nested more than" in result.stderr


def test_a_moderate_let_chain_still_loads():
    policy = charter.loads(_let_chain(60), name="p.charter")
    assert policy.norms == ["n"]


def test_rendered_line_is_right_after_a_unicode_line_separator(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = '# pasted\u2028note\nnorm a:\n    forbid assistant says "x" and foo\n'
    (tmp_path / "p.charter").write_text(text, encoding="utf-8")
    (tmp_path / "t.jsonl").write_text(TRACE)
    result = _check(["check", "p.charter", "--traces", "t.jsonl"])
    assert "  --> p.charter:3:35" in result.stderr
    assert '3 |     forbid assistant says "x" and foo' in result.stderr


# --------------------------------------------------------------------------- a huge file


def _huge(norms: int) -> str:
    return "charter big\n" + "".join(
        f'norm n{i}:\n    "rule {i}"\n    forbid assistant says "w{i}"\n' for i in range(norms)
    )


def test_huge_policy_loads_and_checks():
    policy = charter.loads(_huge(5000), name="big.charter")
    assert len(policy.norms) == 5000
    report = policy.check({"id": "t", "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "say w4321 please"},
    ]})
    assert report.status == "violated"
    assert [v.norm for v in report.verdicts if v.kind == "violated"] == ["n4321"]


def test_huge_policy_with_one_error_at_the_end(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = _huge(5000) + "norm broken\n    permit\n"
    (tmp_path / "p.charter").write_text(text)
    (tmp_path / "t.jsonl").write_text(TRACE)
    result = _check(["check", "p.charter", "--traces", "t.jsonl"])
    assert result.exit_code == 2
    assert "  --> p.charter:15002:12\n" in result.stderr
    assert result.stderr.count("error[") == 1


# --------------------------------------------------------------------------- properties


def _within(text: str, error: charter.PolicyError) -> None:
    lines = len(text.splitlines())
    for d in error.diagnostics:
        assert isinstance(d, charter.Diagnostic)
        assert d.code[:1] == "E" and d.code[1:].isdigit(), d
        assert d.message
        if d.span.source == "p.charter":
            assert 1 <= d.span.line <= lines + 1, (d, lines)
            assert d.span.column >= 1, d


def _load_anything(text: str) -> None:
    try:
        policy = charter.loads(text, name="p.charter")
    except charter.PolicyError as error:
        assert error.diagnostics
        _within(text, error)
    else:
        assert isinstance(policy, charter.Policy)


@pytest.fixture(scope="module")
def scratch_dir():
    """`use "x.charter"` in generated text reads relative to the working directory."""
    old = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            yield folder
        finally:
            os.chdir(old)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text())
def test_arbitrary_text_loads_or_raises_policy_error(scratch_dir, text):
    _load_anything(text)


EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")
EXAMPLE_LINES = EXAMPLE_TEXT.splitlines(keepends=True)
_PIECES = list(' \n\t:"/()[]{}#\\,.<>=!-_aZ09é') + ["    ", "norm ", "case ", "unless ", "otherwise: ",
                                                   "permit", "not ", "and ", "\u2028", "\r"]
_EDITS = st.tuples(
    st.sampled_from(["delete char", "duplicate char", "insert char",
                     "delete line", "duplicate line", "insert line"]),
    st.integers(min_value=0, max_value=100_000),
    st.one_of(st.sampled_from(_PIECES), st.characters()),
    st.sampled_from(EXAMPLE_LINES),
)


def _mutate(text: str, edits) -> str:
    for kind, where, piece, line in edits:
        if kind.endswith("char"):
            at = where % (len(text) + 1)
            if kind == "delete char":
                text = text[:at] + text[at + 1:]
            elif kind == "duplicate char":
                text = text[:at] + text[at:at + 1] + text[at:]
            else:
                text = text[:at] + piece + text[at:]
        else:
            lines = text.splitlines(keepends=True)
            at = where % (len(lines) + 1)
            if kind == "delete line":
                del lines[at:at + 1]
            elif kind == "duplicate line":
                lines[at:at] = lines[at:at + 1]
            else:
                lines.insert(at, line)
            text = "".join(lines)
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_EDITS, min_size=1, max_size=4))
def test_mutated_example_loads_or_raises_policy_error(scratch_dir, edits):
    _load_anything(_mutate(EXAMPLE_TEXT, edits))


def test_the_unmutated_example_loads():
    assert charter.loads(EXAMPLE_TEXT, name="p.charter").norms


# --------------------------------------------------------------------------- golden files


def _golden_cases() -> list[str]:
    return sorted(p.stem for p in GOLDEN.glob("*.charter"))


def test_there_are_golden_cases():
    cases = _golden_cases()
    assert 6 <= len(cases) <= 16, cases
    for name in cases:
        assert (GOLDEN / f"{name}.expected").is_file() or os.environ.get("CHARTER_UPDATE_GOLDEN") == "1", name


@pytest.mark.parametrize("name", _golden_cases())
def test_golden_diagnostics(name: str, tmp_path, monkeypatch):
    """`charter check NAME.charter` prints exactly NAME.expected on stderr.
    CHARTER_UPDATE_GOLDEN=1 rewrites the .expected files instead."""
    monkeypatch.chdir(tmp_path)
    policy = f"{name}.charter"
    (tmp_path / policy).write_bytes((GOLDEN / policy).read_bytes())
    (tmp_path / "t.jsonl").write_text(TRACE)
    result = _check(["check", policy, "--traces", "t.jsonl"])
    assert result.exit_code == 2
    assert result.stdout == ""
    expected_file = GOLDEN / f"{name}.expected"
    if os.environ.get("CHARTER_UPDATE_GOLDEN") == "1":
        expected_file.write_text(result.stderr, encoding="utf-8")
        return
    assert result.stderr == expected_file.read_text(encoding="utf-8")
