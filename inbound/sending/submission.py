"""The SMTP interface (`email-smtp.<region>.amazonaws.com`, spec sending.md §3): the only module
that knows aiosmtpd for the submission listeners. It translates; SendRawEmail's path
(`raw.send_raw`) decides, so a message sent here is stored, checked and counted exactly as one
sent with SendRawEmail, with MAIL FROM as its Source and the RCPT TO addresses as its
Destinations.

As SES: the greeting `220 email-smtp.amazonaws.com ESMTP SimpleEmailService-...`, EHLO
advertising 8BITMIME, STARTTLS (before TLS) and AUTH PLAIN LOGIN; every command but EHLO,
STARTTLS, NOOP and QUIT refused before TLS on the STARTTLS port (`530 Must issue a STARTTLS
command first`); AUTH with SMTP credentials (`credentials.py`) before MAIL (`530 Authentication
required`); the message checked at the end of DATA, `250 Ok <MessageId>` once it is durable,
else the SES error's SMTP form (`smtp_replies.FAILURES`). aiosmtpd does the protocol and AUTH;
the protocol class is receiving's (`receiving.smtp.SesSMTP`: DATA read in one search, control
characters refused), with the texts SES's submission endpoint uses. As on the receiving port, a
message over 256 KiB is written to a file of the store as it arrives (`receiving/data.py`), not
held while DATA comes in; its file goes once the message is sent or refused.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from collections.abc import Callable, Mapping
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from inbound.config import LimitSettings
from inbound.errors import InvalidParameterValue, SesError
from inbound.ids import random_bytes
from inbound.receiving.connections import Connections
from inbound.receiving.smtp import SesEnvelope, SesReplies, Sessions, SesSMTP
from inbound.sending import checks, credentials
from inbound.sending import smtp_replies as replies
from inbound.sending.origin import LOCAL, Origin
from inbound.sending.raw import send_raw
from inbound.sending.sender import Sender
from inbound.store.bodies import BodyWriter

log = logging.getLogger("inbound.submission")
# "Using the SES v2 API or SMTP - Maximum message size (including attachments): 40 MB per
# message (after base64 encoding)" (DG, "Service quotas in Amazon SES"): the bytes of DATA.
MAX_MESSAGE_BYTES = 40 * 1024 * 1024
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _token(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(alphabet[b % len(alphabet)] for b in random_bytes(length))


class _Session(Session):
    """aiosmtpd's session with `login_data` a plain attribute: aiosmtpd's AUTH sets it on every
    success, and its deprecated property logs a warning each time."""

    login_data: Any = None


class SubmissionSMTP(SesSMTP):
    """SesSMTP with the texts of SES's submission endpoint where aiosmtpd's differ."""

    too_much_data = replies.S552_TOO_LONG
    AuthLoginUsernameChallenge = replies.LOGIN_USERNAME_PROMPT
    AuthLoginPasswordChallenge = replies.LOGIN_PASSWORD_PROMPT

    def __init__(self, *args: Any, tls_transport: bool, plain_auth: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # aiosmtpd knows TLS only from its own STARTTLS: on the implicit-TLS port (the
        # transport is TLS from the first byte) and with plain AUTH allowed on loopback, AUTH
        # must not wait for it. Set here rather than passed, which would log aiosmtpd's
        # "auth_required but not auth_require_tls" warning on every connection.
        self._auth_require_tls = not (tls_transport or plain_auth)

    def _create_session(self) -> Session:
        return _Session(self.loop)

    async def check_auth_needed(self, caller_method: str) -> bool:
        """aiosmtpd's check, with SES's `530 Authentication required` (no enhanced code)."""
        assert self.session is not None
        if self.session.authenticated:
            return False
        await self.push(replies.S530_AUTHENTICATION_REQUIRED)
        return True


class SubmissionHandler(SesReplies):
    """aiosmtpd handler hooks: AUTH against the SMTP credentials, the envelope checked for
    syntax, the message through SendRawEmail's path."""

    hostname = replies.HOSTNAME
    extensions = ("AUTH PLAIN LOGIN",)

    def __init__(self, sender: Sender, region: str, keys: Mapping[str, str]) -> None:
        self.sender = sender
        self.region = region
        self.keys = keys

    def authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        """aiosmtpd's `authenticator`: PLAIN and LOGIN both give a LoginPassword."""
        assert isinstance(auth_data, LoginPassword)
        try:
            user, password = auth_data.login.decode(), auth_data.password.decode()
        except UnicodeDecodeError:
            user = password = ""
        if credentials.authenticate(self.keys, self.region, user, password):
            # aiosmtpd keeps `auth_data` as the session's: the caller identity of its messages.
            return AuthResult(success=True, auth_data=user, message=replies.S235_AUTHENTICATED)
        log.info("AUTH %s refused for %r from %s", mechanism, user, session.peer)
        return AuthResult(success=False, handled=False, message=replies.S535_CREDENTIALS_INVALID)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not _valid(address):
            return replies.S501_BAD_MAIL_FROM
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return replies.S250_OK

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not _valid(address):
            return replies.S501_BAD_RCPT_TO
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return replies.S250_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope, SesEnvelope)
        spooled = envelope.spooled
        try:
            if spooled is None:
                raw = envelope.original_content or b""
            else:
                raw = await asyncio.to_thread(spooled.path.read_bytes)
            message_id = await send_raw(
                self.sender,
                self.region,
                raw,
                _origin(session),
                source=envelope.mail_from,
                destinations=envelope.rcpt_tos,
            )
        except SesError as error:
            log.info("refused a message from %s: %s", session.peer, error.message)
            return replies.failure(error)
        except Exception:
            log.exception("could not send a message; answered 451")
            return replies.S451_TEMPORARY_FAILURE
        finally:
            if spooled is not None:  # what was sent is the store's now, built from these bytes
                spooled.path.unlink(missing_ok=True)
        return f"{replies.S250_OK} {message_id}"


