"""One SMTP session on an `asyncio.Protocol`: the command loop both SMTP listeners share.

Why not aiosmtpd's (docs/architecture.md, "The SMTP command loop"): aiosmtpd runs a coroutine
per session that awaits `StreamReader.readuntil` for every line, builds a coroutine chain and a
`drain()` per command and per reply line, and resets a timer per command; on this project's
machines that loop alone costs about 0.5 ms of CPU per 10 KB message, the whole budget of a
bare aiosmtpd sink. Here bytes are buffered as they arrive, complete lines are split off in
bulk, and each command is a plain method found in a dict, answered in the same call; only the
end of DATA (the `250` waits for the store's commit), STARTTLS (`loop.start_tls`) and a message
too large to hold (read through a `StreamReader` by `data.py`, spooled to disk) are tasks.

The protocol is aiosmtpd's, reply for reply (its texts where SES's are not known), and the
handler hooks are aiosmtpd's: `handle_EHLO`, `handle_MAIL`, `handle_RCPT`, `handle_DATA`, and
`authenticate` for AUTH PLAIN and LOGIN. What differs from aiosmtpd is written down in
docs/behaviour.md ("The SMTP conversation", "Limits and timeouts").

Bounds: a command line is held up to aiosmtpd's 1,001 octets (past that it is dropped until its
end, then `500 Command line too long`); a message up to the size limit or `data.SPOOL_ABOVE`
before it goes to the spool; reading pauses when more comes while a message is committed or TLS is
started, and while the client does not read its replies (the transport's write buffer is full).
"""

from __future__ import annotations

import asyncio
import binascii
import logging
import re
import ssl
from base64 import b64decode, b64encode
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from inbound.config import LimitSettings
from inbound.receiving import replies
from inbound.receiving.connections import Connections
from inbound.receiving.data import Data, DataReader
from inbound.receiving.paths import UnparsablePath, parse_path
from inbound.store.bodies import BodyWriter, SpooledBody

log = logging.getLogger("inbound.smtp")

DATA_SIZE_DEFAULT = 2**25  # aiosmtpd's, for a session made without a size limit
COMMAND_LINE_LIMIT = 512  # RFC 5321 §4.5.3.1.4, as aiosmtpd counts it (without CRLF)
MAIL_LINE_LIMIT = COMMAND_LINE_LIMIT + 26  # after EHLO: room for SIZE= (RFC 1870 §3)
LINE_LENGTH_LIMIT = 1001  # aiosmtpd's stream limit: longer command lines are dropped
ALLOWED_BEFORE_STARTTLS = frozenset({"NOOP", "EHLO", "STARTTLS", "QUIT"})  # RFC 3207 §4
_UNKNOWN_COMMANDS = 5  # aiosmtpd's BOGUS_LIMIT: the fifth ends the session
AUTH_SUCCESS = "235 2.7.0 Authentication successful"
AUTH_INVALID = "535 5.7.8 Authentication credentials invalid"
BAD_SYNTAX = "500 Error: bad syntax"
# C0 controls but TAB (whitespace between parameters), and DEL: never valid in a host name, a
# path or a parameter (RFC 5321 §4.1.2, §4.1.3), and a CR or NUL copied into a trace header
# would let the client forge header lines. CR and LF reach an argument only alone: a command
# line ends at LF, and its trailing CRs and LFs are stripped.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(slots=True)
class Session:
    """What the client said about itself: aiosmtpd's `Session`, with `tls` for its `ssl`."""

    peer: Any  # the transport's peername: (host, port, ...) for TCP
    tls: bool = False  # STARTTLS was negotiated
    host_name: str | None = None
    extended_smtp: bool = False
    authenticated: bool = False
    auth_data: Any = None  # what `authenticate` returned for the client

    @property
    def ip(self) -> str:
        return self.peer[0] if isinstance(self.peer, tuple) else str(self.peer or "")


