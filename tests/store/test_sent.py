"""A sent message and the statistics document that counts it are one transaction: the write
that fails stores neither, so a kill between the two cannot keep one without the other."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from inbound.records import SentMessage, SentStatus
from inbound.store import Store
from inbound.store.sent import SentBody

BODY = SentBody(b"body")

STATISTICS = ("sending.statistics", "us-east-1")


def message(message_id: str) -> SentMessage:
    return SentMessage(
        id=message_id,
        operation="SendEmail",
        created="2026-12-04T15:00:00.000Z",
        source="sender@example.com",
        mail_from=f"{message_id}@amazonses.com",
        recipients=("to@example.com",),
        return_path="sender@example.com",
        configuration_set=None,
        tags={},
        status=SentStatus.ACCEPTED,
        size=4,
    )


def test_the_message_and_its_document_commit_together(tmp_path) -> None:
    async def run() -> None:
        store = Store(tmp_path)
        store.open()
        try:
            await store.add_sent(message("a"), BODY, document=(*STATISTICS, {"count": 1}))
            assert store.sent_pending_ids() == ["a"]
            assert store.document(*STATISTICS) == {"count": 1}
            # The same id again: the row cannot be inserted, so the document is not written.
            with pytest.raises(sqlite3.IntegrityError):
                await store.add_sent(message("a"), BODY, document=(*STATISTICS, {"count": 2}))
            assert store.document(*STATISTICS) == {"count": 1}
            # A document that cannot be stored: the message is not stored either.
            with pytest.raises(TypeError):
                await store.add_sent(message("b"), BODY, document=(*STATISTICS, object()))
            assert store.sent_pending_ids() == ["a"]
            assert store.sent_raw("b") is None
        finally:
            store.close()

    asyncio.run(run())
