"""Issue 17 item 4 on PostgreSQL: an edit through one engine's API is in force on another
engine from its next decision, without a restart (docs/cluster.md, "Live state")."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from inbound.config import SendingSettings, StoreSettings
from inbound.testing import RunningInbound
from tests.rulesets import message

SENDER, RECIPIENT = "sender@sender.test", "user@example.com"


@pytest.fixture
def engines(
    postgres_url: str, inbound_factory: Callable[..., RunningInbound], tmp_path: Path
) -> tuple[RunningInbound, RunningInbound]:
    """Two servers on one database, each with a data dir of its own (the database asked for
    first: the servers stop before it goes)."""
    store = StoreSettings(url=postgres_url)
    a = inbound_factory(store=store, data_dir=tmp_path / "a")
    return a, inbound_factory(store=store, data_dir=tmp_path / "b")


def test_a_filter_created_on_one_engine_refuses_the_next_rcpt_on_another(
    engines: tuple[RunningInbound, RunningInbound],
) -> None:
    a, b = engines
    assert b.send(SENDER, [RECIPIENT], message()) == {}  # B has read the state before

    a.ses().create_receipt_filter(
        Filter={"Name": "blocked", "IpFilter": {"Policy": "Block", "Cidr": "127.0.0.0/8"}}
    )
    with pytest.raises(smtplib.SMTPRecipientsRefused):  # at once, on B
        b.send(SENDER, [RECIPIENT], message())
    assert [f["Name"] for f in b.ses().list_receipt_filters()["Filters"]] == ["blocked"]

    b.ses().delete_receipt_filter(FilterName="blocked")  # and back, the other way
    assert a.send(SENDER, [RECIPIENT], message()) == {}
    assert a.ses().list_receipt_filters()["Filters"] == []


def test_a_rule_set_activated_on_one_engine_receives_on_another(
    engines: tuple[RunningInbound, RunningInbound],
) -> None:
    a, b = engines
    ses = a.ses()
    ses.create_receipt_rule_set(RuleSetName="other")
    ses.create_receipt_rule(
        RuleSetName="other",
        Rule={"Name": "only-sales", "Enabled": True, "Recipients": ["sales@example.com"]},
    )
    ses.set_active_receipt_rule_set(RuleSetName="other")
    assert b.ses().describe_active_receipt_rule_set()["Metadata"]["Name"] == "other"
    with pytest.raises(smtplib.SMTPRecipientsRefused):  # no rule of B's new set matches
        b.send(SENDER, [RECIPIENT], message())
    assert b.send(SENDER, ["sales@example.com"], message()) == {}


def test_an_identity_verified_on_one_engine_is_verified_on_another(
    engines: tuple[RunningInbound, RunningInbound],
) -> None:
    a, b = engines
    assert b.ses().list_identities()["Identities"] == ["example.com"]  # B's copy is made
    a.ses().verify_email_identity(EmailAddress="new@example.org")
    assert sorted(b.ses().list_identities()["Identities"]) == ["example.com", "new@example.org"]


def test_engines_sending_at_once_count_every_message_on_each(
    postgres_url: str, inbound_factory: Callable[..., RunningInbound], tmp_path: Path
) -> None:
    """The sending statistics are counted into what the database holds: two engines sending
    at once lose none of each other's counts, and each reports them all."""
    store = StoreSettings(url=postgres_url)
    fast = SendingSettings(max_send_rate=1000.0, max_24_hour_send=10000.0, smtp=None)
    a, b = (inbound_factory(store=store, sending=fast, data_dir=tmp_path / name) for name in "ab")

    def send(engine: RunningInbound) -> None:
        for n in range(20):
            engine.ses().send_email(
                Source="sender@example.com",
                Destination={"ToAddresses": [f"to{n}@example.com"]},
                Message={"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "hi"}}},
            )

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(send, (a, b)))
    for engine in (a, b):
        points = engine.ses().get_send_statistics()["SendDataPoints"]
        assert sum(p["DeliveryAttempts"] for p in points) == 40
        assert engine.ses().get_send_quota()["SentLast24Hours"] == 40
