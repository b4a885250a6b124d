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

from pathlib import Path
from typing import Any

from inbound.store.claims import Claims
from inbound.store.engine import LEASE, Row
from inbound.store.sqlite import SqliteEngine


class SharedSqliteStore(Claims):
    def __init__(self, data_dir: Path, worker: int, *, lease: float = LEASE) -> None:
        self._sqlite = SqliteEngine(data_dir, f"worker-{worker}", lease)
        self.lease = lease
        super().__init__(data_dir, self._sqlite)
        self._data_version = -1  # `PRAGMA data_version` at the last `synced`
        self._seen = 0  # the last `document_changes` version taken in

    def open(self, *, read_only: bool = False, process: bool = False) -> None:
        """A writer thread, whatever `process` asks (store/writer.py: `ThreadWriter`)."""
        super().open(read_only=read_only)
        self.shared = not read_only
        self._seen = self._read("SELECT COALESCE(MAX(version), 0) AS v FROM document_changes")[0][
            "v"
        ]

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
