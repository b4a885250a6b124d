"""Sending-side configuration of SES v1, pure logic: names, limits, event destinations, list
paging, statistics.

Nothing here does I/O: `service.py` reads and writes the store documents, `templates.py` is the
template engine. The rules quote the API reference text of the botocore model
(`ses/2010-12-01`) and the SES Developer Guide; where AWS documents a rule but not the error it
raises, the choice is marked UNCONFIRMED.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from inbound.errors import (
    InvalidCloudWatchDestination,
    InvalidFirehoseDestination,
    InvalidParameterValue,
    InvalidSNSDestination,
)
from inbound.timestamps import to_wire

# ── store documents: kind → key "<region>/<name>" (SES resources are per Region) ─────────────
CONFIGURATION_SETS = "sending.configuration-sets"
TEMPLATES = "sending.templates"
VERIFICATION_TEMPLATES = "sending.custom-verification-templates"
DEDICATED_IP_POOLS = "sending.dedicated-ip-pools"  # API v2 only: {"ScalingMode", "Tags"}
TENANTS = "sending.tenants"  # API v2 only: sending/tenants.py
MULTI_REGION_ENDPOINTS = "sending.multi-region-endpoints"  # API v2 only: v2/operations/endpoints.py
EXPORT_JOBS = "sending.export-jobs"  # API v2 only: GetExportJob's members
ACCOUNT = "sending.account"  # key: region → {"SendingEnabled": bool}

# ── limits ──────────────────────────────────────────────────────────────────────────────────
MAX_CONFIGURATION_SETS = 10_000  # SES quotas: "Configuration sets per account: 10,000"
MAX_EVENT_DESTINATIONS = 10  # SES quotas: "Event destinations per configuration set: 10"
MAX_TEMPLATES = 10_000  # Developer Guide: "You can create up to 10,000 email templates"
MAX_VERIFICATION_TEMPLATES = 50  # "up to 50 custom verification email templates"
MAX_VERIFICATION_CONTENT = 10 * 1024 * 1024  # TemplateContent: "less than 10 MB"
LIST_CONFIGURATION_SETS_PAGE = 1000  # "This operation returns up to 1,000 configuration sets"
LIST_TEMPLATES_DEFAULT, LIST_TEMPLATES_MAX = 10, 100  # MaxItems doc of ListTemplates
LIST_VERIFICATION_TEMPLATES_MAX = 50  # MaxResults doc: "up to 50 results"
STATISTICS_BUCKET = timedelta(minutes=15)  # "Each data point … for a 15-minute period"
STATISTICS_WINDOW = timedelta(days=14)  # "the last two weeks of sending activity"

# ConfigurationSetName / EventDestinationName: "Contain only letters (a-z, A-Z), numbers (0-9),
# underscores (_), or dashes (-). Contain 64 characters or fewer."
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
# DimensionName: "ASCII letters, numbers, underscores, dashes, or colons. 256 characters or
# fewer." DefaultDimensionValue: "… dashes, at signs (@), or periods (.). 256 characters or fewer."
DIMENSION_NAME = re.compile(r"[A-Za-z0-9_:-]{1,256}")
DIMENSION_VALUE = re.compile(r"[A-Za-z0-9_@.-]{1,256}")
DOMAIN = re.compile(r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_PARTITION = r"arn:aws(?:-[a-z]+)*"
SNS_TOPIC = re.compile(_PARTITION + r":sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")
FIREHOSE_STREAM = re.compile(
    _PARTITION + r":firehose:([a-z0-9-]+):\d{12}:deliverystream/[A-Za-z0-9_.-]{1,64}"
)
IAM_ROLE = re.compile(_PARTITION + r":iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")
# EventBusArn: CloudFormation's pattern `^arn:aws[a-z0-9-]*:events:[a-z0-9-]+:\d{12}:event-bus/
# [^:]+$`; ApplicationArn: a Pinpoint project, `arn:aws:mobiletargeting:<region>:<id>:apps/<id>`.
EVENT_BUS = re.compile(r"arn:aws[a-z0-9-]*:events:([a-z0-9-]+):\d{12}:event-bus/([^:]+)")
PINPOINT_APPLICATION = re.compile(
    _PARTITION + r":mobiletargeting:([a-z0-9-]+):\d{12}:apps/[A-Za-z0-9]{1,64}"
)


def key(region: str, name: str) -> str:
    return f"{region}/{name}"


def in_region(documents: Mapping[str, Any], region: str) -> dict[str, Any]:
    """The documents of one Region, by resource name."""
    prefix = f"{region}/"
    return {k[len(prefix) :]: v for k, v in documents.items() if k.startswith(prefix)}


def now() -> datetime:
    return datetime.now(UTC)


# ── paging ──────────────────────────────────────────────────────────────────────────────────
def page(names: Sequence[str], token: str | None, size: int) -> tuple[list[str], str | None]:
    """One page of `names` (sorted) and the token for the next. The token names the next item,
    so pages stay consistent when items are created or deleted between calls."""
    start = 0
    if token:
        after = token_start(token)
        start = next((i for i, n in enumerate(names) if n >= after), len(names))
    chosen = list(names[start : start + size])
    if start + size >= len(names):
        return chosen, None
    return chosen, next_token(names[start + size])


def next_token(name: str) -> str:
    """The NextToken of a page whose next item is `name`."""
    return base64.urlsafe_b64encode(json.dumps({"next": name}).encode()).decode()


def token_start(token: str) -> str:
    """The item a NextToken names (`next_token`); a token this engine did not make is
    `InvalidParameterValue`."""
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["next"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidParameterValue(f"Invalid NextToken: {token}") from None
    if not isinstance(after, str):
        raise InvalidParameterValue(f"Invalid NextToken: {token}")
    return after


def page_size(requested: int | None, default: int, maximum: int, member: str) -> int:
    """ListTemplates MaxItems: "This value must be at least 1 and less than or equal to 100.
    If more than 100 items are requested, the page size will automatically set to 100." """
    if requested is None:
        return default
    if requested < 1:
        raise InvalidParameterValue(f"{member} must be at least 1.")
    return min(requested, maximum)


