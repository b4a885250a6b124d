"""The two columns of the receive path that hold a whole message, kept compressed in SQLite:
a received message's body (`spool.raw`) and an SNS notification, whose `content` is the
message (`notifications.message`). Each row says how its value is kept (`codec`): NULL as
it is (a small value, one that does not shrink, a row from before, any row on PostgreSQL),
`lz4` an LZ4 frame.

Why: every page a commit changes goes to the WAL and is synced before the `250` that waits
for the commit, then copied into the database file by a checkpoint on the same disk. At 10
KB, c=10 a message wrote 16-19 pages of WAL, 7 of them these two rows (the 10 KB body and
the 14.6 KB notification); the tail of the `250`'s wait followed the commits slowed by the
disk (docs/cpu.md, "The rows that hold a message"). PostgreSQL compresses the same two
columns itself (TOAST with lz4, store/postgresql/schema.py, version 5), so `PostgresStore`
keeps them as they are. LZ4 rather than zstd: no worse a tail at half the writer's CPU
(12-16 us for a 10-15 KB value), and it is what PostgreSQL uses for them.

The writer packs (`execute_packed`, in the writer process), off the event loop; readers
unpack (`unpacked_bytes`, `unpacked_text`): about 12 us for a 10 KB body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lz4.frame

from inbound.store.engine import Connection, Statement, execute_together
from inbound.store.errors import StorageError

LZ4 = "lz4"  # `codec`: an LZ4 frame (lz4.frame, the format of the `lz4` tool)
SMALLEST = 512  # bytes below which a value is kept as it is: too little to win a page


@dataclass(frozen=True)
class Large:
    """A statement's parameter that `execute_packed` turns into two, the value as kept and its
    codec; packed only when `packs` (the store's choice) and it is worth it."""

    value: bytes | str
    packs: bool


def packed(value: bytes | str) -> tuple[bytes | str, str | None]:
    """`value` as kept, and its codec: an LZ4 frame of its bytes (text as UTF-8) when that is
    smaller, else `value` itself."""
    data = value.encode() if isinstance(value, str) else value
    if len(data) < SMALLEST:
        return value, None
    frame = lz4.frame.compress(data)
    return (frame, LZ4) if len(frame) < len(data) else (value, None)


def execute_packed(c: Connection, statements: Sequence[Statement]) -> None:
    """`execute_together` of `statements`, each `Large` parameter given as two: its value as
    kept and its codec."""
    execute_together(c, [(sql, _expanded(params)) for sql, params in statements])


def _expanded(params: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for param in params:
        if isinstance(param, Large):
            out.extend(packed(param.value) if param.packs else (param.value, None))
        else:
            out.append(param)
    return out


def unpacked_bytes(value: bytes, codec: str | None) -> bytes:
    return _decompressed(value, codec) if codec is not None else bytes(value)


def unpacked_text(value: str | bytes, codec: str | None) -> str:
    if codec is None:
        assert isinstance(value, str)
        return value
    return _decompressed(value, codec).decode()


def _decompressed(value: bytes | str, codec: str) -> bytes:
    if codec != LZ4:
        raise StorageError(f"a stored value has a codec this version does not read: {codec!r}")
    if not isinstance(value, bytes):
        raise StorageError("a stored value does not decompress: it is text, not an LZ4 frame")
    try:
        data: bytes = lz4.frame.decompress(value)
    except RuntimeError as exc:  # lz4's error for a frame it cannot read
        raise StorageError(f"a stored value does not decompress: {exc}") from exc
    return data
