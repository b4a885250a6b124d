"""The store tests run against both stores where they say so (`store_url`)."""

from __future__ import annotations

from inbound.records import StoredObject
from tests.postgres import postgres_server, postgres_url, store_url  # noqa: F401  fixtures


class Removed(list[StoredObject]):
    """The records whose files a write removed, as its `remove_file` is told: an object of a
    module-level class, which a store write may carry (`inbound.store.engine.Write`)."""

    def __call__(self, record: StoredObject) -> None:
        self.append(record)


def made(record: StoredObject) -> StoredObject:
    """A `write_file` that writes nothing: `functools.partial(made, record)`."""
    return record
