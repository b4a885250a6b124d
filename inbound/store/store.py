"""`Store`: the typed methods of every domain over one `Database` (writer.py)."""

from __future__ import annotations

from inbound.records import MessageRecord, MessageStatus
from inbound.store.browse import Browse
from inbound.store.contacts import Contacts
from inbound.store.documents import Documents
from inbound.store.embedded import Embedded
from inbound.store.messages import Messages
from inbound.store.outbox import Outbox
from inbound.store.retries import Retries
from inbound.store.sent import Sent
from inbound.store.suppressed import Suppressed


class Store(Messages, Retries, Outbox, Embedded, Sent, Contacts, Documents, Suppressed, Browse):
    """All persistent state. Create, `open()`, use from one event loop, `close()`."""

    def discard_orphan_bodies(self) -> int:
        """The body files a killed server left, received (`Messages`) and sent (`Sent`)."""
        return super().discard_orphan_bodies() + self.discard_orphan_sent_bodies()

    def claim_unfinished(self) -> list[MessageRecord]:
        """The accepted messages nobody is processing, for this process to finish: on SQLite
        (one server per data dir) every pending one; PostgreSQL claims them with a lease."""
        return list(self.messages(status=MessageStatus.PENDING, limit=1_000_000))

    def takeover_interval(self) -> float | None:
        """How often a running engine takes over the work that engines which stopped renewing
        their lease left (inbound/takeover.py); None: no other engine can leave any (SQLite:
        one server per data dir, whose work its next start takes back)."""
        return None

    def claim_abandoned(self, limit: int) -> list[MessageRecord]:
        """Up to `limit` accepted messages that a lapsed engine left pending, oldest first,
        claimed for this one (never one of its own, which it is processing): a shared store's
        (store/claims.py)."""
        return []

    def sent_abandoned_ids(self, limit: int) -> list[str]:
        """Up to `limit` sent messages whose delivery a lapsed engine left unfinished, claimed
        for this one (never one of its own): a shared store's (store/claims.py)."""
        return []
