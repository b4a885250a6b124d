"""The typed methods behave alike on both stores (`store_url`: SQLite, then PostgreSQL): what
is accepted outlives the store object, upserts keep SQLite's semantics (INSERT OR REPLACE /
OR IGNORE, translated for PostgreSQL), listings keep S3's byte order, search finds digests,
and a reset empties what it empties."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

from inbound.records import (
    Bucket,
    Contact,
    Digest,
    Direction,
    MessageFilter,
    MessageRecord,
    MessageStatus,
    StoredObject,
    TraceKind,
    TraceRow,
)
from inbound.store import Store, make_store
from tests.store.conftest import Removed, made

STATE = "state-1"
LARGE = b"x" * (3 * 1024 * 1024)


def record(message_id: str, size: int) -> MessageRecord:
    return MessageRecord(
        id=message_id,
        received_at=f"2026-12-04T15:00:0{message_id[-1]}.000Z",
        mail_from="sender@example.org",
        recipients=("to@example.com",),
        client_ip="192.0.2.1",
        helo="client.example.org",
        tls=True,
        state_id=STATE,
        size=size,
        status=MessageStatus.PENDING,
        finished_at=None,
    )


def step(seq: int) -> TraceRow:
    return TraceRow(
        seq=seq, kind=TraceKind.RULE, rule="r", rule_position=0, action_index=None,
        action=None, outcome=None, ms=1.5, detail={"n": seq}, error=None,
    )  # fmt: skip


def run(store: Store, work: object) -> None:
    store.open()
    try:
        asyncio.run(work)  # type: ignore[arg-type]
    finally:
        store.close()


def test_accepted_mail_and_its_trace_outlive_the_store(tmp_path: Path, store_url: str) -> None:
    async def accept() -> None:
        await store.save_state(STATE, "{}")
        await store.spool(record("m1", 5), b"small")
        writer = store.body_writer()
        await writer.write(LARGE)
        await store.spool(record("m2", len(LARGE)), await writer.finish())
        await store.add_trace("m1", [step(0), step(1)], finished=True)

    store = make_store(tmp_path, store_url)
    run(store, accept())

    again = make_store(tmp_path, store_url)
    again.open()
    try:
        assert again.raw("m1") == b"small" and again.raw("m2") == LARGE
        assert again.trace("m1") == [step(0), step(1)]
        assert [m.id for m in again.claim_unfinished()] == ["m2"]  # m1 is done
        assert again.counts() == {"messages": 2, "pending": 1}
        # PostgreSQL keeps every body in its row: no file another host could not read
        assert (again.body_file("m2") is not None) == (store_url == "")
    finally:
        again.close()


def test_upserts_keep_sqlite_s_semantics(tmp_path: Path, store_url: str) -> None:
    store = make_store(tmp_path, store_url)
    contact = Contact(
        region="us-east-1", contact_list="list", email_address="A@example.com",
        topic_preferences={}, unsubscribe_all=False, attributes_data=None,
        created="2026-12-04T15:00:00.000Z", updated="2026-12-04T15:00:00.000Z",
    )  # fmt: skip
    removed = Removed()

    async def work() -> None:
        await store.put_document("k", "a", {"v": 1})
        await store.put_document("k", "a", {"v": 2})  # INSERT OR REPLACE
        assert await store.add_bucket(Bucket("b", "us-east-1", "t")) is True
        assert await store.add_bucket(Bucket("b", "eu-west-1", "t")) is False  # OR IGNORE
        assert await store.add_contacts([contact, contact]) == [True, False]
        for key in ("b/é", "b/z", "a", "b/Z", "b/a"):
            obj = StoredObject("b", key, 1, {}, None, "t", etag="e")
            await store.add_object(partial(made, obj), removed)
        # replacing an object whose file is elsewhere (hashed the other way) removes that file
        replacing = StoredObject("b", "a", 9, {"m": "1"}, "m1", "t2", etag="e", hashed=True)
        await store.add_object(partial(made, replacing), removed)
        same_way = StoredObject("b", "b/z", 2, {}, None, "t3", etag="f")
        await store.add_object(partial(made, same_way), removed)  # the new file replaced it

    run(store, work())
    store.open(read_only=True)
    try:
        assert store.document("k", "a") == {"v": 2}
        assert store.bucket("b") == Bucket("b", "us-east-1", "t")
        assert store.contact("us-east-1", "list", "a@example.com") is not None
        # S3's listing order: UTF-8 bytes ('Z' < 'a' < 'z' < 'é'), from a prefix, after a key
        listed = [o.key for o in store.objects_after("b", "b/", "", 10)]
        assert listed == ["b/Z", "b/a", "b/z", "b/é"]
        assert [o.key for o in store.objects_after("b", "b/", "b/a", 10)] == ["b/z", "b/é"]
        replaced = store.stored_object("b", "a")
        assert replaced is not None and (replaced.size, replaced.metadata) == (9, {"m": "1"})
        assert replaced.hashed
        assert removed == [StoredObject("b", "a", 1, {}, None, "t", etag="e")]
        assert store.stored_object("b", "b/z") == StoredObject(
            "b", "b/z", 2, {}, None, "t3", etag="f"
        )
    finally:
        store.close()


def test_the_ui_finds_a_message_by_its_digest_and_a_reset_empties(
    tmp_path: Path, store_url: str
) -> None:
    store = make_store(tmp_path, store_url)

    async def work() -> None:
        await store.save_state(STATE, "{}")
        await store.spool(record("m1", 5), b"hello")
        await store.spool(record("m2", 5), b"hello")
        [(first, rowid), (second, _)] = store.undigested(Direction.RECEIVED, 10)
        digest = Digest(first, rowid, "Invoice 42", "sender@example.org", "alice@example.com", "")
        await store.add_digests(Direction.RECEIVED, [digest])
        found = store.browse_received(MessageFilter(text="alice@exa invoice"), 10, 0)
        assert found is not None and [s.record.id for s in found] == ["m1"]
        assert store.undigested(Direction.RECEIVED, 10) == [(second, rowid + 1)]
        await store.reset()
        assert store.messages().total == 0 and store.raw("m1") is None

    run(store, work())
