"""API state: JSON documents by kind and key (identities, configuration sets, ...)."""

from __future__ import annotations

import json
from typing import Any

from inbound.store.writer import Connection, Database
from inbound.timestamps import now_iso


def put(c: Connection, kind: str, key: str, body: Any) -> None:
    """Store `body` as the document `kind`/`key` in the transaction of `c`."""
    text = json.dumps(body, sort_keys=True)
    c.execute("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?)", (kind, key, text, now_iso()))


class Documents(Database):
    async def put_document(self, kind: str, key: str, body: Any) -> None:
        """Store `body` (JSON-serialisable) durably before returning: API changes must survive
        a restart once the response is sent."""
        await self._write(lambda c: put(c, kind, key, body))

    async def delete_document(self, kind: str, key: str) -> None:
        await self._write(
            lambda c: c.execute("DELETE FROM documents WHERE kind = ? AND key = ?", (kind, key))
        )

    def document(self, kind: str, key: str) -> Any | None:
        found = self._read("SELECT body FROM documents WHERE kind = ? AND key = ?", (kind, key))
        return json.loads(found[0]["body"]) if found else None

    def documents(self, kind: str) -> dict[str, Any]:
        """Every document of `kind`, by key, in key order."""
        found = self._read("SELECT key, body FROM documents WHERE kind = ? ORDER BY key", (kind,))
        return {r["key"]: json.loads(r["body"]) for r in found}
