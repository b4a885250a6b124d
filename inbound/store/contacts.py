"""The contacts of SES v2 contact lists (list management), one row per (Region, list,
address), listed in address order so that ListContacts pages by the address it stopped at.
The lists themselves are API documents (`sending.contact-lists`); deleting one deletes its
contacts in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from inbound.records import Contact
from inbound.store import document_writes
from inbound.store.documents import Documents
from inbound.store.engine import execute
from inbound.store.names import Names
from inbound.store.writer import Connection, Row, Write

_COLUMNS = (
    "region, contact_list, key, email_address, topic_preferences, unsubscribe_all,"
    " attributes_data, created, updated"
)
_VALUES = f"({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _params(contact: Contact, names: Names) -> tuple[object, ...]:
    """The row of `contact`, its address as `names` keeps it (SES's checks let a NUL by)."""
    return (
        contact.region,
        contact.contact_list,
        names.stored(contact.key),
        names.stored(contact.email_address),
        json.dumps(contact.topic_preferences),
        int(contact.unsubscribe_all),
        contact.attributes_data,
        contact.created,
        contact.updated,
    )


def _contact(row: Row, names: Names) -> Contact:
    return Contact(
        region=row["region"],
        contact_list=row["contact_list"],
        email_address=names.read(row["email_address"]),
        topic_preferences=json.loads(row["topic_preferences"]),
        unsubscribe_all=bool(row["unsubscribe_all"]),
        attributes_data=row["attributes_data"],
        created=row["created"],
        updated=row["updated"],
    )


class Contacts(Documents):
    async def add_contacts(self, contacts: Sequence[Contact]) -> list[bool]:
        """Store the contacts that are new, durably; per contact, whether it was added (False:
        the list already had that address, which is left as it was)."""
        params = [_params(contact, self._names) for contact in contacts]
        return await self._write(Write(_insert_new, params))

    async def put_contact(self, contact: Contact) -> None:
        """Store `contact` in place of the one with its address, durably."""
        sql = f"INSERT OR REPLACE INTO contacts {_VALUES}"
        await self._write(Write(execute, sql, _params(contact, self._names)))

    async def delete_contact(self, region: str, contact_list: str, address: str) -> bool:
        """Whether there was such a contact."""
        key = self._names.stored(address.lower())
        sql = "DELETE FROM contacts WHERE region = ? AND contact_list = ? AND key = ?"
        return await self._write(Write(execute, sql, (region, contact_list, key))) == 1

    async def delete_contact_list(self, region: str, contact_list: str, document: str) -> None:
        """The list's document (kind `document`, key `<region>/<name>`) and its contacts, in
        one transaction."""

        key = f"{region}/{contact_list}"
        delete = Write(_delete_list, document, key, (region, contact_list))
        await self._written(document, key, None, self._queue_write(delete))

    def contact(self, region: str, contact_list: str, address: str) -> Contact | None:
        found = self._read(
            f"SELECT {_COLUMNS} FROM contacts WHERE region = ? AND contact_list = ? AND key = ?",
            (region, contact_list, self._names.stored(address.lower())),
        )
        return _contact(found[0], self._names) if found else None

    def contacts(
        self, region: str, contact_list: str, start: str = "", limit: int = 1000
    ) -> list[Contact]:
        """Up to `limit` contacts of the list from the address `start` on (lower-cased), in
        address order."""
        found = self._read(
            f"SELECT {_COLUMNS} FROM contacts WHERE region = ? AND contact_list = ? AND key >= ?"
            " ORDER BY key LIMIT ?",
            (region, contact_list, self._names.stored(start), limit),
        )
        return [_contact(r, self._names) for r in found]


def _insert_new(c: Connection, params: list[tuple[Any, ...]]) -> list[bool]:
    sql = f"INSERT OR IGNORE INTO contacts {_VALUES}"
    return [c.execute(sql, values).rowcount == 1 for values in params]


def _delete_list(c: Connection, document: str, key: str, address: tuple[str, str]) -> None:
    document_writes.delete(c, document, key)
    c.execute("DELETE FROM contacts WHERE region = ? AND contact_list = ?", address)
