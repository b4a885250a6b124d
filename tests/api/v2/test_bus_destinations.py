"""EventBridge and Amazon Pinpoint event destinations (API v2 only), through boto3 `sesv2`:
accepted, stored, read back, and every matching event of a send recorded by the embedded
EventBridge bus and Pinpoint project (`/api/eventbridge`, `/api/pinpoint`) in SES's envelope."""

from __future__ import annotations

from typing import Any

from inbound.testing import RunningInbound
from tests.api.v2.conftest import add_destination, error

BUS = "arn:aws:events:us-east-1:123456789012:event-bus/default"
APP = "arn:aws:mobiletargeting:us-east-1:123456789012:apps/0123456789abcdef0123456789abcdef"
EVENTS = ["SEND", "DELIVERY", "BOUNCE", "DELIVERY_DELAY"]


def destinations(v2: Any) -> None:
    v2.create_configuration_set(ConfigurationSetName="tracked")
    add_destination(v2, "tracked", "bus", EVENTS, EventBridgeDestination={"EventBusArn": BUS})
    add_destination(v2, "tracked", "pinpoint", EVENTS, PinpointDestination={"ApplicationArn": APP})


def send(v2: Any, to: str) -> str:
    return str(
        v2.send_email(
            FromEmailAddress="sender@example.com",
            Destination={"ToAddresses": [to]},
            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
            ConfigurationSetName="tracked",
            EmailTags=[{"Name": "campaign", "Value": "spring"}],
        )["MessageId"]
    )


def test_destinations_are_stored_and_read_back(v2: Any) -> None:
    destinations(v2)
    found = v2.get_configuration_set_event_destinations(ConfigurationSetName="tracked")
    assert [
        (d["Name"], d["Enabled"], d["MatchingEventTypes"], d.get("EventBridgeDestination"),
         d.get("PinpointDestination"))
        for d in found["EventDestinations"]
    ] == [
        ("bus", True, EVENTS, {"EventBusArn": BUS}, None),
        ("pinpoint", True, EVENTS, None, {"ApplicationArn": APP}),
    ]  # fmt: skip
    v2.update_configuration_set_event_destination(
        ConfigurationSetName="tracked",
        EventDestinationName="bus",
        EventDestination={
            "Enabled": False,
            "MatchingEventTypes": ["OPEN"],
            "EventBridgeDestination": {"EventBusArn": BUS},
        },
    )
    v2.delete_configuration_set_event_destination(
        ConfigurationSetName="tracked", EventDestinationName="pinpoint"
    )
    [left] = v2.get_configuration_set_event_destinations(ConfigurationSetName="tracked")[
        "EventDestinations"
    ]
    assert (left["Name"], left["Enabled"], left["MatchingEventTypes"]) == ("bus", False, ["OPEN"])


def test_events_reach_the_bus_and_the_project(server: RunningInbound, v2: Any) -> None:
    destinations(v2)
    delivered = send(v2, "success@simulator.amazonses.com")
    bounced = send(v2, "bounce@simulator.amazonses.com")
    server.wait_idle()
    bus = server.get("/api/eventbridge")
    seen = sorted(
        (e["event"]["detail"]["mail"]["messageId"], e["event"]["detail-type"]) for e in bus
    )
    assert seen == sorted(
        [
            (delivered, "Email Sent"),
            (delivered, "Email Delivered"),
            (bounced, "Email Sent"),
            (bounced, "Email Bounced"),
        ]
    )
    for entry in bus:
        event = entry["event"]
        assert (
            entry["targetArn"] == BUS and entry["messageId"] == event["detail"]["mail"]["messageId"]
        )
        assert (event["version"], event["source"], event["account"], event["region"]) == (
            "0", "aws.ses", "123456789012", "us-east-1",
        )  # fmt: skip
        assert event["id"] == entry["id"] and event["time"].endswith("Z")
        detail = event["detail"]
        assert detail["mail"]["tags"]["campaign"] == ["spring"]
        assert detail["mail"]["tags"]["ses:configuration-set"] == ["tracked"]
    [bounce] = [e["event"]["detail"] for e in bus if e["event"]["detail-type"] == "Email Bounced"]
    assert bounce["eventType"] == "Bounce" and bounce["bounce"]["bounceType"] == "Permanent"
    # the same events in Pinpoint's event stream
    pinpoint = server.get("/api/pinpoint")
    kinds = sorted(
        (
            e["event"]["facets"]["email_channel"]["mail_event"]["mail"]["messageId"],
            e["event"]["event_type"],
        )
        for e in pinpoint
    )
    assert kinds == sorted(
        [
            (delivered, "_email.send"),
            (delivered, "_email.delivered"),
            (bounced, "_email.send"),
            (bounced, "_email.hardbounce"),
        ]
    )
    record = pinpoint[0]["event"]
    assert record["application"]["app_id"] == APP.rpartition("/")[2]
    assert record["awsAccountId"] == "123456789012" and record["event_version"] == "3.1"
    assert "eventType" not in record["facets"]["email_channel"]["mail_event"]
    # the send's trace names each publication
    [first] = [s for s in server.sent() if s["messageId"] == delivered]
    kinds_traced = {p.get("kind") for step in first["trace"] for p in step.get("publications", [])}
    assert {"EventBridgeDestination", "PinpointDestination"} <= kinds_traced


def test_bad_destinations(v2: Any) -> None:
    v2.create_configuration_set(ConfigurationSetName="bad")

    def create(member: str, body: dict[str, str]) -> tuple[str, int, str]:
        return error(
            v2.create_configuration_set_event_destination,
            ConfigurationSetName="bad",
            EventDestinationName="d",
            EventDestination={"MatchingEventTypes": ["SEND"], member: body},
        )

    custom = BUS.replace("default", "custom")
    other_region = BUS.replace("us-east-1", "eu-west-1")
    for arn in (custom, other_region, "arn:aws:sns:us-east-1:123456789012:topic"):
        code, status, message = create("EventBridgeDestination", {"EventBusArn": arn})
        assert (code, status) == ("BadRequestException", 400) and "default event bus" in message
    assert "Amazon Pinpoint project" in create("PinpointDestination", {})[2]
    assert create("PinpointDestination", {"ApplicationArn": BUS})[0] == "BadRequestException"
    assert (
        v2.get_configuration_set_event_destinations(ConfigurationSetName="bad")["EventDestinations"]
        == []
    )
