"""`[store]`: where the engine keeps its state (docs/cluster.md)."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field

from inbound.config.section import Key, Section, toml
from inbound.store.engine import LEASE


def _store_url(value: str, at: Key) -> str:
    """Empty: the SQLite file in the data dir; else a PostgreSQL connection URI, whose
    driver must be installed."""
    if not value:
        return value
    if not re.match(r"^postgres(ql)?://", value):
        raise at.error("must be empty (SQLite in the data dir) or a postgresql:// URL")
    if importlib.util.find_spec("psycopg") is None:
        raise at.error("needs psycopg: pip install 'inbound-ses[postgresql]'")
    return value


def _lease(value: float, at: Key) -> float:
    """At least a second: the heartbeat renews the lease every third of it, and an engine
    whose renewal comes later than the lease loses its work to the other engines."""
    if not value >= 1:
        raise at.error("must be at least 1 (second)")
    return float(value)


WRITERS = ("process", "thread")


def _writer(value: str, at: Key) -> str:
    if value not in WRITERS:
        raise at.error(f'must be "process" or "thread", not "{value}"')
    return value


@dataclass(frozen=True)
class StoreSettings(Section):
    """`[store]`: where the engine keeps its state (docs/cluster.md)."""

    # empty: `inbound.sqlite3` in the data dir; "postgresql://...": that database, shared by
    # every engine configured with it (a password in it is a secret: not in reprs)
    url: str = field(default="", repr=False, metadata=toml(str, _store_url))
    # engines sharing the store (PostgreSQL, [server] workers): how long an engine's claims
    # outlive its last heartbeat; a killed engine's work is taken over within 1.5 times this
    lease_seconds: float = field(default=LEASE, metadata=toml((int, float), _lease))
    # where the SQLite file's writes run (docs/architecture.md, "The store's writer"): a
    # process of their own, beside the event loop's, or a thread (no process to start: the
    # pytest plugin's; and each worker's of `[server] workers`, docs/workers.md); PostgreSQL's
    # writer is a thread
    writer: str = field(default="process", metadata=toml(str, _writer))
