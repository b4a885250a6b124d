"""The SNS operations the embedded SNS answers, one async function each (botocore's
`sns/2010-03-31` model decodes their input): topics, HTTP(S) subscriptions, Publish.

Checks and texts are SNS's (`InvalidParameter: Invalid parameter: TopicArn`, `NotFound: Topic
does not exist`, `AuthorizationError` for another account's resource); the decisions where SNS
is not documented are in docs/aws-endpoints.md, "SNS".
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inbound.api import pages
from inbound.backends.sns_delivery import (
    CONTENT_TYPE,
    parse_delivery_policy,
    redacted,
    retry_policy,
)
from inbound.backends.sns_envelope import SIGNATURE_VERSIONS
from inbound.backends.sns_errors import AuthorizationError, InvalidParameter

if TYPE_CHECKING:
    from inbound.backends.local_sns import LocalSns, Subscription, Topic

Params = dict[str, Any]
PAGE_SIZE = 100  # ListTopics and ListSubscriptions(ByTopic) answer 100 at a time
MAX_MESSAGE = 256 * 1024  # "Maximum message size is 256 KB" (with its attributes)
PROTOCOLS = ("http", "https")
# SNS's other protocols: known to SNS, not delivered by the embedded one
OTHER_PROTOCOLS = ("email", "email-json", "sms", "sqs", "application", "lambda", "firehose")
_TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256})")
_SUBJECT = re.compile(r"[!-~][ -~]{0,98}")  # ASCII, no line breaks, under 100 characters
_TOPIC_ATTRIBUTES = ("DeliveryPolicy", "DisplayName", "Policy", "SignatureVersion")
_SUBSCRIPTION_ATTRIBUTES = ("DeliveryPolicy", "RawMessageDelivery")


@dataclass(frozen=True)
class SnsContext:
    region: str  # the credential scope's, else the ARN's (an unsigned SubscribeURL), else ours
    account_id: str
    sns: LocalSns


Handler = Callable[[SnsContext, Params], Awaitable[Params | None]]


def _compact(document: Any) -> str:
    """JSON as SNS writes its policies into attributes: no spaces."""
    return json.dumps(document, separators=(",", ":"))


def _topic_arn(ctx: SnsContext, arn: str, action: str, name: str = "TopicArn") -> str:
    """A topic ARN of this Region and account, or SNS's error for it."""
    match = _TOPIC_ARN.fullmatch(arn)
    if match is None or match[1] != ctx.region:
        raise InvalidParameter(f"Invalid parameter: {name}")
    if match[2] != ctx.account_id:
        raise AuthorizationError(
            f"User: arn:aws:iam::{ctx.account_id}:root is not authorized to perform: "
            f"SNS:{action} on resource: {arn}"
        )
    return arn


def _subscription_arn(ctx: SnsContext, arn: str, action: str) -> str:
    topic, _, tail = arn.rpartition(":")
    if not re.fullmatch(r"[0-9a-f-]{36}", tail):
        raise InvalidParameter("Invalid parameter: SubscriptionArn")
    _topic_arn(ctx, topic, action, "SubscriptionArn")
    return arn


def _page(items: list[Any], token: str | None) -> tuple[list[Any], str | None]:
    start = 0
    if token:
        found = pages.token_offset(token)
        if found is None:
            raise InvalidParameter("Invalid parameter: NextToken")
        start = found
    following = start + PAGE_SIZE
    return items[start:following], pages.offset_token(following) if following < len(items) else None


def _paged(key: str, items: list[Any], token: str | None) -> Params:
    page, following = _page(items, token)
    result: Params = {key: page}
    if following is not None:
        result["NextToken"] = following
    return result


# ── topics ─────────────────────────────────────────────────────────────────────────────────
def _topic_attribute(name: str, value: str) -> str:
    if name not in _TOPIC_ATTRIBUTES:
        raise InvalidParameter("Invalid parameter: AttributeName")
    if name == "SignatureVersion" and value not in SIGNATURE_VERSIONS:
        raise InvalidParameter("Invalid parameter: SignatureVersion")
    if name == "DisplayName" and len(value) > 100:
        raise InvalidParameter("Invalid parameter: DisplayName")
    if name == "DeliveryPolicy":
        http = parse_delivery_policy(value).get("http", {})
        retry_policy(http.get("defaultHealthyRetryPolicy") if isinstance(http, dict) else http)
    if name == "Policy":
        try:
            json.loads(value)
        except ValueError:
            raise InvalidParameter("Invalid parameter: Policy Error: null") from None
    return value


