"""The writer's statements whose results nobody reads (`execute_together`: a message's body
and row, its trace, an SNS notification, ...) and each transaction's BEGIN and COMMIT, put
into the transaction's pipeline with libpq's own calls (`psycopg.pq`), each statement text
prepared once per connection.

psycopg's `Cursor.execute` in a pipeline sends each statement as it comes: it waits for the
socket, sends, and reads what came back, a few system calls and its generator machinery per
statement, with the GIL held for much of it. Here a statement's parameters are adapted by
psycopg's `Transformer` (the types and formats its cursor would send) and the statement goes
into libpq's output buffer; the buffer is sent with the next statement psycopg sends itself
or at the pipeline's sync, where psycopg reads every result in order: each one queued here
is an entry of the pipeline's `result_queue` that only checks its status (a failure fails
the transaction as a cursor's would). 10 statements in a transaction, 7 parameters each, on
a quiet machine: 17-19 -> 8-10 us of the writer thread per statement.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.adapt import PyFormat, Transformer

# Statement texts prepared per connection at most; past it, a new text is sent unprepared (the
# texts are the query modules' own, a few dozen; a trace's INSERT has one per count of rows).
PREPARED_MAX = 256
_PLACEHOLDER = re.compile(r"%([%s])")


class Unread:
    """The statements nobody reads on one writer connection (`send`), for its pipelines."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._pgconn = conn.pgconn
        self._adapt = Transformer(conn)
        self._numbered: dict[str, bytes] = {}
        self._prepared: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
        self._preparing: dict[tuple[bytes, tuple[int, ...]], bytes] = {}  # in this transaction
        self._names = itertools.count()
        self._unsure = False  # after a failure: the server may not have what `_prepared` says

    def send(self, pipeline: psycopg.Pipeline, sql: str, params: Sequence[Any] = ()) -> None:
        """Queue `sql` (psycopg's form: `%s` placeholders) with `params` in `pipeline`."""
        query = self._numbered.get(sql)
        if query is None:
            query = self._numbered[sql] = _numbered(sql)
        adapt = self._adapt
        values = adapt.dump_sequence(params, [PyFormat.AUTO] * len(params))
        types, formats = adapt.types or (), adapt.formats
        key = (query, types)
        name = self._prepared.get(key) or self._preparing.get(key)
        if name is None and len(self._prepared) + len(self._preparing) < PREPARED_MAX:
            # A name never used before on this connection: a Parse that a failed transaction
            # skipped (or ran) leaves nothing this one could collide with.
            name = self._preparing[key] = b"inbound_%d" % next(self._names)
            self._pgconn.send_prepare(name, query, types)
            pipeline.result_queue.append(None)
        if name is None:
            self._pgconn.send_query_params(query, values, types, formats)
        else:
            self._pgconn.send_query_prepared(name, values, formats)
        pipeline.result_queue.append(None)

    def committed(self) -> None:
        """The transaction's statements are prepared for the next ones."""
        self._prepared.update(self._preparing)
        self._preparing.clear()

    def failed(self) -> None:
        """The transaction failed: a Parse after the failing statement was skipped, and
        psycopg deallocates every prepared statement after a ROLLBACK once it has prepared
        one of its own. Which ones the server still has is read before the next transaction
        (`check`)."""
        self.committed()
        self._unsure = True

    def check(self) -> None:
        """Before a transaction, outside its pipeline: after a failure, forget what the server
        does not have prepared."""
        if self._unsure:
            rows = self.conn.execute("SELECT name FROM pg_prepared_statements").fetchall()
            have = {row[0].encode() for row in rows}
            self._prepared = {key: name for key, name in self._prepared.items() if name in have}
            self._unsure = False


def _numbered(sql: str) -> bytes:
    """psycopg's `%s` placeholders as libpq's `$1`, `$2`, ... (and `%%` as `%`)."""
    count = itertools.count(1)
    return _PLACEHOLDER.sub(lambda m: "%" if m.group(1) == "%" else f"${next(count)}", sql).encode()
