"""The writes of API documents (store/documents.py): the functions the store's writer runs,
in a module of their own that imports no asyncio, since the writer is a process that loads
the module of each write it runs (store/writer_child.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from inbound.store.engine import Connection, Write
from inbound.timestamps import now_iso


def text_of(body: Any) -> str:
    return json.dumps(body, sort_keys=True)


def put(c: Connection, kind: str, key: str, text: str) -> None:
    """Store the document `kind`/`key` (`text_of` its body) in the transaction of `c`."""
    c.execute("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?)", (kind, key, text, now_iso()))


def count(
    c: Connection,
    kind: str,
    key: str,
    change: Callable[[Any | None], Any],
    check: Callable[[Any | None], None] | None = None,
) -> str:
    """Store `change(the document as committed)` in the transaction of `c`, its row locked
    first (on PostgreSQL, another engine counting into it waits for this commit, then reads
    what it committed), so that engines counting at once add up; returns the text stored.
    `check(the same document)` comes first and may raise, refusing the count and the
    transaction: a limit that engines counting at once cannot pass together."""
    c.execute("INSERT OR IGNORE INTO documents VALUES (?, ?, 'null', ?)", (kind, key, now_iso()))
    found = c.execute(
        "UPDATE documents SET updated = updated WHERE kind = ? AND key = ? RETURNING body",
        (kind, key),
    ).fetchone()
    committed = json.loads(found[0])
    if check is not None:
        check(committed)
    text = text_of(change(committed))
    put(c, kind, key, text)
    return text


def delete(c: Connection, kind: str, key: str) -> None:
    c.execute("DELETE FROM documents WHERE kind = ? AND key = ?", (kind, key))


def count_after(
    c: Connection,
    first: Write[Any] | None,
    kind: str,
    key: str,
    change: Callable[[Any | None], Any],
    check: Callable[[Any | None], None] | None,
) -> str:
    if first is not None:
        first(c)
    return count(c, kind, key, change, check)


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
