"""Where a sent message goes from here: received by this engine as from SES's outbound host
when an enabled rule of the active receipt rule set matches the recipient, else queued in the
outbox (which the relay sends on when `[relay]` is set). The mailbox simulator's addresses are
answered by SES itself (sending/answers.py), and so are the recipients held back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from inbound import dsn
from inbound.backends import Mailer
from inbound.ids import message_id_for
from inbound.receiving.engine import Engine
from inbound.receiving.replies import S250_OK
from inbound.sending import simulator
from inbound.sending.journal import Step
from inbound.sending.outgoing import Outgoing

# The address the engine's sending side delivers from, and that receives what it sends to
# itself: the engine talks to itself (docs/behaviour.md).
OUTBOUND_IP = "127.0.0.1"

# a recipient's route; SUPPRESSED: held back by the account-level suppression list
SIMULATOR, RECEIVING, OUTBOX, SUPPRESSED = "simulator", "receiving", "outbox", "suppressed"
UNSUBSCRIBED = "unsubscribed"  # a contact unsubscribed from the send's list or topic


@dataclass(frozen=True)
class Routes:
    engine: Engine
    mailer: Mailer

    def route(self, recipient: str) -> str:
        if simulator.outcome_of(recipient) is not None:
            return SIMULATOR
        return RECEIVING if self.engine.receives_for(recipient) else OUTBOX

    async def receive(
        self, message: Outgoing, mail_from: str, recipients: Sequence[str], raw: bytes, key: str
    ) -> Step | None:
        """Received here as SES's outbound host delivers it: the envelope sender, the message
        as built, over TLS from the host SES's events name (`reportingMTA`). The received
        message's id comes from the step's `key` and the time SES accepted the message, so a
        step redone after a restart finds the message it spooled before instead of receiving
        it twice."""
        if not recipients:
            return None
        received = await self.engine.accept(
            mail_from=mail_from,
            recipients=recipients,
            raw=raw,
            client_ip=OUTBOUND_IP,
            helo=simulator.outbound_host(message.region),
            tls=True,
            message_id=message_id_for(
                int(message.accepted.timestamp() * 1000), message.record.id, key
            ),
        )
        return {
            "step": "received",
            "recipients": list(recipients),
            "receivedMessageId": received,
            "smtpResponse": f"{S250_OK} {received}",
        }

    async def queue(
        self, mail_from: str, recipients: Sequence[str], raw: bytes, message_id: str
    ) -> Step | None:
        if not recipients:
            return None
        outbox_id = await self.mailer.send(mail_from, recipients, raw, message_id)
        return {
            "step": "queued",
            "recipients": list(recipients),
            "outboxId": outbox_id,
            "smtpResponse": f"{S250_OK} {outbox_id}",
        }

    async def send_built(self, message: Outgoing, kind: str, built: EmailMessage, key: str) -> Step:
        _, [to] = dsn.dsn_envelope(built)
        return await self.send_back(message, kind, to, dsn.as_bytes(built), key)

    async def send_back(self, message: Outgoing, kind: str, to: str, body: bytes, key: str) -> Step:
        """`body` to the feedback address `to`, with the null sender: received here when a
        rule matches it, else queued in the outbox."""
        if self.engine.receives_for(to):
            done = await self.receive(message, "", [to], body, key)
            assert done is not None
            route, ref = RECEIVING, done["receivedMessageId"]
        else:
            route, ref = OUTBOX, await self.mailer.send("", [to], body, message.record.id)
        return {"step": "forwarded", "kind": kind, "to": to, "route": route, "ref": ref}
