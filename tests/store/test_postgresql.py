"""What only the PostgreSQL store does (docs/cluster.md): a versioned schema the engine
creates and migrates, work claimed with `FOR UPDATE SKIP LOCKED` under a lease that a killed
engine stops renewing, and a `[store] url` checked at start-up."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from inbound import config
from inbound.errors import ConfigError
from inbound.records import (
    LambdaInvocation,
    MailboxDelivery,
    MessageStatus,
    Notification,
    OutboxMessage,
    OutboxStatus,
    RecordedEvent,
    RetryEntry,
    RetryStatus,
    StoredObject,
    StreamRecord,
    TraceKind,
    TraceRow,
)
from inbound.store import StorageError, postgresql
from inbound.store.claims import Claims
from inbound.store.engine import Connection, execute, execute_unread, nothing
from inbound.store.postgresql import PostgresStore
from inbound.store.postgresql.schema import MIGRATIONS, VERSION_TABLE
from inbound.store.postgresql.unread import Unread
from inbound.store.sent import SentBody
from inbound.store.writer import Write
from inbound.testing import DEFAULT_RULES
from tests.store.conftest import Removed, made
from tests.store.test_engines import STATE, record
from tests.store.test_sent import message as sent_message

psycopg = pytest.importorskip("psycopg")


def _version(url: str) -> list[tuple[int]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT version FROM schema_version").fetchall()


def test_engines_starting_together_create_the_schema_once_and_a_newer_one_is_refused(
    tmp_path: Path, postgres_url: str
) -> None:
    stores = [PostgresStore(tmp_path / f"engine-{i}", postgres_url) for i in range(3)]
    failures: list[BaseException] = []

    def open_(store: PostgresStore) -> None:
        try:
            store.open()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=open_, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert failures == []
    assert _version(postgres_url) == [(len(MIGRATIONS),)]

    with psycopg.connect(postgres_url) as conn:
        conn.execute("UPDATE schema_version SET version = version + 1")
    with pytest.raises(StorageError, match="newer than this release"):
        PostgresStore(tmp_path / "old-release", postgres_url).open()


def test_text_stored_before_the_escape_reads_back_as_it_was(
    tmp_path: Path, postgres_url: str
) -> None:
    """Versions 3 and 4 escape the S3 keys, contacts' addresses and digests stored before
    (store/names.py), even where a key's escape is another key as it was stored ("a\x01"
    -> "a\x01\x02")."""
    keys = ["a\x01", "a\x01\x02", "a\x01\x01", "plain"]
    with psycopg.connect(postgres_url) as conn:
        conn.execute(VERSION_TABLE)
        for migration in MIGRATIONS[:2]:
            conn.execute(migration)
        conn.execute("INSERT INTO schema_version VALUES (2)")
        for key in keys:
            conn.execute(
                "INSERT INTO s3_objects (bucket, key, size, metadata, created)"
                " VALUES ('b', %s, %s, '{}', '2026-12-05T00:00:00Z')",
                (key, len(key)),
            )
            conn.execute(
                "INSERT INTO contacts VALUES ('us-east-1', 'l', %s, %s, '[]', 0, NULL, 't', 't')",
                (key, key),
            )
        conn.execute("INSERT INTO digests VALUES ('received', 'm', 1, 'a\x01\x01', 1)")
        conn.execute("INSERT INTO digest_text VALUES (1, 'a\x01', 'b', 'a\x01\x01', 'c')")
    store = PostgresStore(tmp_path / "engine", postgres_url)
    store.open()
    try:
        for key in keys:
            found = store.stored_object("b", key)
            assert found is not None and (found.key, found.size) == (key, len(key))
            contact = store.contact("us-east-1", "l", key)
            assert contact is not None and contact.email_address == key
        listed = [o.key for o in store.objects_after("b", "a\x01", "", 10)]
        assert listed == sorted(keys[:3])
        assert [c.email_address for c in store.contacts("us-east-1", "l")] == sorted(keys)
    finally:
        store.close()
    assert _version(postgres_url) == [(len(MIGRATIONS),)]
    with psycopg.connect(postgres_url) as conn:
        text = conn.execute("SELECT d.subject, t.* FROM digests d JOIN digest_text t USING (rowid)")
        assert text.fetchall() == [
            ("a\x01\x02\x01\x02", 1, "a\x01\x02", "b", "a\x01\x02\x01\x02", "c")
        ]


def assert_takes_the_lapsed_work(store: Claims, killed_at: float) -> None:
    """Once the killed engine's lease (1 s) runs out, `store` claims its message "m1" and
    its outbox entry "01"."""
    while not (taken := store.claim_unfinished()):
        assert time.monotonic() - killed_at < 10, "the lease never ran out"
        time.sleep(0.1)
    assert [m.id for m in taken] == ["m1"]
    assert [o.id for o in store.outbox_due("9", 10)] == ["01"]


def _outbox(outbox_id: str) -> OutboxMessage:
    return OutboxMessage(
        id=outbox_id, mail_from="a@example.com", recipients=("b@example.org",),
        message_id=None, status=OutboxStatus.QUEUED, created=f"2026-12-04T15:00:{outbox_id}Z",
        attempts=0, last_attempt=None, next_attempt=None, last_error=None, remote_reply=None,
    )  # fmt: skip


def test_an_engine_s_work_is_its_own_until_it_stops(tmp_path: Path, postgres_url: str) -> None:
    first = PostgresStore(tmp_path / "a", postgres_url)
    second = PostgresStore(tmp_path / "b", postgres_url)
    first.open()
    second.open()
    try:

        async def accept() -> None:
            await first.save_state(STATE, "{}")
            await first.spool(record("m1", 4), b"body")
            first.queue_outbox(_outbox("01"), b"raw")
            await first.flush()

        asyncio.run(accept())
        assert second.claim_unfinished() == [] and second.outbox_due("9", 10) == []
        assert [m.id for m in first.claim_unfinished()] == ["m1"]  # its own, again
    finally:
        first.close()  # gives its lease up: what it left is anybody's at once
    try:
        assert [m.id for m in second.claim_unfinished()] == ["m1"]
        assert [o.id for o in second.outbox_due("9", 10)] == ["01"]
        restarted = PostgresStore(tmp_path / "a", postgres_url)  # the first's data dir
        restarted.open()
        try:
            assert restarted.claim_unfinished() == []  # the second holds it now
        finally:
            restarted.close()
    finally:
        second.close()


KILLED = """
import asyncio, sys, time
from pathlib import Path
from inbound.store.claims import Claims
from inbound.store import postgresql
from inbound.store.engine import Connection, execute, execute_unread, nothing
from inbound.store.postgresql import PostgresStore
from tests.store.test_engines import STATE, record
from tests.store.test_sent import message as sent_message
from tests.store.test_postgresql import _outbox

