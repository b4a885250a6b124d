"""Subscription management through the real interfaces: boto3 `sesv2` SendEmail with
ListManagementOptions, the stored message parsed by the stdlib, the unsubscribe link used over
HTTP (GET and RFC 8058 one-click POST) while a real SNS HTTP subscriber collects the
configuration set's Subscription and Bounce events."""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from inbound.sending import list_management
from inbound.testing import RunningInbound
from tests.api.v2.conftest import add_destination, client, error
from tests.sending.conftest import FAST
from tests.sending.test_tracking import events
from tests.webhook import Webhook as Subscriber

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
PLACEHOLDER = "{{amazonSESUnsubscribeUrl}}"
TOPICS = [
    {"TopicName": "Sports", "DisplayName": "Sports", "DefaultSubscriptionStatus": "OPT_IN"},
    {"TopicName": "Cycling", "DisplayName": "Cycling", "DefaultSubscriptionStatus": "OPT_OUT"},
]


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    found = Subscriber()
    yield found
    found.close()


@pytest.fixture
def server(
    inbound_factory: Callable[..., RunningInbound], subscriber: Subscriber
) -> RunningInbound:
    running = inbound_factory(
        verified=["example.com"], sns_subscribers={TOPIC: (subscriber.url,)}, sending=FAST
    )
    v2 = client(running)
    v2.create_contact_list(ContactListName="News", Topics=TOPICS)
    v2.create_configuration_set(ConfigurationSetName="Lists")
    add_destination(
        v2, "Lists", "to-sns", ["SUBSCRIPTION", "BOUNCE"], SnsDestination={"TopicArn": TOPIC}
    )
    return running


def send(server: RunningInbound, to: list[str], topic: str | None = "Sports") -> str:
    options = {"ContactListName": "News", **({"TopicName": topic} if topic else {})}
    return str(
        client(server).send_email(
            FromEmailAddress="sender@example.com",
            Destination={"ToAddresses": to},
            Content={
                "Simple": {
                    "Subject": {"Data": "Weekly news"},
                    "Body": {
                        "Text": {"Data": f"Leave: {PLACEHOLDER} {PLACEHOLDER} {PLACEHOLDER}"},
                        "Html": {"Data": f'<p><a href="{PLACEHOLDER}">Unsubscribe</a></p>'},
                    },
                }
            },
            ConfigurationSetName="Lists",
            ListManagementOptions=options,
        )["MessageId"]
    )


def stored(server: RunningInbound, message_id: str) -> dict[str, Any]:
    [found] = [s for s in server.sent() if s["messageId"] == message_id]
    return found