# ── names ───────────────────────────────────────────────────────────────────────────────────
def valid_name(name: str) -> bool:
    return NAME.fullmatch(name) is not None


# ── event destinations ──────────────────────────────────────────────────────────────────────
DESTINATIONS = (
    "CloudWatchDestination",
    "KinesisFirehoseDestination",
    "SNSDestination",
    "EventBridgeDestination",  # SES API v2 only, as PinpointDestination
    "PinpointDestination",
)


def check_event_destination(set_name: str, region: str, dest: Mapping[str, Any]) -> dict[str, Any]:
    """The destination as stored and described (`Enabled` filled in: "The default value is
    false"). EventDestination doc: "When you create or update an event destination, you must
    provide one, and only one, destination."

    A malformed name or event-type list has no modeled error: `InvalidParameterValue`
    (UNCONFIRMED). Destination contents raise the destination's modeled error.
    """
    name = dest["Name"]
    if not valid_name(name):
        raise InvalidParameterValue(
            f"Invalid event destination name: {name}. The name must contain only ASCII letters, "
            "numbers, underscores, or dashes, and 64 characters or fewer."
        )
    given = [d for d in DESTINATIONS if dest.get(d) is not None]
    if len(given) != 1:
        raise InvalidParameterValue(
            "You must provide one, and only one, destination: CloudWatchDestination, "
            "KinesisFirehoseDestination or SNSDestination."
        )
    if not dest["MatchingEventTypes"]:
        raise InvalidParameterValue("MatchingEventTypes must contain at least one event type.")
    fields = {"ConfigurationSetName": set_name, "EventDestinationName": name}
    kind = given[0]
    body = dest[kind]
    if kind == "SNSDestination":
        _check_sns(body["TopicARN"], region, fields)
    elif kind == "KinesisFirehoseDestination":
        _check_firehose(body, region, fields)
    elif kind == "EventBridgeDestination":
        _check_event_bus(body["EventBusArn"], region)
    elif kind == "PinpointDestination":
        _check_pinpoint(body.get("ApplicationArn"), region)
    else:
        _check_cloudwatch(body["DimensionConfigurations"], fields)
    return {
        "Name": name,
        "Enabled": bool(dest.get("Enabled", False)),
        "MatchingEventTypes": list(dict.fromkeys(dest["MatchingEventTypes"])),
        kind: body,
    }


def _check_sns(topic: str, region: str, fields: dict[str, str]) -> None:
    """The topic must be an SNS topic ARN in the sending Region (SES publishes events only to
    topics in its own Region)."""
    match = SNS_TOPIC.fullmatch(topic)
    if match is None or match.group(1) != region:
        raise InvalidSNSDestination(
            f"SNS topic <{topic}> is invalid: it must be an Amazon SNS topic ARN in {region}.",
            **fields,
        )


