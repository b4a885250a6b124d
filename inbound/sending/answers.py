"""A recipient's outcomes as SES reports them: a Delivery from the host SES's events name, and
SES's own answers where no delivery attempt leaves here (the mailbox simulator's addresses, the
recipients the account-level suppression list holds back, an unsubscribed contact), with what
SES sends back by email for them (simulator.py builds it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

from inbound.records import SuppressionReason
from inbound.sending import mime, simulator
from inbound.sending.events import BouncedRecipient
from inbound.sending.journal import SentJournal, Step
from inbound.sending.outgoing import Outgoing
from inbound.sending.reporting import Reporter
from inbound.sending.routes import OUTBOUND_IP, RECEIVING, Routes


def delivered(
    message: Outgoing, recipient: str, smtp_response: str, route: str
) -> tuple[simulator.SimulatedOutcome, ...]:
    """A Delivery reported by the host SES's events name (`reportingMTA`); the remote MTA
    is this engine when it received the message, none for the outbox."""
    facts = simulator.DeliveryFacts(
        recipient,
        smtp_response,
        simulator.outbound_host(message.region),
        OUTBOUND_IP if route == RECEIVING else None,
    )
    return outcomes(message, simulator.RecipientFacts(delivery=facts))


def outcomes(
    message: Outgoing, facts: simulator.RecipientFacts
) -> tuple[simulator.SimulatedOutcome, ...]:
    now = datetime.now(UTC)
    return simulator.outcomes(
        facts,
        accepted=message.accepted,
        now=now,
        feedback_id=mime.new_message_id(now),
        outgoing_ip=OUTBOUND_IP,
    )


def unsubscribed_facts(recipient: str) -> simulator.RecipientFacts:
    """ "Amazon SES will bounce an email if it is sent to an unsubscribed contact on your
    contact list": a Permanent, General bounce without a DSN (no MTA was contacted; the type
    and subtype are UNCONFIRMED, docs/behaviour.md)."""
    bounce = simulator.BounceFacts("Permanent", "General", BouncedRecipient(recipient))
    return simulator.RecipientFacts(bounce=bounce)


@dataclass(frozen=True)
class Answers:
    """SES's own answers, published through `reporter`; what goes back by email goes by
    `routes`."""

    reporter: Reporter
    routes: Routes

    async def simulated(
        self, journal: SentJournal, key: str, message: Outgoing, recipient: str, raw: bytes
    ) -> tuple[simulator.SimulatedOutcome, ...]:
        """A mailbox simulator address's outcomes (simulator.py)."""
        outcome = simulator.outcome_of(recipient)
        assert outcome is not None
        facts = simulator.feedback_of(outcome, recipient, message.region)
        return await self._answered(
            journal,
            key,
            message,
            recipient,
            facts,
            lambda: _forward(message, outcome, recipient, raw),
        )

    async def held(
        self,
        journal: SentJournal,
        key: str,
        message: Outgoing,
        recipient: str,
        raw: bytes,
        reason: SuppressionReason,
    ) -> tuple[simulator.SimulatedOutcome, ...]:
        """A recipient on the account-level suppression list: answered as the simulator's
        ``suppressionlist@`` is, with the account list's subtype and text; its bounce's DSN
        forwarded as any bounce's (DECIDED), nothing for a complaint (there is no report)."""
        complaint = reason is SuppressionReason.COMPLAINT
        facts = simulator.held_back_feedback(recipient, complaint)

        def forward() -> tuple[str, EmailMessage] | None:
            if complaint or not message.forwarding:
                return None
            sent = message.sent(recipient, raw)
            return "bounce", simulator.suppression_dsn(sent, simulator.ACCOUNT_SUPPRESSED)

        return await self._answered(journal, key, message, recipient, facts, forward)

    async def _answered(
        self,
        journal: SentJournal,
        key: str,
        message: Outgoing,
        recipient: str,
        facts: simulator.RecipientFacts,
        forward: Callable[[], tuple[str, EmailMessage] | None],
    ) -> tuple[simulator.SimulatedOutcome, ...]:
        """SES's own answer for `recipient` (no delivery attempt leaves here): its outcomes
        published, then what `forward` says SES sends back by email, if anything."""
        found = outcomes(message, facts)
        for result in found:
            await self.reporter.feedback_of(journal, key, message, recipient, result)
        forwarded = f"{key}:forwarded"

        async def send_back() -> Step | None:
            answer = forward()
            if answer is None:
                return None
            return await self.routes.send_built(message, *answer, forwarded)

        await journal.once(forwarded, send_back)
        return found


def _forward(
    message: Outgoing,
    outcome: simulator.SimulatorOutcome,
    recipient: str,
    raw: bytes,
) -> tuple[str, EmailMessage] | None:
    """The message SES sends back by email: the DSN or the complaint when feedback
    forwarding is on for the sending identity (SetIdentityFeedbackForwardingEnabled, on
    by default), the auto-reply always (it is the recipient's mail, not SES's feedback)."""
    sent = message.sent(recipient, raw)
    forwarding = message.forwarding
    built: EmailMessage | None
    if outcome in simulator.BOUNCES:
        kind, built = "bounce", simulator.build_bounce(sent) if forwarding else None
    elif outcome is simulator.SimulatorOutcome.COMPLAINT:
        kind, built = "complaint", simulator.build_complaint(sent) if forwarding else None
    elif outcome is simulator.SimulatorOutcome.OOTO:
        kind, built = "autoReply", simulator.build_auto_reply(sent)
    else:
        return None
    return None if built is None else (kind, built)
