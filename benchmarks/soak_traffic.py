"""The soak test's SMTP traffic: a mix of valid, refused, oversized and malformed sessions.

Each client keeps a `Ledger` of what became of every message it tried to give the engine,
identified by an `X-Soak-Id` header (and a matching `Message-ID`) that it sets itself:

- accepted: the end of DATA got `250 Ok <messageId>` (the engine's id is kept);
- in doubt: the final `.` was written but the connection ended before a reply (a kill): the
  engine may or may not have committed it, as with any SMTP server (RFC 1047);
- refused: the engine answered the end of DATA with anything else (`552` for the oversized
  ones), or the connection was dropped by the client in the middle of DATA: these must never be
  processed.

Every reply line the engine sends is checked for an exception's text (aiosmtpd's own form is
`500 Error: (IndexError) ...`); the ones that have it are kept to be reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

SOAK = "soak@example.com"  # the steady rule: S3 + SNS (benchmarks.servers.ACTIONS)
CHURN = "churn@example.com"  # the rules the API churn creates, updates and deletes
NOBODY = "nobody@unknown.test"  # no rule: 550
REPLY_TIMEOUT = 30.0

# An exception's text in a reply: aiosmtpd's `Error: (ValueError) ...`, a Python traceback, an
# exception class name.
EXCEPTION_TEXT = re.compile(rb"\(\w+(Error|Exception)\)|Traceback|\b\w+(Error|Exception):|File \"")
_ID = re.compile(rb"\b[0-9a-z]{24,}\b|<[^>]*>")

# Commands a broken client sends (each alone in a fresh transaction; the reply is checked).
BROKEN_COMMANDS: tuple[bytes, ...] = (
    b"MAIL FROM:<a@>",
    b"MAIL FROM:<x@y> SIZE=abc",
    b"MAIL FROM:<a@b@c>",
    b"RCPT TO:0@",
    b"RCPT TO:<>",
    b"DATA",
    b"FOO BAR",
    b"EHLO",
    b"EHLO bad\x00name",
    b"MAIL FROM:<ev\ril@x.test>",
    b"AUTH PLAIN AAAA",
    b"VRFY <a@>",
    b"STARTTLS extra",
    b"X" * 2000,
)


class Lost(Exception):
    """The connection ended (a kill, or the engine closed it)."""


@dataclass
class Ledger:
    accepted: dict[str, str] = field(default_factory=dict)  # soak id -> engine message id
    in_doubt: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    churn: set[str] = field(default_factory=set)  # soak ids sent to CHURN (accepted or doubt)
    replies: Counter[str] = field(default_factory=Counter)  # "RCPT 550" ...
    texts: Counter[str] = field(default_factory=Counter)  # distinct replies, ids blanked
    exception_replies: list[str] = field(default_factory=list)
    sessions: Counter[str] = field(default_factory=Counter)  # scenario -> count
    lost_connections: int = 0
    slowest: dict[str, float] = field(default_factory=dict)  # command -> seconds to the reply

    def note(self, command: str, line: bytes) -> None:
        self.replies[f"{command} {line[:3].decode(errors='replace')}"] += 1
        self.texts[_ID.sub(b"<id>", line).decode(errors="replace")] += 1
        if EXCEPTION_TEXT.search(line):
            self.exception_replies.append(f"{command}: {line.decode(errors='replace')}")


def message(soak_id: str, to: str, size: int) -> bytes:
    """A message of about `size` bytes, with CRLF lines and no line starting with a dot."""
    head = (
        f"From: Soak <soak@sender.test>\r\nTo: {to}\r\nSubject: soak {soak_id}\r\n"
        f"Message-ID: <{soak_id}@soak.test>\r\nX-Soak-Id: {soak_id}\r\n"
        "Date: Fri, 04 Dec 2026 12:00:00 +0000\r\n\r\n"
    ).encode()
    line = (soak_id * 3)[:76].encode() + b"\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


class Session:
    """One SMTP connection; every reply is read whole and noted in the ledger."""

    def __init__(self, ledger: Ledger, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.ledger = ledger
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, ledger: Ledger, port: int) -> Session:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        session = cls(ledger, reader, writer)
        greeting = await session.reply("CONNECT")
        if not greeting.startswith(b"220"):
            session.abort()
            raise Lost(greeting.decode(errors="replace"))
        await session.command(b"EHLO soak.test")
        return session

    async def reply(self, command: str) -> bytes:
        started = time.monotonic()
        try:
            line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), REPLY_TIMEOUT)
            while line[3:4] == b"-":
                self.ledger.note(command, line)
                line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), REPLY_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise Lost(str(exc)) from None
        self.ledger.note(command, line)
        took = time.monotonic() - started
        self.ledger.slowest[command] = max(self.ledger.slowest.get(command, 0.0), took)
        return line

    async def command(self, line: bytes) -> bytes:
        self.writer.write(line + b"\r\n")
        verb = line.split(b" ", 1)[0].decode(errors="replace").upper()
        return await self.reply(verb if len(verb) <= 8 else "LONGLINE")

    def abort(self) -> None:
        self.writer.transport.abort()

    async def close(self) -> None:
        with contextlib.suppress(Lost, OSError):
            await self.command(b"QUIT")
        self.writer.close()


async def send(session: Session, rcpts: list[str], body: bytes, soak_id: str) -> bool:
    """MAIL, RCPTs, DATA; the outcome goes to the ledger. False: the session cannot go on."""
    ledger = session.ledger
    if not (await session.command(b"MAIL FROM:<soak@sender.test>")).startswith(b"250"):
        return False
    accepted = [
        r for r in rcpts if (await session.command(f"RCPT TO:<{r}>".encode()))[:3] == b"250"
    ]
    if not accepted:
        return (await session.command(b"RSET")).startswith(b"250")
    if not (await session.command(b"DATA")).startswith(b"354"):
        return False
    session.writer.write(body + b".\r\n")
    ledger.in_doubt.add(soak_id)  # from here on the engine may have it
    if CHURN in accepted:
        ledger.churn.add(soak_id)
    try:
        await session.writer.drain()
        line = await session.reply("DOT")
    except (Lost, OSError):
        raise Lost("at the end of DATA") from None
    ledger.in_doubt.discard(soak_id)
    if line.startswith(b"250 "):
        ledger.accepted[soak_id] = line.split()[-1].decode()
        return True
    ledger.refused.add(soak_id)
    ledger.churn.discard(soak_id)
    return line.startswith(b"552") or line.startswith(b"250")


async def drop_in_data(session: Session, size: int) -> None:
    """Half a message, then the connection is reset: nothing of it may be processed."""
    soak_id = uuid.uuid4().hex
    await session.command(b"MAIL FROM:<soak@sender.test>")
    await session.command(f"RCPT TO:<{SOAK}>".encode())
    if (await session.command(b"DATA")).startswith(b"354"):
        session.ledger.refused.add(soak_id)
        body = message(soak_id, SOAK, size)
        session.writer.write(body[: len(body) // 2])
        with contextlib.suppress(OSError):
            await session.writer.drain()
    session.abort()


async def garbage(session: Session, rng: random.Random) -> None:
    """Binary noise, then whatever the engine answers until it stops or closes."""
    session.writer.write(os.urandom(rng.randrange(1, 600)) + b"\r\n")
    with contextlib.suppress(Lost, TimeoutError):
        while True:
            await asyncio.wait_for(session.reply("GARBAGE"), 0.3)
    session.abort()


@dataclass(frozen=True)
class Mix:
    """Weights of the session kinds and the sizes; `max_size` is the engine's limit."""

    max_size: int
    weights: tuple[tuple[str, int], ...] = (
        ("valid", 50),
        ("valid+refused", 8),
        ("churn", 10),
        ("refused", 10),
        ("oversized", 4),
        ("broken", 10),
        ("garbage", 4),
        ("dropped", 4),
    )

    def pick(self, rng: random.Random) -> str:
        kinds, weights = zip(*self.weights, strict=True)
        return rng.choices(kinds, weights)[0]


async def transaction(session: Session, kind: str, mix: Mix, rng: random.Random) -> bool:
    """One session kind on an open session; False when the session is over."""
    session.ledger.sessions[kind] += 1
    size = rng.randrange(500, 4000)
    soak_id = uuid.uuid4().hex
    if kind == "valid":
        return await send(session, [SOAK], message(soak_id, SOAK, size), soak_id)
    if kind == "valid+refused":
        return await send(session, [NOBODY, SOAK], message(soak_id, SOAK, size), soak_id)
    if kind == "churn":
        return await send(session, [CHURN], message(soak_id, CHURN, size), soak_id)
    if kind == "refused":
        return await send(session, [NOBODY], message(soak_id, NOBODY, size), soak_id)
    if kind == "oversized":
        body = message(soak_id, SOAK, mix.max_size + rng.randrange(1000, 50_000))
        return await send(session, [SOAK], body, soak_id)
    if kind == "broken":
        await session.command(rng.choice(BROKEN_COMMANDS))
        return (await session.command(b"RSET"))[:1] in (b"2", b"5")
    if kind == "garbage":
        await garbage(session, rng)
    else:
        await drop_in_data(session, size)
    return False
