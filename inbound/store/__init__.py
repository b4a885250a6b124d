"""Persistent state: spool, traces, retries, outbox, API documents, and what the embedded
backends did. The only package with SQL.

`Store` (store.py) is the one interface, its methods typed per table and named by what they
do; its arguments and results are the records of `inbound/records.py`, never rows or
connections. Under it, one engine (engine.py): the embedded SQLite file in the data dir
(sqlite.py, schema.py; the default), or PostgreSQL shared by several engines
(postgresql/, docs/cluster.md). `writer.py` holds the group-commit writer thread, and one
module per domain the queries.
"""

from __future__ import annotations

from inbound.store.errors import StorageError
from inbound.store.store import Store

__all__ = ["StorageError", "Store"]
