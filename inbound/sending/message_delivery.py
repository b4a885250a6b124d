"""One sent message delivered, in this order:

1. the Send event (a rendering failure publishes its Rendering Failure event, and that is all;
   a message with a virus, Send and Reject, and is not delivered);
2. the recipients that an enabled rule of the active receipt rule set matches are received
   here, through the receiving engine, as from SES's outbound host (one spooled message for
   all of them, as one SMTP transaction to one host);
3. the recipients that are neither that nor the mailbox simulator's go to the outbox (one
   entry), which the relay sends on when `[relay]` is set (their events then come from the
   relay's outcomes, sending/relay_events.py);
4. per recipient, its events and identity notifications: a simulator address's outcomes
   (sending/answers.py), otherwise a Delivery (for the outbox, only without a relay); then the
   message SES forwards by email for a simulator bounce, complaint or auto-reply, to the
   feedback address (ReturnPath, else Source), which takes route 2 or 3 in turn.

Each step goes through the message's journal (sending/journal.py), so a resumed message makes
none twice. docs/behaviour.md "Delivery of sent mail" has the choices and the SES pages they
rest on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inbound.config import RelaySettings
from inbound.receiving.verdicts import ContentScanner, Status
from inbound.records import SentMessage, SentStatus, SuppressionReason
from inbound.sending import list_management
from inbound.sending.answers import Answers, delivered, outcomes, unsubscribed_facts
from inbound.sending.events import Reject, RenderingFailure, Send
from inbound.sending.journal import SentJournal, Step
from inbound.sending.outgoing import Outgoing, Outgoings
from inbound.sending.reporting import Reporter
from inbound.sending.routes import (
    OUTBOX,
    RECEIVING,
    SIMULATOR,
    SUPPRESSED,
    UNSUBSCRIBED,
    Routes,
)
from inbound.sending.suppression import SuppressionList
from inbound.store import Store


@dataclass(frozen=True)
class MessageDelivery:
    store: Store
    outgoings: Outgoings
    reporter: Reporter
    routes: Routes
    answers: Answers
    suppression: SuppressionList
    virus: ContentScanner  # SES scans what it sends: a virus is a Reject, not a delivery
    relay: RelaySettings | None  # set: the outbox recipients' events wait for the relay's outcome

    async def deliver(self, record: SentMessage, raw: bytes | None) -> None:
        message = self.outgoings.of(record, raw)
        journal = SentJournal(self.store, record)
        reporter = self.reporter
        if raw is None:
            failure = _rendering_failure(record)
            await journal.once(
                "event:Rendering Failure", lambda: reporter.publish(message, failure)
            )
            journal.finish(SentStatus.RENDERING_FAILURE, {"step": "done"})
            return
        await journal.once("event:Send", lambda: reporter.publish(message, Send()))
        if await self.virus.scan(raw) is Status.FAIL:
            await journal.once("event:Reject", lambda: reporter.publish(message, Reject()))
            await journal.once("statistics", lambda: reporter.count(message, Rejects=1))
            journal.finish(SentStatus.REJECTED, {"step": "done", "rejected": "virus"})
            return
        recipients = list(dict.fromkeys(record.recipients))  # one delivery per address
        held = await journal.once("suppressed", lambda: self._held_back(message, recipients))
        held_back: dict[str, str] = (held or {}).get("recipients", {})
        unsubscribed = list_management.unsubscribed_recipients(record)
        routes = {
            r: SUPPRESSED
            if r in held_back
            else UNSUBSCRIBED
            if r in unsubscribed
            else self.routes.route(r)
            for r in recipients
        }
        for key, route in (("received", RECEIVING), ("queued", OUTBOX)):
            for recipient in (journal.recorded(key) or {}).get("recipients", ()):
                routes[recipient] = route  # as routed before a restart, whatever the rules now
        local = [r for r in recipients if routes[r] == RECEIVING]
        remote = [r for r in recipients if routes[r] == OUTBOX]
        received = await journal.once(
            "received",
            lambda: self.routes.receive(message, record.mail_from, local, raw, "received"),
        )
        queued = await journal.once(
            "queued", lambda: self.routes.queue(record.mail_from, remote, raw, record.id)
        )
        summary = []
        for position, recipient in enumerate(recipients):
            route, key = routes[recipient], f"{position}:{recipient}"
            if route == SIMULATOR:
                found = await self.answers.simulated(journal, key, message, recipient, raw)
            elif route == SUPPRESSED:
                reason = SuppressionReason(held_back[recipient])
                found = await self.answers.held(journal, key, message, recipient, raw, reason)
            elif route == OUTBOX and self.relay is not None:
                found = ()  # published from the relay's outcome (sending/relay_events.py)
            else:
                if route == UNSUBSCRIBED:
                    found = outcomes(message, unsubscribed_facts(recipient))
                else:
                    done = received if route == RECEIVING else queued
                    assert done is not None
                    found = delivered(message, recipient, done["smtpResponse"], route)
                for outcome in found:
                    await reporter.feedback_of(
                        journal, key, message, recipient, outcome, suppress=route != UNSUBSCRIBED
                    )
            events = [str(outcome.TYPE) for outcome in found]
            summary.append({"recipient": recipient, "route": route, "events": events})
        journal.finish(SentStatus.DONE, {"step": "done", "recipients": summary})

    async def _held_back(self, message: Outgoing, recipients: Sequence[str]) -> Step | None:
        """The recipients the account-level suppression list holds back, decided once per
        message: accepted, never attempted (sending/suppression.py)."""
        region = message.region
        reasons = self.suppression.reasons(region, message.record.configuration_set)
        found = self.suppression.held_back(region, recipients, reasons)
        if not found:
            return None
        return {"step": "suppressed", "recipients": {r: str(v) for r, v in found.items()}}


def _rendering_failure(record: SentMessage) -> RenderingFailure:
    """The failure as the Sender recorded it: the template from the `accepted` step, the
    error text from the `renderingFailure` step."""
    template = next((s["template"] for s in record.trace if "template" in s), "")
    error = next((s["error"] for s in record.trace if s.get("step") == "renderingFailure"), "")
    return RenderingFailure(template_name=template, error_message=error)
