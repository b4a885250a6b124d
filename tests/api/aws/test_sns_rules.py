"""Topics are objects the engine knows when a receipt rule names one: SES's InvalidSnsTopic for
an ARN SNS would refuse, or (under `[backends] strict`) for a topic nobody made; the sandbox
makes it; and SES's setup notification is published to it at each save."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from inbound.testing import RunningInbound
from tests.api.aws.conftest import REGION, sns_client
from tests.api.v2.conftest import error
from tests.rulesets import rule, s3, sns
from tests.webhook import Webhook

TOPIC = f"arn:aws:sns:{REGION}:123456789012:mail"


def save(ses: Any, *actions: dict[str, Any], update: bool = False) -> None:
    call = ses.update_receipt_rule if update else ses.create_receipt_rule
    call(RuleSetName="set", Rule=rule("r", *actions))


def test_each_save_publishes_ses_setup_notification_once_per_topic(
    server: RunningInbound, webhook: Callable[..., Webhook]
) -> None:
    hook = webhook(confirm_by_get=True)
    topics = sns_client(server)
    topics.create_topic(Name="mail")
    topics.subscribe(TopicArn=TOPIC, Protocol="http", Endpoint=hook.url)
    hook.confirmed()
    ses = server.ses(REGION)
    ses.create_receipt_rule_set(RuleSetName="set")
    save(ses, s3("bucket", TopicArn=TOPIC), sns(TOPIC))  # one topic, named twice
    save(ses, sns(TOPIC), update=True)
    first, second = hook.of_type("Notification", 2)
    assert first.json["Message"] == (
        '{"notificationType":"AmazonSnsSubscriptionSucceeded","message":"You have successfully '
        f"subscribed your Amazon SNS topic '{TOPIC}' to receive notifications from Amazon SES "
        "receipt rule 'r'.\"}\n"
    )
    assert "Subject" not in first.json and second.json["Message"] == first.json["Message"]
    assert json.loads(first.json["Message"])["notificationType"] == (
        "AmazonSnsSubscriptionSucceeded"
    )
    assert len(hook.of_type("Notification", 2)) == 2 and len(server.notifications()) == 2


def test_the_sandbox_makes_a_topic_a_rule_names(server: RunningInbound) -> None:
    ses = server.ses(REGION)
    ses.create_receipt_rule_set(RuleSetName="set")
    save(ses, sns(TOPIC))
    assert sns_client(server).list_topics()["Topics"] == [{"TopicArn": TOPIC}]


def test_strict_refuses_a_topic_nobody_made_and_a_publication_to_it(
    inbound_factory: Callable[..., RunningInbound],
) -> None:
    server = inbound_factory(strict=True)
    ses = server.ses(REGION)
    ses.create_receipt_rule_set(RuleSetName="set")
    assert error(lambda: save(ses, sns(TOPIC))) == (
        "InvalidSnsTopic",
        400,
        f"Could not publish to SNS topic: {TOPIC}",
    )
    assert sns_client(server).list_topics()["Topics"] == []
    sns_client(server).create_topic(Name="mail")
    save(ses, sns(TOPIC))
    [logged] = server.notifications()
    assert logged["message"]["notificationType"] == "AmazonSnsSubscriptionSucceeded"


def test_a_topic_arn_sns_would_refuse_is_an_invalid_topic(server: RunningInbound) -> None:
    ses = server.ses(REGION)
    ses.create_receipt_rule_set(RuleSetName="set")
    for name in ("has space", "x" * 257, "dot.fifo"):
        topic = f"arn:aws:sns:{REGION}:123456789012:{name}"
        assert error(lambda topic=topic: save(ses, sns(topic))) == (
            "InvalidSnsTopic",
            400,
            f"Invalid SNS topic: {topic}",
        )
    elsewhere = TOPIC.replace(REGION, "eu-west-1")
    assert error(lambda: save(ses, sns(elsewhere)))[2] == (
        f"Could not publish to SNS topic: {elsewhere}"
    )
    assert server.notifications() == []
