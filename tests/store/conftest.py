"""The store tests run against both stores where they say so (`store_url`)."""

from __future__ import annotations

from inbound.records import MessageRecord, MessageStatus, StoredObject
from tests.postgres import postgres_server, postgres_url, store_url  # noqa: F401  fixtures


class Removed(list[StoredObject]):
    """The records whose files a write removed, as its `remove_file` is told: an object of a
    module-level class, which a store write may carry (`inbound.store.engine.Write`)."""

    def __call__(self, record: StoredObject) -> None:
        self.append(record)


def made(record: StoredObject) -> StoredObject:
    """A `write_file` that writes nothing: `functools.partial(made, record)`."""
    return record


def pending(message_id: str, size: int = 3) -> MessageRecord:
    """A message just accepted, under the receipt state "s", for `Store.spool`."""
    return MessageRecord(
        id=message_id,
        received_at="2026-12-04T10:00:00.000Z",
        mail_from="a@sender.test",
        recipients=("u@example.com",),
        client_ip="127.0.0.1",
        helo="h",
        tls=False,
        state_id="s",
        size=size,
        status=MessageStatus.PENDING,
        finished_at=None,
    )
