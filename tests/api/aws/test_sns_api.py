"""Every SNS operation the engine answers, and SNS's errors, through boto3's sns client."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from inbound.testing import RunningInbound
from tests.api.aws.conftest import REGION, sns_client
from tests.api.v2.conftest import error

ACCOUNT = "123456789012"


def test_topics_are_created_once_listed_described_and_deleted(sns: Any) -> None:
    arn = sns.create_topic(Name="orders")["TopicArn"]
    assert arn == f"arn:aws:sns:{REGION}:{ACCOUNT}:orders"
    assert sns.create_topic(Name="orders")["TopicArn"] == arn  # idempotent
    other = sns.create_topic(Name="audit", Attributes={"DisplayName": "Audit"})["TopicArn"]
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [other, arn]
    attributes = sns.get_topic_attributes(TopicArn=other)["Attributes"]
    assert attributes["DisplayName"] == "Audit" and attributes["Owner"] == ACCOUNT
    assert attributes["TopicArn"] == other and attributes["SignatureVersion"] == "1"
    assert (attributes["SubscriptionsConfirmed"], attributes["SubscriptionsPending"]) == ("0", "0")
    policy = json.loads(attributes["EffectiveDeliveryPolicy"])["http"]
    assert policy["defaultHealthyRetryPolicy"]["numRetries"] == 3
    assert json.loads(attributes["Policy"])["Statement"][0]["Resource"] == other
    sns.set_topic_attributes(TopicArn=other, AttributeName="SignatureVersion", AttributeValue="2")
    assert sns.get_topic_attributes(TopicArn=other)["Attributes"]["SignatureVersion"] == "2"
    sns.delete_topic(TopicArn=other)
    sns.delete_topic(TopicArn=other)  # idempotent, as SNS says
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [arn]
    assert error(sns.get_topic_attributes, TopicArn=other) == (
        "NotFound",
        404,
        "Topic does not exist",
    )


def test_topics_are_listed_per_region_in_pages_of_100(server: RunningInbound) -> None:
    sns = sns_client(server)
    arns = sorted(sns.create_topic(Name=f"t{i:03}")["TopicArn"] for i in range(101))
    sns_client(server, "eu-west-1").create_topic(Name="elsewhere")
    first = sns.list_topics()
    assert [t["TopicArn"] for t in first["Topics"]] == arns[:100]
    rest = sns.list_topics(NextToken=first["NextToken"])
    assert [t["TopicArn"] for t in rest["Topics"]] == arns[100:] and "NextToken" not in rest
    assert error(sns.list_topics, NextToken="nope")[::2] == (
        "InvalidParameter",
        "Invalid parameter: NextToken",
    )


def test_topic_errors(sns: Any) -> None:
    topic = sns.create_topic(Name="t")["TopicArn"]
    bad_name = ("InvalidParameter", 400, "Invalid parameter: Topic Name")
    assert error(sns.create_topic, Name="has space") == bad_name
    assert error(sns.create_topic, Name="x" * 257) == bad_name
    assert error(sns.create_topic, Name="t", Attributes={"DisplayName": "other"}) == (
        "InvalidParameter",
        400,
        "Invalid parameter: Attributes Reason: Topic already exists with different attributes",
    )
    assert error(sns.get_topic_attributes, TopicArn="not-an-arn")[::2] == (
        "InvalidParameter",
        "Invalid parameter: TopicArn",
    )
    elsewhere = topic.replace(REGION, "eu-west-1")
    assert error(sns.get_topic_attributes, TopicArn=elsewhere)[0] == "InvalidParameter"
    foreign = topic.replace(ACCOUNT, "210987654321")
    assert error(sns.publish, TopicArn=foreign, Message="m") == (
        "AuthorizationError",
        403,
        f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: SNS:Publish on "
        f"resource: {foreign}",
    )
    for name, value, text in (
        ("Owner", "x", "Invalid parameter: AttributeName"),
        ("SignatureVersion", "3", "Invalid parameter: SignatureVersion"),
        ("DeliveryPolicy", "{", "Invalid parameter: DeliveryPolicy: not valid JSON"),
    ):
        assert error(
            sns.set_topic_attributes, TopicArn=topic, AttributeName=name, AttributeValue=value
        )[::2] == ("InvalidParameter", text)


def test_subscriptions_are_listed_described_changed_and_removed(sns: Any) -> None:
    topic = sns.create_topic(Name="t")["TopicArn"]
    url = "http://127.0.0.1:1/hook"  # nothing listens: the confirmation request fails
    assert sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=url)["SubscriptionArn"] == (
        "pending confirmation"
    )
    arn = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=url, ReturnSubscriptionArn=True)[
        "SubscriptionArn"
    ]
    assert arn.startswith(topic + ":")
    listed = {
        "SubscriptionArn": "PendingConfirmation",
        "Owner": ACCOUNT,
        "Protocol": "http",
        "Endpoint": url,
        "TopicArn": topic,
    }
    assert sns.list_subscriptions()["Subscriptions"] == [listed]
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == [listed]
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "true"
    assert attributes["RawMessageDelivery"] == "false" and attributes["Endpoint"] == url
    assert json.loads(attributes["EffectiveDeliveryPolicy"])["healthyRetryPolicy"] == {
        "minDelayTarget": 20,
        "maxDelayTarget": 20,
        "numRetries": 3,
        "numMaxDelayRetries": 0,
        "numNoDelayRetries": 0,
        "numMinDelayRetries": 0,
        "backoffFunction": "linear",
    }
    sns.set_subscription_attributes(
        SubscriptionArn=arn, AttributeName="RawMessageDelivery", AttributeValue="True"
    )
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["RawMessageDelivery"] == "true"
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsPending"] == "1"
    sns.unsubscribe(SubscriptionArn=arn)
    sns.unsubscribe(SubscriptionArn=arn)  # already gone: no error
    assert sns.list_subscriptions()["Subscriptions"] == []
    assert error(sns.get_subscription_attributes, SubscriptionArn=arn) == (
        "NotFound",
        404,
        "Subscription does not exist",
    )


def test_subscription_errors(sns: Any) -> None:
    topic = sns.create_topic(Name="t")["TopicArn"]
    missing = topic + "-gone"
    assert error(sns.subscribe, TopicArn=missing, Protocol="http", Endpoint="http://x/") == (
        "NotFound",
        404,
        "Topic does not exist",
    )
    assert error(sns.subscribe, TopicArn=topic, Protocol="carrier-pigeon", Endpoint="x")[2] == (
        "Invalid parameter: Amazon SNS does not support this protocol string: carrier-pigeon"
    )
    assert error(sns.subscribe, TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:x")[0] == (
        "InvalidParameter"
    )
    assert error(sns.subscribe, TopicArn=topic, Protocol="https", Endpoint="http://x/")[2] == (
        "Invalid parameter: Endpoint must match the specified protocol"
    )
    assert error(sns.confirm_subscription, TopicArn=topic, Token="0" * 256) == (
        "InvalidParameter",
        400,
        "Invalid parameter: Token",
    )
    arn = sns.subscribe(
        TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:1/", ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    for name, value, text in (
        ("FilterPolicy", "{}", "Invalid parameter: AttributeName"),
        (
            "RawMessageDelivery",
            "yes",
            "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [yes]. "
            "Must be true or false.",
        ),
        (
            "DeliveryPolicy",
            '{"healthyRetryPolicy": {"minDelayTarget": 30, "maxDelayTarget": 10}}',
            "Invalid parameter: DeliveryPolicy: "
            "minDelayTarget must be at least 1 and at most maxDelayTarget",
        ),
    ):
        assert error(
            sns.set_subscription_attributes,
            SubscriptionArn=arn,
            AttributeName=name,
            AttributeValue=value,
        )[::2] == ("InvalidParameter", text)
    assert error(sns.unsubscribe, SubscriptionArn="arn:aws:sns:x")[::2] == (
        "InvalidParameter",
        "Invalid parameter: SubscriptionArn",
    )
    assert error(sns.list_subscriptions_by_topic, TopicArn=missing)[0] == "NotFound"


def test_publish_answers_a_message_id_and_logs_it(server: RunningInbound, sns: Any) -> None:
    topic = sns.create_topic(Name="t")["TopicArn"]
    message_id = sns.publish(TopicArn=topic, Message="hello", Subject="Greeting")["MessageId"]
    [logged] = server.get("/api/notifications")
    assert (logged["id"], logged["topicArn"]) == (message_id, topic)
    assert (logged["subject"], logged["message"]) == ("Greeting", "hello")
    structured = json.dumps({"default": "plain", "http": "for http"})
    assert sns.publish(TargetArn=topic, Message=structured, MessageStructure="json")["MessageId"]


def test_publish_errors(sns: Any) -> None:
    topic = sns.create_topic(Name="t")["TopicArn"]
    invalid = "InvalidParameter"
    assert error(sns.publish, TopicArn=topic + "x", Message="m")[::2] == (
        "NotFound",
        "Topic does not exist",
    )
    assert error(sns.publish, Message="m")[::2] == (
        invalid,
        "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter",
    )
    assert error(sns.publish, TopicArn=topic, Message="") == (
        invalid,
        400,
        "Invalid parameter: Empty message",
    )
    assert error(sns.publish, TopicArn=topic, Message="x" * (256 * 1024 + 1))[2] == (
        "Invalid parameter: Message too long"
    )
    for subject in ("two\nlines", "x" * 100, " leading space"):
        assert error(sns.publish, TopicArn=topic, Message="m", Subject=subject)[2] == (
            "Invalid parameter: Subject"
        )
    assert error(sns.publish, TopicArn=topic, Message="{}", MessageStructure="json")[2] == (
        "Invalid parameter: Message Structure - No default entry in JSON message body"
    )
    assert error(sns.publish, TopicArn=topic, Message="[", MessageStructure="json")[2] == (
        "Invalid parameter: Message Structure - JSON message body failed to parse"
    )
    attributes = {"a": {"DataType": "Date", "StringValue": "x"}}
    assert error(sns.publish, TopicArn=topic, Message="m", MessageAttributes=attributes)[2] == (
        "The message attribute 'a' has an invalid message attribute type, the set of "
        "supported type prefixes is Binary, Number, and String."
    )


def test_sns_api_checks_sigv4_with_the_sns_scope(
    inbound_factory: Callable[..., RunningInbound],
) -> None:
    server = inbound_factory(api_auth="verify", api_credentials={"AKIDSNS": "sns-secret"})
    sns = sns_client(server, key="AKIDSNS", secret="sns-secret")
    assert sns.create_topic(Name="t")["TopicArn"]
    wrong = sns_client(server, key="AKIDSNS", secret="not-it")
    assert error(wrong.list_topics)[0] == "SignatureDoesNotMatch"
    unknown = sns_client(server, key="AKIDOTHER", secret="x")
    assert error(unknown.list_topics)[0] == "InvalidClientTokenId"


def test_an_operation_without_a_handler_answers_501(sns: Any) -> None:
    assert error(sns.list_platform_applications) == (
        "NotImplemented",
        501,
        "inbound does not implement the SNS operation ListPlatformApplications.",
    )


def test_an_unknown_action_is_refused_in_snss_namespace(server: RunningInbound) -> None:
    import urllib.error
    import urllib.request

    url = f"{server.api_url}/?Action=ConfirmSubscription"  # unsigned, SNS's, missing params
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=10)
    body = caught.value.read().decode()
    assert caught.value.code == 400 and "http://sns.amazonaws.com/doc/2010-03-31/" in body
