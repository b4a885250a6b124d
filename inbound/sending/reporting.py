"""What a sent message's outcomes publish, each once through its journal: the configuration-set
events, the identity notifications, the account-level suppression list's additions and the
sending statistics (GetSendStatistics)."""

from __future__ import annotations

from dataclasses import dataclass

from inbound.sending.events import Bounce, Complaint, NotificationOutcome, Outcome
from inbound.sending.feedback import Feedback
from inbound.sending.journal import SentJournal, Step
from inbound.sending.outgoing import Outgoing
from inbound.sending.service import SendingConfiguration
from inbound.sending.suppression import SuppressionList


@dataclass(frozen=True)
class Reporter:
    feedback: Feedback
    sending: SendingConfiguration
    suppression: SuppressionList

    async def feedback_of(
        self,
        journal: SentJournal,
        key: str,
        message: Outgoing,
        recipient: str,
        outcome: NotificationOutcome,
        *,
        suppress: bool = True,
    ) -> None:
        """One recipient's Delivery, Bounce or Complaint: the configuration-set event, the
        identity notification, then the account-level suppression list for a hard bounce or a
        complaint when its reason is in force (not for the bounce of an unsubscribed contact,
        which says nothing about the address: `suppress` False)."""
        kind = str(outcome.TYPE)
        await journal.once(f"{key}:event:{kind}", lambda: self.publish(message, outcome, recipient))
        await journal.once(
            f"{key}:notification:{kind}", lambda: self._notify(message, outcome, recipient)
        )
        if suppress and isinstance(outcome, Bounce | Complaint):
            await journal.once(
                f"{key}:suppression:{kind}", lambda: self._suppress(message, outcome)
            )

    async def count(self, message: Outgoing, **counts: int) -> Step:
        """GetSendStatistics' `Bounces` (one per bounced recipient; the simulator's never come
        back this way, so they are not counted) and `Rejects`."""
        await self.sending.record_sending(message.region, counts)
        return {"step": "statistics", **counts}

    async def publish(
        self, message: Outgoing, outcome: Outcome, recipient: str | None = None
    ) -> Step:
        configuration_set = message.record.configuration_set
        return await self.feedback.event(
            message.region, configuration_set, lambda: message.mail, outcome, recipient
        )

    async def _suppress(self, message: Outgoing, outcome: Bounce | Complaint) -> Step | None:
        region, record = message.region, message.record
        reasons = self.suppression.reasons(region, record.configuration_set)
        added = await self.suppression.add_feedback(region, outcome, record.id, reasons)
        return {"step": "suppressionList", "added": added} if added else None

    async def _notify(
        self, message: Outgoing, outcome: NotificationOutcome, recipient: str
    ) -> Step | None:
        if message.identity is None:
            return None
        done = await self.feedback.notify_identity(message.identity, lambda: message.mail, outcome)
        if done is None:
            return None
        return {
            "step": "notification",
            "notificationType": str(outcome.TYPE),
            "recipient": recipient,
            "identity": message.identity.name,
            "publication": done.step(),
        }
