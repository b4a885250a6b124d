"""The tables of `inbound.sqlite3`. `CREATE ... IF NOT EXISTS`: a data dir made by any earlier
release opens as it is (gaining the indexes it lacks). Every listing the JSON API pages through
has an index in its order (`Database._page`)."""

from __future__ import annotations

import sqlite3

from inbound.store.engine import Connection

SCHEMA = """
CREATE TABLE IF NOT EXISTS states (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, received_at TEXT NOT NULL, mail_from TEXT NOT NULL,
    recipients TEXT NOT NULL, client_ip TEXT NOT NULL, helo TEXT NOT NULL, tls INTEGER NOT NULL,
    state_id TEXT NOT NULL REFERENCES states(id), size INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', finished_at TEXT);
CREATE INDEX IF NOT EXISTS messages_status ON messages(status);
CREATE INDEX IF NOT EXISTS messages_received ON messages(received_at);
CREATE TABLE IF NOT EXISTS spool (id TEXT PRIMARY KEY, raw BLOB NOT NULL, codec TEXT);
CREATE TABLE IF NOT EXISTS trace (
    message_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, rule TEXT,
    rule_position INTEGER, action_index INTEGER, action TEXT, outcome TEXT, ms REAL,
    detail TEXT, error TEXT, PRIMARY KEY (message_id, seq));
CREATE TABLE IF NOT EXISTS s3_objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, metadata TEXT NOT NULL,
    message_id TEXT, created TEXT NOT NULL, headers TEXT NOT NULL DEFAULT '{}', etag TEXT,
    hashed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (bucket, key));
CREATE TABLE IF NOT EXISTS s3_buckets (
    name TEXT PRIMARY KEY, region TEXT NOT NULL, created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS s3_objects_created ON s3_objects(created);
CREATE TABLE IF NOT EXISTS notifications (
    id TEXT PRIMARY KEY, topic_arn TEXT NOT NULL, subject TEXT NOT NULL, message TEXT NOT NULL,
    message_id TEXT, created TEXT NOT NULL, deliveries TEXT NOT NULL DEFAULT '[]', codec TEXT);
CREATE INDEX IF NOT EXISTS notifications_created ON notifications(created);
CREATE TABLE IF NOT EXISTS invocations (
    id TEXT PRIMARY KEY, function_arn TEXT NOT NULL, invocation_type TEXT NOT NULL,
    payload TEXT NOT NULL, response TEXT, error TEXT, message_id TEXT, created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS invocations_created ON invocations(created);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY, mail_from TEXT NOT NULL, recipients TEXT NOT NULL, raw BLOB NOT NULL,
    message_id TEXT, status TEXT NOT NULL DEFAULT 'queued', created TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, last_attempt TEXT, next_attempt TEXT,
    last_error TEXT, remote_reply TEXT);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox(status);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox(created);
CREATE TABLE IF NOT EXISTS relay_outcomes (
    outbox_id TEXT NOT NULL, attempt INTEGER NOT NULL, sent_id TEXT NOT NULL,
    status TEXT NOT NULL, queued TEXT NOT NULL, remote_reply TEXT, last_error TEXT,
    PRIMARY KEY (outbox_id, attempt));
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, updated TEXT NOT NULL,
    PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS contacts (
    region TEXT NOT NULL, contact_list TEXT NOT NULL, key TEXT NOT NULL,
    email_address TEXT NOT NULL, topic_preferences TEXT NOT NULL,
    unsubscribe_all INTEGER NOT NULL, attributes_data TEXT, created TEXT NOT NULL,
    updated TEXT NOT NULL, PRIMARY KEY (region, contact_list, key));
CREATE TABLE IF NOT EXISTS mailbox (
    id TEXT PRIMARY KEY, organization_arn TEXT NOT NULL, recipients TEXT NOT NULL,
    path TEXT NOT NULL, message_id TEXT, created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS mailbox_created ON mailbox(created);
CREATE TABLE IF NOT EXISTS retries (
    message_id TEXT NOT NULL, rule_position INTEGER NOT NULL, action_index INTEGER NOT NULL,
    rule TEXT NOT NULL, action TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
    deadline TEXT NOT NULL, next_attempt TEXT, last_error TEXT, dsn TEXT,
    created TEXT NOT NULL, updated TEXT NOT NULL,
    PRIMARY KEY (message_id, rule_position, action_index));
CREATE INDEX IF NOT EXISTS retries_status ON retries(status, next_attempt);
CREATE INDEX IF NOT EXISTS retries_created
    ON retries(created, message_id, rule_position, action_index);
CREATE TABLE IF NOT EXISTS metrics (
    id TEXT PRIMARY KEY, namespace TEXT NOT NULL, metric_name TEXT NOT NULL,
    dimensions TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL, timestamp TEXT NOT NULL,
    message_id TEXT, created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS metrics_created ON metrics(created);
CREATE TABLE IF NOT EXISTS stream_records (
    id TEXT PRIMARY KEY, stream_arn TEXT NOT NULL, data TEXT NOT NULL, message_id TEXT,
    created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS stream_records_created ON stream_records(created);
CREATE TABLE IF NOT EXISTS eventbridge_events (
    id TEXT PRIMARY KEY, target_arn TEXT NOT NULL, event TEXT NOT NULL, message_id TEXT,
    created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS eventbridge_events_created ON eventbridge_events(created);
CREATE TABLE IF NOT EXISTS pinpoint_events (
    id TEXT PRIMARY KEY, target_arn TEXT NOT NULL, event TEXT NOT NULL, message_id TEXT,
    created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS pinpoint_events_created ON pinpoint_events(created);
CREATE TABLE IF NOT EXISTS sent (
    id TEXT PRIMARY KEY, operation TEXT NOT NULL, created TEXT NOT NULL, source TEXT NOT NULL,
    mail_from TEXT NOT NULL, recipients TEXT NOT NULL, return_path TEXT NOT NULL,
    configuration_set TEXT, tags TEXT NOT NULL, status TEXT NOT NULL, size INTEGER NOT NULL,
    trace TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sent_created ON sent(created);
CREATE TABLE IF NOT EXISTS sent_raw (id TEXT PRIMARY KEY, raw BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS sent_pending (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS sent_returns (
    id TEXT PRIMARY KEY, sent_id TEXT NOT NULL, raw BLOB NOT NULL, created TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS suppressed (
    region TEXT NOT NULL, address TEXT NOT NULL, reason TEXT NOT NULL, updated TEXT NOT NULL,
    message_id TEXT, feedback_id TEXT, PRIMARY KEY (region, address));
CREATE INDEX IF NOT EXISTS suppressed_updated ON suppressed(region, updated, address);
CREATE TABLE IF NOT EXISTS digests (
    kind TEXT NOT NULL, message_id TEXT NOT NULL, source_rowid INTEGER NOT NULL,
    subject TEXT NOT NULL, PRIMARY KEY (kind, message_id));
CREATE INDEX IF NOT EXISTS digests_source ON digests(kind, source_rowid);
CREATE TABLE IF NOT EXISTS engines (
    id TEXT PRIMARY KEY, host TEXT NOT NULL, started REAL NOT NULL, alive_until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS document_changes (
    version INTEGER PRIMARY KEY AUTOINCREMENT, engine TEXT NOT NULL, kind TEXT NOT NULL,
    key TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS send_statistics (
    region TEXT NOT NULL, bucket TEXT NOT NULL, delivery_attempts INTEGER NOT NULL,
    bounces INTEGER NOT NULL, complaints INTEGER NOT NULL, rejects INTEGER NOT NULL,
    PRIMARY KEY (region, bucket));
CREATE TABLE IF NOT EXISTS send_quota_locks (region TEXT PRIMARY KEY);
CREATE VIRTUAL TABLE IF NOT EXISTS digest_text USING fts5(
    sender, recipients, subject, body, tokenize = 'unicode61 remove_diacritics 2');
"""

