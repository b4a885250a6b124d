"""SQLite state under the data dir: spool, traces, retries, outbox, API documents, and what the
embedded backends did. The only package with SQL.

`Store` is the one interface, its methods typed per table and named by what they do; its
arguments and results are the records of `inbound/records.py`, never rows or connections, so
another database could stand behind the same methods. `writer.py` holds the connections and
the group-commit writer thread, `schema.py` the tables, and one module per domain the queries.
"""

from __future__ import annotations

from inbound.store.browse import Browse
from inbound.store.contacts import Contacts
from inbound.store.documents import Documents
from inbound.store.embedded import Embedded
from inbound.store.messages import Messages
from inbound.store.outbox import Outbox
from inbound.store.retries import Retries
from inbound.store.sent import Sent
from inbound.store.suppressed import Suppressed
from inbound.store.writer import StorageError

__all__ = ["StorageError", "Store"]


class Store(Messages, Retries, Outbox, Embedded, Sent, Contacts, Documents, Suppressed, Browse):
    """All persistent state. Create, `open()`, use from one event loop, `close()`."""

    def discard_orphan_bodies(self) -> int:
        """The body files a killed server left, received (`Messages`) and sent (`Sent`)."""
        return super().discard_orphan_bodies() + self.discard_orphan_sent_bodies()
