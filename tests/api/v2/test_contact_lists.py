"""List management through boto3 `sesv2` against the running server: contact lists and
contacts, each operation's answer and errors (codes, statuses and texts as SES v2 answers
them), state kept across a restart, and ListContacts' paging and filter as properties."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbound.testing import RunningInbound
from tests.api.v2.conftest import client, error

TOPICS = [
    {"TopicName": "Sports", "DisplayName": "Sports", "DefaultSubscriptionStatus": "OPT_OUT"},
    {
        "TopicName": "Cycling",
        "DisplayName": "Cycling newsletter",
        "Description": "Never miss a cycling update.",
        "DefaultSubscriptionStatus": "OPT_IN",
    },
]


def _list(v2: Any, name: str = "Newsletter", **extra: Any) -> None:
    v2.create_contact_list(ContactListName=name, Topics=TOPICS, **extra)


def test_contact_list_lifecycle(v2: Any) -> None:
    _list(v2, Description="All our news", Tags=[{"Key": "team", "Value": "growth"}])
    found = v2.get_contact_list(ContactListName="Newsletter")
    assert found["ContactListName"] == "Newsletter"
    assert found["Topics"] == TOPICS
    assert found["Description"] == "All our news"
    assert found["Tags"] == [{"Key": "team", "Value": "growth"}]
    assert isinstance(found["CreatedTimestamp"], datetime)
    [listed] = v2.list_contact_lists()["ContactLists"]
    assert listed == {
        "ContactListName": "Newsletter",
        "LastUpdatedTimestamp": found["LastUpdatedTimestamp"],
    }
    v2.update_contact_list(ContactListName="Newsletter", Topics=TOPICS[1:])
    updated = v2.get_contact_list(ContactListName="Newsletter")
    assert updated["Topics"] == TOPICS[1:] and updated["Description"] == "All our news"
    assert updated["LastUpdatedTimestamp"] >= found["LastUpdatedTimestamp"]
    v2.update_contact_list(ContactListName="Newsletter", Description="Cycling only")
    assert v2.get_contact_list(ContactListName="Newsletter")["Topics"] == TOPICS[1:]
    v2.delete_contact_list(ContactListName="Newsletter")
    assert v2.list_contact_lists()["ContactLists"] == []
    assert error(v2.get_contact_list, ContactListName="Newsletter") == (
        "NotFoundException",
        404,
        "List with name: Newsletter doesn't exist.",
    )


def test_one_contact_list_per_account(v2: Any) -> None:
    _list(v2)
    full = ("BadRequestException", 400, "A maximum of 1 Lists allowed per account.")
    assert error(v2.create_contact_list, ContactListName="Other") == full
    assert error(v2.create_contact_list, ContactListName="Newsletter") == full  # not "exists"
    v2.delete_contact_list(ContactListName="Newsletter")
    v2.create_contact_list(ContactListName="Other")


def test_contact_list_checks(v2: Any) -> None:
    create = v2.create_contact_list
    rule = "can contain up to 64 characters. Only alphanumeric characters, underscores(_) and "
    rule += "hyphens(-) are allowed."
    assert error(create, ContactListName="bad name") == (
        "BadRequestException",
        400,
        f"ContactListName {rule}",
    )
    assert error(create, ContactListName="x" * 65)[2] == f"ContactListName {rule}"
    topic = {"TopicName": "t", "DisplayName": "d", "DefaultSubscriptionStatus": "OPT_IN"}
    many = [{**topic, "TopicName": f"t{i}"} for i in range(21)]
    assert error(create, ContactListName="L", Topics=many)[2] == (
        "Maximum of <20> topics allowed per ContactList"
    )
    assert error(create, ContactListName="L", Topics=[topic, topic])[2] == (
        "Duplicate topic names are not allowed within a List."
    )
    assert error(create, ContactListName="L", Topics=[{**topic, "TopicName": "a b"}])[2] == (
        f"TopicName {rule}"
    )
    assert error(create, ContactListName="L", Topics=[{**topic, "DisplayName": "d" * 129}])[2] == (
        "Topic DisplayName can contain up to <128> characters."
    )
    assert error(create, ContactListName="L", Description="d" * 501)[2] == (
        "List description can contain up to 500 characters."
    )
    create(ContactListName="L", Topics=[topic, *many[:19]], Description="d" * 500)  # the limits
    assert error(v2.get_contact_list, ContactListName="bad name")[:2] == (
        "BadRequestException",
        400,
    )
    assert error(v2.list_contact_lists, PageSize=0)[:2] == ("BadRequestException", 400)


def test_contact_lifecycle(v2: Any) -> None:
    _list(v2)
    v2.create_contact(
        ContactListName="Newsletter",
        EmailAddress="Ann@Example.com",
        TopicPreferences=[{"TopicName": "Sports", "SubscriptionStatus": "OPT_IN"}],
        AttributesData='{"Name": "Ann"}',
    )
    found = v2.get_contact(ContactListName="Newsletter", EmailAddress="ann@example.com")
    assert found["ContactListName"] == "Newsletter"
    assert found["EmailAddress"] == "Ann@Example.com"  # as first given
    assert found["TopicPreferences"] == [{"TopicName": "Sports", "SubscriptionStatus": "OPT_IN"}]
    assert found["TopicDefaultPreferences"] == [
        {"TopicName": "Cycling", "SubscriptionStatus": "OPT_IN"}
    ]
    assert found["UnsubscribeAll"] is False
    assert found["AttributesData"] == '{"Name": "Ann"}'
    assert found["CreatedTimestamp"] == found["LastUpdatedTimestamp"]
    v2.update_contact(
        ContactListName="Newsletter",
        EmailAddress="ann@example.com",
        TopicPreferences=[{"TopicName": "Cycling", "SubscriptionStatus": "OPT_OUT"}],
        UnsubscribeAll=True,
    )
    updated = v2.get_contact(ContactListName="Newsletter", EmailAddress="ann@example.com")
    assert updated["TopicPreferences"] == [  # merged by topic
        {"TopicName": "Sports", "SubscriptionStatus": "OPT_IN"},
        {"TopicName": "Cycling", "SubscriptionStatus": "OPT_OUT"},
    ]
    assert updated["TopicDefaultPreferences"] == []
    assert updated["UnsubscribeAll"] is True
    assert "AttributesData" not in updated  # replaced: left out is none
    [listed] = v2.list_contacts(ContactListName="Newsletter")["Contacts"]
    assert listed == {
        "EmailAddress": "Ann@Example.com",
        "TopicPreferences": updated["TopicPreferences"],
        "TopicDefaultPreferences": [],
        "UnsubscribeAll": True,
        "LastUpdatedTimestamp": updated["LastUpdatedTimestamp"],
    }
    v2.delete_contact(ContactListName="Newsletter", EmailAddress="ANN@example.com")
    assert v2.list_contacts(ContactListName="Newsletter")["Contacts"] == []


def test_contact_errors(v2: Any) -> None:
    missing = ("NotFoundException", 404, "List with name: Nope doesn't exist.")
    assert error(v2.create_contact, ContactListName="Nope", EmailAddress="a@example.com") == (
        missing
    )
    assert error(v2.list_contacts, ContactListName="Nope") == missing
    _list(v2)
    create = v2.create_contact
    create(ContactListName="Newsletter", EmailAddress="a@example.com")
    assert error(create, ContactListName="Newsletter", EmailAddress="A@example.com") == (
        "AlreadyExistsException",
        400,
        "A@example.com already exists in List.",
    )
    assert error(create, ContactListName="Newsletter", EmailAddress="not-an-address") == (
        "BadRequestException",
        400,
        "EmailAddress <not-an-address> is invalid",
    )
    assert error(create, ContactListName="Newsletter", EmailAddress=" ")[2] == (
        "EmailAddress can't be blank."
    )
    unknown = [{"TopicName": "Golf", "SubscriptionStatus": "OPT_IN"}]
    assert error(
        create, ContactListName="Newsletter", EmailAddress="b@example.com", TopicPreferences=unknown
    ) == ("BadRequestException", 400, "List: Newsletter doesn't contain Topic: Golf")
    assert error(
        create, ContactListName="Newsletter", EmailAddress="b@example.com", AttributesData="[1]"
    )[:2] == ("BadRequestException", 400)
    gone = ("NotFoundException", 404, "b@example.com doesn't exist in List.")
    for call in (v2.get_contact, v2.update_contact, v2.delete_contact):
        assert error(call, ContactListName="Newsletter", EmailAddress="b@example.com") == gone
    assert error(
        v2.list_contacts,
        ContactListName="Newsletter",
        Filter={"FilteredStatus": "OPT_IN", "TopicFilter": {"TopicName": "Golf"}},
    ) == ("BadRequestException", 400, "List: Newsletter doesn't contain Topic: Golf")
    assert error(v2.list_contacts, ContactListName="Newsletter", NextToken="!!")[:2] == (
        "BadRequestException",
        400,
    )


def test_deleting_a_list_deletes_its_contacts(v2: Any) -> None:
    _list(v2)
    v2.create_contact(ContactListName="Newsletter", EmailAddress="a@example.com")
    v2.delete_contact_list(ContactListName="Newsletter")
    _list(v2)
    assert v2.list_contacts(ContactListName="Newsletter")["Contacts"] == []


def test_lists_and_contacts_survive_a_restart(
    inbound_factory: Callable[..., RunningInbound],
) -> None:
    first = inbound_factory()
    _list(client(first))
    client(first).create_contact(ContactListName="Newsletter", EmailAddress="a@example.com")
    data_dir = first.settings.data_dir
    first.stop()
    again = client(inbound_factory(data_dir=data_dir))
    assert again.get_contact_list(ContactListName="Newsletter")["Topics"] == TOPICS
    [contact] = again.list_contacts(ContactListName="Newsletter")["Contacts"]
    assert contact["EmailAddress"] == "a@example.com"


# ── ListContacts: paging and the filter, as properties ─────────────────────────────────────
STATUS = st.sampled_from(["OPT_IN", "OPT_OUT"])
CONTACT = st.tuples(st.booleans(), st.dictionaries(st.sampled_from(["Sports", "Cycling"]), STATUS))
FILTER = st.one_of(
    st.just({}),
    st.builds(lambda s: {"FilteredStatus": s}, STATUS),
    st.builds(
        lambda s, t, d: {
            **({"FilteredStatus": s} if s else {}),
            "TopicFilter": {"TopicName": t, "UseDefaultIfPreferenceUnavailable": d},
        },
        st.none() | STATUS,
        st.sampled_from(["Sports", "Cycling"]),
        st.booleans(),
    ),
)
DEFAULTS = {"Sports": "OPT_OUT", "Cycling": "OPT_IN"}


def _expected(contact: tuple[bool, dict[str, str]], given: dict[str, Any]) -> bool:
    """The filter as docs/behaviour.md states it, written again independently."""
    unsubscribe_all, chosen = contact
    topic_filter = given.get("TopicFilter")
    if topic_filter is None:
        return "FilteredStatus" not in given or unsubscribe_all == (
            given["FilteredStatus"] == "OPT_OUT"
        )
    topic = topic_filter["TopicName"]
    found = chosen.get(topic)
    if found is None and topic_filter["UseDefaultIfPreferenceUnavailable"]:
        found = DEFAULTS[topic]
    return found is not None and given.get("FilteredStatus", found) == found


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    contacts=st.lists(CONTACT, max_size=9),
    given_filter=FILTER,
    size=st.integers(min_value=1, max_value=4),
)
def test_pages_of_list_contacts_are_the_filtered_contacts_in_order(
    v2: Any,
    contacts: list[tuple[bool, dict[str, str]]],
    given_filter: dict[str, Any],
    size: int,
) -> None:
    if v2.list_contact_lists()["ContactLists"]:
        v2.delete_contact_list(ContactListName="Newsletter")
    _list(v2)
    addresses = [f"c{i:02d}@example.com" for i in range(len(contacts))]
    for address, (unsubscribe_all, chosen) in zip(addresses, contacts, strict=True):
        v2.create_contact(
            ContactListName="Newsletter",
            EmailAddress=address,
            UnsubscribeAll=unsubscribe_all,
            TopicPreferences=[{"TopicName": t, "SubscriptionStatus": s} for t, s in chosen.items()],
        )
    pages: list[list[str]] = []
    token = None
    while True:
        extra = {"NextToken": token} if token else {}
        found = v2.list_contacts(
            ContactListName="Newsletter", Filter=given_filter, PageSize=size, **extra
        )
        pages.append([c["EmailAddress"] for c in found["Contacts"]])
        token = found.get("NextToken")
        if not token:
            break
        assert len(pages) <= len(contacts) + 1
    wanted = [a for a, c in zip(addresses, contacts, strict=True) if _expected(c, given_filter)]
    assert [a for page in pages for a in page] == wanted
    assert all(len(page) == size for page in pages[:-1])  # only the last page is short
    assert len(pages[-1]) <= size and (len(pages) == 1 or pages[-1])
