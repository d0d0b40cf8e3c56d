"""The trace generator makes values travel for a policy with bindings (issue 22.5): some
generated traces carry a value from one message to a later one, some do not, and tool
results answer their calls or none; so `charter test` reaches the clauses of such a policy."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings

import charter
from charter.analysis.generate import traces, vocabulary

POLICY = charter.loads("""
use std.pii

norm recipient_given:
    on tool call
    when call.name == "send_email"
    require call.args.to appears in any earlier user

norm no_exfiltration:
    on tool call
    forbid call shares pii.email with any earlier tool
""", name="agent.charter")


def _sampled(examples: int = 800) -> Counter:
    """What the generated traces hold and give, over a fixed sample."""
    seen: Counter = Counter()

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # slow draws on a loaded machine are not a failure
    @given(traces(vocabulary(POLICY.program)))
    def sample(trace):
        seen.update((v.norm, v.kind) for v in POLICY.check(trace).verdicts)
        seen["linked"] += len(trace.links.pairs())
        seen["unlinked"] += len(trace.links.unlinked)

    sample()
    return seen


def test_values_travel_and_do_not_and_results_answer_calls_or_none():
    seen = _sampled()
    # complied: an address travelled from the user to the call; violated: one did not, or
    # one read from a fetched page did.
    for found in (("recipient_given", "complied"), ("recipient_given", "violated"),
                  ("no_exfiltration", "violated"), ("no_exfiltration", "complied"), "linked", "unlinked"):
        assert seen[found] > 0, (found, seen)


def test_a_policy_without_bindings_gets_the_traces_it_got():
    plain = charter.loads('norm n:\n    forbid assistant says "x"\n', name="plain.charter")
    assert not vocabulary(plain.program).binds
