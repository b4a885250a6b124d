"""Every page of a JSON API listing reads its own rows, not the whole table (found by the soak
test, issue 18 item 9): without an index in the listing's order, SQLite sorted every row of the
table, message bodies included, for each page and again for its count. At 64,000 messages a
page of `/api/notifications` took about 4 s on the engine's event loop, and reading the whole
listing took minutes. The plans are read from SQLite itself (EXPLAIN QUERY PLAN) for the
statements the store really runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from inbound.store import Store

LISTINGS: dict[str, Callable[[Store], Any]] = {
    "messages": lambda s: s.messages(),
    "retries": lambda s: s.retries(),
    "s3": lambda s: s.objects(),
    "notifications": lambda s: s.notifications(),
    "lambda": lambda s: s.invocations(),
    "workmail": lambda s: s.mailbox_deliveries(),
    "metrics": lambda s: s.metric_points(),
    "firehose": lambda s: s.stream_records(),
    "eventbridge": lambda s: s.recorded_events("eventbridge"),
    "pinpoint": lambda s: s.recorded_events("pinpoint"),
    "outbox": lambda s: s.outbox(),
    "sent": lambda s: s.sent(),
}


@pytest.mark.parametrize("listing", LISTINGS)
def test_a_listing_page_and_its_count_use_an_index(tmp_path: Path, listing: str) -> None:
    store = Store(tmp_path)
    store.open()
    try:
        statements: list[str] = []
        reader = store._engine._reader  # type: ignore[attr-defined]  # SQLite's, for listings
        assert reader is not None
        reader.set_trace_callback(statements.append)
        LISTINGS[listing](store)
        reader.set_trace_callback(None)
        assert len(statements) == 2, statements  # the count and the page
        for sql in statements:
            plan = " | ".join(row[3] for row in reader.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "TEMP B-TREE" not in plan, (sql, plan)  # no sort of the whole table
            assert "CO-ROUTINE" not in plan, (sql, plan)  # no count over whole rows
    finally:
        store.close()
