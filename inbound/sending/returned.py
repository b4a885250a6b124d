"""What mail returned to a sent message's envelope sender publishes, once sending/returns.py
has kept it with the message: a DSN's Bounce, and the mail forwarded to the feedback
address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from inbound import dsn
from inbound.records import ReturnedMail
from inbound.sending import mime
from inbound.sending.events import Bounce, BouncedRecipient
from inbound.sending.journal import SentJournal
from inbound.sending.outgoing import Outgoings
from inbound.sending.reporting import Reporter
from inbound.sending.routes import Routes
from inbound.store import Store


@dataclass(frozen=True)
class Returned:
    store: Store
    outgoings: Outgoings
    reporter: Reporter
    routes: Routes

    async def publish(self, returned: ReturnedMail, raw: bytes) -> None:
        """A DSN that came back to the message's envelope sender (sending/returns.py): a Bounce
        naming its failed recipients (Permanent for 5.x.x statuses, else Transient; subtype
        General), published and notified as a simulator bounce is, and the DSN forwarded to
        the feedback address when forwarding is on. Other mail (not a DSN) is forwarded as it
        is, as the auto-reply is."""
        record = self.store.sent_message(returned.sent_id)
        if record is None:
            return
        message = self.outgoings.of(record, self.store.sent_raw(record.id))
        journal = SentJournal(self.store, record)
        key = f"return:{returned.id}"
        bounce = _bounce_of(raw)
        if bounce is not None:
            bounced = ", ".join(r.email_address for r in bounce.recipients)
            await self.reporter.feedback_of(journal, key, message, bounced, bounce)
            count = len(bounce.recipients)
            await journal.once(
                f"{key}:statistics", lambda: self.reporter.count(message, Bounces=count)
            )
        if bounce is None or message.forwarding:
            kind = "bounce" if bounce is not None else "returned"
            forwarded = f"{key}:forwarded"
            await journal.once(
                forwarded,
                lambda: self.routes.send_back(message, kind, record.return_path, raw, forwarded),
            )
        step = {"step": "returned", "returnId": returned.id, "bounce": bounce is not None}
        await self.store.add_sent_steps(record.id, [step], returned=returned.id)


def _bounce_of(raw: bytes) -> Bounce | None:
    """The Bounce a returned DSN reports, None when it is not a DSN or fails no recipient."""
    try:
        report = dsn.parse_dsn(raw)
    except dsn.DsnError:
        return None
    failed = [r for r in report.recipients if r.action is dsn.Action.FAILED]
    if not failed:
        return None
    permanent = all(r.status.startswith("5") for r in failed)
    now = datetime.now(UTC)
    return Bounce(
        bounce_type="Permanent" if permanent else "Transient",
        bounce_sub_type="General",
        recipients=tuple(
            BouncedRecipient(
                r.final_recipient,
                str(r.action),
                r.status,
                f"{r.diagnostic_type}; {r.diagnostic_code}" if r.diagnostic_code else None,
            )
            for r in failed
        ),
        timestamp=now,
        feedback_id=mime.new_message_id(now),
        reporting_mta=report.per_message.reporting_mta,
    )