# The work that worker processes sharing the file claim (store/claims.py): the engine holding
# a row is its `claimed_by` (`engines`: their leases); a single process leaves it NULL.
CLAIMED_TABLES = ("messages", "retries", "outbox", "relay_outcomes", "sent_pending", "sent_returns")

# Columns added to a table after its first release: `migrate()` adds them to a data dir made
# before (CREATE TABLE IF NOT EXISTS leaves an existing table as it was).
ADDED_COLUMNS = (
    ("s3_objects", "headers", "TEXT NOT NULL DEFAULT '{}'"),
    ("s3_objects", "etag", "TEXT"),
    ("s3_objects", "hashed", "INTEGER NOT NULL DEFAULT 0"),
    *((table, "claimed_by", "TEXT") for table in CLAIMED_TABLES),
    ("spool", "codec", "TEXT"),  # how `raw` is kept (store/packing.py)
    ("notifications", "codec", "TEXT"),  # how `message` is kept
)


def migrate(conn: sqlite3.Connection) -> None:
    for table, column, declaration in ADDED_COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    # Buckets were not recorded before `s3_buckets`: those that hold objects are (in the
    # default Region: which one was configured then is not known).
    if conn.execute("SELECT 1 FROM s3_buckets LIMIT 1").fetchone() is None:
        conn.execute(
            "INSERT INTO s3_buckets SELECT bucket, 'us-east-1', MIN(created) FROM s3_objects "
            "GROUP BY bucket"
        )
    conn.executescript(STATISTICS_TO_ROWS)


# The sending statistics were one document per Region, `{"buckets": {start: counts}}`, before
# `send_statistics` (a row per bucket): its buckets become rows, and the document goes, in one
# transaction (processes opening the file at once move them once). An earlier release run on
# the data dir since made a new document of its own counts: they are added.
STATISTICS_TO_ROWS = """
BEGIN IMMEDIATE;
INSERT INTO send_statistics
SELECT d.key, b.key, COALESCE(json_extract(b.value, '$.DeliveryAttempts'), 0),
    COALESCE(json_extract(b.value, '$.Bounces'), 0),
    COALESCE(json_extract(b.value, '$.Complaints'), 0),
    COALESCE(json_extract(b.value, '$.Rejects'), 0)
FROM documents AS d, json_each(d.body, '$.buckets') AS b WHERE d.kind = 'sending.statistics'
ON CONFLICT (region, bucket) DO UPDATE SET
    delivery_attempts = delivery_attempts + excluded.delivery_attempts,
    bounces = bounces + excluded.bounces, complaints = complaints + excluded.complaints,
    rejects = rejects + excluded.rejects;
DELETE FROM documents WHERE kind = 'sending.statistics';
COMMIT;
"""


# Tables that `reset()` empties (DELETE /api/messages), in dependency order.
RESET_TABLES = (
    "retries",
    "trace",
    "spool",
    "messages",
    "s3_objects",
    "notifications",
    "invocations",
    "relay_outcomes",
    "outbox",
    "mailbox",
    "metrics",
    "stream_records",
    "eventbridge_events",
    "pinpoint_events",
    "sent_returns",
    "sent_pending",
    "sent_raw",
    "sent",
    "digest_text",
    "digests",
)


def wipe(c: Connection) -> None:
    """The write of `Database.reset`: every table of `RESET_TABLES` emptied."""
    for table in RESET_TABLES:
        c.execute(f"DELETE FROM {table}")
