"""List management: contact lists (CreateContactList, GetContactList, ListContactLists,
UpdateContactList, DeleteContactList) and their contacts (CreateContact, GetContact,
ListContacts, UpdateContact, DeleteContact).

A list is a store document (`sending.contact-lists`, with its Tags, so TagResource works on
it), its contacts rows of the store's contacts table; the rules are in
`sending/contact_lists.py`. The limits are the Developer Guide's ("Only one contact list is
allowed per AWS account", "A list can have a maximum of 20 topics"); the error codes, texts
and the order of the checks are those observed on SES v2 (docs/behaviour.md, "List
management").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import AlreadyExists, BadRequest, NotFound
from inbound.records import Contact
from inbound.sending import configuration as state
from inbound.sending import contact_lists as lists
from inbound.sending.contact_lists import CONTACT_LISTS
from inbound.timestamps import now_iso

Params = dict[str, Any]
_NAME_RULE = (
    "can contain up to 64 characters. Only alphanumeric characters, underscores(_) and "
    "hyphens(-) are allowed."
)


# ── checks ──────────────────────────────────────────────────────────────────────────────────
def _name(value: str, member: str) -> str:
    if not value.strip():
        raise BadRequest(f"{member} can't be blank.")
    if lists.NAME.fullmatch(value) is None:
        raise BadRequest(f"{member} {_NAME_RULE}")
    return value


def _topics(topics: Sequence[Mapping[str, Any]]) -> list[Params]:
    if len(topics) > lists.MAX_TOPICS:
        raise BadRequest(f"Maximum of <{lists.MAX_TOPICS}> topics allowed per ContactList")
    seen: set[str] = set()
    for topic in topics:
        _name(topic["TopicName"], "TopicName")
        if len(topic["DisplayName"]) > lists.MAX_DISPLAY_NAME:
            raise BadRequest(
                f"Topic DisplayName can contain up to <{lists.MAX_DISPLAY_NAME}> characters."
            )
        if topic["TopicName"] in seen:
            raise BadRequest("Duplicate topic names are not allowed within a List.")
        seen.add(topic["TopicName"])
    return [{k: v for k, v in topic.items() if v is not None} for topic in topics]


def _description(value: str | None) -> None:
    if value is not None and len(value) > lists.MAX_DESCRIPTION:
        raise BadRequest(f"List description can contain up to {lists.MAX_DESCRIPTION} characters.")


def _address(value: str) -> str:
    if not value.strip():
        raise BadRequest("EmailAddress can't be blank.")
    if lists.ADDRESS.fullmatch(value) is None:
        raise BadRequest(f"EmailAddress <{value}> is invalid")
    return value


def _list(ctx: OperationContext, name: str) -> Params:
    """The list, or NotFoundException ("List with name: <name> doesn't exist.")."""
    return ctx.sending.get(CONTACT_LISTS, ctx.region, _name(name, "ContactListName"))


def _in_list(contact_list: Mapping[str, Any], topic: str) -> None:
    if topic not in lists.defaults(contact_list):
        raise BadRequest(f"List: {contact_list['ContactListName']} doesn't contain Topic: {topic}")


def _preferences(
    contact_list: Mapping[str, Any], given: Sequence[Mapping[str, str]] | None
) -> dict[str, str]:
    chosen: dict[str, str] = {}
    for preference in given or ():
        _in_list(contact_list, preference["TopicName"])
        chosen[preference["TopicName"]] = preference["SubscriptionStatus"]
    return chosen


def _attributes(value: str | None) -> str | None:
    """ "The AttributesData is a JSON field where you can put any metadata about our contact.
    It must be a valid JSON object." (the text of the error is UNCONFIRMED)"""
    if value is not None:
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise BadRequest("AttributesData must be a valid JSON object.")
    return value


def _missing(address: str) -> NotFound:
    return NotFound(f"{address} doesn't exist in List.")


# ── contact lists ───────────────────────────────────────────────────────────────────────────
async def create_contact_list(ctx: OperationContext, p: Params) -> None:
    """A second list, whatever its name (the list's own name too), is refused by the quota
    before any "already exists": AlreadyExistsException is never what SES answers here."""
    name = _name(p["ContactListName"], "ContactListName")
    topics = _topics(p.get("Topics") or ())
    _description(p.get("Description"))
    now = now_iso()
    body: Params = {
        "ContactListName": name,
        "Topics": topics,
        "Tags": list(p.get("Tags") or ()),
        "CreatedTimestamp": now,
        "LastUpdatedTimestamp": now,
    }
    if p.get("Description") is not None:
        body["Description"] = p["Description"]
    full = BadRequest(f"A maximum of {lists.MAX_CONTACT_LISTS} Lists allowed per account.")

    def quota() -> None:
        if len(ctx.sending.in_region(CONTACT_LISTS, ctx.region)) >= lists.MAX_CONTACT_LISTS:
            raise full

    await ctx.sending.create(
        CONTACT_LISTS,
        ctx.region,
        name,
        body,
        exists=full,
        limit=lists.MAX_CONTACT_LISTS,
        what="contact lists",
        check=quota,
    )