store = PostgresStore(Path(sys.argv[1]), sys.argv[2], lease=1.0)
store.open()

async def accept():
    await store.save_state(STATE, "{}")
    await store.spool(record("m1", 4), b"body")
    store.queue_outbox(_outbox("01"), b"raw")
    await store.flush()

asyncio.run(accept())
print("accepted", flush=True)
time.sleep(60)
"""


def test_a_killed_engine_s_work_is_taken_over_once_its_lease_runs_out(
    tmp_path: Path, postgres_url: str
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(tmp_path / "killed"), postgres_url],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert process.stdout is not None and process.stdout.readline() == "accepted\n"
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = time.monotonic()
    survivor = PostgresStore(tmp_path / "survivor", postgres_url)
    survivor.open()
    try:
        assert survivor.claim_unfinished() == []  # the lease (1 s) still runs
        assert_takes_the_lapsed_work(survivor, killed_at)
    finally:
        survivor.close()


def _retry(message_id: str, due: str) -> RetryEntry:
    return RetryEntry(
        message_id=message_id, rule_position=0, action_index=0, rule="r", action="S3",
        status=RetryStatus.PENDING, attempts=1, deadline="2026-12-05T15:00:00.000Z",
        next_attempt=due, last_error="down",
    )  # fmt: skip


def test_a_running_engine_takes_over_only_what_lapsed_engines_left(
    tmp_path: Path, postgres_url: str
) -> None:
    """What the sweep claims (inbound/takeover.py): never its own work, which it is doing,
    nor a live engine's; a lapsed engine's, a page at a time. The retry and relay workers
    wait only for the rows they may claim: another live engine's are its own to attempt."""
    first = PostgresStore(tmp_path / "a", postgres_url)
    second = PostgresStore(tmp_path / "b", postgres_url)
    first.open()
    second.open()

    async def accept(store: PostgresStore, ids: list[str], due: str) -> None:
        await store.save_state(STATE, "{}")
        for message_id in ids:
            await store.spool(record(message_id, 4), b"body")
        failed = f"{ids[0]}-failed"  # a done message with an action to retry at `due`
        await store.spool(record(failed, 4), b"body")
        await store.add_trace(failed, [], finished=True, retries=[_retry(failed, due)])
        store.queue_outbox(_outbox(ids[0][-2:]), b"raw")
        for message_id in ids:
            await store.add_sent(sent_message(f"{message_id}-sent"), SentBody(b"body"))
        await store.flush()
        with psycopg.connect(postgres_url) as conn:  # deferred until `due`
            conn.execute(
                "UPDATE outbox SET status = %s, next_attempt = %s WHERE id = %s",
                (OutboxStatus.DEFERRED, due, ids[0][-2:]),
            )

    early, late = "2026-12-04T15:01:00.000Z", "2026-12-04T15:02:00.000Z"
    try:
        asyncio.run(accept(first, ["m1", "m2", "m3"], early))
        asyncio.run(accept(second, ["m4"], late))
        assert first.claim_abandoned(10) == [] and second.claim_abandoned(10) == []
        assert first.sent_abandoned_ids(10) == [] and second.sent_abandoned_ids(10) == []
        assert (first.retries_next_attempt(), first.outbox_next_attempt()) == (early, early)
        assert (second.retries_next_attempt(), second.outbox_next_attempt()) == (late, late)
    finally:
        first.close()  # its lease given up: what it left is anybody's
    try:
        assert (second.retries_next_attempt(), second.outbox_next_attempt()) == (early, early)
        assert [m.id for m in second.claim_abandoned(2)] == ["m1", "m2"]
        assert [m.id for m in second.claim_abandoned(2)] == ["m3"]  # m4 is its own
        assert second.claim_abandoned(2) == []
        assert sorted(second.sent_abandoned_ids(10)) == ["m1-sent", "m2-sent", "m3-sent"]
        assert second.sent_abandoned_ids(10) == []  # its own now, as m4's
    finally:
        second.close()


