"""`SharedSqliteStore`: the SQLite file of the data dir shared by the worker processes of one
server (`[server] workers`, docs/workers.md), each process an engine as on PostgreSQL
(docs/cluster.md): the same claims (store/claims.py) and the same live state.

Live state: each worker keeps copies of the documents it reads (`Documents`). Before a
decision (each RCPT, each HTTP request: `synced()`), a worker asks SQLite whether any other
connection committed since it last looked (`PRAGMA data_version`, no I/O when nothing did);
when one did, it reads the documents changed since (`document_changes`, written by every
worker's triggers, store/sqlite.py) and drops its copies of those another worker changed. A
change committed through any worker so applies to the very next decision on every other.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from inbound.store.claims import Claims
from inbound.store.engine import LEASE, Row
from inbound.store.shared_writer import SocketLink
from inbound.store.sqlite import SqliteEngine
from inbound.store.writer import ThreadWriter, Writer
from inbound.store.writer_process import ProcessWriter


class SharedSqliteStore(Claims):
    def __init__(
        self, data_dir: Path, worker: int, *, lease: float = LEASE, writer: Path | None = None
    ) -> None:
        """`writer`: the socket of the workers' shared writer (store/shared_writer.py)."""
        self._sqlite = SqliteEngine(data_dir, f"worker-{worker}", lease)
        self.lease = lease
        self._shared_writer = writer
        super().__init__(data_dir, self._sqlite)
        self._data_version = -1  # `PRAGMA data_version` at the last `synced`
        self._seen = 0  # the last `document_changes` version taken in

    def open(self, *, read_only: bool = False, process: bool = False) -> None:
        """`process`: the writes go to the workers' shared writer, when the supervisor runs
        one (`writer`, `[store] writer = "shared"`); otherwise to a writer thread."""
        super().open(read_only=read_only, process=process)
        self.shared = not read_only
        self._seen = self._read("SELECT COALESCE(MAX(version), 0) AS v FROM document_changes")[0][
            "v"
        ]

    def _new_writer(self, process: bool) -> Writer:
        if not (process and self._shared_writer):
            return ThreadWriter(self._sqlite)
        self._sqlite.close_writer()  # the schema is made: the shared writer writes from here
        return ProcessWriter(partial(SocketLink, self._shared_writer, self._sqlite.engine_id))

    async def synced(self) -> None:
        """Take in every change of a document another worker committed before now."""
        version = self._sqlite.data_version()
        if version != self._data_version:
            self._data_version = version
            found = self._read(
                "SELECT version, engine, kind, key FROM document_changes WHERE version > ?"
                " ORDER BY version",
                (self._seen,),
            )
            for change in found:
                if change["engine"] != self._sqlite.engine_id:
                    self.elsewhere.append((change["kind"], change["key"]))
            if found:
                self._seen = found[-1]["version"]
        self.catch_up()

    def _claim(
        self, table: str, key: str, candidates: str, params: tuple[Any, ...], then: str
    ) -> list[Row]:
        return self._sqlite.claim(table, key, candidates, params, then)