def request(method: str, url: str, body: bytes | None = None) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    connection.request(method, parts.path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    return response


def test_the_sent_message_has_the_headers_and_the_link(server: RunningInbound) -> None:
    message_id = send(server, ["reader@example.com"])
    message = stored(server, message_id)["message"]
    link = f"{server.api_url}/unsubscribe/{message_id}"
    assert message["List-Unsubscribe"] == f"<{link}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    assert text.rstrip() == f"Leave: {link} {link} {PLACEHOLDER}"  # the first two only
    html = message.get_body(("html",)).get_content()
    assert f'<a href="{link}">' in html and PLACEHOLDER not in html
    # the recipient became a contact of the list
    contact = client(server).get_contact(ContactListName="News", EmailAddress="reader@example.com")
    assert contact["TopicPreferences"] == [] and contact["UnsubscribeAll"] is False


def test_several_recipients_get_no_link(server: RunningInbound) -> None:
    message_id = send(server, ["a@example.com", "b@example.com"])
    message = stored(server, message_id)["message"]
    assert message["List-Unsubscribe"] is None
    assert PLACEHOLDER in message.get_body(("plain",)).get_content()
    listed = client(server).list_contacts(ContactListName="News")["Contacts"]
    assert [c["EmailAddress"] for c in listed] == ["a@example.com", "b@example.com"]


def test_one_click_unsubscribes_from_the_topic_and_publishes(
    server: RunningInbound, subscriber: Subscriber
) -> None:
    message_id = send(server, ["reader@example.com"])
    link = f"{server.api_url}/unsubscribe/{message_id}"
    assert request("POST", link, b"List-Unsubscribe=Other").status == 400
    response = request("POST", link, b"List-Unsubscribe=One-Click")
    assert response.status == 200
    contact = client(server).get_contact(ContactListName="News", EmailAddress="reader@example.com")
    assert contact["TopicPreferences"] == [{"TopicName": "Sports", "SubscriptionStatus": "OPT_OUT"}]
    assert contact["UnsubscribeAll"] is False
    [record] = events(subscriber, 1)
    assert record["eventType"] == "Subscription"
    assert record["mail"]["messageId"] == message_id
    assert record["mail"]["destination"] == ["reader@example.com"]
    change = record["subscription"]
    assert change["contactList"] == "News" and change["source"] == "UnsubscribeHeader"
    assert change["timestamp"].endswith("Z")
    assert change["oldTopicPreferences"] == {
        "unsubscribeAll": False,
        "topicSubscriptionStatus": [],
        "topicDefaultSubscriptionStatus": [
            {"topicName": "Sports", "subscriptionStatus": "OptIn"},
            {"topicName": "Cycling", "subscriptionStatus": "OptOut"},
        ],
    }
    assert change["newTopicPreferences"] == {
        "unsubscribeAll": False,
        "topicSubscriptionStatus": [{"topicName": "Sports", "subscriptionStatus": "OptOut"}],
        "topicDefaultSubscriptionStatus": [
            {"topicName": "Cycling", "subscriptionStatus": "OptOut"}
        ],
    }


def test_the_link_without_a_topic_unsubscribes_from_all(
    server: RunningInbound, subscriber: Subscriber
) -> None:
    message_id = send(server, ["reader@example.com"], topic=None)
    link = f"{server.api_url}/unsubscribe/{message_id}"
    response = request("GET", link)
    assert response.status == 200 and response.getheader("Content-Type", "").startswith("text/html")
    contact = client(server).get_contact(ContactListName="News", EmailAddress="reader@example.com")
    assert contact["UnsubscribeAll"] is True
    [record] = events(subscriber, 1)
    change = record["subscription"]
    assert change["source"] == "UnsubscribeLink"
    assert change["newTopicPreferences"]["unsubscribeAll"] is True
    assert change["oldTopicPreferences"]["unsubscribeAll"] is False
    assert request("GET", link).status == 200  # again: nothing changes, nothing published
    assert len(events(subscriber, 2)) == 1
    assert request("GET", f"{server.api_url}/unsubscribe/0100-nope-000000").status == 404
    several = send(server, ["a@example.com", "b@example.com"])
    assert request("GET", f"{server.api_url}/unsubscribe/{several}").status == 404


def test_an_unsubscribed_recipient_is_bounced_not_sent_to(
    server: RunningInbound, subscriber: Subscriber
) -> None:
    v2 = client(server)
    v2.create_contact(ContactListName="News", EmailAddress="gone@example.com", UnsubscribeAll=True)
    v2.create_contact(
        ContactListName="News",
        EmailAddress="nosports@example.com",
        TopicPreferences=[{"TopicName": "Sports", "SubscriptionStatus": "OPT_OUT"}],
    )
    to = ["gone@example.com", "nosports@example.com", "fan@example.com"]
    message_id = send(server, to)
    [done] = [s for s in stored(server, message_id)["trace"] if s["step"] == "done"]
    routes = {r["recipient"]: (r["route"], r["events"]) for r in done["recipients"]}
    assert routes == {
        "gone@example.com": ("unsubscribed", ["Bounce"]),
        "nosports@example.com": ("unsubscribed", ["Bounce"]),
        "fan@example.com": ("receiving", ["Delivery"]),  # example.com is received here
    }
    assert [m["recipients"] for m in server.messages()] == [["fan@example.com"]]
    bounces = [r for r in events(subscriber, 2) if r["eventType"] == "Bounce"]
    assert sorted(b["bounce"]["bouncedRecipients"][0]["emailAddress"] for b in bounces) == [
        "gone@example.com",
        "nosports@example.com",
    ]
    assert {(b["bounce"]["bounceType"], b["bounce"]["bounceSubType"]) for b in bounces} == {
        ("Permanent", "General")
    }
    assert client(server).list_suppressed_destinations()["SuppressedDestinationSummaries"] == []
    # without a topic only UnsubscribeAll counts
    other = send(server, ["nosports@example.com"], topic=None)
    [done] = [s for s in stored(server, other)["trace"] if s["step"] == "done"]
    assert done["recipients"][0]["route"] == "receiving"


def test_list_management_errors(server: RunningInbound) -> None:
    v2 = client(server)
    base = {
        "FromEmailAddress": "sender@example.com",
        "Destination": {"ToAddresses": ["reader@example.com"]},
        "Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}},
    }
    assert error(v2.send_email, **base, ListManagementOptions={"ContactListName": "Nope"}) == (
        "NotFoundException",
        404,
        "List with name: Nope doesn't exist.",
    )
    options = {"ContactListName": "News", "TopicName": "Golf"}
    assert error(v2.send_email, **base, ListManagementOptions=options) == (
        "BadRequestException",
        400,
        "List: News doesn't contain Topic: Golf",
    )
    assert server.sent() == []
    assert v2.list_contacts(ContactListName="News")["Contacts"] == []


def test_raw_content_gets_the_headers_too(server: RunningInbound) -> None:
    raw = (
        b"From: sender@example.com\r\nTo: reader@example.com\r\nSubject: raw\r\n"
        b"List-Unsubscribe: <https://example.com/mine>\r\n\r\nBye: "
        + PLACEHOLDER.encode()
        + b"\r\n"
    )
    message_id = client(server).send_email(
        Content={"Raw": {"Data": raw}},
        ListManagementOptions={"ContactListName": "News"},
    )["MessageId"]
    message = stored(server, message_id)["message"]
    link = f"{server.api_url}{list_management.PATH}{message_id}"
    assert message.get_all("List-Unsubscribe") == [f"<{link}>"]  # SES's, in place of ours
    assert message.get_content().strip() == f"Bye: {link}"
