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

from pathlib import Path
from typing import TYPE_CHECKING, Any

from inbound.store.engine import LEASE
from inbound.store.errors import StorageError

if TYPE_CHECKING:
    from inbound.store.store import Store

__all__ = ["StorageError", "Store", "make_store"]


def make_store(
    data_dir: Path, url: str = "", *, worker: int | None = None, lease: float = LEASE
) -> Store:
    """The store `[store] url` names: empty, the SQLite file in `data_dir`; a
    `postgresql://` URL, that database, with `data_dir` for what stays per engine. `worker`:
    the slot of a worker process of `[server] workers` (docs/workers.md), one engine of
    several on the store. `lease`: how long such an engine's claims outlive its last
    heartbeat."""
    if url:
        from inbound.store.postgresql import PostgresStore

        return PostgresStore(data_dir, url, worker=worker, lease=lease)
    if worker is not None:
        from inbound.store.shared import SharedSqliteStore

        return SharedSqliteStore(data_dir, worker, lease=lease)
    from inbound.store.store import Store

    return Store(data_dir)


def __getattr__(name: str) -> Any:
    """`Store`, imported with its first use, not with the package: the store's writer
    process imports modules of this package, and must not load all of them
    (store/writer_child.py)."""
    if name == "Store":
        from inbound.store.store import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
