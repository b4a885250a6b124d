"""The server on each store (`store_url`: SQLite, then PostgreSQL; asked for before
`inbound_factory`, so that the servers stop before their database goes), through its real
interfaces: mail received over SMTP (smtplib) runs its actions and is stored whole, API edits
(boto3) survive a restart, and on PostgreSQL a second engine with a data dir of its own reads
the same state. A killed server's unfinished mail: tests/receiving/test_restart.py, on both."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from inbound.config import SendingSettings, StoreSettings
from inbound.testing import RunningInbound
from tests.rulesets import message, rule, rules, s3
from tests.web.conftest import fetch

SENDER, RECIPIENT = "sender@sender.test", "user@example.com"
LARGE_BODY = ("y" * 998 + "\r\n") * 3000  # 3 MB: written to a file as it arrives


def test_mail_received_over_smtp_runs_its_actions(
    store_url: str, inbound_factory: Callable[..., RunningInbound]
) -> None:
    server = inbound_factory(
        rules(rule("r", s3("bucket", "in/"))), store=StoreSettings(url=store_url)
    )
    small, large = message(body="Hello there.\r\n"), message(body=LARGE_BODY)
    for body in (small, large):
        assert server.send(SENDER, [RECIPIENT], body) == {}
    server.wait_idle()
    received = server.messages()
    assert [m["status"] for m in received] == ["done", "done"]
    for found, body in zip(received, (small, large), strict=True):
        assert server.raw(found["messageId"]).endswith(body)
        assert server.s3_object("bucket", f"in/{found['messageId']}").endswith(b"\r\n" + body)
        [action] = [t for t in server.trace(found["messageId"]) if t["kind"] == "action"]
        assert (action["action"], action["outcome"], action["error"]) == ("S3", "CONTINUE", None)


def test_api_edits_survive_a_restart_and_are_every_engine_s(
    store_url: str, inbound_factory: Callable[..., RunningInbound], tmp_path: Path
) -> None:
    store = StoreSettings(url=store_url)
    first = inbound_factory(store=store, data_dir=tmp_path / "first")
    ses = first.ses()
    ses.create_receipt_filter(
        Filter={
            "Name": "blocked",
            "IpFilter": {"Policy": "Block", "Cidr": "127.0.0.0/8"},
        }
    )
    ses.create_receipt_rule_set(RuleSetName="edited")
    first.stop()

    again = inbound_factory(store=store, data_dir=tmp_path / "first")
    engines = [again]
    if store_url:  # PostgreSQL: an engine on a data dir of its own reads the same state
        engines.append(inbound_factory(store=store, data_dir=tmp_path / "second"))
    for engine in engines:
        listed = engine.ses().list_receipt_filters()["Filters"]
        assert [f["Name"] for f in listed] == ["blocked"]
        sets = engine.ses().list_receipt_rule_sets()["RuleSets"]
        assert "edited" in [s["Name"] for s in sets]
        with pytest.raises(smtplib.SMTPRecipientsRefused):  # the filter: 127.0.0.1 blocked
            engine.send(SENDER, [RECIPIENT], message())


def test_engines_sharing_the_store_never_pass_the_daily_quota_together(
    postgres_url: str, inbound_factory: Callable[..., RunningInbound], tmp_path: Path
) -> None:
    """Thirty sends at once, spread over two engines on one database, against a quota of
    five: exactly five are accepted and counted, each engine then reports five sent; the
    others get SES's Throttling "Daily message quota exceeded."."""
    sending = SendingSettings(max_send_rate=1000.0, max_24_hour_send=5.0)
    engines = [
        inbound_factory(
            store=StoreSettings(url=postgres_url), sending=sending, data_dir=tmp_path / name
        )
        for name in ("a", "b")
    ]

    def send(i: int) -> str:
        ses = engines[i % 2].client("ses")
        try:
            ses.send_email(
                Source="sender@example.com",
                Destination={"ToAddresses": [f"u{i}@example.com"]},
                Message={"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}},
            )
        except ClientError as caught:
            return f"{caught.response['Error']['Code']}: {caught.response['Error']['Message']}"
        return "ok"

    with ThreadPoolExecutor(30) as pool:
        outcomes = list(pool.map(send, range(30)))
    assert outcomes.count("ok") == 5, outcomes
    assert outcomes.count("Throttling: Daily message quota exceeded.") == 25
    assert sum(len(engine.sent()) for engine in engines) in (5, 10)  # each lists all, or its own
    for engine in engines:
        assert engine.client("ses").get_send_quota()["SentLast24Hours"] == 5.0


def test_text_with_a_nul_is_kept_and_looked_up_as_on_sqlite(
    store_url: str, inbound_factory: Callable[..., RunningInbound]
) -> None:
    """PostgreSQL's text cannot hold a NUL (store/names.py): mail with one is digested and
    searched in the web UI, a contact's address with one is kept, and an id (its body
    too), filter or address with one in a request finds nothing, on both stores alike."""
    server = inbound_factory(store=StoreSettings(url=store_url))
    mail = message(subject="hi\0there", body="a NUL\0in the body\r\n")
    assert server.send(SENDER, [RECIPIENT], mail) == {}
    server.wait_idle()
    [received] = server.messages()
    searched = fetch(server.api_url + "/ui/received?q=there")
    assert (searched.status, received["messageId"] in searched.text) == (200, True)
    assert "hi\0there" in fetch(server.api_url + "/ui/received").text  # the digest's subject
    for message_id in ("a%00b", "..%2F..%2Fx"):  # no message's: not a 500 on either store
        for path in (
            "/api/messages/{}", "/api/messages/{}/raw", "/api/sent/{}", "/api/sent/{}/raw",
            "/ui/received/{}", "/ui/sent/{}", "/ui/received/{}/html", "/ui/sent/{}/parts/1",
        ):  # fmt: skip
            assert fetch(server.api_url + path.format(message_id)).status == 404, path
    both = fetch(server.api_url + "/ui/received?q=hi%00there")  # two words, as FTS5 splits them
    assert received["messageId"] in both.text
    for path in ("/ui/received?q=a%00b", "/ui/received?status=a%00b&rule=a%00b"):
        assert fetch(server.api_url + path).status == 200, path

    v2 = server.client("sesv2")
    v2.create_contact_list(ContactListName="list")
    address = "c\0\x01@example.com"
    v2.create_contact(ContactListName="list", EmailAddress=address)
    assert v2.get_contact(ContactListName="list", EmailAddress=address)["EmailAddress"] == address
    listed = v2.list_contacts(ContactListName="list")["Contacts"]
    assert [c["EmailAddress"] for c in listed] == [address]
    with pytest.raises(ClientError, match="NotFoundException"):
        v2.get_suppressed_destination(EmailAddress="x\0y@example.com")
