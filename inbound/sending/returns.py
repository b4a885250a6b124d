"""Mail addressed to a sent message's envelope sender comes back to SES, not to the outbox.

SES sends with a VERP envelope sender (`<MessageId>@amazonses.com`, or at the custom MAIL FROM
domain) so that what recipients' servers send back reaches SES first, which then publishes the
Bounce and forwards the DSN ("Amazon SES ... forwards bounce and complaint notifications", DG).
Here that mail is made by this engine itself, when a message it sent was received here: a
Bounce action or SendBounce answers it at its envelope sender. `Returns` is the Mailer those
use: a recipient that is the envelope sender of a stored sent message is kept with it
(`Store.add_sent_return`) for the delivery worker (sending/delivery.py, which publishes it
through sending/returned.py); others go on to the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from inbound.backends import Mailer
from inbound.ids import new_uuid
from inbound.records import ReturnedMail
from inbound.store import Store
from inbound.timestamps import now_iso


@dataclass
class Returns:
    mailer: Mailer  # the outbox, for every other recipient
    store: Store
    on_returned: Callable[[], None] | None = None  # the delivery worker's wake()

    async def send(
        self, mail_from: str, recipients: Sequence[str], message: bytes, message_id: str
    ) -> str:
        """The id of the returned mail, or the outbox id when other recipients are queued."""
        found = {r: self._sent_id(r) for r in recipients}
        ref = ""
        for sent_id in dict.fromkeys(i for i in found.values() if i is not None):
            ref = new_uuid()
            await self.store.add_sent_return(ReturnedMail(ref, sent_id, now_iso()), message)
        if ref and self.on_returned is not None:
            self.on_returned()
        others = [r for r, sent_id in found.items() if sent_id is None]
        if others or not ref:
            ref = await self.mailer.send(mail_from, others, message, message_id)
        return ref

    def _sent_id(self, address: str) -> str | None:
        """The sent message whose envelope sender `address` is (its local part is the
        MessageId; the whole address must match, domain case aside)."""
        local, _, domain = address.rpartition("@")
        found = self.store.sent_message(local) if local else None
        if found is None or found.mail_from != f"{local}@{domain.lower()}":
            return None
        return found.id
