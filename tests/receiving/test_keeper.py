"""The keeper is the one owner of the receipt state: one snapshot per state, saved once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from inbound.receiving import keeper
from inbound.rules import codec
from inbound.store import Store
from tests.rulesets import rule, rules, s3


def test_each_edit_saves_one_snapshot_that_the_document_names(inbound_factory) -> None:
    server = inbound_factory(rules(rule("r", s3("b"))))
    store, state = server.server.store, server.server.keeper
    server.ses().create_receipt_filter(
        Filter={"Name": "f", "IpFilter": {"Policy": "Block", "Cidr": "10.0.0.0/8"}}
    )
    saved = store.document(*keeper.DOCUMENT)
    assert saved["active"] == state.active.id
    read_back = keeper.read_state(store, saved["active"], "us-east-1")
    assert keeper.state_json(read_back) == keeper.state_json(state.current)
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


# The receipt/state document as the code before commit 3219ffe wrote it (captured from a server
# at 3219ffe^ seeded from CONFIGURED, after CreateReceiptRule and CreateReceiptRuleSet).
CONFIGURED = rules(rule("r", s3("b")))
PRE_3219FFE = {
    "seed": "b9df13bfb131d949277620cde6c0d8bcb846629b0717dc0e090461183a310aef",
    "rules": {
        "ActiveRuleSet": "test",
        "Filters": [],
        "RuleSets": [
            {
                "Metadata": {"CreatedTimestamp": "2026-12-04T14:17:23.671Z", "Name": "test"},
                "Rules": [
                    {**rule("r", s3("b")), "ScanEnabled": False, "TlsPolicy": "Optional"},
                    {
                        **rule("api-rule", s3("api"), recipients=["api@example.com"]),
                        "ScanEnabled": False,
                        "TlsPolicy": "Optional",
                    },
                ],
            },
            {
                "Metadata": {"CreatedTimestamp": "2026-12-04T14:17:23.809Z", "Name": "api-set"},
                "Rules": [],
            },
        ],
    },
}


def data_dir_before_3219ffe(data: Path) -> None:
    async def write() -> None:
        store = Store(data)
        store.open()
        try:
            await store.put_document(*keeper.DOCUMENT, PRE_3219FFE)
        finally:
            store.close()

    asyncio.run(write())


def test_a_data_dir_from_before_3219ffe_keeps_the_api_s_rules(inbound_factory, tmp_path) -> None:
    data = tmp_path / "data"
    data_dir_before_3219ffe(data)
    for _ in range(2):  # migrated on the first start, read in today's format on the second
        server = inbound_factory(CONFIGURED, data_dir=data)
        ses = server.ses()
        described = ses.describe_receipt_rule_set(RuleSetName="test")
        assert [r["Name"] for r in described["Rules"]] == ["r", "api-rule"]
        assert described["Metadata"]["CreatedTimestamp"].isoformat().startswith("2026-12-04T14:17")
        assert [s["Name"] for s in ses.list_receipt_rule_sets()["RuleSets"]] == ["test", "api-set"]
        saved = server.server.store.document(*keeper.DOCUMENT)
        assert saved["active"] == server.server.keeper.active.id
        server.stop()


def test_a_data_dir_from_before_3219ffe_seeded_from_other_rules_takes_the_file(
    inbound_factory, tmp_path, caplog
) -> None:
    data = tmp_path / "data"
    data_dir_before_3219ffe(data)
    server = inbound_factory(rules(rule("other", s3("b"))), data_dir=data)
    described = server.ses().describe_receipt_rule_set(RuleSetName="test")
    assert [r["Name"] for r in described["Rules"]] == ["other"]
    assert "the rules file changed since the data dir was seeded" in caplog.text


def test_a_data_dir_whose_states_were_stored_whole_keeps_them(inbound_factory, tmp_path) -> None:
    """Before states were stored by parts, a snapshot's text held its rules, and another
    Region's document was that text: both still load, and the next edit stores by parts."""
    data = tmp_path / "data"
    home = codec.parse_rules(
        rules(rule("r", s3("b")), rule("api-rule", s3("api"), recipients=["a@example.com"])),
        frozenset(),
        "us-east-1",
    )
    away = codec.parse_rules(rules(rule("away-rule", s3("x"))), frozenset(), "eu-west-1")

    async def write() -> None:
        store = Store(data)
        store.open()
        try:
            text = keeper.state_json(home)
            await store.save_state("whole", text)
            seeded = keeper.seed(codec.parse_rules(CONFIGURED, frozenset(), "us-east-1"))
            await store.put_document(*keeper.DOCUMENT, {"seed": seeded, "active": "whole"})
            await store.put_document(keeper.OTHER_REGIONS, "eu-west-1", keeper.state_json(away))
        finally:
            store.close()

    asyncio.run(write())
    for _ in range(2):  # as written before, then as the first start saved it by parts
        server = inbound_factory(CONFIGURED, data_dir=data)
        described = server.ses().describe_active_receipt_rule_set()
        assert [r["Name"] for r in described["Rules"]] == ["r", "api-rule"]
        away_rules = server.ses("eu-west-1").describe_active_receipt_rule_set()["Rules"]
        assert [r["Name"] for r in away_rules] == ["away-rule"]
        server.ses("eu-west-1").delete_receipt_rule(RuleSetName="test", RuleName="gone")
        server.stop()
    store = Store(data)
    store.open(read_only=True)
    try:
        named = store.document(keeper.OTHER_REGIONS, "eu-west-1")
        read = keeper.read_state(store, named["active"], "eu-west-1")
        assert read.rule_sets == away.rule_sets
    finally:
        store.close()
