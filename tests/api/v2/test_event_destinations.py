"""Event destinations through boto3 `sesv2`: stored in v1's form (v1 describes them), and
published to by sends (a v2 send's Send event reaches the SNS topic a v2 destination names)."""

from __future__ import annotations

import json
from typing import Any

from inbound.testing import RunningInbound
from tests.api.v2.conftest import error

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
STREAM = "arn:aws:firehose:us-east-1:123456789012:deliverystream/ses-events"
ROLE = "arn:aws:iam::123456789012:role/firehose"
SNS = {
    "Enabled": True,
    "MatchingEventTypes": ["SEND", "RENDERING_FAILURE", "DELIVERY_DELAY"],
    "SnsDestination": {"TopicArn": TOPIC},
}
CLOUDWATCH = {
    "Enabled": False,
    "MatchingEventTypes": ["BOUNCE"],
    "CloudWatchDestination": {
        "DimensionConfigurations": [
            {
                "DimensionName": "campaign",
                "DimensionValueSource": "MESSAGE_TAG",
                "DefaultDimensionValue": "none",
            }
        ]
    },
}
FIREHOSE = {
    "Enabled": True,
    "MatchingEventTypes": ["DELIVERY"],
    "KinesisFirehoseDestination": {"IamRoleArn": ROLE, "DeliveryStreamArn": STREAM},
}


def test_event_destination_lifecycle(v2: Any, v1: Any) -> None:
    v2.create_configuration_set(ConfigurationSetName="events")
    for name, definition in (("sns", SNS), ("cw", CLOUDWATCH), ("fh", FIREHOSE)):
        v2.create_configuration_set_event_destination(
            ConfigurationSetName="events", EventDestinationName=name, EventDestination=definition
        )
    got = v2.get_configuration_set_event_destinations(ConfigurationSetName="events")
    assert got["EventDestinations"] == [
        {"Name": "sns", **SNS},
        {"Name": "cw", **CLOUDWATCH},
        {"Name": "fh", **FIREHOSE},
    ]
    described = v1.describe_configuration_set(
        ConfigurationSetName="events", ConfigurationSetAttributeNames=["eventDestinations"]
    )["EventDestinations"]
    assert described[0]["MatchingEventTypes"] == ["send", "renderingFailure", "deliveryDelay"]
    assert described[0]["SNSDestination"] == {"TopicARN": TOPIC}
    assert (
        described[1]["CloudWatchDestination"]["DimensionConfigurations"][0]["DimensionValueSource"]
        == "messageTag"
    )
    v2.update_configuration_set_event_destination(
        ConfigurationSetName="events",
        EventDestinationName="cw",
        EventDestination={**CLOUDWATCH, "Enabled": True},
    )
    v2.delete_configuration_set_event_destination(
        ConfigurationSetName="events", EventDestinationName="fh"
    )
    after = v2.get_configuration_set_event_destinations(ConfigurationSetName="events")
    assert [(d["Name"], d["Enabled"]) for d in after["EventDestinations"]] == [
        ("sns", True),
        ("cw", True),
    ]


def test_event_destination_errors(v2: Any) -> None:
    v2.create_configuration_set(ConfigurationSetName="events")
    v2.create_configuration_set_event_destination(
        ConfigurationSetName="events", EventDestinationName="sns", EventDestination=SNS
    )
    assert error(
        v2.create_configuration_set_event_destination,
        ConfigurationSetName="events",
        EventDestinationName="sns",
        EventDestination=SNS,
    ) == (
        "AlreadyExistsException",
        400,
        "Event destination <sns> already exists in configuration set <events>.",
    )
    missing = (
        "NotFoundException",
        404,
        "Event destination <nope> does not exist in configuration set <events>.",
    )
    assert (
        error(
            v2.update_configuration_set_event_destination,
            ConfigurationSetName="events",
            EventDestinationName="nope",
            EventDestination=SNS,
        )
        == missing
    )
    assert (
        error(
            v2.delete_configuration_set_event_destination,
            ConfigurationSetName="events",
            EventDestinationName="nope",
        )
        == missing
    )
    assert error(v2.get_configuration_set_event_destinations, ConfigurationSetName="no") == (
        "NotFoundException",
        404,
        "Configuration set <no> does not exist.",
    )
    code, status, _ = error(
        v2.create_configuration_set_event_destination,
        ConfigurationSetName="events",
        EventDestinationName="wrong-region",
        EventDestination={
            **SNS,
            "SnsDestination": {"TopicArn": TOPIC.replace("us-east-1", "eu-west-1")},
        },
    )
    assert (code, status) == ("BadRequestException", 400)
    assert error(
        v2.create_configuration_set_event_destination,
        ConfigurationSetName="events",
        EventDestinationName="bridge",
        EventDestination={
            "Enabled": True,
            "MatchingEventTypes": ["SEND"],
            "EventBridgeDestination": {"EventBusArn": "arn:aws:events:us-east-1:1:event-bus/x"},
        },
    ) == (
        "BadRequestException",
        400,
        "Event bus <arn:aws:events:us-east-1:1:event-bus/x> is invalid: it must be the ARN of the "
        "default event bus in us-east-1.",
    )


def test_a_v2_send_publishes_to_a_v2_destination(v2: Any, server: RunningInbound) -> None:
    v2.create_configuration_set(ConfigurationSetName="events")
    v2.create_configuration_set_event_destination(
        ConfigurationSetName="events", EventDestinationName="sns", EventDestination=SNS
    )
    message_id = v2.send_email(
        FromEmailAddress="a@example.com",
        Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
        Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
        ConfigurationSetName="events",
        EmailTags=[{"Name": "campaign", "Value": "spring"}],
    )["MessageId"]
    server.wait_idle()
    events = []
    for notification in server.notifications():
        message = notification["message"]
        body = json.loads(message) if isinstance(message, str) else message
        if body.get("mail", {}).get("messageId") == message_id:
            events.append(body)
    assert [e["eventType"] for e in events] == ["Send"]
    assert events[0]["mail"]["tags"]["campaign"] == ["spring"]
    assert events[0]["mail"]["tags"]["ses:configuration-set"] == ["events"]
