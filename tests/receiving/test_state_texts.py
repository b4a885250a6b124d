"""A receipt state stored by parts (`state_texts.py`): each edit writes the state's small text
and the rules not written before, and every state saved reads back whole."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.model import ReceiptRule, to_api
from inbound.receiving import state_texts
from inbound.receiving.keeper import state_json
from inbound.receiving.state_texts import StateTexts
from inbound.rules import codec, editing
from tests.receiving import rule_edits

REGION = "us-east-1"


FAILURES = st.sampled_from(["none", "then saved", "given up"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(rule_edits.EDITS, FAILURES), max_size=25))
def test_every_state_saved_by_parts_reads_back_whole(edits) -> None:
    """After any sequence of edits, each saved with the texts `parts` says are new, every
    state saved reads back as it was, and two states have one id exactly when they are the
    same content. A save may fail first (its texts are not written): then the same state is
    saved again, or given up (the state stays as it was, as the keeper's does)."""
    texts, stored = StateTexts(), {}
    state = rule_edits.start()
    saved = {}
    for edit, failure in [(None, "none"), *edits]:
        new = state if edit is None else rule_edits.apply(state, edit)
        parts = texts.parts(new)
        assert parts.id == state_texts.digest(parts.text)
        if failure == "given up":
            continue
        if failure == "then saved":
            parts = texts.parts(new)
        stored.update(parts.rules)
        stored[parts.id] = parts.text
        texts.saved(parts)
        saved[parts.id] = state_json(new)
        state = new
    for state_id, whole in saved.items():
        assert state_json(state_texts.read(stored[state_id], REGION, stored.__getitem__)) == whole
    assert len(set(saved.values())) == len(saved)


def state_of(rules: int, recipients: int):
    body = [
        {"Name": f"r{k}", "Enabled": True, "Recipients": [f"u{k}-{j}@example.com"
         for j in range(recipients)], "Actions": []}
        for k in range(rules)
    ]  # fmt: skip
    data = {"ActiveRuleSet": "s", "RuleSets": [{"Metadata": {"Name": "s"}, "Rules": body}]}
    return codec.parse_rules(data, frozenset({"example.com"}), REGION)


def test_an_edit_at_200_rules_of_100_recipients_writes_one_rule_and_a_small_text() -> None:
    state = state_of(200, 100)
    texts = StateTexts()
    first = texts.parts(state)
    assert len(first.rules) == 200
    texts.saved(first)
    edited = ReceiptRule("r7", True, recipients=("new@example.com",))
    parts = texts.parts(editing.update_rule(state, "s", edited))
    [(digest, text)] = parts.rules.items()
    assert digest == state_texts.digest(text) and json.loads(text) == to_api(edited)
    assert len(parts.text) < 10_000 < len(state_json(state)) // 40


def test_a_state_stored_whole_before_reads_as_it_did() -> None:
    """Snapshots written before states were stored by parts have their rules inline."""
    state = state_of(3, 2)
    whole = state_json(state)
    assert state_json(state_texts.read(whole, REGION, {}.__getitem__)) == whole
