"""SES v2 list management, pure logic: what a contact list's topics and a contact's preferences
say about a topic, the ListContacts filter, and the wire shapes of both.

A contact's status for a topic is its own choice (`TopicPreferences`), else the topic's
`DefaultSubscriptionStatus` ("The default subscription status to be applied to a contact if the
contact has not noted their preference for subscribing to a topic", API reference, Topic).
`UnsubscribeAll` is "unsubscribed from all contact list topics". The lists are store documents
of kind `CONTACT_LISTS` keyed `<region>/<name>`; the contacts a store table
(`store/contacts.py`). Developer Guide, "Using list management" and "Using subscription
management"; the choices are in docs/behaviour.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from inbound.records import Contact
from inbound.sending.events import TopicPreferences
from inbound.timestamps import to_wire

CONTACT_LISTS = "sending.contact-lists"
MAX_CONTACT_LISTS = 1  # "Only one contact list is allowed per AWS account."
MAX_TOPICS = 20  # "A list can have a maximum of 20 topics."
MAX_DISPLAY_NAME = 128
MAX_DESCRIPTION = 500
PAGE_DEFAULT, PAGE_MAX = 100, 1000  # ListContactLists / ListContacts PageSize (UNCONFIRMED)
OPT_IN, OPT_OUT = "OPT_IN", "OPT_OUT"
_EVENT_STATUS = {OPT_IN: "OptIn", OPT_OUT: "OptOut"}  # the Subscription event's spelling
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # ContactListName and TopicName
ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

Json = dict[str, Any]


def defaults(contact_list: Mapping[str, Any]) -> dict[str, str]:
    """Each topic's default status, by name, in the list's order."""
    return {t["TopicName"]: t["DefaultSubscriptionStatus"] for t in contact_list.get("Topics", ())}


def status(
    contact_list: Mapping[str, Any], contact: Contact, topic: str, *, use_default: bool = True
) -> str | None:
    """The contact's status for `topic`: its choice, else (when `use_default`) the default."""
    chosen = contact.topic_preferences.get(topic)
    if chosen is not None or not use_default:
        return chosen
    return defaults(contact_list).get(topic)


def unsubscribed(contact_list: Mapping[str, Any], contact: Contact, topic: str | None) -> bool:
    """Whether a send to this contact with ListManagementOptions naming `topic` (or no topic)
    bounces: "If a contact unsubscribes from a particular topic or list, Amazon SES does not
    allow email sending to the contact for that topic or list in the future"."""
    if contact.unsubscribe_all:
        return True
    return topic is not None and status(contact_list, contact, topic) == OPT_OUT


def matches(contact_list: Mapping[str, Any], contact: Contact, given: Mapping[str, Any]) -> bool:
    """ListContacts' Filter. With a TopicFilter, the contact's status for that topic (its own
    choice; the default too when UseDefaultIfPreferenceUnavailable) must be FilteredStatus
    (any status when none is given). Without one, FilteredStatus OPT_OUT lists the contacts
    "unsubscribed from all topics in the list", OPT_IN the others."""
    wanted = given.get("FilteredStatus")
    topic_filter = given.get("TopicFilter") or {}
    topic = topic_filter.get("TopicName")
    if topic is None:
        if wanted is None:
            return True
        return contact.unsubscribe_all == bool(wanted == OPT_OUT)
    use_default = bool(topic_filter.get("UseDefaultIfPreferenceUnavailable"))
    found = status(contact_list, contact, topic, use_default=use_default)
    return found is not None and (wanted is None or found == wanted)


def _preferences(chosen: Mapping[str, str]) -> list[Json]:
    return [{"TopicName": t, "SubscriptionStatus": s} for t, s in chosen.items()]


def _split(contact_list: Mapping[str, Any], contact: Contact) -> tuple[dict[str, str], ...]:
    """The contact's choices for the list's topics (a topic UpdateContactList removed is no
    longer one), and the defaults of the topics it made none for."""
    topics = defaults(contact_list)
    chosen = {t: s for t, s in contact.topic_preferences.items() if t in topics}
    return chosen, {t: s for t, s in topics.items() if t not in chosen}


def wire(contact_list: Mapping[str, Any], contact: Contact, *, full: bool) -> Json:
    """GetContact's answer (`full`), else one of ListContacts' Contacts. TopicDefaultPreferences
    are the topics the contact has no choice for, with their defaults."""
    chosen, unchosen = _split(contact_list, contact)
    found: Json = {
        "EmailAddress": contact.email_address,
        "TopicPreferences": _preferences(chosen),
        "TopicDefaultPreferences": _preferences(unchosen),
        "UnsubscribeAll": contact.unsubscribe_all,
        "LastUpdatedTimestamp": contact.updated,
    }
    if full:
        found["ContactListName"] = contact.contact_list
        found["CreatedTimestamp"] = contact.created
        if contact.attributes_data is not None:
            found["AttributesData"] = contact.attributes_data
    return found


def new_contact(region: str, contact_list: str, address: str, **given: Any) -> Contact:
    now = to_wire(datetime.now(UTC))
    return Contact(
        region=region,
        contact_list=contact_list,
        email_address=address,
        topic_preferences=given.get("topic_preferences", {}),
        unsubscribe_all=given.get("unsubscribe_all", False),
        attributes_data=given.get("attributes_data"),
        created=now,
        updated=now,
    )


def unsubscribe(contact: Contact, topic: str | None) -> Contact:
    """What an unsubscribe link does: "If a contact clicks the List-Unsubscribe header link in
    an email which has both the contact list and topic specified, then the contact will be
    unsubscribed only from that specific topic. If the topic is not specified, then the contact
    will be unsubscribed from all the topics in the list." """
    now = to_wire(datetime.now(UTC))
    if topic is None:
        return replace(contact, unsubscribe_all=True, updated=now)
    return replace(
        contact, topic_preferences={**contact.topic_preferences, topic: OPT_OUT}, updated=now
    )


def event_preferences(contact_list: Mapping[str, Any], contact: Contact) -> TopicPreferences:
    """The contact's preferences as a Subscription event writes them: its own choices, and the
    defaults of the other topics."""
    chosen, unchosen = _split(contact_list, contact)
    return TopicPreferences(
        contact.unsubscribe_all,
        tuple((t, _EVENT_STATUS[s]) for t, s in chosen.items()),
        tuple((t, _EVENT_STATUS[s]) for t, s in unchosen.items()),
    )
