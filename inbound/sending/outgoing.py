"""A sent message as its delivery sees it: the Region it was sent in, its `mail` object's facts
and the identity it was sent as (notification topics, feedback forwarding)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from datetime import datetime

from inbound.identities.book import IdentityBook
from inbound.identities.rules import Identity
from inbound.records import SentMessage
from inbound.sending import checks, simulator
from inbound.sending.events import SentMail
from inbound.sending.sent_mail import region_of, sent_mail
from inbound.timestamps import from_wire


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """A sent message with what its events say about it."""

    record: SentMessage
    region: str
    identity: Identity | None
    facts: Callable[[], SentMail]  # what makes `mail`

    @functools.cached_property
    def mail(self) -> SentMail:
        """The `mail` object's facts, made when an event or a notification first needs them:
        a message without a configuration set or identity topics is delivered without
        splitting its header fields (profiled: a twentieth of a SendRawEmail call's CPU)."""
        return self.facts()

    @property
    def accepted(self) -> datetime:
        """When SES accepted the message: the `mail` object's timestamp."""
        return from_wire(self.record.created)

    @property
    def forwarding(self) -> bool:
        """Whether SES forwards bounces and complaints by email (SetIdentityFeedbackForwarding
        Enabled; on by default, so also for a sender that is no identity)."""
        return self.identity is None or self.identity.forwarding

    def sent(self, recipient: str, raw: bytes) -> simulator.Sent:
        """The message as `recipient` got it, for what SES sends back by email."""
        record = self.record
        return simulator.Sent(
            raw,
            record.id,
            record.mail_from,
            record.return_path,
            recipient,
            self.accepted,
            self.region,
        )


@dataclasses.dataclass(frozen=True)
class Outgoings:
    """How a stored sent message is seen: with the identities as they are now, in its own
    Region (`region` when it has none on record), for `account_id`."""

    identities: IdentityBook
    region: str
    account_id: str

    def of(self, record: SentMessage, raw: bytes | None) -> Outgoing:
        region = region_of(record, self.region)
        identities = self.identities.all()
        identity = checks.sending_identity(record.source, identities)
        facts = functools.partial(
            sent_mail, record, raw, identities, account_id=self.account_id, region=region
        )
        return Outgoing(record, region, identity, facts)