def _origin(session: Session) -> Origin:
    """The client's address and the user name (an access key id) it authenticated with: DATA
    comes only after AUTH (`auth_required`)."""
    peer = session.peer[0] if isinstance(session.peer, tuple) else LOCAL.source_ip
    return Origin(peer, str(session.auth_data))


def _valid(address: str) -> bool:
    """An address SES takes in MAIL FROM or RCPT TO: SendEmail's syntax (so also not `<>`)."""
    try:
        checks.address(address)
    except InvalidParameterValue:
        return False
    return True


def sessions(
    handler: SubmissionHandler,
    *,
    tls_context: ssl.SSLContext,
    implicit_tls: bool,
    limits: LimitSettings,
    spool: Callable[[], BodyWriter],
    plain_auth: bool = False,
) -> Sessions:
    """One submission port's sessions: STARTTLS (`implicit_tls` False) or TLS from the first
    byte (the server is created with `tls_context` then); large messages are written to
    `spool()`'s files as they arrive."""
    server_id = f"d-{_token(9, _ALNUM[:36])}"  # SES's greeting names the host that answers
    make = functools.partial(
        SubmissionSMTP,
        handler,
        limits=limits,
        connections=Connections(limits.max_connections, limits.max_connections_per_ip),
        hostname=replies.HOSTNAME,
        data_size_limit=MAX_MESSAGE_BYTES,
        tls_context=None if implicit_tls else tls_context,
        require_starttls=not (implicit_tls or plain_auth),
        auth_required=True,
        authenticator=handler.authenticate,
        decode_data=False,
        enable_SMTPUTF8=False,
        tls_transport=implicit_tls,
        plain_auth=plain_auth,
        spool=spool,
    )

    def session(loop: asyncio.AbstractEventLoop) -> SMTP:
        return make(loop=loop, ident=f"ESMTP SimpleEmailService-{server_id} {_token(20)}")

    return Sessions(session)
