"""The keeper is the one owner of the receipt state: one snapshot per state, saved once."""

from __future__ import annotations

from inbound.receiving import keeper
from tests.rulesets import rule, rules, s3


def test_each_edit_saves_one_snapshot_that_the_document_names(inbound_factory) -> None:
    server = inbound_factory(rules(rule("r", s3("b"))))
    store, state = server.server.store, server.server.keeper
    server.ses().create_receipt_filter(
        Filter={"Name": "f", "IpFilter": {"Policy": "Block", "Cidr": "10.0.0.0/8"}}
    )
    saved = store.document(*keeper.DOCUMENT)
    assert saved["active"] == state.active.id == keeper.state_id(state.current)
    assert store.load_state(saved["active"]) == keeper.state_json(state.current)
    assert [f.name for f in state.current.filters] == ["f"]


def test_verified_identities_do_not_reseed(inbound_factory, tmp_path) -> None:
    """`[identities] verified` is not part of the seed: changing it keeps the API's edits."""
    data = tmp_path / "data"
    first = inbound_factory(rules(rule("r", s3("b"))), data_dir=data)
    first.ses().create_receipt_rule_set(RuleSetName="api")
    first.stop()
    again = inbound_factory(rules(rule("r", s3("b"))), data_dir=data, verified=["other.test"])
    names = [s["Name"] for s in again.ses().list_receipt_rule_sets()["RuleSets"]]
    assert "api" in names
    assert "other.test" in again.server.keeper.current.verified