@dataclass(slots=True)
class Envelope:
    """One transaction: aiosmtpd's `Envelope`; the message is `content`, or `spooled` when it
    was written to disk as it arrived (data.py)."""

    mail_from: str | None = None  # the null reverse-path is "<>", aiosmtpd's "MAIL given" mark
    mail_options: list[str] = field(default_factory=list)
    rcpt_tos: list[str] = field(default_factory=list)
    rcpt_options: list[str] = field(default_factory=list)
    content: bytes | None = None
    spooled: SpooledBody | None = None


class LoginPassword(NamedTuple):
    login: bytes
    password: bytes


@dataclass(frozen=True)
class AuthResult:
    """`authenticate`'s answer; `message` replaces the reply (235, or 535 when it failed)."""

    success: bool
    message: str | None = None
    auth_data: Any = None


class Handler:
    """The hooks a listener gives its sessions, named and called as aiosmtpd's handler hooks.
    EHLO, MAIL and RCPT return their reply at once; DATA's is awaited."""

    def handle_EHLO(
        self, server: SesSMTP, session: Session, envelope: Envelope, hostname: str
    ) -> list[str]:
        raise NotImplementedError

    def handle_MAIL(
        self,
        server: SesSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        raise NotImplementedError

    def handle_RCPT(
        self,
        server: SesSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        raise NotImplementedError

    async def handle_DATA(self, server: SesSMTP, session: Session, envelope: Envelope) -> str:
        raise NotImplementedError

    def authenticate(
        self,
        server: SesSMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: LoginPassword,
    ) -> AuthResult:
        """No credentials are valid (aiosmtpd's `login_always_fail`)."""
        return AuthResult(success=False)


Command = Callable[["SesSMTP", str | None], None]
# HELP's texts (aiosmtpd's `@syntax`): the command's, and what ESMTP adds.
_SYNTAX: dict[str, tuple[str, str]] = {
    "AUTH": ("AUTH <mechanism>", ""),
    "DATA": ("DATA", ""),
    "EHLO": ("EHLO hostname", ""),
    "HELO": ("HELO hostname", ""),
    "HELP": ("HELP [command]", ""),
    "MAIL": ("MAIL FROM: <address>", " [SP <mail-parameters>]"),
    "NOOP": ("NOOP [ignored]", ""),
    "QUIT": ("QUIT", ""),
    "RCPT": ("RCPT TO: <address>", " [SP <mail-parameters>]"),
    "RSET": ("RSET", ""),
    "STARTTLS": ("STARTTLS", ""),
    "VRFY": ("VRFY <address>", ""),
}


class SesSMTP(asyncio.Protocol):
    """One connection to an SMTP listener. The `smtp_*` methods are the commands (`COMMANDS`).

    Limits (one implementation for both listeners): a connection past the listener's overall
    or per-IP count is answered `421` and closed before the greeting; a client silent for
    `command_timeout` since its last command, or for `data_timeout` while the message is
    coming, is answered `451 Timeout waiting for data from client` and closed; RCPTs past
    `max_recipients` get `452`, a message with more `Received:` headers than
    `max_received_headers` gets `554 5.4.0` (a mail loop). A command's argument with a control
    character, or a path that cannot be parsed, is answered 501; what goes wrong inside a
    command is a `500` syntax reply logged in one line, never the exception's text.
    """

    too_much_data = "552 Error: Too much mail data"  # aiosmtpd's; the submission port's differs
    auth_required_reply = "530 5.7.0 Authentication required"
    login_username_prompt = "User Name\x00"  # aiosmtpd's AUTH LOGIN prompts
    login_password_prompt = "Password\x00"
    local_part_limit = 0  # octets of a path's local part; 0: any (aiosmtpd's default)

    def __init__(
        self,
        handler: Handler,
        *,
        limits: LimitSettings,
        connections: Connections,
        hostname: str = "localhost",
        ident: str = "ESMTP",
        data_size_limit: int = DATA_SIZE_DEFAULT,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        auth_required: bool = False,
        auth_require_tls: bool = True,
        spool: Callable[[], BodyWriter] | None = None,
    ) -> None:
        self.handler = handler
        self.limits = limits
        self.hostname = hostname
        self.ident = ident
        self.data_size_limit = data_size_limit
        self.tls_context = tls_context
        self.require_starttls = tls_context is not None and require_starttls
        self.auth_required = auth_required
        self.auth_require_tls = auth_require_tls
        self.transport: asyncio.Transport | None = None
        self.session = Session(None)
        self.envelope = Envelope()
        self._data = DataReader(data_size_limit, limits.max_line_length, self.too_much_data, spool)
        self._connections = connections
        self._client_ip: str | None = None  # set while this connection is counted
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buffer = bytearray()  # received, not yet taken
        self._searched = 0  # DATA: the buffer holds no final dot before this offset
        self._reading_data = False  # between DATA's 354 and the final dot
        self._dropping_line = False  # a command line over the limit: dropped up to its LF
        self._answer_next: Callable[[bytes], None] | None = None  # AUTH: the client's answer
        self._stream: asyncio.StreamReader | None = None  # DATA of a message too large to hold
        self._task: asyncio.Task[None] | None = None  # the work the session waits for
        self._tls_started = False
        self._writing_paused = False
        self._eof = False
        self._closed = False
        self._unknown_left = _UNKNOWN_COMMANDS
        self._command_at = 0.0  # when the last command came (the command timeout counts)
        self._data_seen = 0.0  # when part of the message last came (the data timeout counts)
        self._timer: asyncio.TimerHandle | None = None

    # ── the connection ───────────────────────────────────────────────────────────────────────
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._loop = loop = asyncio.get_running_loop()
        self.session = Session(transport.get_extra_info("peername"))
        if not self._connections.admit(ip := self.session.ip):
            log.info("refused a connection from %s: too many", ip)
            self._write(str(replies.S421_TOO_MANY_CONNECTIONS))
            self._close()
            return
        self._client_ip = ip
        self._command_at = loop.time()
        self._timer = loop.call_later(self.limits.command_timeout, self._timed)
        self._write(f"220 {self.hostname} {self.ident}")

    def connection_lost(self, error: Exception | None) -> None:
        self._closed = True
        if self._client_ip is not None:
            self._connections.release(self._client_ip)
            self._client_ip = None
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None:  # as aiosmtpd cancels its handler: the engine's spool is
            self._task.cancel()  # shielded, so a message that reached it is still processed
        if self._stream is not None:
            self._stream.feed_eof()
        self.transport = None

    def eof_received(self) -> bool:
        """The client sent all it will: what it sent before is answered, then the session
        ends (a message not complete by now is not kept)."""
        self._eof = True
        if self._stream is not None:
            self._stream.feed_eof()
        if self._task is None:
            self._close()
            return False
        return not self._tls_started  # keep the socket for the reply; TLS cannot half-close

    def pause_writing(self) -> None:
        self._writing_paused = True  # the client does not read: stop reading it too
        self._set_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._set_reading()

    def _set_reading(self) -> None:
        """Read unless the client does not read its replies, or sent more while a task runs:
        then what came (one read) waits in the buffer, and the socket for it. Not paused at
        the start of every task: a client in step sends nothing until it is answered, and
        each pause and resume is two system calls."""
        transport = self.transport
        if transport is None or self._stream is not None:  # the stream reader has its own
            return
        if self._writing_paused or (self._task is not None and self._buffer):
            transport.pause_reading()
        else:
            transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self._stream is not None:
            assert self._loop is not None
            self._data_seen = self._loop.time()
            self._stream.feed_data(data)
            return
        self._buffer += data
        if self._reading_data:
            assert self._loop is not None
            self._data_seen = self._loop.time()
        if self._task is None:
            self._process()
        else:
            self._set_reading()

    def _write(self, reply: str) -> None:
        assert self.transport is not None
        try:
            line = reply.encode("ascii")
        except UnicodeEncodeError:  # as aiosmtpd, which refuses to send it
            log.warning("not ASCII, not sent: %r", reply)
            line = str(replies.S500_BAD_SYNTAX).encode()
        self.transport.write(line + b"\r\n")

    def _close(self) -> None:
        """Close once what was written is sent."""
        self._closed = True
        if self.transport is not None:
            self.transport.close()

    def _timed(self) -> None:
        """The timer: a client silent for too long is told so and closed. It is set once and
        moved on when it goes off early, rather than reset at every command."""
        assert self._loop is not None
        now = self._loop.time()
        if self._task is not None and self._stream is None:  # we are working, not the client
            left = self.limits.command_timeout
        elif self._reading_data or self._stream is not None:
            left = self._data_seen + self.limits.data_timeout - now
        else:
            left = self._command_at + self.limits.command_timeout - now
        if left > 0:
            self._timer = self._loop.call_later(left, self._timed)
            return
        log.info("timed out %s", self.session.ip)
        if self._task is not None:
            self._task.cancel()
        transport = self.transport
        assert transport is not None
        self._write(str(replies.S451_TIMEOUT))
        self._close()
        self._loop.call_later(self.limits.command_timeout, transport.abort)  # if it never reads

    # ── commands ────────────────────────────────────────────────────────────────────────────
    def _process(self) -> None:
        """Take what is buffered: whole command lines, each answered before the next, and the
        message after DATA, until more is needed or something must be awaited."""
        buffer = self._buffer
        while buffer and self._task is None and not self._closed:
            if self._reading_data:
                if not self._take_data():
                    return
                continue
            end = buffer.find(b"\n")
            if end < 0:
                if len(buffer) > LINE_LENGTH_LIMIT:
                    self._dropping_line = True
                    buffer.clear()
                return
            line = bytes(buffer[: end + 1])
            del buffer[: end + 1]
            if self._dropping_line or end > LINE_LENGTH_LIMIT:
                self._dropping_line = False
                answering, self._answer_next = self._answer_next, None
                self._write(
                    str(replies.S500_BAD_SYNTAX) if answering else "500 Command line too long"
                )
                continue
            if self._answer_next is not None:
                answer, self._answer_next = self._answer_next, None
                answer(line)
                continue
            self._command(line.rstrip(b"\r\n"))

    def _command(self, line: bytes) -> None:
        """aiosmtpd's reading of a command line (`SMTP._handle_client`), reply for reply."""
        if not line:
            self._write(BAD_SYNTAX)
            return
        name, _, rest = line.partition(b" ")
        try:
            command = name.upper().decode("ascii")
            arg = rest.strip().decode("ascii") if rest else None
        except UnicodeDecodeError:
            self._write(BAD_SYNTAX if not name.isascii() else "500 Error: strict ASCII mode")
            return
        extended = self.session.extended_smtp
        if len(line) > (MAIL_LINE_LIMIT if extended and command == "MAIL" else COMMAND_LINE_LIMIT):
            self._write("500 Command line too long")
            return
        if (
            self.require_starttls
            and not self._tls_started
            and command not in ALLOWED_BEFORE_STARTTLS
        ):
            self._write("530 Must issue a STARTTLS command first")
            return
        assert self._loop is not None
        self._command_at = self._loop.time()
        method = COMMANDS.get(command)
        if method is None:
            self._unknown_command()
            return
        try:
            method(self, arg)
        except Exception as error:
            log.warning("bad command from %s: %s %r", self.session.ip, type(error).__name__,
                        str(error))  # fmt: skip
            self._write(str(replies.S500_BAD_SYNTAX))

    def _unknown_command(self) -> None:
        self._unknown_left -= 1
        log.info("unknown command from %s", self.session.ip)
        if self._unknown_left > 0:
            self._write(str(replies.S500_UNKNOWN_COMMAND))
            return
        self._write(str(replies.S502_TOO_MANY_UNKNOWN))
        self._close()

    def _refused(self, arg: str | None, command: str, reply: replies.SmtpReply) -> bool:
        """Whether the argument has a control character (then `reply` is answered)."""
        if arg and _CONTROL.search(arg):
            log.info("refused %s from %s: control character in %r", command, self.session.ip, arg)
            self._write(str(reply))
            return True
        return False

    def _helo_needed(self, helo: str = "HELO") -> bool:
        if not self.session.host_name:
            self._write(f"503 Error: send {helo} first")
            return True
        return False

    def _auth_needed(self) -> bool:
        if self.auth_required and not self.session.authenticated:
            self._write(self.auth_required_reply)
            return True
        return False

    def _getaddr(self, arg: str) -> tuple[str, str]:
        return parse_path(arg, self.local_part_limit)

    def smtp_HELO(self, arg: str | None) -> None:
        if self._refused(arg, "HELO", replies.S501_BAD_HELO):
            return
        if not arg:
            self._write("501 Syntax: HELO hostname")
            return
        self.envelope = Envelope()
        self.session.extended_smtp = False
        self.session.host_name = arg
        self._write(f"250 {self.hostname}")

    def smtp_EHLO(self, arg: str | None) -> None:
        if self._refused(arg, "EHLO", replies.S501_BAD_HELO):
            return
        if not arg:
            self._write("501 Syntax: EHLO hostname")
            return
        self.envelope = Envelope()
        self.session.extended_smtp = True
        lines = self.handler.handle_EHLO(self, self.session, self.envelope, arg)
        self._write("\r\n".join(lines))

    def smtp_NOOP(self, arg: str | None) -> None:
        self._write(str(replies.S250_OK))

    def smtp_RSET(self, arg: str | None) -> None:
        if arg:
            self._write("501 Syntax: RSET")
            return
        self.envelope = Envelope()
        self._write(str(replies.S250_OK))

    def smtp_QUIT(self, arg: str | None) -> None:
        if arg:
            self._write("501 Syntax: QUIT")
            return
        self._write("221 Bye")
        self._close()

    def smtp_HELP(self, arg: str | None) -> None:
        if self._auth_needed():
            return
        code = 250
        if arg:
            command = arg.upper()
            if self._helps(command):
                self._write(f"250 Syntax: {self._syntax(command)}")
                return
            code = 501
        self._write(f"{code} Supported commands: {' '.join(filter(self._helps, _SYNTAX))}")

    def _helps(self, command: str) -> bool:
        return command in _SYNTAX and (command != "STARTTLS" or self.tls_context is not None)

    def smtp_EXPN(self, arg: str | None) -> None:
        self._write("502 EXPN not implemented")

    def smtp_VRFY(self, arg: str | None) -> None:
        if self._auth_needed():
            return
        if not arg:
            self._write("501 Syntax: VRFY <address>")
            return
        try:
            self._getaddr(arg)
        except UnparsablePath:
            self._write("502 Could not VRFY")  # aiosmtpd's text, without echoing the path
            return
        self._write("252 Cannot VRFY user, but will accept message and attempt delivery")

    def _syntax(self, command: str) -> str:
        """The command's syntax as HELP and its 501 say it (the ESMTP part after EHLO)."""
        text, extended = _SYNTAX[command]
        return text + extended if self.session.extended_smtp else text

    def _path(
        self, arg: str | None, command: str, keyword: str, unparsable: replies.SmtpReply
    ) -> tuple[str, list[str], dict[str, str | bool] | None] | None:
        """MAIL's and RCPT's argument read as aiosmtpd reads it: `keyword`, the path, then
        parameters (by name, None when one is malformed). None: the command was answered, with
        its syntax error or (a path that cannot be read) `unparsable`."""
        address = params = ""
        if arg is not None and arg[: len(keyword)].upper() == keyword:
            try:
                address, params = self._getaddr(arg[len(keyword) :].strip())
            except UnparsablePath:
                log.info("refused %s from %s: unparsable path in %r", command, self.session.ip,
                         arg)  # fmt: skip
                self._write(str(unparsable))
                return None
        if not address or (params and not self.session.extended_smtp):
            self._write(f"501 Syntax: {self._syntax(command)}")
            return None
        options = params.upper().split()
        return address, options, _params(options)

    def smtp_MAIL(self, arg: str | None) -> None:
        if self._refused(arg, "MAIL", replies.S501_BAD_SENDER):
            return
        if self._helo_needed() or self._auth_needed():
            return
        path = self._path(arg, "MAIL", "FROM:", replies.S501_BAD_SENDER)
        if path is None:
            return
        if self.envelope.mail_from:
            self._write("503 Error: nested MAIL command")
            return
        address, options, params = path
        reply = _SYNTAX_ERROR if params is None else _mail_params(params, self.data_size_limit)
        if reply is not None:
            self._write(f"501 Syntax: {self._syntax('MAIL')}" if reply is _SYNTAX_ERROR else reply)
            return
        self._write(self.handler.handle_MAIL(self, self.session, self.envelope, address, options))

    def smtp_RCPT(self, arg: str | None) -> None:
        if self._refused(arg, "RCPT", replies.S501_BAD_RECIPIENT):
            return
        if len(self.envelope.rcpt_tos) >= self.limits.max_recipients:
            # Postfix's `smtpd_recipient_limit` and its reply; RFC 5321 §4.5.3.1.10: the
            # client sends the others in another transaction.
            self._write(str(replies.S452_TOO_MANY_RECIPIENTS))
            return
        if self._helo_needed() or self._auth_needed():
            return
        if not self.envelope.mail_from:
            self._write("503 Error: need MAIL command")
            return
        path = self._path(arg, "RCPT", "TO:", replies.S501_BAD_RECIPIENT)
        if path is None:
            return
        address, options, params = path
        if params is None:
            self._write(f"501 Syntax: {self._syntax('RCPT')}")
        elif params:
            self._write("555 RCPT TO parameters not recognized or not implemented")
        else:
            self._write(
                self.handler.handle_RCPT(self, self.session, self.envelope, address, options)
            )

    # ── DATA ────────────────────────────────────────────────────────────────────────────────
    def smtp_DATA(self, arg: str | None) -> None:
        if self._helo_needed() or self._auth_needed():
            return
        if not self.envelope.rcpt_tos:
            self._write("503 Error: need RCPT command")
            return
        if arg:
            self._write("501 Syntax: DATA")
            return
        self._write("354 End data with <CR><LF>.<CR><LF>")
        assert self._loop is not None and self._timer is not None
        self._reading_data, self._data_seen = True, self._loop.time()
        if self._timer.when() > self._data_seen + self.limits.data_timeout:
            self._timer.cancel()  # the data timeout is the shorter: count it from now
            self._timer = self._loop.call_later(self.limits.data_timeout, self._timed)

    def _take_data(self) -> bool:
        """Take the message from the buffer, if all of it is there (False: more is needed)."""
        buffer = self._buffer
        if buffer.startswith(b".\r\n"):
            # The terminator right away: the CRLF before its dot ended the DATA command line,
            # so this is the one case a search for CRLF.CRLF cannot see.
            del buffer[:3]
            data = Data(b"", 0)
        else:
            end = buffer.find(b"\r\n.\r\n", self._searched)
            if end < 0:
                if len(buffer) > self._data.held_whole:  # too large to hold: spooled or dropped
                    self._read_large()
                else:
                    self._searched = max(len(buffer) - 4, 0)
                return False
            data = self._data.complete(bytes(buffer[: end + 5]))
            del buffer[: end + 5]
            self._searched = 0
        envelope = self._data_read(data)
        if envelope is not None:
            self._start(self._deliver(envelope))
        return True

    def _read_large(self) -> None:
        """The rest of DATA through a `StreamReader` (its buffer bounded, the socket paused
        when it is full), for `data.py` to spool or drop as it arrives."""
        assert self.transport is not None and self._loop is not None
        stream = asyncio.StreamReader(limit=LINE_LENGTH_LIMIT, loop=self._loop)
        stream.set_transport(self.transport)
        stream.feed_data(bytes(self._buffer))
        self._buffer.clear()
        self._searched = 0
        if self._eof:
            stream.feed_eof()
        self._stream = stream
        self._start(self._large_message(stream))

    async def _large_message(self, stream: asyncio.StreamReader) -> None:
        try:
            data = await self._data.read(stream)
        except asyncio.IncompleteReadError:  # the client went away: nothing was accepted
            self._close()
            return
        finally:
            self._stream = None
            self._buffer[:0] = stream._buffer  # type: ignore[attr-defined]  # what came after
            if self.transport is not None:
                self.transport.resume_reading()  # if the stream paused it
                self._set_reading()
        envelope = self._data_read(data)
        if envelope is not None:
            await self._deliver(envelope)

    def _data_read(self, data: Data) -> Envelope | None:
        """The message is in: its envelope for `handle_DATA`, or None when it was refused."""
        assert self._loop is not None
        self._reading_data = False
        self._command_at = self._loop.time()
        envelope, self.envelope = self.envelope, Envelope()
        error = data.error
        if error is None and data.hops > self.limits.max_received_headers:
            error = str(replies.S554_TOO_MANY_HOPS)
            if isinstance(data.message, SpooledBody):
                data.message.path.unlink(missing_ok=True)
        if error is not None:
            self._write(error)
            return None
        if isinstance(data.message, SpooledBody):
            envelope.spooled = data.message
        else:
            envelope.content = data.message
        return envelope

    async def _deliver(self, envelope: Envelope) -> None:
        reply = await self.handler.handle_DATA(self, self.session, envelope)
        if not self._closed:
            self._write(reply)

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        """Await `work` before taking more from the buffer (`_set_reading`)."""
        assert self._loop is not None
        self._task = self._loop.create_task(work)
        self._task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._task = None
        if self._closed:
            return
        assert self._loop is not None
        self._command_at = self._loop.time()
        failure = None if task.cancelled() else task.exception()
        if failure is not None:
            log.warning("failed in a session with %s: %s %r", self.session.ip,
                        type(failure).__name__, str(failure))  # fmt: skip
            self._write(str(replies.S500_BAD_SYNTAX))
        self._set_reading()
        self._process()
        if self._eof and self._task is None:
            self._close()

    # ── STARTTLS and AUTH ───────────────────────────────────────────────────────────────────
    def smtp_STARTTLS(self, arg: str | None) -> None:
        assert self.transport is not None
        if self.transport.get_extra_info("ssl_object") is not None:
            # RFC 3207 §4.2 forbids a second negotiation (aiosmtpd would start TLS inside TLS)
            self._write(str(replies.S503_TLS_ACTIVE))
            return
        if arg:
            self._write("501 Syntax: STARTTLS")
            return
        if self.tls_context is None:
            self._write("454 TLS not available")
            return
        self._write("220 Ready to start TLS")
        self._start(self._start_tls(self.tls_context))

    async def _start_tls(self, context: ssl.SSLContext) -> None:
        assert self.transport is not None and self._loop is not None
        try:
            transport = await self._loop.start_tls(
                self.transport,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=self.limits.command_timeout,
            )
        except (OSError, ssl.SSLError, TimeoutError, ConnectionError) as error:
            log.warning("TLS handshake failed from %s: %s %r", self.session.ip,
                        type(error).__name__, str(error))  # fmt: skip
            self._close()
            return
        assert isinstance(transport, asyncio.Transport)
        # RFC 3207 §4.2: the session starts again, and what came before TLS is dropped.
        self.transport = transport
        self._tls_started = True
        self._buffer.clear()
        self.session = Session(transport.get_extra_info("peername"), tls=True)
        self.envelope = Envelope()

    def smtp_AUTH(self, arg: str | None) -> None:
        if self._helo_needed("EHLO"):
            return
        session = self.session
        if not session.extended_smtp:
            self._write("500 Error: command 'AUTH' not recognized")
        elif self.auth_require_tls and not self._tls_started:
            self._write("538 5.7.11 Encryption required for requested authentication mechanism")
        elif session.authenticated:
            self._write("503 Already authenticated")
        elif not arg:
            self._write("501 Not enough value")
        elif len(args := arg.split()) > 2:
            self._write("501 Too many values")
        elif args[0] == "PLAIN":
            self._auth_step(args[1:], "", self._auth_plain)
        elif args[0] == "LOGIN":
            self._auth_step(args[1:], self.login_username_prompt, self._auth_login)
        else:
            self._write("504 5.5.4 Unrecognized authentication type")

    def _auth_step(self, given: list[str], prompt: str, then: Callable[[bytes], None]) -> None:
        """`then` the decoded value `given` with the command, else the answer to `prompt`."""
        if given:
            try:
                value = b64decode(given[0].encode(), validate=True)
            except binascii.Error:
                self._write("501 5.5.2 Can't decode base64")
                return
            then(value)
            return
        self._write("334 " + b64encode(prompt.encode()).decode())
        self._answer_next = lambda line: self._auth_answer(line, then)

    def _auth_answer(self, line: bytes, then: Callable[[bytes], None]) -> None:
        blob = line.strip()
        if blob == b"*":  # RFC 4954 §4: the client gave up
            log.warning("%s aborted AUTH with '*'", self.session.ip)
            self._write("501 5.7.0 Auth aborted")
            return
        try:
            value = b64decode(blob, validate=True)
        except binascii.Error:
            self._write("501 5.5.2 Can't decode base64")
            return
        then(value)

    def _auth_plain(self, value: bytes) -> None:
        try:  # RFC 4616 §2: authzid NUL authcid NUL passwd
            _, login, password = value.split(b"\x00")
        except ValueError:
            self._write("501 5.5.2 Can't split auth value")
            return
        self._authenticate("PLAIN", LoginPassword(login, password))

    def _auth_login(self, login: bytes) -> None:
        self._auth_step(
            [],
            self.login_password_prompt,
            lambda password: self._authenticate("LOGIN", LoginPassword(login, password)),
        )

    def _authenticate(self, mechanism: str, data: LoginPassword) -> None:
        session = self.session
        result = self.handler.authenticate(self, session, self.envelope, mechanism, data)
        if result.success:
            session.authenticated = True
            session.auth_data = result.auth_data
            self._write(result.message or AUTH_SUCCESS)
        else:
            self._write(result.message or AUTH_INVALID)


COMMANDS: dict[str, Command] = {
    name.removeprefix("smtp_"): method
    for name, method in vars(SesSMTP).items()
    if name.startswith("smtp_")
}
_SYNTAX_ERROR = "syntax"  # `_mail_params`: the command's syntax reply


def _params(options: list[str]) -> dict[str, str | bool] | None:
    """ESMTP parameters (RFC 1869 §6) by name, or None when one is malformed (aiosmtpd's)."""
    result: dict[str, str | bool] = {}
    for option in options:
        name, eq, value = option.partition("=")
        if not name.isalnum() or (eq and not value):
            return None
        result[name] = value if eq else True
    return result


def _mail_params(params: dict[str, str | bool], size_limit: int) -> str | None:
    """MAIL's parameters checked as aiosmtpd checks them: the refusal, or None."""
    if params.pop("BODY", "7BIT") not in ("7BIT", "8BITMIME"):
        return "501 Error: BODY can only be one of 7BIT, 8BITMIME"
    smtputf8 = params.pop("SMTPUTF8", False)
    if not isinstance(smtputf8, bool):
        return "501 Error: SMTPUTF8 takes no arguments"
    if smtputf8:
        return "501 Error: SMTPUTF8 disabled"
    size = params.pop("SIZE", None)
    if size:
        if isinstance(size, bool) or not size.isdigit():
            return _SYNTAX_ERROR
        if size_limit and int(size) > size_limit:
            return "552 Error: message size exceeds fixed maximum message size"
    if params:
        return "555 MAIL FROM parameters not recognized or not implemented"
    return None