async def get_contact_list(ctx: OperationContext, p: Params) -> Params:
    found = _list(ctx, p["ContactListName"])
    return {k: found[k] for k in found if k != "Tags"} | {"Tags": found.get("Tags", [])}


async def list_contact_lists(ctx: OperationContext, p: Params) -> Params:
    size = state.page_size(p.get("PageSize"), lists.PAGE_DEFAULT, lists.PAGE_MAX, "PageSize")
    found = ctx.sending.in_region(CONTACT_LISTS, ctx.region)
    chosen, token = state.page(sorted(found), p.get("NextToken"), size)
    listed = [
        {"ContactListName": n, "LastUpdatedTimestamp": found[n]["LastUpdatedTimestamp"]}
        for n in chosen
    ]
    return {"ContactLists": listed, "NextToken": token}


async def update_contact_list(ctx: OperationContext, p: Params) -> None:
    """Topics, when given, replace the list's; a Description, when given, replaces its."""
    name = _name(p["ContactListName"], "ContactListName")
    topics = None if p.get("Topics") is None else _topics(p["Topics"])
    _description(p.get("Description"))
    async with ctx.sending.editing(CONTACT_LISTS, ctx.region, name) as found:
        if topics is not None:
            found["Topics"] = topics
        if p.get("Description") is not None:
            found["Description"] = p["Description"]
        found["LastUpdatedTimestamp"] = now_iso()


async def delete_contact_list(ctx: OperationContext, p: Params) -> None:
    """The list and every contact of it."""
    name = _list(ctx, p["ContactListName"])["ContactListName"]
    await ctx.store.delete_contact_list(ctx.region, name, CONTACT_LISTS)


# ── contacts ────────────────────────────────────────────────────────────────────────────────
async def create_contact(ctx: OperationContext, p: Params) -> None:
    address = _address(p["EmailAddress"])
    contact_list = _list(ctx, p["ContactListName"])
    contact = lists.new_contact(
        ctx.region,
        contact_list["ContactListName"],
        address,
        topic_preferences=_preferences(contact_list, p.get("TopicPreferences")),
        unsubscribe_all=bool(p.get("UnsubscribeAll")),
        attributes_data=_attributes(p.get("AttributesData")),
    )
    [added] = await ctx.store.add_contacts([contact])
    if not added:
        raise AlreadyExists(f"{address} already exists in List.")


def _contact(ctx: OperationContext, p: Params) -> tuple[Params, Contact]:
    address = _address(p["EmailAddress"])
    contact_list = _list(ctx, p["ContactListName"])
    found = ctx.store.contact(ctx.region, contact_list["ContactListName"], address)
    if found is None:
        raise _missing(address)
    return contact_list, found


async def get_contact(ctx: OperationContext, p: Params) -> Params:
    return lists.wire(*_contact(ctx, p), full=True)


async def update_contact(ctx: OperationContext, p: Params) -> None:
    """TopicPreferences are merged into the contact's by topic; UnsubscribeAll and
    AttributesData are replaced (left out: false and none)."""
    address = _address(p["EmailAddress"])
    contact_list = _list(ctx, p["ContactListName"])
    chosen = _preferences(contact_list, p.get("TopicPreferences"))
    attributes = _attributes(p.get("AttributesData"))
    found = ctx.store.contact(ctx.region, contact_list["ContactListName"], address)
    if found is None:
        raise _missing(address)
    await ctx.store.put_contact(
        Contact(
            region=found.region,
            contact_list=found.contact_list,
            email_address=found.email_address,
            topic_preferences={**found.topic_preferences, **chosen},
            unsubscribe_all=bool(p.get("UnsubscribeAll")),
            attributes_data=attributes,
            created=found.created,
            updated=now_iso(),
        )
    )


async def delete_contact(ctx: OperationContext, p: Params) -> None:
    address = _address(p["EmailAddress"])
    name = _list(ctx, p["ContactListName"])["ContactListName"]
    if not await ctx.store.delete_contact(ctx.region, name, address):
        raise _missing(address)


async def list_contacts(ctx: OperationContext, p: Params) -> Params:
    """Contacts in address order, those the Filter keeps; the NextToken names the next one
    kept, so a page is never short of PageSize while more follow."""
    contact_list = _list(ctx, p["ContactListName"])
    name = contact_list["ContactListName"]
    given = p.get("Filter") or {}
    topic = (given.get("TopicFilter") or {}).get("TopicName")
    if topic is not None:
        _in_list(contact_list, topic)
    size = state.page_size(p.get("PageSize"), lists.PAGE_DEFAULT, lists.PAGE_MAX, "PageSize")
    start = state.token_start(p["NextToken"]) if p.get("NextToken") else ""
    kept: list[Contact] = []
    while len(kept) <= size:
        batch = ctx.store.contacts(ctx.region, name, start, lists.PAGE_MAX)
        kept += [c for c in batch if lists.matches(contact_list, c, given)]
        if len(batch) < lists.PAGE_MAX:
            break
        start = batch[-1].key + "\0"  # just after the last one read
    token = state.next_token(kept[size].key) if len(kept) > size else None
    return {
        "Contacts": [lists.wire(contact_list, c, full=False) for c in kept[:size]],
        "NextToken": token,
    }
