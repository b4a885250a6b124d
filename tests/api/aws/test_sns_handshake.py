"""SNS's handshake and deliveries, end to end: a real webhook subscribes through boto3, gets the
SubscriptionConfirmation, confirms (through ConfirmSubscription, or a GET of its
SubscribeURL), then receives a Publish and a receipt rule's SNS action notification, each
signed as SNS signs them and checked by an independent verifier."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature

from inbound.testing import RunningInbound
from tests.api.aws.conftest import REGION, sns_client
from tests.rulesets import message, rule, rules, sns
from tests.webhook import Webhook, verify_signature

CONFIRMATION_KEYS = {
    "Type",
    "MessageId",
    "Token",
    "TopicArn",
    "Message",
    "SubscribeURL",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
}
NOTIFICATION_KEYS = {
    "Type",
    "MessageId",
    "TopicArn",
    "Subject",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
    "UnsubscribeURL",
}


def test_a_webhook_confirms_with_confirm_subscription_then_receives_both_kinds(
    inbound_factory: Callable[..., RunningInbound], webhook: Callable[..., Webhook]
) -> None:
    hook = webhook()
    server = inbound_factory(rules(rule("r", sns(f"arn:aws:sns:{REGION}:123456789012:mail"))))
    client = sns_client(server)
    topic = client.create_topic(Name="mail")["TopicArn"]
    for _ in range(2):  # the second asks for the confirmation again
        answer = client.subscribe(TopicArn=topic, Protocol="http", Endpoint=hook.url)
        assert answer["SubscriptionArn"] == "pending confirmation"
    first, again = hook.of_type("SubscriptionConfirmation", 2)
    headers, confirmation = first.headers, first.json
    assert set(confirmation) == CONFIRMATION_KEYS and confirmation["Type"] == (
        "SubscriptionConfirmation"
    )
    assert again.json["Token"] == confirmation["Token"]  # still the pending subscription's
    assert confirmation["TopicArn"] == topic
    assert confirmation["Message"] == (
        f"You have chosen to subscribe to the topic {topic}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message."
    )
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert headers["x-amz-sns-message-id"] == confirmation["MessageId"]
    assert headers["x-amz-sns-topic-arn"] == topic
    assert headers["x-amz-sns-subscription-arn"].startswith(topic + ":")
    assert headers["User-Agent"] == "Amazon Simple Notification Service Agent"
    assert headers["Content-Type"] == "text/plain; charset=UTF-8"
    verify_signature(confirmation)
    nothing_yet = client.publish(TopicArn=topic, Message="before")["MessageId"]

    arn = client.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])[
        "SubscriptionArn"
    ]
    assert arn == headers["x-amz-sns-subscription-arn"]
    assert (
        client.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"]
        == arn
    )

    published = client.publish(TopicArn=topic, Message="hello", Subject="Hi")["MessageId"]
    [notification] = hook.of_type("Notification")
    envelope = notification.json
    assert set(envelope) == NOTIFICATION_KEYS
    assert (envelope["MessageId"], envelope["Message"], envelope["Subject"]) == (
        published,
        "hello",
        "Hi",
    )
    assert published != nothing_yet  # the one before confirmation went to nobody
    assert notification.headers["x-amz-sns-subscription-arn"] == arn
    verify_signature(envelope)

    server.send("sender@sender.test", ["user@example.com"], message())
    server.wait_idle()
    _, received = hook.of_type("Notification", 2)
    ses = received.json
    assert ses["Subject"] == "Amazon SES Email Receipt Notification"
    action = json.loads(ses["Message"])["receipt"]["action"]
    assert (action["type"], action["topicArn"]) == ("SNS", topic)
    verify_signature(ses)
    tampered = {**ses, "Message": ses["Message"].replace("SNS", "S3")}
    with pytest.raises(InvalidSignature):
        verify_signature(tampered)


def test_a_get_of_the_subscribe_url_confirms_and_the_unsubscribe_url_ends_it(
    server: RunningInbound, sns: Any, webhook: Callable[..., Webhook]
) -> None:
    hook = webhook(confirm_by_get=True)
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=hook.url)
    answer = hook.confirmed()
    [listed] = sns.list_subscriptions()["Subscriptions"]
    assert f"<SubscriptionArn>{listed['SubscriptionArn']}</SubscriptionArn>" in answer
    assert "<ConfirmSubscriptionResponse" in answer

    sns.publish(TopicArn=topic, Message="one")
    [notification] = hook.of_type("Notification")
    with urllib.request.urlopen(notification.json["UnsubscribeURL"], timeout=10) as response:
        assert b"<UnsubscribeResponse" in response.read()
    assert sns.list_subscriptions()["Subscriptions"] == []


def test_raw_message_delivery_and_message_attributes(
    sns: Any, webhook: Callable[..., Webhook]
) -> None:
    enveloped, raw = webhook(confirm_by_get=True), webhook(confirm_by_get=True)
    topic = sns.create_topic(Name="t")["TopicArn"]
    for hook in (enveloped, raw):
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=hook.url)
        hook.confirmed()
    [raw_arn] = [
        s["SubscriptionArn"]
        for s in sns.list_subscriptions()["Subscriptions"]
        if s["Endpoint"] == raw.url
    ]
    sns.set_subscription_attributes(
        SubscriptionArn=raw_arn, AttributeName="RawMessageDelivery", AttributeValue="true"
    )
    body = json.dumps({"default": "for anyone", "http": "for http endpoints"})
    sns.publish(
        TopicArn=topic,
        Message=body,
        MessageStructure="json",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "test"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    [delivered] = raw.of_type("Notification")
    assert delivered.body == "for http endpoints"
    assert delivered.headers["x-amz-sns-rawdelivery"] == "true"
    [wrapped] = enveloped.of_type("Notification")
    assert wrapped.json["Message"] == "for http endpoints"
    assert wrapped.json["MessageAttributes"] == {
        "kind": {"Type": "String", "Value": "test"},
        "blob": {"Type": "Binary", "Value": "AAE="},
    }
    verify_signature(wrapped.json)


def test_signature_version_2_is_sha256_with_rsa(sns: Any, webhook: Callable[..., Webhook]) -> None:
    hook = webhook(confirm_by_get=True)
    topic = sns.create_topic(Name="t", Attributes={"SignatureVersion": "2"})["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=hook.url)
    [confirmation] = hook.of_type("SubscriptionConfirmation")
    hook.confirmed()
    sns.publish(TopicArn=topic, Message="m")  # no Subject: none in the signed string
    [notification] = hook.of_type("Notification")
    for envelope in (confirmation.json, notification.json):
        assert envelope["SignatureVersion"] == "2"
        verify_signature(envelope)
        with pytest.raises(InvalidSignature):  # a SHA1 verifier does not accept it
            verify_signature({**envelope, "SignatureVersion": "1"})
    assert "Subject" not in notification.json


def test_configured_subscriptions_are_confirmed_from_the_start_and_kept(
    inbound_factory: Callable[..., RunningInbound],
    webhook: Callable[..., Webhook],
    tmp_path: Any,
) -> None:
    hook = webhook()
    topic = f"arn:aws:sns:{REGION}:123456789012:mail"
    server = inbound_factory(
        rules(rule("r", sns(topic))), sns_subscribers={topic: (hook.url,)}, data_dir=tmp_path / "d"
    )
    client = sns_client(server)
    [listed] = client.list_subscriptions()["Subscriptions"]
    assert listed["SubscriptionArn"] != "PendingConfirmation" and listed["Endpoint"] == hook.url
    attributes = client.get_subscription_attributes(SubscriptionArn=listed["SubscriptionArn"])
    assert attributes["Attributes"]["PendingConfirmation"] == "false"
    made = client.create_topic(Name="made")["TopicArn"]
    pending = client.subscribe(
        TopicArn=made, Protocol="http", Endpoint=hook.url, ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    server.send("sender@sender.test", ["user@example.com"], message())
    server.wait_idle()
    hook.of_type("Notification")  # no handshake for the configured one
    server.stop()

    again = inbound_factory(rules(rule("r", sns(topic))), data_dir=tmp_path / "d")
    client = sns_client(again)
    assert [t["TopicArn"] for t in client.list_topics()["Topics"]] == [made, topic]
    # gone from the file, gone from the engine; what the API made is kept
    assert [s["SubscriptionArn"] for s in client.list_subscriptions()["Subscriptions"]] == [
        "PendingConfirmation"
    ]
    assert client.get_subscription_attributes(SubscriptionArn=pending)["Attributes"]
