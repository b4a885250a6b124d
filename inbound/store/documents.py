"""API state: JSON documents by kind and key (identities, configuration sets, ...).

Reads come from a copy of the stored text, kept as writes are queued (writes commit in queue
order, so the copy is what the store holds once they have): a send reads several documents,
its configuration set, the account's suppression reasons (profiled: a twentieth of its CPU).
A write that fails drops its copy, and the next read asks the store.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from inbound.store.document_writes import delete, documents_after, put, text_of
from inbound.store.engine import Engine
from inbound.store.writer import Database, Write

T = TypeVar("T")
R = TypeVar("R")
_UNREAD = object()


class Documents(Database):
    def __init__(self, data_dir: Path, engine: Engine | None = None) -> None:
        super().__init__(data_dir, engine)
        self._texts: dict[tuple[str, str], str | None] = {}  # None: no such document
        self._listings: dict[str, dict[str, str]] = {}  # `documents()`'s, by kind
        # `records()`'s, by kind, then by the function that decoded them
        self._records: dict[str, dict[Callable[..., Any], Mapping[str, Any]]] = {}
        # Documents other engines changed, not yet taken in (`catch_up`): what PostgreSQL's
        # notifications tell (store/postgresql/engine.py); None: any. Always empty on SQLite.
        self.elsewhere: deque[tuple[str, str] | None] = deque()
        self.outside_changes = 0  # how many `catch_up` took in: what keeps copies compares it
        self.shared = False  # whether other engines change documents: then `sync()` first

    def put_document(self, kind: str, key: str, body: Any) -> asyncio.Future[None]:
        """Store `body` (JSON-serialisable) durably: queued at once, in call order; the future
        is done once it is on disk (API changes must survive a restart once the response is
        sent)."""
        text = text_of(body)
        return self._written(kind, key, text, self._queue_write(Write(put, kind, key, text)))

    def delete_document(self, kind: str, key: str) -> asyncio.Future[None]:
        return self._written(kind, key, None, self._queue_write(Write(delete, kind, key)))

    async def write_documents(self, written: Sequence[tuple[str, str, Any]]) -> None:
        """Each (kind, key, body) stored, or deleted when body is None, in one commit."""
        await self._with_documents(None, written)

    def _with_documents(
        self, fn: Write[Any] | None, written: Sequence[tuple[str, str, Any]]
    ) -> asyncio.Future[None]:
        """`fn` and the documents `written` (as `write_documents`) in one transaction."""
        texts = [
            (kind, key, None if body is None else text_of(body)) for kind, key, body in written
        ]
        done = self._queue_write(Write(documents_after, fn, texts))
        for kind, key, text in texts:
            self._written(kind, key, text, done)
        return asyncio.shield(done)

    def _written(
        self, kind: str, key: str, text: str | None, write: asyncio.Future[T]
    ) -> asyncio.Future[T]:
        """`write`, queued, stores `text` as `kind`/`key` (None: deletes it): reads return it
        from now. Shielded: a caller that stops waiting does not stop the write, and its
        outcome still decides the copy."""
        self._texts[kind, key] = text
        self._records.pop(kind, None)
        listing = self._listings.get(kind)
        if listing is not None:
            if text is None:
                listing.pop(key, None)
            else:
                listing[key] = text

        def failed(done: asyncio.Future[T]) -> None:
            if done.exception() is not None:
                self._forget(kind, key)

        write.add_done_callback(failed)
        return asyncio.shield(write)

    def document(self, kind: str, key: str) -> Any | None:
        text = self.document_text(kind, key)
        return None if text is None else json.loads(text)

    def document_text(self, kind: str, key: str) -> str | None:
        """The document's stored text (None: no such document)."""
        text = self._texts.get((kind, key), _UNREAD)
        if text is _UNREAD:
            found = self._read("SELECT body FROM documents WHERE kind = ? AND key = ?", (kind, key))
            text = self._texts[kind, key] = found[0]["body"] if found else None
        return text  # type: ignore[return-value]

    def documents(self, kind: str) -> dict[str, Any]:
        """Every document of `kind`, by key, in key order: read once, with the writes queued
        since laid over it, then kept as writes are queued (the SNS action and the verdict
        overrides list theirs for every message)."""
        listing = self._listings.get(kind)
        if listing is None:
            found = self._read("SELECT key, body FROM documents WHERE kind = ?", (kind,))
            listing = {r["key"]: r["body"] for r in found}
            for (written_kind, key), text in self._texts.items():
                if written_kind == kind:
                    if text is None:
                        listing.pop(key, None)
                    else:
                        listing[key] = text
            self._listings[kind] = listing
        return {key: json.loads(listing[key]) for key in sorted(listing)}

    def records(self, kind: str, decode: Callable[[str, Any], R]) -> Mapping[str, R]:
        """Every document of `kind`, by key, as `decode(key, body)` made it, kept until a write
        of `kind` is queued: for the readers on the receiving path, which would otherwise parse
        every document again for each message (the SNS action's topic and subscriptions, the
        verdict overrides: profiled, 8% of receiving's event loop). `decode` makes immutable
        records: every caller gets the same ones."""
        decoded = self._records.setdefault(kind, {})
        found = decoded.get(decode)
        if found is None:
            found = decoded[decode] = {k: decode(k, v) for k, v in self.documents(kind).items()}
        return found

    async def synced(self) -> None:
        """Take in what other engines committed before now (a shared store: PostgreSQL's)."""
        self.catch_up()

    def catch_up(self) -> None:
        """Drop the copies of the documents other engines changed: they are read again."""
        while self.elsewhere:
            changed = self.elsewhere.popleft()
            if changed is None:
                self._texts.clear()
                self._listings.clear()
                self._records.clear()
            else:
                self._forget(*changed)
            self.outside_changes += 1

    def _forget(self, kind: str, key: str) -> None:
        self._texts.pop((kind, key), None)
        self._listings.pop(kind, None)
        self._records.pop(kind, None)
