"""Event destinations of a configuration set: v1's operations on the same stored destinations,
which the sending pipeline publishes to (`sending/feedback.py`), so a destination added through
either API receives the events of sends through either.

v2's shape is v1's with other spellings: `SnsDestination.TopicArn` is `SNSDestination.TopicARN`,
the Firehose ARNs are `IAMRoleARN`/`DeliveryStreamARN`, event types and dimension sources are
upper snake case (`RENDERING_FAILURE`, `MESSAGE_TAG`) where v1 writes camel case
(`renderingFailure`, `messageTag`). EventBridge and Pinpoint destinations, which only v2 has,
are stored under their v2 names and published to as the others (`sending/feedback.py`).
"""

from __future__ import annotations

import re
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.query.operations.sending import event_destinations as v1
from inbound.sending import configuration as state

Params = dict[str, Any]
V2_ONLY = ("EventBridgeDestination", "PinpointDestination")  # stored as v2 spells them


def _camel(text: str) -> str:
    first, *rest = text.lower().split("_")
    return first + "".join(word.capitalize() for word in rest)


def _snake(text: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", text).upper()


def _to_v1(name: str, definition: Params) -> Params:
    dest: Params = {
        "Name": name,
        "Enabled": definition.get("Enabled", False),
        "MatchingEventTypes": [_camel(t) for t in definition.get("MatchingEventTypes", ())],
    }
    sns = definition.get("SnsDestination")
    if sns is not None:
        dest["SNSDestination"] = {"TopicARN": sns["TopicArn"]}
    firehose = definition.get("KinesisFirehoseDestination")
    if firehose is not None:
        dest["KinesisFirehoseDestination"] = {
            "IAMRoleARN": firehose["IamRoleArn"],
            "DeliveryStreamARN": firehose["DeliveryStreamArn"],
        }
    for kind in V2_ONLY:
        if definition.get(kind) is not None:
            dest[kind] = definition[kind]
    cloudwatch = definition.get("CloudWatchDestination")
    if cloudwatch is not None:
        dest["CloudWatchDestination"] = {
            "DimensionConfigurations": [
                {**d, "DimensionValueSource": _camel(d["DimensionValueSource"])}
                for d in cloudwatch["DimensionConfigurations"]
            ]
        }
    return dest


def _to_v2(dest: Params) -> Params:
    out: Params = {
        "Name": dest["Name"],
        "Enabled": dest["Enabled"],
        "MatchingEventTypes": [_snake(t) for t in dest["MatchingEventTypes"]],
    }
    if "SNSDestination" in dest:
        out["SnsDestination"] = {"TopicArn": dest["SNSDestination"]["TopicARN"]}
    if "KinesisFirehoseDestination" in dest:
        firehose = dest["KinesisFirehoseDestination"]
        out["KinesisFirehoseDestination"] = {
            "IamRoleArn": firehose["IAMRoleARN"],
            "DeliveryStreamArn": firehose["DeliveryStreamARN"],
        }
    out.update({kind: dest[kind] for kind in V2_ONLY if kind in dest})
    if "CloudWatchDestination" in dest:
        out["CloudWatchDestination"] = {
            "DimensionConfigurations": [
                {**d, "DimensionValueSource": _snake(d["DimensionValueSource"])}
                for d in dest["CloudWatchDestination"]["DimensionConfigurations"]
            ]
        }
    return out


async def create_configuration_set_event_destination(ctx: OperationContext, p: Params) -> None:
    await v1.create_configuration_set_event_destination(
        ctx,
        {
            "ConfigurationSetName": p["ConfigurationSetName"],
            "EventDestination": _to_v1(p["EventDestinationName"], p["EventDestination"]),
        },
    )


async def update_configuration_set_event_destination(ctx: OperationContext, p: Params) -> None:
    await v1.update_configuration_set_event_destination(
        ctx,
        {
            "ConfigurationSetName": p["ConfigurationSetName"],
            "EventDestination": _to_v1(p["EventDestinationName"], p["EventDestination"]),
        },
    )


async def delete_configuration_set_event_destination(ctx: OperationContext, p: Params) -> None:
    await v1.delete_configuration_set_event_destination(ctx, p)


async def get_configuration_set_event_destinations(ctx: OperationContext, p: Params) -> Params:
    found = ctx.sending.get(state.CONFIGURATION_SETS, ctx.region, p["ConfigurationSetName"])
    return {"EventDestinations": [_to_v2(d) for d in found["EventDestinations"]]}
