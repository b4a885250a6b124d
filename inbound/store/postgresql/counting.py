"""The change count (`document_version`, docs/cluster.md "Live state") read on the event loop
with libpq's own asynchronous calls (`psycopg.pq`): a prepared statement sent, and its one
value read when the socket has it.

Each RCPT waits for one such read (shared, reads.py). Through psycopg's asyncio cursor, a read
cost the event loop 37-82 us of CPU and 56-139 us of waiting; with libpq's calls, 6-11 us and
16-26 us (3,000 reads in a row on uvloop, busy machine): the cursor's machinery (adapting
parameters, preparing, loading rows) is most of it, for one integer. With two engines on
benchmarks/pgscale.py's load there is a read for every three messages (each engine's RCPTs
share fewer of them), and the event loop spent 7.8% of its time in them (py-spy).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

import psycopg
from psycopg import pq

from inbound.store.errors import StorageError

_NAME = b"document_version"


class CountReads:
    """Reads of one query's one integer, on the connection `connect` opens and the event loop
    it was opened on. A failed read closes the connection: the next reader opens another."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn  # psycopg's, which opened it without blocking; kept from collection
        self._pgconn = conn.pgconn
        self.loop = asyncio.get_running_loop()

    @classmethod
    async def connect(cls, url: str, sql: str) -> CountReads:
        try:
            conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StorageError(f"PostgreSQL: {exc}") from exc
        reads = cls(conn)
        prepare = partial(reads._pgconn.send_prepare, _NAME, sql.encode())
        await reads._run(prepare, pq.ExecStatus.COMMAND_OK)
        return reads

    @property
    def closed(self) -> bool:
        return self._pgconn.status != pq.ConnStatus.OK

    async def read(self) -> int:
        send = partial(self._pgconn.send_query_prepared, _NAME, None)
        value = (await self._run(send, pq.ExecStatus.TUPLES_OK)).get_value(0, 0)
        assert value is not None
        return int(value)

    def close(self) -> None:
        """libpq's own close of the socket, from outside its event loop too (which may be
        gone): no read is in flight, its caller has returned."""
        self._pgconn.finish()

    async def _run(self, send: Callable[[], None], wanted: pq.ExecStatus) -> pq.abc.PGresult:
        """`send` a command, and its result once it has come; StorageError if it fails."""
        pgconn = self._pgconn
        try:
            send()
            while pgconn.flush():
                await self._ready(self.loop.add_writer, self.loop.remove_writer)
            results: list[pq.abc.PGresult] = []
            while True:
                pgconn.consume_input()
                while not pgconn.is_busy():
                    result = pgconn.get_result()
                    if result is None:
                        if not results or results[-1].status != wanted:
                            error = results[-1].error_message if results else b""
                            message = (error or pgconn.error_message).decode(errors="replace")
                            raise psycopg.OperationalError(message.strip())
                        return results[-1]
                    results.append(result)
                await self._ready(self.loop.add_reader, self.loop.remove_reader)
        except psycopg.Error as exc:  # lost: closed, so that the next read connects again
            self.close()
            raise StorageError(f"PostgreSQL: {exc}".strip()) from exc
        except BaseException:  # cancelled: what it sent would answer the next read
            self.close()
            raise

    async def _ready(self, add: Any, remove: Any) -> None:
        """Until the socket is ready (`add`: the loop's add_reader or add_writer)."""
        ready: asyncio.Future[None] = self.loop.create_future()
        fd = self._pgconn.socket
        add(fd, _settle, ready)
        try:
            await ready
        finally:
            remove(fd)


def _settle(ready: asyncio.Future[None]) -> None:
    """A socket's readiness, told once (the loop may call again before the waiter runs)."""
    if not ready.done():
        ready.set_result(None)
