"""The `mail` facts of a stored sent message (events.SentMail), for the events published after
the send: delivery and feedback, open and click tracking, subscription changes.

`sourceArn` is the operation's SourceArn when it had one, else the ARN of the identity the
source sends as; `sourceIp` (`ses:source-ip`), `callerIdentity` (`ses:caller-identity`) and
the tenant (`ses:tenant-name`) are the trace's `accepted` step's (the Sender records the
submission's `Origin` there; a message stored before origins were recorded has
`sender.LOCAL`'s).
"""

from __future__ import annotations

from collections.abc import Mapping

from inbound.headers import SplitMessage
from inbound.identities.book import IdentityBook
from inbound.identities.rules import Identity
from inbound.records import SentMessage
from inbound.sending import checks
from inbound.sending.events import Outcome, SentMail
from inbound.sending.feedback import Feedback
from inbound.sending.origin import LOCAL
from inbound.store import Store
from inbound.timestamps import from_wire


def region_of(record: SentMessage, default: str) -> str:
    """The Region the message was sent in: the trace's `accepted` step says it."""
    accepted = record.trace[0] if record.trace else {}
    return str(accepted.get("region", default))


def sent_mail(
    record: SentMessage,
    raw: bytes | None,
    identities: Mapping[str, Identity],
    *,
    account_id: str,
    region: str,
) -> SentMail:
    accepted = record.trace[0] if record.trace else {}
    identity = checks.sending_identity(record.source, identities)
    name = identity.name if identity is not None else record.source
    return SentMail(
        message_id=record.id,
        timestamp=from_wire(record.created),
        source=record.source,
        source_arn=accepted.get("SourceArn")
        or f"arn:aws:ses:{region}:{account_id}:identity/{name}",
        sending_account_id=account_id,
        destination=record.recipients,
        headers=SplitMessage.parse(raw).headers if raw is not None else (),
        source_ip=accepted.get("sourceIp", LOCAL.source_ip),
        caller_identity=accepted.get("callerIdentity", LOCAL.identity),
        configuration_set=record.configuration_set,
        tags=tuple(record.tags.items()),
        tenant=accepted.get("TenantName"),
    )


class SentEvents:
    """Publishes an event about a stored sent message to its configuration set's destinations,
    as they are now: the Open and Click of tracking, the Subscription of an unsubscribe."""

    def __init__(
        self,
        store: Store,
        identities: IdentityBook,
        feedback: Feedback,
        *,
        account_id: str,
        region: str,
    ) -> None:
        self._store = store
        self._identities = identities
        self._feedback = feedback
        self._account_id = account_id
        self._region = region

    async def publish(self, record: SentMessage, outcome: Outcome) -> None:
        """Published to the message's configuration set when it has one, and kept in its trace
        either way, as delivery keeps its events (VDM's insights read them: `insights.py`)."""
        region = region_of(record, self._region)

        def mail() -> SentMail:
            raw = self._store.sent_raw(record.id)
            identities = self._identities.all()
            return sent_mail(record, raw, identities, account_id=self._account_id, region=region)

        step = await self._feedback.event(region, record.configuration_set, mail, outcome)
        await self._store.add_sent_steps(record.id, [step])
