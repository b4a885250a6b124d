"""The events of the relay's recorded attempts (`Store.relay_outcomes_due`) for the outbox
recipients of a sent message, when `[relay]` is set: a DeliveryDelay at the first deferral,
then a Delivery, or a Bounce with its DSN forwarded as a simulator bounce's is. What each
outcome means is sending/relayed.py's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from inbound.config import RelaySettings
from inbound.records import OutboxStatus, RelayOutcome
from inbound.sending import relayed, simulator
from inbound.sending.answers import delivered
from inbound.sending.journal import SentJournal
from inbound.sending.outgoing import Outgoing, Outgoings
from inbound.sending.reporting import Reporter
from inbound.sending.routes import OUTBOX, Routes
from inbound.store import Store
from inbound.timestamps import from_wire


@dataclass(frozen=True)
class RelayEvents:
    store: Store
    outgoings: Outgoings
    reporter: Reporter
    routes: Routes
    relay: RelaySettings | None

    async def publish(self, outcome: RelayOutcome) -> None:
        """The events of one relay attempt for the recipients of the outbox entry it was for;
        the entries of forwarded feedback have none. Each is keyed in the sent message's trace
        (`<position>:<recipient>:event:...`), so an outcome resumed after a restart publishes
        nothing twice; the outcome is dropped once all are on record."""
        record = self.store.sent_message(outcome.sent_id)
        raw = self.store.sent_raw(outcome.sent_id)
        if record is not None and raw is not None:
            journal = SentJournal(self.store, record)
            queued = journal.recorded("queued") or {}
            if queued.get("outboxId") == outcome.outbox_id:
                message = self.outgoings.of(record, raw)
                positions = {r: i for i, r in enumerate(dict.fromkeys(record.recipients))}
                for recipient in queued["recipients"]:
                    key = f"{positions[recipient]}:{recipient}"
                    await self._events(journal, key, message, recipient, outcome, raw)
        await self.store.relay_outcome_published(outcome)

    async def _events(
        self,
        journal: SentJournal,
        key: str,
        message: Outgoing,
        recipient: str,
        outcome: RelayOutcome,
        raw: bytes,
    ) -> None:
        """Delivery for `sent`; one DeliveryDelay per recipient, at its first deferral (later
        deferrals of the same message add none); for `failed`, the Bounce, its count in the
        statistics and the DSN forwarded to the feedback address when forwarding is on."""
        assert self.relay is not None
        reporter = self.reporter
        now, host = datetime.now(UTC), simulator.outbound_host(message.region)
        reply, error = outcome.remote_reply, outcome.last_error
        if outcome.status is OutboxStatus.SENT:
            response = relayed.smtp_response(reply or "")
            for found in delivered(message, recipient, response, OUTBOX):
                await reporter.feedback_of(journal, key, message, recipient, found)
        elif outcome.status is OutboxStatus.DEFERRED:
            expires = from_wire(outcome.queued) + timedelta(seconds=self.relay.max_age_seconds)
            delay = relayed.delay(
                recipient, reply, error, now=now, expires=expires, reporting_mta=host
            )
            await journal.once(
                f"{key}:event:{delay.TYPE}", lambda: reporter.publish(message, delay, recipient)
            )
        else:
            bounce = relayed.bounce(recipient, reply, error, now=now, reporting_mta=host)
            await reporter.feedback_of(journal, key, message, recipient, bounce)
            await journal.once(f"{key}:statistics", lambda: reporter.count(message, Bounces=1))
            if message.forwarding:
                [bounced] = bounce.recipients
                assert bounced.status is not None and bounced.diagnostic_code is not None
                built = simulator.failure_dsn(
                    message.sent(recipient, raw),
                    bounced.status,
                    bounced.diagnostic_code.removeprefix("smtp; "),
                    host,
                )
                forwarded = f"{key}:forwarded"
                await journal.once(
                    forwarded, lambda: self.routes.send_built(message, "bounce", built, forwarded)
                )
