"""Outbox relay: deliver queued outbox messages to the `[relay]` smarthost over SMTP.

One worker task per server, one delivery at a time. It sleeps until `wake()` (the mailer
queued something, or the API asked for a retry) or until the earliest deferred message is due;
it never polls. Every state change is committed to the store before the next step, so a
restart resumes where it stopped: `queued` → `sending` → `sent` | `deferred` (with
`next_attempt` and `last_error`) | `failed`. A `sending` message found on start was cut off by
a crash and is tried again (at-least-once, like every SMTP queue).

The envelope is the outbox's own: a DSN was queued with the null reverse-path, so it goes out
with `MAIL FROM:<>` and no `RET`/`NOTIFY` (spec dsn.md E1, E4; RFC 3461 §6.1).

The SMTP client is the stdlib's `smtplib` in a worker thread: it has STARTTLS, AUTH
(CRAM-MD5/PLAIN/LOGIN), SIZE and 8BITMIME, and one message at a time gains nothing from an
asyncio client, so no dependency is added (docs/relay.md).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from inbound.config import RelaySettings
from inbound.errors import ConfigError
from inbound.records import OutboxMessage, OutboxStatus
from inbound.scheduling import STOP_GRACE_SECONDS, DueWorker, backoff
from inbound.store import Store
from inbound.timestamps import from_wire, now_iso, to_wire

log = logging.getLogger("inbound.relay")


@dataclass(frozen=True)
class Attempt:
    """What one delivery attempt came to; `reply` is the smarthost's deciding reply."""

    status: OutboxStatus  # sent, deferred or failed
    error: str | None = None
    reply: str | None = None


