"""The Send* core: a message the operations have read and checked for syntax goes through SES's
account checks and quotas, is built, and is stored durably before its MessageId is returned.

The order of the checks (docs/behaviour.md, "Sending"): what the operation checks itself
(address syntax, recipient count, a raw message's size and duplicate headers, the template),
then here the configuration set (`ConfigurationSetDoesNotExist`), paused sending (account, then
configuration set), verification (sender; in the sandbox every recipient but the mailbox
simulator's), the custom MAIL FROM domain, and last the quotas, so a refused message never uses
any of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from inbound.config import SendingSettings
from inbound.errors import (
    AccountSendingPaused,
    ConfigurationSetDoesNotExist,
    ConfigurationSetSendingPaused,
    InvalidParameterValue,
)
from inbound.identities.book import IdentityBook
from inbound.records import Contact, SentMessage, SentStatus
from inbound.sending import checks, easy_dkim, list_management, mime, quota, tenants, tracking
from inbound.sending import configuration as state
from inbound.sending.easy_dkim import DkimKeys
from inbound.sending.list_management import ListManagement
from inbound.sending.origin import Origin
from inbound.sending.service import SendingConfiguration
from inbound.sending.templates import MissingAttribute
from inbound.store import Store
from inbound.timestamps import to_wire

# (MessageId, the moment SES accepted the message) → the message as sent. May raise an SES
# error (nothing is stored then) or `MissingAttribute` (a rendering failure: stored, not built).
Render = Callable[[str, datetime], bytes]


@dataclass(frozen=True)
class Submission:
    """One message as an operation read it."""

    operation: str
    source: str  # the address that sends: Source, else the From header
    senders: tuple[str, ...]  # every address the verification check covers
    recipients: tuple[str, ...]  # the envelope recipients
    return_path: str  # where feedback is forwarded
    origin: Origin
    configuration_set: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)  # for the trace (template, ARNs)
    list_management: ListManagement | None = None  # v2 SendEmail's ListManagementOptions


class Sender:
    def __init__(
        self,
        store: Store,
        sending: SendingConfiguration,
        identities: IdentityBook,
        settings: SendingSettings,
        dkim: DkimKeys,
        *,
        account_id: str,
    ) -> None:
        self._store = store
        self._sending = sending
        self._identities = identities
        self.settings = settings
        self.dkim = dkim
        self.account_id = account_id  # the tenants' ARNs in the errors of `tenant()`
        self._rate = quota.SendRate(settings.max_send_rate)
        self.http_url = ""  # set by app.py once the HTTP port is bound: verification links
        # Called with each message and its bytes once stored: the delivery worker's hand()
        # (set by app.py).
        self.on_stored: Callable[[SentMessage, bytes | None], None] | None = None

    @property
    def sandbox(self) -> bool:
        return not self.settings.production

    def send_quota(self, region: str) -> dict[str, float]:
        """GetSendQuota: the configured quotas and the recipients sent to in the last 24 hours."""
        return {
            "Max24HourSend": self.settings.max_24_hour_send,
            "MaxSendRate": self.settings.max_send_rate,
            "SentLast24Hours": self._sending.sent_last_24_hours(region),
        }

    def configuration_set_of(self, region: str, submission: Submission) -> str | None:
        """The set a send uses: the one it names (the API member, or X-SES-CONFIGURATION-SET),
        else the default configuration set of the verified identity it sends as (the address,
        else its domain: "A default configuration set at the email address level overrides a
        default configuration set at the domain level", and "Default configuration sets will
        only be applied if the identity is verified"; DG, "Understanding default configuration
        sets"). A default set deleted since: "your call to Amazon SES fails with a "bad
        request" error" (the text is UNCONFIRMED)."""
        if submission.configuration_set is not None:
            return submission.configuration_set
        identity = checks.sending_identity(submission.source, self._identities.all())
        name = None if identity is None else identity.configuration_set
        if identity is None or name is None:
            return None
        try:
            self._sending.get(state.CONFIGURATION_SETS, region, name)
        except ConfigurationSetDoesNotExist:
            raise InvalidParameterValue(
                f"The default configuration set <{name}> of identity {identity.name} does not "
                "exist."
            ) from None
        return name

    def tenant(
        self,
        region: str,
        name: str,
        *,
        source: str | None,
        configuration_set: str | None,
        template: str | None = None,
    ) -> dict[str, str]:
        """A send through tenant `name` (v2's TenantName, a raw message's X-SES-TENANT), checked
        by `tenants.gate`; what the send records of it (its `detail`)."""
        return tenants.gate(
            self._sending.in_region(state.TENANTS, region).get(name),
            name,
            region=region,
            account_id=self.account_id,
            identities=self._identities.all(),
            source=source,
            configuration_set=configuration_set,
            template=template,
        )

    def check(self, region: str, submission: Submission) -> str | None:
        """The account checks, in SES's order; returns the custom MAIL FROM domain to use."""
        name = self.configuration_set_of(region, submission)
        found = None if name is None else self._sending.get(state.CONFIGURATION_SETS, region, name)
        if not self._sending.account_sending_enabled(region):
            # AccountSendingPausedException: "Indicates that email sending is disabled for your
            # entire Amazon SES account." (the text is UNCONFIRMED)
            raise AccountSendingPaused("Email sending is disabled for this account.")
        if found is not None and not found["ReputationOptions"]["SendingEnabled"]:
            raise ConfigurationSetSendingPaused(
                f"Email sending is disabled for configuration set <{name}>.",
                ConfigurationSetName=name,
            )
        checks.verified(
            submission.senders,
            submission.recipients,
            self._identities.keeper.current.verified,
            sandbox=self.sandbox,
            region=region,
        )
        identity = checks.sending_identity(submission.source, self._identities.all())
        return checks.mail_from(identity)

    def _track(
        self,
        raw: bytes,
        message_id: str,
        region: str,
        configuration_set: str | None,
        trace: list[dict[str, Any]],
    ) -> bytes:
        """The built message with open and click tracking when its configuration set
        publishes those events (sending/tracking.py); before signing, so the signature covers
        the rewritten body."""
        if configuration_set is None:
            return raw
        found = self._sending.get(state.CONFIGURATION_SETS, region, configuration_set)
        wanted = tracking.Tracking.of(found)
        if not (wanted.opens or wanted.clicks):
            return raw
        tracked, links = tracking.rewrite(raw, self.http_url, message_id, wanted)
        if tracked is not raw:
            trace.append({"step": "tracking", "open": wanted.opens, "links": links})
        return tracked

    def _unsubscribe_link(self, raw: bytes, message_id: str, submission: Submission) -> bytes:
        """SES's unsubscribe headers and link (sending/list_management.py): "added only if the
        email is being sent to a single recipient". After tracking (the placeholder is no http
        link, so the unsubscribe link is never rewritten into a click redirect) and before
        signing, so the signature covers them."""
        if submission.list_management is None or len(set(submission.recipients)) != 1:
            return raw
        return list_management.with_unsubscribe(raw, list_management.url(self.http_url, message_id))

    def _sign(self, raw: bytes, trace: list[dict[str, Any]]) -> bytes:
        """The built message with its DKIM signature (Easy DKIM's key, or the user's BYODKIM
        key) when its From identity has one (sending/easy_dkim.py); unchanged otherwise. With
        no DKIM setup among the identities nothing signs, and the From field is not read."""
        identities = self._identities.all()
        if not any(identity.dkim_tokens for identity in identities.values()):
            return raw
        address = easy_dkim.from_address(raw)
        signer = None if address is None else easy_dkim.signer(address, identities)
        if signer is None:
            return raw
        signed = easy_dkim.sign(raw, signer, self.dkim.private_key(signer.domain, signer.external))
        trace.append({"step": "dkimSigned", "domain": signer.domain, "selector": signer.selector})
        return signed

    async def send(self, region: str, submission: Submission, render: Render) -> str:
        """Check, build and store one message; returns its MessageId once it is durable.

        The quota checks and the queueing of the message's write are one step on the event
        loop, and a message and its count are one transaction (`SendingConfiguration.
        store_sent`): concurrent requests cannot both pass the last unit of a quota (nor can
        engines sharing the store: the 24-hour quota is checked again in that transaction),
        none sees a message counted twice or not at all, a kill keeps both or neither, and
        concurrent sends share an fsync (the group commit)."""
        chosen = self.configuration_set_of(region, submission)
        if chosen != submission.configuration_set:  # an identity's default set
            submission = dataclasses.replace(submission, configuration_set=chosen)
        mail_from_domain = self.check(region, submission)
        new_contacts: tuple[Contact, ...] = ()
        if submission.list_management is not None:
            prepared = list_management.prepare(
                self._store,
                self._sending,
                region,
                submission.list_management,
                submission.recipients,
            )
            new_contacts = prepared.new_contacts
            detail = {**submission.detail, "listManagement": prepared.trace}
            submission = dataclasses.replace(submission, detail=detail)
        counted = sum(not checks.is_simulator(r) for r in submission.recipients)
        record, raw = self._build(region, submission, render, mail_from_domain)
        attempts = counted if raw is not None else 0  # a rendering failure sends nothing
        body = await self._store.sent_body(record.id, raw)
        try:  # no await from the quota checks to the write queued: one step on the event loop
            quota.check_daily(
                self._sending.queued_last_24_hours(region),
                counted,
                self.settings.max_24_hour_send,
            )
            self._rate.take(region, len(submission.recipients))
            if attempts:
                maximum = self.settings.max_24_hour_send
                stored = self._sending.store_sent(region, record, body, attempts, maximum=maximum)
            else:
                stored = self._store.add_sent(record, body)
        except BaseException:
            body.discard()
            raise
        await stored
        if new_contacts:  # the recipients' contacts, once the message is durable
            await self._store.add_contacts(new_contacts)
        # The message is durable: delivery (inbound/sending/delivery.py) takes it from here,
        # and a restart finds it pending in the store if this process dies first.
        if self.on_stored is not None:
            self.on_stored(record, raw)
        return record.id

    def _build(
        self, region: str, submission: Submission, render: Render, mail_from_domain: str | None
    ) -> tuple[SentMessage, bytes | None]:
        """The record and the bytes; an SES error of `render` (size, charset) propagates."""
        accepted = datetime.now(UTC)
        message_id = mime.new_message_id(accepted)
        origin = submission.origin
        trace: list[dict[str, Any]] = [
            {"step": "accepted", "region": region, "sandbox": self.sandbox}
            | {"sourceIp": origin.source_ip, "callerIdentity": origin.identity}
            | submission.detail
        ]
        raw: bytes | None
        try:
            raw = render(message_id, accepted)
        except MissingAttribute as missing:
            # SES answers with a MessageId, sends nothing and publishes a Rendering Failure
            # event (issue 11 item 8 publishes it from this trace row).
            raw = None
            error = f"Attribute '{missing.path}' is not present in the rendering data."
            trace.append({"step": "renderingFailure", "error": error})
        else:
            trace.append({"step": "built", "size": len(raw)})
            raw = self._track(raw, message_id, region, submission.configuration_set, trace)
            raw = self._unsubscribe_link(raw, message_id, submission)
            raw = self._sign(raw, trace)
        status = SentStatus.ACCEPTED if raw is not None else SentStatus.RENDERING_FAILURE
        trace.append({"step": "stored", "status": status})
        record = SentMessage(
            id=message_id,
            operation=submission.operation,
            created=to_wire(accepted),
            source=submission.source,
            mail_from=mime.envelope_sender(message_id, region, mail_from_domain),
            recipients=submission.recipients,
            return_path=submission.return_path,
            configuration_set=submission.configuration_set,
            tags=submission.tags,
            status=status,
            size=0 if raw is None else len(raw),
            trace=trace,
        )
        return record, raw
