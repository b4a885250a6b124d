"""Spam and virus scanning daemons: SpamAssassin's spamd and ClamAV's clamd, spoken to over
their own protocols on a unix or TCP socket (docs/authentication.md, "Scanning").

A rule with ScanEnabled gets its spam verdict from the built-in GTUBE scanner, then spamd,
and its virus verdict from the built-in EICAR scanner, then clamd (`ScanChain`), so the test
signatures work with no daemon at all. A daemon that is down, refuses, answers what this
module does not understand or is slower than `[scanning] timeout` gives PROCESSING_FAILED,
SES's "could not scan" (spec receiving.md §6), logged, and the message goes on.

Both protocols are a request and one short reply, a few lines each; the maintained client
libraries bring a CLI framework and a logging library with them (aiospamc) or speak the
newline-terminated variant of clamd's commands without types (aioclamd), so this module
speaks them itself:
* spamd (SPAMC/1.5, spamd(1p) "PROTOCOL"): `CHECK SPAMC/1.5`, `Content-length`, the message;
  the reply's `Spam: True ; 1000.0 / 5.0` header says FAIL (True) or PASS (False).
* clamd (clamd(8) `INSTREAM`): `zINSTREAM\\0`, chunks each prefixed by its 4-byte big-endian
  length, a zero length; the reply is `stream: OK\\0`, `stream: <name> FOUND\\0`, or an error
  ending in `ERROR`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from inbound.config import Address, ScanningSettings
from inbound.receiving.verdicts import EICAR_SCANNER, GTUBE_SCANNER, ContentScanner, Status

log = logging.getLogger("inbound.scanning")

MAX_REPLY = 64 * 1024  # both daemons answer with a few short lines
_CHUNK = 64 * 1024  # clamd's INSTREAM chunk (below its default StreamMaxLength, 25 MB)
_SPAM_HEADER = re.compile(rb"^Spam:\s*(True|False|Yes|No)\b", re.IGNORECASE | re.MULTILINE)
_SPAMD_STATUS = re.compile(rb"^SPAMD/\d+\.\d+ (\d+) ")


class ScanFailed(Exception):
    """The daemon answered, but not with a verdict."""


async def _exchange(endpoint: Address | Path, request: Iterable[bytes]) -> bytes:
    """Send `request` to `endpoint`, half-close, and read the reply up to MAX_REPLY bytes."""
    if isinstance(endpoint, Path):
        reader, writer = await asyncio.open_unix_connection(endpoint)
    else:
        reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
    try:
        for piece in request:
            writer.write(piece)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        reply = await reader.read(MAX_REPLY)
        while len(reply) < MAX_REPLY and (more := await reader.read(MAX_REPLY - len(reply))):
            reply += more
        return reply
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class Daemon(Protocol):
    """A scanning daemon: its verdict on a message within its size limit."""

    @property
    def endpoint(self) -> Address | Path: ...

    @property
    def max_size(self) -> int: ...

    @property
    def oversize(self) -> Status:
        """The verdict of a message over `max_size`, which is not sent."""

    async def ask(self, raw: bytes) -> Status: ...


@dataclass(frozen=True)
class Spamd:
    """SpamAssassin's spamd. `max_size` is spamc's own limit (`spamc -s`, 500 KB by default):
    spamc passes a larger message on unchecked, so its verdict is GRAY, "undetermined"."""

    endpoint: Address | Path
    max_size: int
    oversize: ClassVar[Status] = Status.GRAY

    async def ask(self, raw: bytes) -> Status:
        head = b"CHECK SPAMC/1.5\r\nContent-length: %d\r\n\r\n" % len(raw)
        reply = await _exchange(self.endpoint, (head, raw))
        status = _SPAMD_STATUS.match(reply)
        if status is None or status[1] != b"0":
            raise ScanFailed(_first_line(reply))
        spam = _SPAM_HEADER.search(reply)
        if spam is None:
            raise ScanFailed(_first_line(reply))
        return Status.FAIL if spam[1].lower() in (b"true", b"yes") else Status.PASS


@dataclass(frozen=True)
class Clamd:
    """ClamAV's clamd. `max_size` is clamd's StreamMaxLength (25 MB by default): past it clamd
    answers `INSTREAM size limit exceeded. ERROR`, so a larger message is not sent and gets
    what that answer means, PROCESSING_FAILED."""

    endpoint: Address | Path
    max_size: int
    oversize: ClassVar[Status] = Status.PROCESSING_FAILED

    async def ask(self, raw: bytes) -> Status:
        reply = (await _exchange(self.endpoint, _instream(raw))).rstrip(b"\0\r\n")
        if reply.endswith(b" OK"):
            return Status.PASS
        if reply.endswith(b" FOUND"):
            return Status.FAIL
        raise ScanFailed(_first_line(reply))


def _instream(raw: bytes) -> Iterable[bytes]:
    yield b"zINSTREAM\0"
    view = memoryview(raw)
    for start in range(0, len(raw), _CHUNK):
        piece = view[start : start + _CHUNK]
        yield struct.pack(">I", len(piece)) + piece
    yield struct.pack(">I", 0)


def _first_line(reply: bytes) -> str:
    line = reply.split(b"\n", 1)[0].strip(b"\0\r ")
    return repr(line[:200].decode("utf-8", "replace")) if line else "no reply"


@dataclass(frozen=True)
class ScanChain:
    """The built-in test-signature scanner, then the daemon when one is configured: a message
    the built-in one flags is not sent to the daemon."""

    builtin: ContentScanner
    daemon: Daemon | None = None
    timeout: float = 10.0

    async def scan(self, raw: bytes) -> Status:
        found = await self.builtin.scan(raw)
        if found is Status.FAIL or self.daemon is None:
            return found
        daemon = self.daemon
        if len(raw) > daemon.max_size:
            return daemon.oversize
        try:
            async with asyncio.timeout(self.timeout):
                return await daemon.ask(raw)
        except TimeoutError:
            problem = f"no verdict within {self.timeout:g} s"
        except (OSError, ScanFailed) as exc:
            problem = str(exc) or type(exc).__name__
        log.warning("%s at %s could not scan: %s", type(daemon).__name__, daemon.endpoint, problem)
        return Status.PROCESSING_FAILED


def scanners(settings: ScanningSettings) -> tuple[ScanChain, ScanChain]:
    """The spam and the virus scanner `[scanning]` configures."""
    spamd = None if settings.spamd is None else Spamd(settings.spamd, settings.spamd_max_size)
    clamd = None if settings.clamd is None else Clamd(settings.clamd, settings.clamd_max_size)
    return (
        ScanChain(GTUBE_SCANNER, spamd, settings.timeout),
        ScanChain(EICAR_SCANNER, clamd, settings.timeout),
    )
