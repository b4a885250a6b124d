"""A message's journal, read back from its trace, says what a resumed run must skip."""

from __future__ import annotations

from inbound.receiving.journal import Journal
from inbound.records import Outcome, RuleOutcome, TraceKind, TraceRow


def test_a_journal_holds_the_done_actions_the_matched_rules_and_the_next_number() -> None:
    rule = TraceRow(
        seq=0, kind=TraceKind.RULE, rule="r", rule_position=2, outcome=RuleOutcome.MATCHED
    )
    action = TraceRow(
        seq=1,
        kind=TraceKind.ACTION,
        rule="r",
        rule_position=2,
        action_index=0,
        action="S3",
        outcome=Outcome.STOP_RULE,
    )
    retry = TraceRow(
        seq=2, kind=TraceKind.RETRY, rule="r", rule_position=2, action_index=1, action="SNS"
    )
    journal = Journal.of([rule, action, retry])
    assert journal.actions == {(2, 0): action}
    assert journal.rules == frozenset({2})
    assert journal.next_seq == 3


def test_a_fresh_message_has_an_empty_journal() -> None:
    assert Journal.of([]) == Journal()
    assert Journal().next_seq == 0
