"""The receiving listener's SMTP edge: handler hooks that ask the engine and return its replies.

SES's endpoint as observed (spec receiving.md §11): greeting `220 <host> ESMTP Amazon SES`,
EHLO advertising only 8BITMIME and STARTTLS, per-RCPT verdicts, `503` for DATA without an
accepted recipient, `250 Ok` for everything accepted (NOOP and RSET too). The conversation
itself (commands, DATA, STARTTLS, limits) is `session.py`'s, shared with the SMTP interface.
"""

from __future__ import annotations

import functools
import logging
import ssl
import weakref
from collections.abc import Callable

from inbound.config import LimitSettings
from inbound.receiving import replies
from inbound.receiving.connections import Connections
from inbound.receiving.engine import Engine
from inbound.receiving.session import Envelope, Handler, Session, SesSMTP
from inbound.store import StorageError

log = logging.getLogger("inbound.smtp")


class SesHandler(Handler):
    """The hooks: each asks the engine and returns its reply line."""

    def __init__(self, engine: Engine, hostname: str) -> None:
        self.engine = engine
        self.hostname = hostname

    def handle_EHLO(
        self, server: SesSMTP, session: Session, envelope: Envelope, hostname: str
    ) -> list[str]:
        session.host_name = hostname
        return ehlo_lines(server, session, self.hostname)

    def handle_MAIL(
        self,
        server: SesSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return str(replies.S250_OK)

    def handle_RCPT(
        self,
        server: SesSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        reply = self.engine.check_rcpt(session.ip, address, session.tls)
        if reply.code == 250:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
        else:
            log.info("rejected RCPT %s from %s: %s", address, session.ip, reply)
        return str(reply)

    async def handle_DATA(self, server: SesSMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.spooled or envelope.content or b""
        try:
            message_id = await self.engine.accept(
                # The null reverse-path is kept as "<>" (the "MAIL was given" marker); SES's
                # `mail.source` for it is "" (spec §4.2).
                mail_from="" if envelope.mail_from == "<>" else envelope.mail_from or "",
                recipients=envelope.rcpt_tos,
                raw=raw,
                client_ip=session.ip,
                helo=session.host_name or "",
                tls=session.tls,
            )
        except StorageError as exc:  # the data dir is full or read-only: the client retries
            log.warning("could not store a message from %s: %s; answered 451", session.ip, exc)
        except Exception:
            log.exception("could not spool a message; answered 451")
        else:
            # SES's end-of-DATA text is UNCONFIRMED (spec §11); SES's sending endpoint answers
            # "250 Ok <message id>", which also lets a client find its message.
            return f"{replies.S250_OK} {message_id}"
        if envelope.spooled is not None:  # not accepted: its file goes
            envelope.spooled.path.unlink(missing_ok=True)
        return str(replies.S451_LOCAL_ERROR)


def ehlo_lines(server: SesSMTP, session: Session, hostname: str, *extensions: str) -> list[str]:
    """SES's EHLO answer: its host name, 8BITMIME, STARTTLS while it can still be used, then
    `extensions` (the SMTP interface's AUTH) and `250 Ok`."""
    advertised = [f"250-{hostname}", "250-8BITMIME"]
    if server.tls_context is not None and not session.tls:
        advertised.append("250-STARTTLS")
    return [*advertised, *(f"250-{extension}" for extension in extensions), "250 Ok"]


class Sessions:
    """Protocol factory for a listener that also knows the open sessions, so that shutting down
    can close them instead of leaving their work pending. `make()` makes one session."""

    def __init__(self, make: Callable[[], SesSMTP]) -> None:
        self._make = make
        self._live: weakref.WeakSet[SesSMTP] = weakref.WeakSet()

    def __call__(self) -> SesSMTP:
        session = self._make()
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
    return Sessions(
        functools.partial(
            SesSMTP,
            SesHandler(engine, hostname),
            limits=limits,
            connections=Connections(limits.max_connections, limits.max_connections_per_ip),
            spool=engine.store.body_writer,
            hostname=hostname,
            ident="ESMTP Amazon SES",
            data_size_limit=max_message_size,
            tls_context=tls_context,
        )
    )