def test_engines_claiming_at_once_share_the_work_without_overlap(
    tmp_path: Path, postgres_url: str
) -> None:
    producer = PostgresStore(tmp_path / "producer", postgres_url)
    producer.open()
    for n in range(60):
        producer.queue_outbox(_outbox(f"{n:02d}"), b"raw")
    asyncio.run(producer.flush())
    producer.close()  # its lease given up: the entries are anybody's

    engines = [PostgresStore(tmp_path / f"engine-{i}", postgres_url) for i in range(3)]
    taken: list[list[str]] = [[] for _ in engines]
    start = threading.Barrier(len(engines))

    def claim(i: int) -> None:
        start.wait()
        taken[i] = [o.id for o in engines[i].outbox_due("9", 20)]

    for store in engines:
        store.open()
    try:
        threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(engines))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for store in engines:
            store.close()
    everything = [o for batch in taken for o in batch]
    assert sorted(everything) == [f"{n:02d}" for n in range(60)]  # each once
    assert [len(batch) for batch in taken] == [20, 20, 20]


def test_an_object_s_record_is_written_without_a_round_trip_in_its_transaction(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer sends a transaction's statements in one pipeline: whether an object's record
    replaced one whose file is elsewhere is read once the transaction has committed (`Later`),
    not by waiting for the results sent so far (`Pipeline.sync`) in the middle of it."""
    syncs: list[object] = []
    sync = psycopg.Pipeline.sync
    monkeypatch.setattr(psycopg.Pipeline, "sync", lambda p: (syncs.append(p), sync(p))[1])
    store = PostgresStore(tmp_path, postgres_url)
    store.open()
    removed = Removed()

    async def write() -> None:
        for size, hashed in ((1, False), (2, True), (3, True)):
            record = StoredObject("b", "k", size, {}, None, "t", etag="e", hashed=hashed)
            assert await store.add_object(partial(made, record), removed) == record

    try:
        asyncio.run(write())
        assert syncs == []
        # the second replaced a record whose file was elsewhere; the third, one like its own
        assert removed == [StoredObject("b", "k", 1, {}, None, "t", etag="e")]
        assert store.stored_object("b", "k") == StoredObject(
            "b", "k", 3, {}, None, "t", etag="e", hashed=True
        )
    finally:
        store.close()


def test_records_nobody_waits_for_are_written_without_a_round_trip_in_their_transaction(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the engine submits without waiting (an SNS publication and what its subscribers
    answered, a Lambda invocation and its response, a WorkMail delivery, a Firehose record, an
    EventBridge event, an outbox entry) has no count to read: its statement's result is not
    waited for in the middle of the writer's transaction (`Pipeline.sync`), which every
    message committed with it waited for too. Each is stored all the same."""
    syncs: list[object] = []
    sync = psycopg.Pipeline.sync
    monkeypatch.setattr(psycopg.Pipeline, "sync", lambda p: (syncs.append(p), sync(p))[1])
    store = PostgresStore(tmp_path, postgres_url)
    store.open()
    t = "2026-12-05T08:00:00.000Z"
    try:
        store.add_notification(Notification("n1", "arn:aws:sns:us-east-1:1:t", "s", "m", "m1", t))
        store.notification_delivered("n1", [{"status": 200}])
        store.add_invocation(LambdaInvocation("i1", "arn:f", "Event", {"a": 1}, created=t))
        store.invocation_returned("i1", {"ok": True})
        store.add_mailbox_delivery(
            MailboxDelivery("d1", "arn:o", ("to@example.com",), "p", None, t)
        )
        store.add_stream_record(StreamRecord("r1", "arn:s", "data", None, t))
        store.add_recorded_event("eventbridge", RecordedEvent("e1", "arn:b", {"x": 1}, None, t))
        store.queue_outbox(_outbox("01"), b"raw")
        asyncio.run(store.flush())
        assert syncs == []
        assert [(n.id, n.deliveries) for n in store.notifications()] == [("n1", [{"status": 200}])]
        assert [(i.id, i.response) for i in store.invocations()] == [("i1", {"ok": True})]
        assert [d.id for d in store.mailbox_deliveries()] == ["d1"]
        assert [r.id for r in store.stream_records()] == ["r1"]
        assert [e.event for e in store.recorded_events("eventbridge")] == [{"x": 1}]
        assert [o.id for o in store.outbox()] == ["01"]
    finally:
        store.close()


def test_a_message_s_row_and_body_go_as_one_statement_and_so_do_its_last_step_and_done(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Statements of one write that change different rows go to the server as one
    (`execute_together`): the spool's body and the message's row; the last trace rows and the
    done mark. Each statement saved is the writer's and the server's fixed cost of one. (The
    statements are seen where they are sent: a cursor's, or libpq's for those nobody reads.)"""
    sent: list[str] = []
    execute, send = psycopg.Cursor.execute, Unread.send

    def sending(cursor: psycopg.Cursor[Any], query: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(query)
        return execute(cursor, query, *args, **kwargs)

    def sending_unread(unread: Unread, pipeline: psycopg.Pipeline, sql: str, *args: Any) -> None:
        sent.append(sql)
        send(unread, pipeline, sql, *args)

    monkeypatch.setattr(psycopg.Cursor, "execute", sending)
    monkeypatch.setattr(Unread, "send", sending_unread)
    store = PostgresStore(tmp_path, postgres_url)
    store.open()
    step = TraceRow(seq=0, kind=TraceKind.RULE, rule="r", rule_position=0, detail={"a": 1})

    async def write() -> None:
        await store.save_state(STATE, "{}")
        await store.spool(record("m1", 4), b"body")
        sent.clear()
        await store.spool(record("m2", 4), b"body")
        await store.add_trace("m2", [step], finished=True)

    try:
        asyncio.run(write())
        statements = [q for q in sent if "INSERT" in q or "UPDATE" in q]
        assert len(statements) == 2, statements
        assert "INSERT INTO spool" in statements[0] and "INSERT INTO messages" in statements[0]
        assert "INSERT INTO trace" in statements[1] and "UPDATE messages" in statements[1]
        assert store.raw("m2") == b"body"
        found = store.message("m2")
        assert found is not None and found.status is MessageStatus.DONE and found.finished_at
        assert store.trace("m2") == [step]
        first = store.message("m1")
        assert first is not None and first.status is MessageStatus.PENDING
    finally:
        store.close()


def _bucket_counted(c: Connection, name: str) -> int:
    """A write whose count is read: a statement of psycopg's cursor."""
    return execute(c, "INSERT INTO s3_buckets VALUES (?, 'r', 't')", (name,))


def _bucket_unread(c: Connection, name: str) -> None:
    """A write nobody reads: a statement prepared by the writer itself (unread.py)."""
    execute_unread(c, "INSERT INTO s3_buckets VALUES (?, 'r', 't')", (name,))


def test_statements_nobody_reads_still_go_after_a_transaction_fails(
    tmp_path: Path, postgres_url: str
) -> None:
    """The writer prepares the statements nobody reads once per connection (unread.py). A
    failed transaction (a duplicate key) fails its write alone, and the writes after it
    commit: after its ROLLBACK psycopg deallocates every prepared statement, its own and the
    writer's (it has prepared its own once a statement ran 5 times), and the writer prepares
    its statements again."""
    store = PostgresStore(tmp_path, postgres_url)
    store.open()

    async def write() -> None:
        for n in range(8):
            assert await store._write(Write(_bucket_counted, f"counted-{n}")) == 1
        await store._write(Write(_bucket_unread, "unread-0"))
        with pytest.raises(psycopg.errors.UniqueViolation):
            await store._write(Write(_bucket_unread, "unread-0"))
        for n in range(1, 4):
            await store._write(Write(_bucket_unread, f"unread-{n}"))

    try:
        asyncio.run(write())
        names = {row["name"] for row in store._pg.read("SELECT name FROM s3_buckets")}
        assert names == {*(f"counted-{n}" for n in range(8)), *(f"unread-{n}" for n in range(4))}
    finally:
        store.close()


def test_spooling_a_message_does_not_lock_its_receipt_state(
    tmp_path: Path, postgres_url: str
) -> None:
    """Schema version 6: a message's state is not checked by a foreign key, which locked the
    state's row (FOR KEY SHARE) in every transaction that spooled a message, one row for
    every engine. A transaction holding that row locked does not hold up the spool."""
    store = PostgresStore(tmp_path, postgres_url)
    store.open()
    try:
        asyncio.run(store.save_state(STATE, "{}"))
        with psycopg.connect(postgres_url) as other:  # a transaction, open until the end
            other.execute("SELECT 1 FROM states WHERE id = %s FOR UPDATE", (STATE,))

            async def spool() -> None:
                await asyncio.wait_for(store.spool(record("m1", 4), b"body"), 5)

            asyncio.run(spool())
        assert store.raw("m1") == b"body"
    finally:
        store.close()


def test_a_10_kb_message_stays_compressed_in_its_row(tmp_path: Path, postgres_url: str) -> None:
    """Schema version 5: a body that fits in a page once compressed is not moved to the TOAST
    table (two more rows and index entries for 10 KB at PostgreSQL's default)."""
    store = PostgresStore(tmp_path, postgres_url)
    store.open()
    words = random.Random(10).choices(["lorem", "ipsum", "dolor", "sit", "amet", "elit"], k=1700)
    body = " ".join(words).encode()  # 10 KB, about 4 KB with lz4: compressible as mail is

    async def write() -> None:
        await store.save_state(STATE, "{}")
        await store.spool(record("m1", len(body)), body)

    try:
        asyncio.run(write())
        assert store.raw("m1") == body
    finally:
        store.close()
    with psycopg.connect(postgres_url) as conn:
        toast = conn.execute(
            "SELECT reltoastrelid::regclass::text FROM pg_class WHERE relname = 'spool'"
        ).fetchone()
        assert toast is not None
        assert conn.execute(f"SELECT count(*) FROM {toast[0]}").fetchone() == (0,)
        size = conn.execute("SELECT pg_column_size(raw) FROM spool").fetchone()
        assert size is not None and size[0] < len(body) / 2


def test_the_change_count_is_read_on_each_event_loop_that_asks(
    tmp_path: Path, postgres_url: str
) -> None:
    """The count before each decision is read with an asyncio connection (engine.py
    `document_version`): one made on the event loop that asks, so a store used from one loop
    and then another (a test, a command) reads on each."""
    store = PostgresStore(tmp_path, postgres_url)
    store.open()
    try:
        before = asyncio.run(store._pg.document_version())

        async def change_and_read() -> int:
            await store.put_document("k", "a", {"v": 1})
            return await store._pg.document_version()

        assert asyncio.run(change_and_read()) == before + 1
    finally:
        store.close()


def test_a_lost_change_count_connection_fails_one_read_and_the_next_connects_again(
    tmp_path: Path, postgres_url: str
) -> None:
    """The count's connection (counting.py) reads with libpq's own calls: a server that ends
    it fails the read in flight with a StorageError, and the next read
    opens another connection, with the count as committed."""
    store = PostgresStore(tmp_path, postgres_url)
    store.open()

    async def reads() -> None:
        before = await store._pg.document_version()
        counting = store._pg._counting
        assert counting is not None
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (counting._pgconn.backend_pid,))
        with pytest.raises(StorageError, match="PostgreSQL"):
            await store._pg.document_version()
        assert counting.closed
        await store.put_document("k", "a", {"v": 1})
        assert await store._pg.document_version() == before + 1
        assert store._pg._counting is not counting

    try:
        asyncio.run(reads())
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("mysql://db/inbound", r"must be empty \(SQLite in the data dir\) or a postgresql:// URL"),
        ("/var/lib/inbound.sqlite3", "must be empty"),
    ],
)
def test_a_store_url_that_is_not_postgresql_stops_start_up(
    tmp_path: Path, url: str, error: str
) -> None:
    (tmp_path / "rules.json").write_text(json.dumps(DEFAULT_RULES))
    path = tmp_path / "inbound.toml"
    path.write_text(f'[store]\nurl = "{url}"\n')
    with pytest.raises(ConfigError, match=error):
        config.load(path)


def test_writes_nobody_waits_on_durably_gather_on_postgresql(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's writer gathers (`GATHER`): a write nobody waits on durably waits for more,
    until a durable one comes; fewer commits per message with several engines (issue 17)."""
    monkeypatch.setattr(postgresql, "GATHER", 30.0)
    store = PostgresStore(tmp_path / "engine", postgres_url)
    store.open()

    async def work() -> None:
        step = asyncio.ensure_future(store._write(Write(nothing), durable=False))
        await asyncio.sleep(0.2)
        assert not step.done()  # gathering, for up to the patched 30 s
        started = time.monotonic()
        await store._write(Write(nothing))
        await step
        assert time.monotonic() - started < 10

    try:
        asyncio.run(work())
    finally:
        store.close()