def _check_firehose(body: Mapping[str, str], region: str, fields: dict[str, str]) -> None:
    stream, role = body["DeliveryStreamARN"], body["IAMRoleARN"]
    match = FIREHOSE_STREAM.fullmatch(stream)
    if match is None or match.group(1) != region:
        raise InvalidFirehoseDestination(
            f"Delivery stream <{stream}> is invalid: it must be a Kinesis Firehose delivery "
            f"stream ARN in {region}.",
            **fields,
        )
    if IAM_ROLE.fullmatch(role) is None:
        raise InvalidFirehoseDestination(
            f"IAM role <{role}> is invalid: it must be an IAM role ARN.", **fields
        )


def _check_event_bus(arn: str, region: str) -> None:
    """ "The Amazon Resource Name (ARN) of the Amazon EventBridge bus to publish email events
    to. Only the default bus is supported." (API v2, EventBridgeDestination), of the sending
    Region as SNS topics are. No modeled error: `InvalidParameterValue` (UNCONFIRMED)."""
    match = EVENT_BUS.fullmatch(arn)
    if match is None or match.group(1) != region or match.group(2) != "default":
        raise InvalidParameterValue(
            f"Event bus <{arn}> is invalid: it must be the ARN of the default event bus in "
            f"{region}."
        )


def _check_pinpoint(arn: str | None, region: str) -> None:
    """The Pinpoint project events go to (optional in the model, needed to send anything)."""
    match = None if arn is None else PINPOINT_APPLICATION.fullmatch(arn)
    if match is None or match.group(1) != region:
        raise InvalidParameterValue(
            f"Pinpoint application <{arn}> is invalid: it must be the ARN of an Amazon Pinpoint "
            f"project in {region}."
        )


def _check_cloudwatch(dimensions: Sequence[Mapping[str, str]], fields: dict[str, str]) -> None:
    if not dimensions:
        raise InvalidCloudWatchDestination(
            "DimensionConfigurations must contain at least one dimension.", **fields
        )
    seen: set[str] = set()
    for dimension in dimensions:
        name, default = dimension["DimensionName"], dimension["DefaultDimensionValue"]
        if DIMENSION_NAME.fullmatch(name) is None:
            raise InvalidCloudWatchDestination(
                f"Invalid dimension name: {name}. It must contain only ASCII letters, numbers, "
                "underscores, dashes, or colons, and 256 characters or fewer.",
                **fields,
            )
        if DIMENSION_VALUE.fullmatch(default) is None:
            raise InvalidCloudWatchDestination(
                f"Invalid default dimension value: {default}. It must contain only ASCII "
                "letters, numbers, underscores, dashes, at signs, or periods, and 256 "
                "characters or fewer.",
                **fields,
            )
        if name in seen:
            raise InvalidCloudWatchDestination(f"Duplicate dimension name: {name}.", **fields)
        seen.add(name)


# ── statistics ──────────────────────────────────────────────────────────────────────────────
# A bucket is named by its start's wire timestamp (`bucket`), which compare as text: the store
# keeps a row per bucket (store/statistics.py).
BUCKET = timedelta(minutes=15)


def bucket_start(moment: datetime) -> datetime:
    minute = moment.minute - moment.minute % 15
    return moment.astimezone(UTC).replace(minute=minute, second=0, microsecond=0)


def bucket(moment: datetime) -> str:
    """The 15-minute bucket `moment` counts in."""
    return to_wire(bucket_start(moment))


def first_kept(moment: datetime) -> str:
    """The first bucket of the two weeks before `moment`: the first that starts at or after
    `moment - STATISTICS_WINDOW` (the buckets GetSendStatistics lists, and those kept)."""
    oldest = moment - STATISTICS_WINDOW
    start = bucket_start(oldest)
    return to_wire(start if start >= oldest else start + BUCKET)


def first_of_day(moment: datetime) -> str:
    """The first bucket of the last 24 hours (the one that holds `moment - 24 hours`): what
    SentLast24Hours and the 24-hour quota count from."""
    return bucket(moment - timedelta(hours=24))


def data_points(buckets: Sequence[tuple[str, Mapping[str, int]]]) -> list[dict[str, Any]]:
    """GetSendStatistics' SendDataPoints: one per bucket, each its start and its counts."""
    return [{"Timestamp": start, **counts} for start, counts in buckets]