async def create_topic(ctx: SnsContext, p: Params) -> Params:
    """Tags and a DataProtectionPolicy are accepted and not kept (no operation reads them)."""
    if not _TOPIC_NAME.fullmatch(p["Name"]):
        raise InvalidParameter("Invalid parameter: Topic Name")
    attributes = {k: _topic_attribute(k, v) for k, v in p.get("Attributes", {}).items()}
    arn = f"arn:aws:sns:{ctx.region}:{ctx.account_id}:{p['Name']}"
    await ctx.sns.create_topic(arn, attributes)
    return {"TopicArn": arn}


async def list_topics(ctx: SnsContext, p: Params) -> Params:
    prefix = f"arn:aws:sns:{ctx.region}:{ctx.account_id}:"
    arns = sorted(t.arn for t in ctx.sns.topics() if t.arn.startswith(prefix))
    return _paged("Topics", [{"TopicArn": arn} for arn in arns], p.get("NextToken"))


async def delete_topic(ctx: SnsContext, p: Params) -> None:
    await ctx.sns.delete_topic(_topic_arn(ctx, p["TopicArn"], "DeleteTopic"))


def _default_policy(topic: Topic, account_id: str) -> str:
    """The access policy SNS gives a new topic: its owner may do everything."""
    actions = (
        "GetTopicAttributes SetTopicAttributes AddPermission RemovePermission DeleteTopic "
        "Subscribe ListSubscriptionsByTopic Publish"
    )
    statement = {
        "Sid": "__default_statement_ID",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": [f"SNS:{a}" for a in actions.split()],
        "Resource": topic.arn,
        "Condition": {"StringEquals": {"AWS:SourceOwner": account_id}},
    }
    policy = {"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [statement]}
    return _compact(policy)


async def get_topic_attributes(ctx: SnsContext, p: Params) -> Params:
    topic = ctx.sns.existing_topic(_topic_arn(ctx, p["TopicArn"], "GetTopicAttributes"))
    subscriptions = ctx.sns.subscriptions(topic.arn)
    confirmed = sum(s.confirmed for s in subscriptions)
    effective = {
        "http": {
            "defaultHealthyRetryPolicy": topic.default_retry_policy().to_api(),
            "disableSubscriptionOverrides": False,
            "defaultRequestPolicy": {"headerContentType": CONTENT_TYPE},
        }
    }
    attributes = {
        "TopicArn": topic.arn,
        "Owner": ctx.account_id,
        "Policy": _default_policy(topic, ctx.account_id),
        "DisplayName": "",
        "SubscriptionsConfirmed": str(confirmed),
        "SubscriptionsPending": str(len(subscriptions) - confirmed),
        "SubscriptionsDeleted": "0",
        "EffectiveDeliveryPolicy": _compact(effective),
        "SignatureVersion": "1",
        **topic.attributes,
    }
    return {"Attributes": attributes}


def _setting(p: Params, check: Callable[[str, str], str]) -> tuple[str, str]:
    """Set*Attributes' name and value, checked (an absent value is the empty string)."""
    name = p["AttributeName"]
    return name, check(name, p.get("AttributeValue", ""))


async def set_topic_attributes(ctx: SnsContext, p: Params) -> None:
    arn = _topic_arn(ctx, p["TopicArn"], "SetTopicAttributes")
    await ctx.sns.set_topic_attribute(arn, *_setting(p, _topic_attribute))


# ── subscriptions ──────────────────────────────────────────────────────────────────────────
def _subscription_attribute(name: str, value: str) -> str:
    if name not in _SUBSCRIPTION_ATTRIBUTES:
        raise InvalidParameter("Invalid parameter: AttributeName")
    if name == "RawMessageDelivery":
        if value.lower() not in ("true", "false"):
            raise InvalidParameter(
                "Invalid parameter: Attributes Reason: RawMessageDelivery: "
                f"Invalid value [{value}]. Must be true or false."
            )
        return value.lower()
    retry_policy(parse_delivery_policy(value).get("healthyRetryPolicy"))
    return value


async def subscribe(ctx: SnsContext, p: Params) -> Params:
    """HTTP(S) endpoints only: SNS's other protocols are refused, saying so."""
    arn = _topic_arn(ctx, p["TopicArn"], "Subscribe")
    protocol, endpoint = p["Protocol"], p.get("Endpoint", "")
    if protocol in OTHER_PROTOCOLS:
        raise InvalidParameter(
            f"Invalid parameter: Protocol: the embedded SNS delivers to http and https "
            f"endpoints, not {protocol}"
        )
    if protocol not in PROTOCOLS:
        raise InvalidParameter(
            f"Invalid parameter: Amazon SNS does not support this protocol string: {protocol}"
        )
    if not endpoint.startswith(f"{protocol}://") or len(endpoint) > 2048:
        raise InvalidParameter("Invalid parameter: Endpoint must match the specified protocol")
    attributes = {k: _subscription_attribute(k, v) for k, v in p.get("Attributes", {}).items()}
    subscription = await ctx.sns.subscribe(arn, protocol, endpoint, attributes)
    if subscription.confirmed or p.get("ReturnSubscriptionArn"):
        return {"SubscriptionArn": subscription.arn}
    return {"SubscriptionArn": "pending confirmation"}


async def confirm_subscription(ctx: SnsContext, p: Params) -> Params:
    """AuthenticateOnUnsubscribe is accepted; Unsubscribe through its UnsubscribeURL works
    unsigned either way."""
    arn = _topic_arn(ctx, p["TopicArn"], "ConfirmSubscription")
    subscription = await ctx.sns.confirm(arn, p["Token"])
    return {"SubscriptionArn": subscription.arn}


def _listed(ctx: SnsContext, subscription: Subscription) -> Params:
    return {
        "SubscriptionArn": subscription.arn if subscription.confirmed else "PendingConfirmation",
        "Owner": ctx.account_id,
        "Protocol": subscription.protocol,
        "Endpoint": redacted(subscription.endpoint),
        "TopicArn": subscription.topic_arn,
    }


def _ours(ctx: SnsContext, subscriptions: list[Subscription]) -> list[Params]:
    prefix = f"arn:aws:sns:{ctx.region}:{ctx.account_id}:"
    return [
        _listed(ctx, s)
        for s in sorted(subscriptions, key=lambda s: (s.topic_arn, s.arn))
        if s.topic_arn.startswith(prefix)
    ]


async def list_subscriptions(ctx: SnsContext, p: Params) -> Params:
    return _paged("Subscriptions", _ours(ctx, ctx.sns.subscriptions()), p.get("NextToken"))


async def list_subscriptions_by_topic(ctx: SnsContext, p: Params) -> Params:
    topic = ctx.sns.existing_topic(_topic_arn(ctx, p["TopicArn"], "ListSubscriptionsByTopic"))
    subscriptions = _ours(ctx, ctx.sns.subscriptions(topic.arn))
    return _paged("Subscriptions", subscriptions, p.get("NextToken"))


async def unsubscribe(ctx: SnsContext, p: Params) -> None:
    """A subscription that is already gone is no error."""
    await ctx.sns.unsubscribe(_subscription_arn(ctx, p["SubscriptionArn"], "Unsubscribe"))


async def get_subscription_attributes(ctx: SnsContext, p: Params) -> Params:
    arn = _subscription_arn(ctx, p["SubscriptionArn"], "GetSubscriptionAttributes")
    subscription = ctx.sns.existing_subscription(arn)
    topic = ctx.sns.existing_topic(subscription.topic_arn)
    effective = {
        "healthyRetryPolicy": subscription.retry_policy(topic).to_api(),
        "sicklyRetryPolicy": None,
        "throttlePolicy": None,
        "guaranteed": False,
    }
    attributes = {
        "SubscriptionArn": subscription.arn,
        "TopicArn": subscription.topic_arn,
        "Owner": ctx.account_id,
        "SubscriptionPrincipal": f"arn:aws:iam::{ctx.account_id}:root",
        "Protocol": subscription.protocol,
        "Endpoint": redacted(subscription.endpoint),
        "ConfirmationWasAuthenticated": "true" if subscription.configured else "false",
        "PendingConfirmation": "false" if subscription.confirmed else "true",
        "RawMessageDelivery": "false",
        "EffectiveDeliveryPolicy": _compact(effective),
        **subscription.attributes,
    }
    return {"Attributes": attributes}


async def set_subscription_attributes(ctx: SnsContext, p: Params) -> None:
    arn = _subscription_arn(ctx, p["SubscriptionArn"], "SetSubscriptionAttributes")
    await ctx.sns.set_subscription_attribute(arn, *_setting(p, _subscription_attribute))


# ── Publish ────────────────────────────────────────────────────────────────────────────────
def _messages(p: Params) -> dict[str, str]:
    """The message by protocol: one for all, or MessageStructure=json's object."""
    message = p["Message"]
    if p.get("MessageStructure") != "json":
        return {"default": message}
    try:
        structure = json.loads(message)
    except ValueError:
        structure = None
    if not isinstance(structure, dict):
        raise InvalidParameter(
            "Invalid parameter: Message Structure - JSON message body failed to parse"
        )
    if not isinstance(structure.get("default"), str):
        raise InvalidParameter(
            "Invalid parameter: Message Structure - No default entry in JSON message body"
        )
    return {k: v for k, v in structure.items() if isinstance(v, str)}


def _attributes(p: Params) -> dict[str, dict[str, str]]:
    """MessageAttributes as the HTTP(S) envelope carries them: `{name: {Type, Value}}`, a
    binary value in base64."""
    found = {}
    for name, value in p.get("MessageAttributes", {}).items():
        kind = value["DataType"]
        if not kind.startswith(("String", "Number", "Binary")):
            raise InvalidParameter(
                f"The message attribute '{name}' has an invalid message attribute type, the "
                "set of supported type prefixes is Binary, Number, and String."
            )
        if kind.startswith("Binary"):
            shown = base64.b64encode(value.get("BinaryValue", b"")).decode("ascii")
        else:
            shown = value.get("StringValue", "")
        found[name] = {"Type": kind, "Value": shown}
    return found


async def publish(ctx: SnsContext, p: Params) -> Params:
    """To a topic (TopicArn, or a topic's ARN as TargetArn); SMS and mobile push are not
    delivered by the embedded SNS."""
    if p.get("PhoneNumber"):
        raise InvalidParameter("Invalid parameter: PhoneNumber: the embedded SNS sends no SMS")
    target = p.get("TopicArn") or p.get("TargetArn")
    if not target:
        raise InvalidParameter(
            "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"
        )
    arn = _topic_arn(ctx, target, "Publish", "TopicArn" if p.get("TopicArn") else "TargetArn")
    if not p["Message"]:
        raise InvalidParameter("Invalid parameter: Empty message")
    subject = p.get("Subject")
    if subject is not None and not _SUBJECT.fullmatch(subject):
        raise InvalidParameter("Invalid parameter: Subject")
    messages, attributes = _messages(p), _attributes(p)
    size = len(p["Message"].encode()) + len(json.dumps(attributes).encode()) * bool(attributes)
    if size > MAX_MESSAGE:
        raise InvalidParameter("Invalid parameter: Message too long")
    topic = ctx.sns.existing_topic(arn)
    message_id = ctx.sns.publish_to(topic, subject or "", messages, None, attributes)
    await ctx.sns.store.flush()  # accepted: on disk before the answer
    return {"MessageId": message_id}


OPERATIONS: Mapping[str, Handler] = {
    "CreateTopic": create_topic,
    "ListTopics": list_topics,
    "DeleteTopic": delete_topic,
    "GetTopicAttributes": get_topic_attributes,
    "SetTopicAttributes": set_topic_attributes,
    "Subscribe": subscribe,
    "ConfirmSubscription": confirm_subscription,
    "ListSubscriptions": list_subscriptions,
    "ListSubscriptionsByTopic": list_subscriptions_by_topic,
    "Unsubscribe": unsubscribe,
    "GetSubscriptionAttributes": get_subscription_attributes,
    "SetSubscriptionAttributes": set_subscription_attributes,
    "Publish": publish,
}
