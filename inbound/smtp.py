"""The SMTP edge: the only module that knows aiosmtpd. It translates; the engine decides.

SES's endpoint as observed (spec receiving.md §11): greeting `220 <host> ESMTP Amazon SES`,
EHLO advertising only 8BITMIME and STARTTLS, per-RCPT verdicts, `503` for DATA without an
accepted recipient. The size limit is enforced by aiosmtpd while reading DATA: past the limit
it discards what it read and keeps draining, then replies 552, so no more than the limit is
held in memory.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable

from aiosmtpd.smtp import SMTP, Envelope, Session

from inbound import replies
from inbound.engine import Engine

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
        advertised = [f"250-{self.hostname}", "250-8BITMIME"]
        if server.tls_context is not None and session.ssl is None:
            advertised.append("250-STARTTLS")
        return [*advertised, "250 Ok"]

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

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            message_id = await self.engine.accept(
                mail_from=envelope.mail_from or "",
                recipients=envelope.rcpt_tos,
                raw=raw,
                client_ip=_peer_ip(session),
                helo=session.host_name or "",
                tls=session.ssl is not None,
            )
        except Exception:
            log.exception("could not spool a message; answered 451")
            return str(replies.S451_LOCAL_ERROR)
        # SES's end-of-DATA text is UNCONFIRMED (spec §11); SES's sending endpoint answers
        # "250 Ok <message id>", which also lets a client find its message.
        return f"{replies.S250_OK} {message_id}"


def _peer_ip(session: Session) -> str:
    peer = session.peer
    return peer[0] if isinstance(peer, tuple) else str(peer or "")


def protocol_factory(
    engine: Engine,
    *,
    hostname: str,
    max_message_size: int,
    tls_context: ssl.SSLContext | None,
) -> Callable[[], SMTP]:
    handler = SesHandler(engine, hostname)

    def make() -> SMTP:
        return SMTP(
            handler,
            hostname=hostname,
            ident="ESMTP Amazon SES",
            data_size_limit=max_message_size,
            tls_context=tls_context,
            decode_data=False,
            enable_SMTPUTF8=False,
            loop=asyncio.get_running_loop(),
        )

    return make
