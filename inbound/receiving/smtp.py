"""The SMTP edge: the only module that knows aiosmtpd. It translates; the engine decides.

SES's endpoint as observed (spec receiving.md §11): greeting `220 <host> ESMTP Amazon SES`,
EHLO advertising only 8BITMIME and STARTTLS, per-RCPT verdicts, `503` for DATA without an
accepted recipient, `250 Ok` for everything accepted (NOOP and RSET too). HELO, EHLO, MAIL and
RCPT with a control character in their argument are refused with `501`, so nothing the client
sends can start or split a trace header line; so are MAIL and RCPT paths that cannot be parsed.
DATA is read by `data.py`: past the size limit what was read is discarded while the rest is
drained, then 552; a large message is written to disk as it arrives instead of held whole.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import ssl
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiosmtpd.smtp import SMTP, Envelope, Session, TLSSetupException, syntax

from inbound.config import LimitSettings
from inbound.receiving import replies
from inbound.receiving.connections import Connections
from inbound.receiving.data import DataReader
from inbound.receiving.engine import Engine
from inbound.store import StorageError
from inbound.store.bodies import BodyWriter, SpooledBody

log = logging.getLogger("inbound.smtp")
logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every line at INFO


class SesReplies:
    """EHLO, NOOP and RSET as SES answers them on both its SMTP endpoints. EHLO: its
    `hostname`, 8BITMIME, STARTTLS while it can still be used, then `extensions` (the SMTP
    interface's AUTH) and `250 Ok`; NOOP and RSET: `250 Ok` (aiosmtpd's own hooks say `250
    OK`)."""

    hostname: str
    extensions: tuple[str, ...] = ()

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        advertised = [f"250-{self.hostname}", "250-8BITMIME"]
        if server.tls_context is not None and session.ssl is None:
            advertised.append("250-STARTTLS")
        return [*advertised, *(f"250-{extension}" for extension in self.extensions), "250 Ok"]

    async def handle_NOOP(
        self, server: SMTP, session: Session, envelope: Envelope, arg: str
    ) -> str:
        return str(replies.S250_OK)

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return str(replies.S250_OK)


class SesHandler(SesReplies):
    """aiosmtpd handler hooks: each asks the engine and returns its reply line."""

    def __init__(self, engine: Engine, hostname: str) -> None:
        self.engine = engine
        self.hostname = hostname

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return str(replies.S250_OK)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = await self.engine.check_rcpt(_peer_ip(session), address, session.ssl is not None)
        if reply.code == 250:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
        else:
            log.info("rejected RCPT %s from %s: %s", address, _peer_ip(session), reply)
        return str(reply)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope, SesEnvelope)
        raw = envelope.spooled or envelope.original_content or b""
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
        except Exception:
            log.exception("could not spool a message; answered 451")
        else:
            # SES's end-of-DATA text is UNCONFIRMED (spec §11); SES's sending endpoint answers
            # "250 Ok <message id>", which also lets a client find its message.
            return f"{replies.S250_OK} {message_id}"
        if envelope.spooled is not None:  # not accepted: its file goes
            envelope.spooled.path.unlink(missing_ok=True)
        return str(replies.S451_LOCAL_ERROR)


# C0 controls but TAB (whitespace between parameters, as aiosmtpd reads them), and DEL: never
# valid in a host name, a path or a parameter (RFC 5321 §4.1.2, §4.1.3), and a CR or NUL
# copied into a trace header would let the client forge header lines. CR and LF can only reach
# an argument alone: aiosmtpd ends a command line at LF and strips the line's CRLF.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
Command = Callable[[SMTP, str | None], Awaitable[None]]


def _refusing_controls(method: Command, reply: replies.SmtpReply) -> Command:
    """aiosmtpd's command `method`, answering `reply` to an argument with a control character
    or (MAIL, RCPT) a path the parser cannot read."""

    command = method.__name__.removeprefix("smtp_")

    @functools.wraps(method)  # keeps the @syntax attributes that HELP reads
    async def checked(protocol: SMTP, arg: str | None) -> None:
        assert protocol.session is not None
        if arg and _CONTROL.search(arg):
            why = "control character"
        else:
            try:
                await method(protocol, arg)
                return
            except UnparsablePath:
                why = "unparsable path"
        log.info("refused %s from %s: %s in %r", command, _peer_ip(protocol.session), why, arg)
        await protocol.push(str(reply))

    return checked


def _limiting_recipients(method: Command) -> Command:
    """aiosmtpd's RCPT, answering `452 4.5.3 Error: too many recipients` once the transaction
    has as many recipients as the limit (Postfix's `smtpd_recipient_limit` and its reply; RFC
    5321 §4.5.3.1.10: the client sends the others in another transaction)."""

    @functools.wraps(method)
    async def limited(protocol: SMTP, arg: str | None) -> None:
        assert isinstance(protocol, SesSMTP) and protocol.envelope is not None
        if len(protocol.envelope.rcpt_tos) >= protocol.limits.max_recipients:
            await protocol.push(str(replies.S452_TOO_MANY_RECIPIENTS))
            return
        await method(protocol, arg)

    return limited


_UNKNOWN_COMMANDS = 5  # aiosmtpd's BOGUS_LIMIT: the fifth ends the session


class _Commands(dict[str, Any]):
    """aiosmtpd's command table (name → `smtp_*` method), answering every name it lacks
    with `unknown`, so that an unknown command reaches our reply instead of aiosmtpd's."""

    def __init__(
        self, commands: dict[str, Any], unknown: Callable[[str | None], Awaitable[None]]
    ) -> None:
        super().__init__(commands)
        self.unknown = unknown

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name, self.unknown)


