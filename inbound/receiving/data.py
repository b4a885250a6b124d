"""DATA's bytes to the message (RFC 5321 §4.1.1.4, §4.5.2): the end of data, dot-unstuffing,
and the size and line limits, for both SMTP listeners.

Two ways, with the same outcomes (a property test feeds both the same bytes in any pieces):

- In one search: the stream reader finds `CRLF.CRLF` itself (in C), its limit raised for DATA.
  aiosmtpd awaits `readuntil(CRLF)` once per line, which made a 1 MB message cost ~24 ms of CPU
  (spec benchmarking.md). Every message up to `spool_above` bytes is read so: the 10 KB
  messages that most mail is stay on this path.
- Spooled: past `spool_above`, the message is written to disk as it arrives (a `BodyWriter` of
  the store), a buffer's whole lines at a time, so a session holds a few hundred KB whatever
  the message's size, and twenty concurrent 40 MB messages are not 800 MB of memory.

The outcomes are aiosmtpd's: past the size limit, or with a line over the line limit, the
rest of the data is read and dropped and `552` (`500`) answered; never more than the limit is
held. A bare LF ends a line here too, as in Postfix: mail from clients that send bare LFs is
measured line by line rather than refused as one long line.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from inbound.receiving import replies
from inbound.store import StorageError
from inbound.store.bodies import BodyWriter, SpooledBody

END = b"\r\n.\r\n"
_RECEIVED = re.compile(rb"^received[ \t]*:", re.IGNORECASE | re.MULTILINE)
LINE_TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"
# Above this a message is spooled to disk as it arrives: the largest held whole in memory while
# DATA is read. At 2 MiB, ten concurrent 1 MB messages (benchmark 1m-c10) peaked at 94 MB of RSS
# and 16 ms of CPU each; spooled, at 74-80 MB and 14 ms (a blob of the spool table is written
# twice, to the WAL and at checkpoint, and read back whole). 10 KB mail stays in memory.
SPOOL_ABOVE = 256 * 1024
# The stream's buffer limit while spooling: it reads ahead up to twice this, then pauses the
# socket (TCP backpressure), so a session holds about that much of the message.
_SPOOL_BUFFER = 128 * 1024
_TAKE = 2 * _SPOOL_BUFFER  # the most taken from the buffer at once (it holds more at first)


@dataclass(frozen=True)
class Data:
    """The message (bytes, or a file when spooled) and its `hops()`, or the error reply."""

    message: bytes | SpooledBody
    hops: int
    error: str | None = None


def hops(content: bytes) -> int:
    """The `Received:` headers of the message's header block (Postfix's hop count)."""
    return len(_RECEIVED.findall(content, 0, _header_end(content)))


def _header_end(content: bytes) -> int:
    crlf = content.find(b"\r\n\r\n")
    end = len(content) if crlf < 0 else crlf
    lf = content.find(b"\n\n", 0, end + 1)  # an LF LF before it, not the whole body searched
    return end if lf < 0 else lf


@dataclass(frozen=True)
class DataReader:
    size_limit: int  # 0: none
    max_line_length: int
    too_much: str  # the listener's reply past the size limit
    spool: Callable[[], BodyWriter] | None = None  # None: every message is held in memory
    spool_above: int = SPOOL_ABOVE

    async def read(self, stream: asyncio.StreamReader) -> Data:
        """Read up to and including the final dot; IncompleteReadError if the client leaves."""
        reader = cast("_ReaderInternals", stream)
        if await _starts_with(reader, b".\r\n"):
            # The terminator right away: the CRLF before its dot ended the DATA command line,
            # so this is the one case a search for CRLF.CRLF cannot see.
            await reader.readexactly(3)
            return Data(b"", 0)
        limit = self.size_limit
        whole = limit + len(END) if limit else 2**62
        if self.spool is not None:
            whole = min(whole, self.spool_above)
        saved = reader._limit  # the stream's line limit, raised for DATA only
        reader._limit = max(saved, whole)
        try:
            found, too_much = await self._read_whole(reader)
            if found is None:
                assert self.spool is not None
                return await _Spooling(self, reader, self.spool()).read()
        finally:
            reader._limit = saved
        data = found[:-3]  # keep the CRLF that precedes the final dot
        if too_much or (limit and len(data) > limit):
            return Data(b"", 0, self.too_much)
        if _has_line_over(data, self.max_line_length - 1):
            return Data(b"", 0, LINE_TOO_LONG)
        if data.startswith(b"."):
            data = data[1:]
        data = data.replace(b"\r\n.", b"\r\n")
        return Data(data, hops(data))

    async def _read_whole(self, reader: _ReaderInternals) -> tuple[bytes | None, bool]:
        """(bytes up to and including `END`, whether any were discarded on the way): past
        the size limit only what cannot hold the end is dropped. None: spool this message."""
        overrun = False
        while True:
            try:
                return await reader.readuntil(END), overrun
            except asyncio.LimitOverrunError as error:
                if self.spool is not None and not overrun:
                    return None, False  # nothing consumed: the spooling path reads it all
                overrun = True
                await reader.readexactly(error.consumed)


class _Spooling:
    """One message read to the store's file a buffer at a time. Only whole lines are taken
    from the stream (a partial one stays in its buffer for the next turn), so the end of data
    and a dot to unstuff are always at the start of a line of what is taken."""

    def __init__(
        self,
        reader: DataReader,
        stream: _ReaderInternals,
        writer: BodyWriter,
    ) -> None:
        self._reader, self._stream = reader, stream
        self._writer: BodyWriter | None = writer  # None once discarded
        self._size = 0  # bytes of DATA before the final dot, as the size limit counts them
        self._hops = 0
        self._header_ends: bytes | None = (
            b""  # the end of the last line taken while in the header block
        )
        self._error: str | None = None
        self._line_start = True  # the stream's next byte starts a line
        self._after_crlf = True  # ... and the line before it ended with CRLF (DATA's did)

    async def read(self) -> Data:
        self._stream._limit = _SPOOL_BUFFER
        try:
            while not await self._take():
                pass
            if self._error is not None or self._writer is None:
                return Data(b"", 0, self._error)
            try:
                body = await self._writer.finish()
            except StorageError:
                return Data(b"", 0, str(replies.S451_LOCAL_ERROR))
            self._writer = None  # the file is the caller's now
        finally:
            self._discard()
        return Data(body, self._hops)

    async def _take(self) -> bool:
        """Take the next whole lines from the stream; True once the final dot is taken."""
        stream = self._stream
        buffer = stream._buffer
        while True:
            if self._line_start and self._after_crlf and buffer.startswith(b".\r\n"):
                await stream.readexactly(3)
                return True
            end = buffer.find(END)
            if end >= 0:
                await self._lines(await stream.readexactly(end + 2))
                await stream.readexactly(3)
                return True
            cut = (buffer.rfind(b"\n", 0, _TAKE) + 1) or (buffer.rfind(b"\n") + 1)
            if cut > 0:
                await self._lines(await stream.readexactly(cut))
                return False
            if len(buffer) > max(self._reader.max_line_length, len(END)):
                # A line too long already: taken and dropped, but for what could be the
                # start of the end of data.
                await self._lines(await stream.readexactly(len(buffer) - len(END) + 1), True)
                return False
            if stream.at_eof():
                raise asyncio.IncompleteReadError(bytes(buffer), None)
            await stream._wait_for_data("readuntil")

    async def _lines(self, taken: bytes, too_long: bool = False) -> None:
        """`taken`: whole lines, or (`too_long`) the start of a line over the limit."""
        unstuff = self._line_start and self._after_crlf
        self._line_start = taken.endswith(b"\n")
        self._after_crlf = taken.endswith(b"\r\n")
        self._size += len(taken)
        limit = self._reader.size_limit
        if limit and self._size > limit:  # the reply past the size limit, whatever else
            self._error = self._reader.too_much
        elif self._error is None and (
            too_long or _has_line_over(taken, self._reader.max_line_length - 1)
        ):
            self._error = LINE_TOO_LONG
        if self._error is not None:
            self._discard()
            return
        if unstuff and taken.startswith(b"."):
            taken = taken[1:]
        taken = taken.replace(b"\r\n.", b"\r\n")
        if self._header_ends is not None:
            self._count_hops(self._header_ends, taken)
        assert self._writer is not None
        try:
            await self._writer.write(taken)
        except StorageError:  # the rest is read and dropped, then the client is told to retry
            self._error = str(replies.S451_LOCAL_ERROR)
            self._discard()

    def _count_hops(self, before: bytes, taken: bytes) -> None:
        """`hops()` a take at a time, until the header block ends: in a take, or at its first
        line when it is blank (the CRLF CRLF or LF LF that `hops()` looks for straddles)."""
        if (before.endswith(b"\n") and taken.startswith(b"\n")) or (
            before.endswith(b"\r\n") and taken.startswith(b"\r\n")
        ):
            self._header_ends = None
            return
        end = _header_end(taken)
        self._hops += len(_RECEIVED.findall(taken, 0, end))
        self._header_ends = None if end < len(taken) else taken[-2:]

    def _discard(self) -> None:
        if self._writer is not None:
            self._writer.discard()
            self._writer = None


def _has_line_over(data: bytes, limit: int) -> bool:
    """Whether a line of `data` (ended by LF or by the end of `data`) is over `limit` octets.
    Such a line holds a whole aligned block of `(limit + 2) // 2` octets without LF, so when
    every block has one (a few `find`s per 10 KB) no line is split to be measured."""
    block = (limit + 2) // 2
    whole = len(data) - len(data) % block
    if all(data.find(b"\n", at, at + block) >= 0 for at in range(0, whole, block)):
        return False
    return max(map(len, data.split(b"\n"))) > limit


if TYPE_CHECKING:

    class _ReaderInternals(asyncio.StreamReader):
        """CPython's StreamReader with the private members DATA uses; typeshed leaves them out."""

        _limit: int
        _buffer: bytearray

        async def _wait_for_data(self, func_name: str) -> None: ...


async def _starts_with(reader: _ReaderInternals, prefix: bytes) -> bool:
    """Peek at the stream: CPython's StreamReader keeps unread bytes in `_buffer`."""
    while len(reader._buffer) < len(prefix) and not reader.at_eof():
        await reader._wait_for_data("readuntil")
    return reader._buffer.startswith(prefix)
