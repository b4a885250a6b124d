"""Subscription management (SendEmail's ListManagementOptions): the unsubscribe link and headers
SES adds, the recipients SES does not send to, and what using the link does.

"Amazon SES automatically enables the unsubscribe links in every outgoing email when you
specify the contactListName and topicName within ListManagementOptions" (Developer Guide,
"Using subscription management"):
* "The List-Unsubscribe header and footer link are added only if the email is being sent to a
  single recipient": `List-Unsubscribe: <url>` and `List-Unsubscribe-Post:
  List-Unsubscribe=One-Click` (RFC 8058), in place of any the message had ("Amazon SES
  overrides them"); the `{{amazonSESUnsubscribeUrl}}` placeholder of the text and HTML parts
  becomes the URL, its first two occurrences ("only the first two occurrences are replaced");
* "If you include ListManagementOptions in your SendEmail request to a recipient email address
  that is not on your contact list, then a contact will be created on your list automatically";
* "Amazon SES will bounce an email if it is sent to an unsubscribed contact on your contact
  list": recorded at the send (the trace's `listManagement.unsubscribed`), bounced by delivery.

The URL is this engine's HTTP port, `<http_url>/unsubscribe/<MessageId>` (api/unsubscribe.py),
so a test can unsubscribe for real: the message names the list, the topic and its recipient.
Using it unsubscribes the contact from the topic, or from the list without one, and publishes a
Subscription event to the message's configuration set. Choices: docs/behaviour.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from inbound.errors import InvalidParameterValue
from inbound.records import Contact, SentMessage
from inbound.sending import contact_lists as lists
from inbound.sending import mime
from inbound.sending.events import Subscription
from inbound.sending.sent_mail import SentEvents, region_of
from inbound.sending.service import SendingConfiguration
from inbound.store import Store

PATH = "/unsubscribe/"
PLACEHOLDER = "{{amazonSESUnsubscribeUrl}}"
REPLACED = 2  # "You can include the placeholder two times maximum."
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058's List-Unsubscribe-Post value and body
FROM_HEADER, FROM_LINK = "UnsubscribeHeader", "UnsubscribeLink"  # the event's `source`


@dataclass(frozen=True)
class ListManagement:
    """SendEmail's ListManagementOptions."""

    contact_list: str
    topic: str | None = None


HEADER = "X-SES-LIST-MANAGEMENT-OPTIONS"


def from_header(value: str) -> ListManagement:
    """ListManagementOptions as a raw message's X-SES-LIST-MANAGEMENT-OPTIONS header gives them
    (SendRawEmail and the SMTP interface): `<contactListName>` or `<contactListName>;
    topic=<topicName>` (the form of AWS's own Rails mailer's tests, github.com/aws/
    aws-actionmailer-ses-ruby). Anything else is InvalidParameterValue (the text is ours,
    UNCONFIRMED); a name that is no list's fails as ListManagementOptions do, at the send."""
    name, *parameters = (part.strip() for part in value.split(";"))
    topic = None
    for parameter in filter(None, parameters):
        key, equals, given = (part.strip() for part in parameter.partition("="))
        if not (equals and key.lower() == "topic" and given) or topic is not None:
            raise InvalidParameterValue(f"Invalid {HEADER} header: {value}")
        topic = given
    if not name:
        raise InvalidParameterValue(f"Invalid {HEADER} header: {value}")
    return ListManagement(name, topic)


def url(base: str, message_id: str) -> str:
    return f"{base}{PATH}{message_id}"


def with_unsubscribe(raw: bytes, link: str) -> bytes:
    """The message with SES's List-Unsubscribe headers and its placeholders replaced."""

    def edit(subtype: str, text: str) -> str:
        return text.replace(PLACEHOLDER, link, REPLACED)

    edited = mime.edit_text_parts(raw, ("plain", "html"), edit)
    return mime.replace_fields(
        edited, [("List-Unsubscribe", f"<{link}>"), ("List-Unsubscribe-Post", ONE_CLICK)]
    )


@dataclass(frozen=True)
class Prepared:
    """What a send with ListManagementOptions records (`trace`, in the accepted step) and the
    contacts it creates once it is stored."""

    trace: dict[str, Any]
    new_contacts: tuple[Contact, ...]


def prepare(
    store: Store,
    sending: SendingConfiguration,
    region: str,
    options: ListManagement,
    recipients: tuple[str, ...],
) -> Prepared:
    """The list must exist (NotFoundException) and have the topic (BadRequestException, the
    text ListContacts answers with); each recipient's contact, made for those without one,
    says whether it is unsubscribed."""
    found = sending.get(lists.CONTACT_LISTS, region, options.contact_list)
    name = found["ContactListName"]
    if options.topic is not None and options.topic not in lists.defaults(found):
        raise InvalidParameterValue(f"List: {name} doesn't contain Topic: {options.topic}")
    unsubscribed: list[str] = []
    new: dict[str, Contact] = {}
    for recipient in dict.fromkeys(recipients):
        contact = store.contact(region, name, recipient)
        if contact is None:
            contact = new.setdefault(recipient.lower(), lists.new_contact(region, name, recipient))
        if lists.unsubscribed(found, contact, options.topic):
            unsubscribed.append(recipient)
    trace = {"contactList": name, "topic": options.topic, "unsubscribed": unsubscribed}
    return Prepared(trace, tuple(new.values()))


def unsubscribed_recipients(record: SentMessage) -> set[str]:
    """The recipients a send did not go to because they are unsubscribed."""
    accepted = record.trace[0] if record.trace else {}
    return set((accepted.get("listManagement") or {}).get("unsubscribed", ()))


class Unsubscriber:
    """What a GET or a one-click POST of a message's unsubscribe URL does (api/unsubscribe.py)."""

    def __init__(self, store: Store, sending: SendingConfiguration, events: SentEvents) -> None:
        self._store = store
        self._sending = sending
        self._events = events

    async def unsubscribe(self, message_id: str, source: str) -> bool:
        """Unsubscribe the recipient of the message; False when the message has no link (none
        such, several recipients, no ListManagementOptions, or its list deleted since). The
        Subscription event is published when the preferences change (a second use changes
        nothing and publishes nothing)."""
        record = self._store.sent_message(message_id)
        managed = _managed(record)
        if record is None or managed is None:
            return False
        region = region_of(record, "")
        name, topic = managed["contactList"], managed.get("topic")
        found = self._sending.in_region(lists.CONTACT_LISTS, region).get(name)
        if found is None:
            return False
        [recipient] = set(record.recipients)
        before = self._store.contact(region, name, recipient) or lists.new_contact(
            region, name, recipient
        )
        after = lists.unsubscribe(before, topic)
        if replace(after, updated=before.updated) == before:
            return True
        await self._store.put_contact(after)
        change = Subscription(
            name,
            datetime.now(UTC),
            source,
            lists.event_preferences(found, after),
            lists.event_preferences(found, before),
        )
        await self._events.publish(record, change)
        return True


def _managed(record: SentMessage | None) -> Mapping[str, Any] | None:
    """The message's list management, when it has an unsubscribe link."""
    if record is None or not record.trace or len(set(record.recipients)) != 1:
        return None
    managed = record.trace[0].get("listManagement")
    return managed if isinstance(managed, dict) else None
