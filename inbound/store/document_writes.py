"""The writes of API documents (store/documents.py): the functions the store's writer runs,
in a module of their own that imports no asyncio, since the writer is a process that loads
the module of each write it runs (store/writer_child.py)."""

from __future__ import annotations

import json
from typing import Any

from inbound.store.engine import Connection, Write
from inbound.timestamps import now_iso


def text_of(body: Any) -> str:
    return json.dumps(body, sort_keys=True)


def put(c: Connection, kind: str, key: str, text: str) -> None:
    """Store the document `kind`/`key` (`text_of` its body) in the transaction of `c`."""
    c.execute("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?)", (kind, key, text, now_iso()))


def delete(c: Connection, kind: str, key: str) -> None:
    c.execute("DELETE FROM documents WHERE kind = ? AND key = ?", (kind, key))


def documents_after(
    c: Connection, first: Write[Any] | None, texts: list[tuple[str, str, str | None]]
) -> None:
    if first is not None:
        first(c)
    for kind, key, text in texts:
        if text is None:
            delete(c, kind, key)
        else:
            put(c, kind, key, text)