class UnparsablePath(Exception):
    """A MAIL/RCPT/VRFY path that aiosmtpd's parser cannot read: raised by `_getaddr` so that
    the command answers its 501 syntax reply instead of aiosmtpd's `553 ... malformed address`
    (Postfix, whose texts SES's endpoint uses, answers bad address syntax with 501)."""


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
# `<local@domain>` with dot-atoms on both sides: the path nearly every client sends.
_PLAIN_PATH = re.compile(rf"<((?P<local>(?:{_ATOM}\.)*{_ATOM})@(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+)>")


class SesEnvelope(Envelope):
    """aiosmtpd's envelope; a message spooled to disk as it arrived is `spooled`, not its
    `content` (data.py)."""

    spooled: SpooledBody | None = None


class SesSMTP(SMTP):
    """aiosmtpd's protocol, reading DATA with `data.DataReader` (in one search for `CRLF.CRLF`
    instead of line by line; with `spool`, a large message written to disk as it arrives) and
    holding every client to the `[limits]` of the config.

    Limits (one implementation for both listeners): a connection past the listener's overall
    or per-IP count is answered `421` and closed before the greeting; a client silent for
    `command_timeout` while a command is awaited, or for `data_timeout` while the message is,
    is answered `451 Timeout waiting for data from client` and closed (aiosmtpd's timer would
    close without a word, and counts the whole of DATA against the command timeout); RCPTs past
    `max_recipients` get `452`, a message with more `Received:` headers than
    `max_received_headers` gets `554 5.4.0` (a mail loop). What aiosmtpd fails to parse is a
    `500` syntax reply logged in one line, never the exception's text or a traceback.
    """

    too_much_data = "552 Error: Too much mail data"  # aiosmtpd's; the submission port's differs

    smtp_HELO = _refusing_controls(SMTP.smtp_HELO, replies.S501_BAD_HELO)
    smtp_EHLO = _refusing_controls(SMTP.smtp_EHLO, replies.S501_BAD_HELO)
    smtp_MAIL = _refusing_controls(SMTP.smtp_MAIL, replies.S501_BAD_SENDER)
    smtp_RCPT = _refusing_controls(_limiting_recipients(SMTP.smtp_RCPT), replies.S501_BAD_RECIPIENT)

    def __init__(
        self,
        *args: Any,
        limits: LimitSettings,
        connections: Connections,
        spool: Callable[[], BodyWriter] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, timeout=limits.command_timeout, **kwargs)
        self.limits = limits
        self._data = DataReader(
            self.data_size_limit or 0, limits.max_line_length, self.too_much_data, spool
        )
        self._connections = connections
        self._client_ip: str | None = None  # set while this connection is counted
        self._awaiting_data = False  # between DATA's 354 and the final dot
        self._data_seen = 0.0  # when the client last sent part of the message
        self._deadline = 0.0  # when the client times out, as last reset (`_reset_timeout`)
        self._armed: float | None = None  # when the pending timer goes off; None: no timer
        self._unknown_left = _UNKNOWN_COMMANDS
        self._smtp_methods = _Commands(self._smtp_methods, self._unknown_command)

    def _create_envelope(self) -> Envelope:
        return SesEnvelope()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self._original_transport is None  # STARTTLS makes it again, over TLS
        super().connection_made(transport)
        assert self.session is not None
        if first and self._connections.admit(ip := _peer_ip(self.session)):
            self._client_ip = ip

    def connection_lost(self, error: Exception | None) -> None:
        if self._client_ip is not None:  # aiosmtpd may call it twice (failed STARTTLS)
            self._connections.release(self._client_ip)
            self._client_ip = None
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        if self._client_ip is None:  # not admitted: refused before the greeting
            assert self.session is not None and self.transport is not None
            log.info("refused a connection from %s: too many", _peer_ip(self.session))
            await self.push(str(replies.S421_TOO_MANY_CONNECTIONS))
            self.transport.close()
            return
        await super()._handle_client()

    def data_received(self, data: bytes) -> None:
        if self._awaiting_data:
            self._data_seen = self.loop.time()
        super().data_received(data)

    def _reset_timeout(self, duration: float | None = None) -> None:
        """aiosmtpd's, without a new timer for each command: the deadline moves, and a timer is
        made only when none would go off by then (aiosmtpd cancelled one and made another for
        every command, five per message, 1.4 us each on the event loop). A timer that goes off
        before the deadline was moved later makes the next one for it (`_timeout_cb`)."""
        self._deadline = self.loop.time() + (duration or self._timeout_duration)
        if self._armed is None or self._armed > self._deadline:
            self._arm()

    def _arm(self) -> None:
        if self._timeout_handle is not None:
            self._timeout_handle.cancel()
        self._timeout_handle = self.loop.call_at(self._deadline, self._timeout_cb)
        self._armed = self._deadline

    def _stop_timeout(self) -> None:
        """No timeout until the next `_reset_timeout`."""
        assert self._timeout_handle is not None
        self._timeout_handle.cancel()
        self._armed = None

    def _timeout_cb(self) -> None:
        """The timer went off: at the deadline, unless it moved later since the timer was made
        (compared as set, not with the clock, whose ticks are coarser); the data timeout counts
        from the last data seen."""
        armed, self._armed = self._armed, None
        if self._awaiting_data:
            left = self._data_seen + self.limits.data_timeout - self.loop.time()
            if left > 0:
                self._reset_timeout(left)
                return
        elif armed is not None and self._deadline > armed:
            self._arm()
            return
        # a stream's transport writes whatever its class (uvloop's are not asyncio.Transport's)
        transport = cast("asyncio.Transport", self.transport)
        assert self.session is not None and transport is not None
        log.info("timed out %s", _peer_ip(self.session))
        self._writer.write(f"{replies.S451_TIMEOUT}\r\n".encode())
        transport.close()  # once the reply is written; a client that never reads it is cut off
        self.loop.call_later(self.limits.command_timeout, transport.abort)

    async def _unknown_command(self, arg: str | None) -> None:
        assert self.session is not None and self.transport is not None
        self._unknown_left -= 1
        log.info("unknown command from %s", _peer_ip(self.session))
        if self._unknown_left > 0:
            await self.push(str(replies.S500_UNKNOWN_COMMAND))
            return
        await self.push(str(replies.S502_TOO_MANY_UNKNOWN))
        self.transport.close()

    async def handle_exception(self, error: Exception) -> str:
        """What aiosmtpd's own code raised on a command: a bad STARTTLS handshake, or input
        its parsers fail on. One log line, and a syntax reply that quotes nothing."""
        assert self.session is not None
        cause = error.__cause__ or error
        what = "TLS handshake failed" if isinstance(error, TLSSetupException) else "bad command"
        log.warning("%s from %s: %s %r", what, _peer_ip(self.session), type(cause).__name__,
                    str(cause))  # fmt: skip
        return str(replies.S500_BAD_SYNTAX)

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        assert self.transport is not None
        if self.transport.get_extra_info("ssl_object") is not None:
            await self.push(str(replies.S503_TLS_ACTIVE))
            return
        await super().smtp_STARTTLS(arg)

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
        address, or its parser raises) raises `UnparsablePath`.
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
        except Exception:  # the email package's parser fails on some paths: IndexError on
            raise UnparsablePath(arg) from None  # `0@`, AttributeError on `<a@[1.2.3.4>`
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
        self._awaiting_data, self._data_seen = True, self.loop.time()
        self._reset_timeout(self.limits.data_timeout)
        try:
            data = await self._data.read(self._reader)
        except asyncio.IncompleteReadError:
            self._writer.close()  # the client went away mid-DATA: nothing was accepted
            return
        finally:
            self._awaiting_data = False
        error = data.error
        if error is None and data.hops > self.limits.max_received_headers:
            error = str(replies.S554_TOO_MANY_HOPS)
            if isinstance(data.message, SpooledBody):
                data.message.path.unlink(missing_ok=True)
        if error is not None:
            await self.push(error)
            self._set_post_data_state()  # type: ignore[no-untyped-call]  # unannotated in aiosmtpd
            self._reset_timeout()
            return
        envelope = self.envelope
        assert isinstance(envelope, SesEnvelope)
        if isinstance(data.message, SpooledBody):
            envelope.spooled = data.message
        else:
            envelope.content = envelope.original_content = data.message
        self._stop_timeout()  # the client waits for us now: no timeout while we work
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()  # type: ignore[no-untyped-call]  # unannotated in aiosmtpd
        await self.push(status)
        self._reset_timeout()  # aiosmtpd restarts it at the next command, if one comes


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
    limits: LimitSettings,
) -> Sessions:
    """The receiving listener's: SES's inbound endpoint in front of the engine."""
    make = functools.partial(
        SesSMTP,
        SesHandler(engine, hostname),
        limits=limits,
        connections=Connections(limits.max_connections, limits.max_connections_per_ip),
        spool=engine.store.body_writer,
        hostname=hostname,
        ident="ESMTP Amazon SES",
        data_size_limit=max_message_size,
        tls_context=tls_context,
        decode_data=False,
        enable_SMTPUTF8=False,
    )
    return Sessions(lambda loop: make(loop=loop))
