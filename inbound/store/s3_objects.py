"""The embedded S3's object records as the store's writer writes them: the functions of its
`Write`s, apart from `Embedded` (store/embedded.py) and importing no asyncio, since the
writer is a process of its own (store/writer_child.py) that loads what its writes name."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from inbound.records import StoredObject
from inbound.store import rows
from inbound.store.engine import Connection, Cursor, Later, Row, Write
from inbound.store.names import Names

_OBJECT_COLUMNS = ("size", "metadata", "message_id", "created", "headers", "etag", "hashed")
_OBJECT_ROW = (
    f" INTO s3_objects (bucket, key, {', '.join(_OBJECT_COLUMNS)})"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ADD_OBJECT = "INSERT OR IGNORE" + _OBJECT_ROW
_REPLACE_OBJECT = "INSERT OR REPLACE" + _OBJECT_ROW
# PostgreSQL's (`pipelined_object_writer`): the record written as `_REPLACE_OBJECT` writes it
# (a new rowid, as SQLite's delete-and-insert), and the record it replaces returned when its
# file is elsewhere (hashed the other way), in one statement whose result nobody waits for.
_WRITE_OBJECT_RETURNING_PREVIOUS = (
    "WITH previous AS (SELECT * FROM s3_objects WHERE bucket = ? AND key = ? AND hashed <> ?),"
    f" written AS (INSERT{_OBJECT_ROW} ON CONFLICT (bucket, key) DO UPDATE SET"
    f" {', '.join(f'{c} = EXCLUDED.{c}' for c in _OBJECT_COLUMNS)}, rowid = DEFAULT)"
    " SELECT * FROM previous"
)


def _json_object(value: dict[str, str]) -> str:
    """`json.dumps(value)`, without its cost for the empty metadata of every received
    message's object."""
    return json.dumps(value) if value else "{}"


def write_object(
    c: Connection,
    write_file: Callable[[], StoredObject],
    remove_file: Callable[[StoredObject], None],
    names: Names,
) -> StoredObject:
    """The writer's job of `Embedded.add_object`."""
    stored = write_file()
    values = object_values(stored, names)
    if c.execute(_ADD_OBJECT, values).rowcount == 1:
        return stored
    previous = object_in(c, values[:2], names)
    if previous is not None and previous.hashed != stored.hashed:
        remove_file(previous)
    c.execute(_REPLACE_OBJECT, values)
    return stored


def pipelined_object_writer(
    write_file: Callable[[], StoredObject],
    remove_file: Callable[[StoredObject], None],
    names: Names,
) -> Write[Later]:
    """`write_object` for PostgreSQL's writer, which sends a transaction's statements in
    one pipeline: one statement, and what it found is looked at once the transaction has
    committed (`Later`), not in the middle of it. `write_object`'s `rowcount` there was a
    round trip in the middle of every transaction that held an object: a quarter of the
    writer thread's time (py-spy, 2 engines of benchmarks/pgscale.py), the writer being busy
    90% of it. The file the replaced record names goes after the commit (or not, if the
    transaction fails), once the new record no longer names it."""
    return Write(_write_object_pipelined, write_file, remove_file, names)


def _write_object_pipelined(
    c: Connection,
    write_file: Callable[[], StoredObject],
    remove_file: Callable[[StoredObject], None],
    names: Names,
) -> Later:
    stored = write_file()
    values = object_values(stored, names)
    previous = c.execute(_WRITE_OBJECT_RETURNING_PREVIOUS, (*values[:2], values[-1], *values))

    def settle() -> StoredObject:
        row = _next_row(previous)
        if row is not None:
            remove_file(stored_object(row, names))
        return stored

    return Later(settle)


def delete_object(
    c: Connection,
    address: tuple[str, str],
    names: Names,
    remove_file: Callable[[StoredObject], None],
) -> None:
    found = object_in(c, address, names)
    if found is not None:
        remove_file(found)
        c.execute("DELETE FROM s3_objects WHERE bucket = ? AND key = ?", address)


def object_values(stored: StoredObject, names: Names) -> tuple[Any, ...]:
    """The record's values, in `_OBJECT_ROW`'s order, its names as stored."""
    return (
        names.stored(stored.bucket),
        names.stored(stored.key),
        stored.size,
        _json_object(stored.metadata),
        stored.message_id,
        stored.created,
        _json_object(stored.headers),
        stored.etag,
        int(stored.hashed),
    )


def object_in(c: Connection, address: tuple[str, str], names: Names) -> StoredObject | None:
    """The object at (bucket, key) as stored (`names.stored`) as the writer's transaction
    sees it."""
    row = _next_row(c.execute("SELECT * FROM s3_objects WHERE bucket = ? AND key = ?", address))
    return None if row is None else stored_object(row, names)


def _next_row(cursor: Cursor) -> dict[str, Any] | None:
    """The cursor's next row by column name, with either engine's cursor (the writer's
    connection has no row factory), or None at its end."""
    found = cursor.fetchone()
    if found is None:
        return None
    return dict(zip((d[0] for d in cursor.description), found, strict=True))


def stored_object(row: Row, names: Names) -> StoredObject:
    columns = row.keys()  # a data dir opened read-only is not migrated: the columns may lack
    return rows.record(
        StoredObject,
        row,
        bucket=names.read(row["bucket"]),
        key=names.read(row["key"]),
        metadata=json.loads(row["metadata"]),
        headers=json.loads(row["headers"]) if "headers" in columns else {},
        hashed=bool(row["hashed"]) if "hashed" in columns else False,
    )
