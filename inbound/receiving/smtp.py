"""The SMTP edge: the only module that knows aiosmtpd. It translates; the engine decides.

SES's endpoint as observed (spec receiving.md §11): greeting `220 <host> ESMTP Amazon SES`,
EHLO advertising only 8BITMIME and STARTTLS, per-RCPT verdicts, `503` for DATA without an
accepted recipient, `250 Ok` for everything accepted (NOOP and RSET too). HELO, EHLO, MAIL and
RCPT with a control character in their argument are refused with `501`, so nothing the client
sends can start or split a trace header line; so are MAIL and RCPT paths that cannot be parsed. The
size limit is enforced by aiosmtpd while reading DATA: past the limit it discards what it read
and keeps draining, then replies 552, so no more than the limit is held in memory.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import ssl
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

from inbound.receiving import replies
from inbound.receiving.engine import Engine
from inbound.store import StorageError

log = logging.getLogger("inbound.smtp")
logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every line at INFO


class SesHandler:
    """aiosmtpd handler hooks: each asks the engine and returns its reply line."""

    def __init__(self, engine: Engine, hostname: str) -> None:
        self.engine = engine
        self.hostname = hostname

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        return ehlo_lines(server, session, self.hostname)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return str(replies.S250_OK)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.engine.check_rcpt(_peer_ip(session), address, session.ssl is not None)
        if reply.code == 250:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
        else:
            log.info("rejected RCPT %s from %s: %s", address, _peer_ip(session), reply)
        return str(reply)

    async def handle_NOOP(
        self, server: SMTP, session: Session, envelope: Envelope, arg: str
    ) -> str:
        return str(replies.S250_OK)  # aiosmtpd says `250 OK`; SES's replies say `Ok`

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return str(replies.S250_OK)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            message_id = await self.engine.accept(
                # aiosmtpd keeps the null reverse-path as "<>" (its "MAIL was given" marker);
                # SES's `mail.source` for it is "" (spec §4.2).
                mail_from="" if envelope.mail_from == "<>" else envelope.mail_from or "",
                recipients=envelope.rcpt_tos,
                raw=raw,
                client_ip=_peer_ip(session),
                helo=session.host_name or "",
                tls=session.ssl is not None,
            )
        except StorageError as exc:  # the data dir is full or read-only: the client retries
            log.warning(
                "could not store a message from %s: %s; answered 451", _peer_ip(session), exc
            )
            return str(replies.S451_LOCAL_ERROR)
        except Exception:
            log.exception("could not spool a message; answered 451")
            return str(replies.S451_LOCAL_ERROR)
        # SES's end-of-DATA text is UNCONFIRMED (spec §11); SES's sending endpoint answers
        # "250 Ok <message id>", which also lets a client find its message.
        return f"{replies.S250_OK} {message_id}"


def ehlo_lines(server: SMTP, session: Session, hostname: str, *extensions: str) -> list[str]:
    """SES's EHLO answer: its host name, 8BITMIME, STARTTLS while it can still be used, then
    `extensions` (the SMTP interface's AUTH) and `250 Ok`."""
    advertised = [f"250-{hostname}", "250-8BITMIME"]
    if server.tls_context is not None and session.ssl is None:
        advertised.append("250-STARTTLS")
    return [*advertised, *(f"250-{extension}" for extension in extensions), "250 Ok"]


_END = b"\r\n.\r\n"
# C0 controls but TAB (whitespace between parameters, as aiosmtpd reads them), and DEL: never
# valid in a host name, a path or a parameter (RFC 5321 §4.1.2, §4.1.3), and a CR or NUL
# copied into a trace header would let the client forge header lines. CR and LF can only reach
# an argument alone: aiosmtpd ends a command line at LF and strips the line's CRLF.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
Command = Callable[[SMTP, str | None], Awaitable[None]]


def _refusing_controls(method: Command, reply: replies.SmtpReply) -> Command:
    """aiosmtpd's command `method`, answering `reply` to an argument with a control character
    or (MAIL, RCPT) a path the parser cannot read."""

    @functools.wraps(method)  # keeps the @syntax attributes that HELP reads
    async def checked(protocol: SMTP, arg: str | None) -> None:
        assert protocol.session is not None
        peer, command = _peer_ip(protocol.session), method.__name__.removeprefix("smtp_")
        if arg and _CONTROL.search(arg):
            log.info("refused %s from %s: control character in %r", command, peer, arg)
            await protocol.push(str(reply))
            return
        try:
            await method(protocol, arg)
        except UnparsablePath:
            log.info("refused %s from %s: unparsable path in %r", command, peer, arg)
            await protocol.push(str(reply))

    return checked


class UnparsablePath(Exception):
    """A MAIL/RCPT/VRFY path that aiosmtpd's parser cannot read: raised by `_getaddr` so that
    the command answers its 501 syntax reply instead of aiosmtpd's `553 ... malformed address`
    (Postfix, whose texts SES's endpoint uses, answers bad address syntax with 501)."""


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
# `<local@domain>` with dot-atoms on both sides: the path nearly every client sends.
_PLAIN_PATH = re.compile(rf"<((?P<local>(?:{_ATOM}\.)*{_ATOM})@(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+)>")


class SesSMTP(SMTP):
    """aiosmtpd's protocol, reading DATA in one search for `CRLF.CRLF` instead of line by line.

    aiosmtpd awaits `readuntil(CRLF)` once per line, which makes a 1 MB message cost ~24 ms of
    CPU (spec benchmarking.md). Here the stream reader finds the terminator itself (in C) with
    its limit raised to the size limit for the duration of DATA. The outcomes are aiosmtpd's:
    `552` past the size limit and `500` for a line over 1,000 octets, both after draining the
    data; dot-unstuffing per RFC 5321 §4.5.2; and never more than the limit held in memory.
    """

    too_much_data = "552 Error: Too much mail data"  # aiosmtpd's; the submission port's differs

    smtp_HELO = _refusing_controls(SMTP.smtp_HELO, replies.S501_BAD_HELO)
    smtp_EHLO = _refusing_controls(SMTP.smtp_EHLO, replies.S501_BAD_HELO)
    smtp_MAIL = _refusing_controls(SMTP.smtp_MAIL, replies.S501_BAD_SENDER)
    smtp_RCPT = _refusing_controls(SMTP.smtp_RCPT, replies.S501_BAD_RECIPIENT)

    @syntax("VRFY <address>")
    async def smtp_VRFY(self, arg: str) -> None:
        try:
            await super().smtp_VRFY(arg)
        except UnparsablePath:
            await self.push("502 Could not VRFY")  # aiosmtpd's text, without echoing the path

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's path parser, with a fast path for a plain `<local@domain>`.

        aiosmtpd runs the email package's full RFC 5322 address parser on every MAIL and RCPT,
        about a third of their cost. A dot-atom path followed by nothing or by whitespace and
        parameters parses to itself, so it is taken as is; everything else (quoted local
        parts, address literals, comments, the null path) goes to aiosmtpd. A property test
        checks that both give the same answer. A path aiosmtpd cannot read (it returns no
        address, or its parser raises IndexError) raises `UnparsablePath`.
        """
        found = _PLAIN_PATH.match(arg)
        if found is not None:
            rest = arg[found.end() :]
            params = rest.lstrip()
            limit = self.local_part_limit
            if (
                (not rest or rest[0] in " \t")
                and not params.startswith("(")
                and (not limit or len(found["local"]) <= limit)
            ):
                return found[1], params
        try:
            address, rest_params = super()._getaddr(arg)
        except IndexError:  # the email package's parser fails so on some paths, e.g. `0@`
            raise UnparsablePath(arg) from None
        if address is None:
            raise UnparsablePath(arg)
        return address, rest_params

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            content, error = await self._read_data()
        except asyncio.IncompleteReadError:
            self._writer.close()  # the client went away mid-DATA: nothing was accepted
            return
        if error is not None:
            await self.push(error)
            self._set_post_data_state()  # type: ignore[no-untyped-call]  # unannotated in aiosmtpd
            return
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()  # type: ignore[no-untyped-call]  # unannotated in aiosmtpd
        await self.push(status)

    async def _read_data(self) -> tuple[bytes, str | None]:
        reader = cast("_ReaderInternals", self._reader)
        if await _starts_with(reader, b".\r\n"):
            # The terminator right away: the CRLF before its dot ended the DATA command line,
            # so this is the one case a search for CRLF.CRLF cannot see.
            await reader.readexactly(3)
            return b"", None
        limit = self.data_size_limit or 0
        saved = reader._limit  # the stream's line limit, raised for DATA only
        reader._limit = max(saved, limit + len(_END)) if limit else 2**62
        try:
            found, too_much = await _read_until(reader, _END)
        finally:
            reader._limit = saved
        data = found[:-3]  # keep the CRLF that precedes the final dot
        if too_much or (limit and len(data) > limit):
            return b"", self.too_much_data
        # A bare LF ends a line here too, as in Postfix: mail from clients that send bare LFs
        # is measured line by line rather than refused as one long line.
        if max(map(len, data.split(b"\n"))) > self.line_length_limit - 1:
            return b"", "500 Line too long (see RFC5321 4.5.3.1.6)"
        if data.startswith(b"."):
            data = data[1:]
        return data.replace(b"\r\n.", b"\r\n"), None


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


async def _read_until(reader: asyncio.StreamReader, separator: bytes) -> tuple[bytes, bool]:
    """(bytes up to and including `separator`, whether anything was discarded on the way)."""
    overrun = False
    while True:
        try:
            return await reader.readuntil(separator), overrun
        except asyncio.LimitOverrunError as error:
            overrun = True  # drop what cannot hold the separator; never hold more than the limit
            await reader.readexactly(error.consumed)


def _peer_ip(session: Session) -> str:
    peer = session.peer
    return peer[0] if isinstance(peer, tuple) else str(peer or "")


class Sessions:
    """Protocol factory for a listener that also knows the open sessions, so that shutting down
    can close them instead of leaving their tasks pending. `make(loop)` makes one session."""

    def __init__(self, make: Callable[[asyncio.AbstractEventLoop], SMTP]) -> None:
        self._make = make
        self._live: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def __call__(self) -> SMTP:
        session = self._make(asyncio.get_running_loop())
        self._live.add(session)
        return session

    def close_all(self) -> None:
        for session in list(self._live):
            if session.transport is not None:
                session.transport.close()


def receiving_sessions(
    engine: Engine,
    *,
    hostname: str,
    max_message_size: int,
    tls_context: ssl.SSLContext | None,
) -> Sessions:
    """The receiving listener's: SES's inbound endpoint in front of the engine."""
    make = functools.partial(
        SesSMTP,
        SesHandler(engine, hostname),
        hostname=hostname,
        ident="ESMTP Amazon SES",
        data_size_limit=max_message_size,
        tls_context=tls_context,
        decode_data=False,
        enable_SMTPUTF8=False,
    )
    return Sessions(lambda loop: make(loop=loop))