def client_context(settings: RelaySettings) -> ssl.SSLContext:
    """TLS towards the smarthost: the system's CAs, or only `ca_file` when it is set."""
    try:
        context = ssl.create_default_context(
            cafile=str(settings.ca_file) if settings.ca_file else None
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError("config", "relay.ca_file", f"cannot load: {exc}") from None
    if not settings.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def format_reply(code: int, text: bytes | str) -> str:
    """An SMTP reply as it was on the wire: `550-first line` … `550 last line`."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = text.split("\n") or [""]
    return "\n".join(
        f"{code}{'-' if i < len(lines) - 1 else ' '}{line}".rstrip() for i, line in enumerate(lines)
    )


def _by_class(code: int, error: str, reply: str) -> Attempt:
    # RFC 5321 §4.2.1: 4yz is transient (try again), 5yz permanent (do not repeat as is).
    return Attempt(OutboxStatus.FAILED if code >= 500 else OutboxStatus.DEFERRED, error, reply)


def deliver(
    settings: RelaySettings,
    context: ssl.SSLContext,
    helo: str,
    mail_from: str,
    recipients: Sequence[str],
    raw: bytes,
) -> Attempt:
    """One SMTP transaction with the smarthost (blocking; run it in a thread).

    Replies to MAIL, RCPT and DATA decide by their class. Everything before the transaction
    (connection, greeting, EHLO, STARTTLS, AUTH) is about the smarthost or our configuration,
    not the message, and defers it whatever the code, as Postfix does for AUTH by default
    (`smtp_sasl_auth_soft_bounce = yes`) and for `smtp_tls_security_level = encrypt`.
    """
    host, port = settings.smarthost.host, settings.smarthost.port
    try:
        # Connecting in the constructor also sets the name STARTTLS verifies (smtplib's _host).
        smtp = smtplib.SMTP(host, port, local_hostname=helo, timeout=settings.timeout_seconds)
    except smtplib.SMTPConnectError as exc:  # a greeting other than 220
        reply = format_reply(exc.smtp_code, exc.smtp_error)
        return Attempt(OutboxStatus.DEFERRED, f"smarthost refused the session: {reply}", reply)
    except (OSError, smtplib.SMTPException) as exc:  # refused, unreachable, timeout
        return Attempt(OutboxStatus.DEFERRED, f"{type(exc).__name__}: {exc}")
    try:
        try:
            _session(smtp, settings, context)
        except smtplib.SMTPResponseException as exc:
            reply = format_reply(exc.smtp_code, exc.smtp_error)
            return Attempt(OutboxStatus.DEFERRED, f"{type(exc).__name__}: {reply}", reply)
        except _SessionError as exc:
            return Attempt(OutboxStatus.DEFERRED, str(exc))
        return _transaction(smtp, mail_from, recipients, raw)
    except smtplib.SMTPResponseException as exc:  # e.g. SMTPDataError: no 354 after DATA
        reply = format_reply(exc.smtp_code, exc.smtp_error)
        return _by_class(exc.smtp_code, f"DATA refused: {reply}", reply)
    except (OSError, smtplib.SMTPException) as exc:  # refused, reset, timeout, TLS, closed
        return Attempt(OutboxStatus.DEFERRED, f"{type(exc).__name__}: {exc}".rstrip(": "))
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


class _SessionError(Exception):
    pass


def _session(smtp: smtplib.SMTP, settings: RelaySettings, context: ssl.SSLContext) -> None:
    smtp.ehlo_or_helo_if_needed()
    tls = False
    if settings.starttls != "off" and smtp.has_extn("starttls"):
        smtp.starttls(context=context)
        smtp.ehlo()
        tls = True
    elif settings.starttls == "required":
        raise _SessionError("starttls = 'required' but the smarthost does not offer STARTTLS")
    if settings.username:
        if not tls and not settings.allow_plain_auth:
            raise _SessionError("refusing AUTH without TLS (set allow_plain_auth = true)")
        if not smtp.has_extn("auth"):
            raise _SessionError("the smarthost does not offer AUTH")
        smtp.login(settings.username, settings.password or "")


def _transaction(
    smtp: smtplib.SMTP, mail_from: str, recipients: Sequence[str], raw: bytes
) -> Attempt:
    options = []
    if "size" in smtp.esmtp_features:
        options.append(f"SIZE={len(raw)}")  # RFC 1870
    if not raw.isascii() and smtp.has_extn("8bitmime"):
        options.append("BODY=8BITMIME")  # RFC 6152
    # smtplib writes "" as MAIL FROM:<> (DSNs). No RET, no NOTIFY (RFC 3461 §6.1).
    code, text = smtp.mail(mail_from, options)
    if code != 250:
        reply = format_reply(code, text)
        return _by_class(code, f"MAIL FROM:<{mail_from}> refused: {reply}", reply)
    refused: dict[str, tuple[int, str]] = {}
    for recipient in recipients:
        code, text = smtp.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, format_reply(code, text))
    refusals = "; ".join(f"RCPT TO:<{r}> refused: {reply}" for r, (_, reply) in refused.items())
    if len(refused) == len(recipients):
        # Permanent only if every recipient was refused permanently.
        code = min(code for code, _ in refused.values())
        return _by_class(code, refusals, next(iter(refused.values()))[1])
    code, text = smtp.data(raw)
    reply = format_reply(code, text)
    if code != 250:
        return _by_class(code, f"message refused after DATA: {reply}", reply)
    # A partly refused message counts as sent; the refusals stay on record (docs/relay.md).
    return Attempt(OutboxStatus.SENT, refusals or None, reply)


class Relay:
    """The worker: `start()`, `wake()` whenever the outbox changes, `stop()`."""

    def __init__(self, store: Store, settings: RelaySettings, *, helo: str) -> None:
        self.store = store
        self.settings = settings
        self.helo = settings.helo or helo
        # Told after each attempt's outcome is on record: delivery publishes the sent mail's
        # events from it (sending/relay_events.py).
        self.on_result: Callable[[], None] | None = None
        self._context = client_context(settings)
        self._worker = DueWorker(
            self._run_due,
            store.outbox_next_attempt,
            name="inbound-relay",
            log=log,
            what="outbox relay",
            retry_seconds=settings.retry_initial_seconds,
            grace_seconds=min(STOP_GRACE_SECONDS, settings.timeout_seconds),
        )

    def start(self) -> None:
        self._worker.start()

    def wake(self) -> None:
        self._worker.wake()

    async def retry(self, outbox_id: str) -> OutboxStatus | None:
        """Attempt a deferred or failed message now. Returns its status before (None: no
        such message); any other status is left alone."""
        before = await self.store.outbox_retry(outbox_id)
        if before in (OutboxStatus.DEFERRED, OutboxStatus.FAILED):
            self.wake()
        return before

    async def stop(self) -> None:
        """A delivery cut off by the grace period stays `sending`: it is attempted again on
        the next start."""
        await self._worker.stop()

    # ── the worker's pass ────────────────────────────────────────────────────────────────
    async def _run_due(self, limit: int) -> int:
        await self.store.flush()  # the mailer's insert is submitted, not awaited
        due = self.store.outbox_due(now_iso(), limit)
        for row in due:
            if self._worker.closing:
                break
            await self._attempt(row)
        return len(due)

    async def _attempt(self, row: OutboxMessage) -> None:
        outbox_id = row.id
        raw = self.store.outbox_raw(outbox_id)
        if raw is None:
            return  # removed meanwhile (DELETE /api/messages)
        await self.store.outbox_sending(outbox_id, now_iso())
        attempts = row.attempts + 1
        try:
            result = await asyncio.to_thread(
                deliver,
                self.settings,
                self._context,
                self.helo,
                row.mail_from,
                row.recipients,
                raw,
            )
        except Exception as exc:  # a bug in deliver(): keep the message, try later
            log.exception("relaying %s failed", outbox_id)
            result = Attempt(OutboxStatus.DEFERRED, f"internal error: {type(exc).__name__}: {exc}")
        next_attempt = None
        status, error = result.status, result.error
        if status == OutboxStatus.DEFERRED:
            now = datetime.now(UTC)
            deadline = from_wire(row.created) + timedelta(seconds=self.settings.max_age_seconds)
            if now >= deadline:
                status = OutboxStatus.FAILED
                error = f"{error} (gave up after {attempts} attempts)"
            else:
                step = backoff(
                    attempts, self.settings.retry_initial_seconds, self.settings.retry_max_seconds
                )
                next_attempt = to_wire(min(now + step, deadline))
        await self.store.outbox_result(
            outbox_id,
            status,
            last_error=error,
            remote_reply=result.reply,
            next_attempt=next_attempt,
        )
        log.info("outbox %s: %s%s", outbox_id, status, f" ({error})" if error else "")
        if self.on_result is not None:
            self.on_result()
