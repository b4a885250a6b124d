"""Receipt rule sets, rules and filters: the 16 operations (spec receiving.md §1, §2, §9).

Handlers decode boto3-shaped input into typed models, check a rule's action targets against
the configured backends (what SES does at CreateReceiptRule / UpdateReceiptRule, §8), and let
`editing.py` compute the new state under the state lock.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from inbound import model
from inbound.actions.s3 import object_key
from inbound.api import pages
from inbound.api.query.operations.context import OperationContext
from inbound.backends.errors import BackendError
from inbound.errors import (
    InvalidLambdaFunction,
    InvalidParameterValue,
    InvalidS3Configuration,
    InvalidSnsTopic,
    RuleDoesNotExist,
)
from inbound.rules import editing, validate
from inbound.rules.codec import rule_set_metadata

if TYPE_CHECKING:
    from inbound.backends import Backends

Params = dict[str, Any]
PAGE_SIZE = 100  # ListReceiptRuleSets pages of up to 100 (spec §9.1)
SETUP_KEY = "AMAZON_SES_SETUP_NOTIFICATION"
SETUP_MESSAGE = (
    b"From: no-reply-aws@amazon.com\r\nTo: no-reply-aws@amazon.com\r\n"
    b"Subject: Amazon SES Setup Notification\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=UTF-8\r\n\r\n"
    b"This is a notification from Amazon SES that your receipt rule writes to this bucket.\r\n"
)


def _current(ctx: OperationContext) -> model.ReceiptState:
    """Rule sets and filters are per Region: the caller's (docs/json-api.md "Regions")."""
    return ctx.keeper.current_in(ctx.region)


async def _edit(
    ctx: OperationContext, change: Callable[[model.ReceiptState], model.ReceiptState]
) -> None:
    await ctx.keeper.edit_in(ctx.region, change)


def _rule_set_json(rule_set: model.RuleSet) -> dict[str, Any]:
    return {"Metadata": rule_set_metadata(rule_set), "Rules": model.to_api(rule_set.rules)}


def setup_notification(topic: str, rule: str) -> str:
    """What SES publishes to a topic it is set up to notify: `AmazonSnsSubscriptionSucceeded`
    in the form SES's identity notifications have (as SES users have captured it, compact
    JSON and a newline); the receipt rule's wording is ours (docs/aws-endpoints.md, "SNS")."""
    text = (
        f"You have successfully subscribed your Amazon SNS topic '{topic}' to receive "
        f"notifications from Amazon SES receipt rule '{rule}'."
    )
    notice = {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": text}
    return json.dumps(notice, separators=(",", ":")) + "\n"


async def check_targets(backends: Backends, region: str, rule: model.ReceiptRule) -> None:
    """SES tests a rule's targets when it is saved: the S3 check is a real write of
    `<prefix>AMAZON_SES_SETUP_NOTIFICATION` (spec §3.3), the SNS check a real publication of
    SES's setup notification, once per topic the rule names; topics and functions must be ARNs
    usable in the receiving Region first (`validate.check_arns`, before any lookup)."""
    validate.check_arns(rule, region)
    tested: set[str] = set()
    for action in rule.actions:
        topic = getattr(action, "topic_arn", None)
        if topic is not None and topic not in tested:
            tested.add(topic)
            if not await _published(backends, topic, rule.name):
                raise InvalidSnsTopic(f"Could not publish to SNS topic: {topic}", Topic=topic)
        if isinstance(action, model.LambdaAction):
            arn = action.function_arn
            if not await backends.functions.exists(arn):
                raise InvalidLambdaFunction(
                    f"Could not invoke Lambda function: {arn}", FunctionArn=arn
                )
        if isinstance(action, model.S3Action):
            key = object_key(action.object_key_prefix, SETUP_KEY)
            try:
                await backends.objects.put_setup_object(
                    action.bucket_name, key, SETUP_MESSAGE, SETUP_KEY
                )
            except Exception:
                bucket = action.bucket_name
                raise InvalidS3Configuration(
                    f"Could not write to bucket: {bucket}", Bucket=bucket
                ) from None


async def _published(backends: Backends, topic: str, rule: str) -> bool:
    if not await backends.publisher.prepare_topic(topic):
        return False
    try:
        await backends.publisher.publish(topic, "", setup_notification(topic, rule), SETUP_KEY)
    except BackendError:
        return False
    return True


# ── rule sets ───────────────────────────────────────────────────────────────────────────────
async def create_receipt_rule_set(ctx: OperationContext, p: Params) -> Params:
    await _edit(ctx, lambda s: editing.create_rule_set(s, p["RuleSetName"]))
    return {}


async def clone_receipt_rule_set(ctx: OperationContext, p: Params) -> Params:
    await _edit(
        ctx, lambda s: editing.clone_rule_set(s, p["RuleSetName"], p["OriginalRuleSetName"])
    )
    return {}


async def delete_receipt_rule_set(ctx: OperationContext, p: Params) -> Params:
    await _edit(ctx, lambda s: editing.delete_rule_set(s, p["RuleSetName"]))
    return {}


async def describe_receipt_rule_set(ctx: OperationContext, p: Params) -> Params:
    return _rule_set_json(editing.rule_set(_current(ctx), p["RuleSetName"]))


async def describe_active_receipt_rule_set(ctx: OperationContext, p: Params) -> Params:
    """Nothing active: an empty result (spec §9.3, as moto and floci answer)."""
    active = _current(ctx).active_rule_set
    return _rule_set_json(active) if active else {}


async def set_active_receipt_rule_set(ctx: OperationContext, p: Params) -> Params:
    await _edit(ctx, lambda s: editing.set_active(s, p.get("RuleSetName")))
    return {}


async def list_receipt_rule_sets(ctx: OperationContext, p: Params) -> Params:
    """In creation order (UNCONFIRMED, §9.3); NextToken is an opaque offset."""
    sets = sorted(_current(ctx).rule_sets, key=lambda s: (s.created is None, s.created))
    start = _page_start(p.get("NextToken"))
    page = sets[start : start + PAGE_SIZE]
    result: Params = {"RuleSets": [rule_set_metadata(s) for s in page]}
    if start + PAGE_SIZE < len(sets):
        result["NextToken"] = pages.offset_token(start + PAGE_SIZE)
    return result


def _page_start(token: str | None) -> int:
    if not token:
        return 0
    start = pages.token_offset(token)
    if start is None:
        raise InvalidParameterValue(f"Invalid NextToken: {token}")
    return start


async def reorder_receipt_rule_set(ctx: OperationContext, p: Params) -> Params:
    await _edit(ctx, lambda s: editing.reorder(s, p["RuleSetName"], p["RuleNames"]))
    return {}


# ── rules ───────────────────────────────────────────────────────────────────────────────────
async def create_receipt_rule(ctx: OperationContext, p: Params) -> Params:
    rule = model.rule_from_api(p["Rule"])
    # Validate before touching any target, so a rejected rule writes no setup object.
    editing.create_rule(_current(ctx), p["RuleSetName"], rule, p.get("After"))
    await check_targets(ctx.backends, ctx.region, rule)
    await _edit(ctx, lambda s: editing.create_rule(s, p["RuleSetName"], rule, p.get("After")))
    return {}


async def update_receipt_rule(ctx: OperationContext, p: Params) -> Params:
    rule = model.rule_from_api(p["Rule"])
    editing.update_rule(_current(ctx), p["RuleSetName"], rule)  # validate first
    await check_targets(ctx.backends, ctx.region, rule)
    await _edit(ctx, lambda s: editing.update_rule(s, p["RuleSetName"], rule))
    return {}


async def delete_receipt_rule(ctx: OperationContext, p: Params) -> Params:
    await _edit(ctx, lambda s: editing.delete_rule(s, p["RuleSetName"], p["RuleName"]))
    return {}


async def describe_receipt_rule(ctx: OperationContext, p: Params) -> Params:
    rule_set = editing.rule_set(_current(ctx), p["RuleSetName"])
    rule = rule_set.rule(p["RuleName"])
    if rule is None:
        raise RuleDoesNotExist(f"Rule does not exist: {p['RuleName']}", Name=p["RuleName"])
    return {"Rule": model.to_api(rule)}


async def set_receipt_rule_position(ctx: OperationContext, p: Params) -> Params:
    await _edit(
        ctx, lambda s: editing.set_rule_position(s, p["RuleSetName"], p["RuleName"], p.get("After"))
    )
    return {}


# ── filters ─────────────────────────────────────────────────────────────────────────────────
async def create_receipt_filter(ctx: OperationContext, p: Params) -> Params:
    new = model.filter_from_api(p["Filter"])
    await _edit(ctx, lambda s: editing.create_filter(s, new))
    return {}


async def delete_receipt_filter(ctx: OperationContext, p: Params) -> Params:
    await _edit(ctx, lambda s: editing.delete_filter(s, p["FilterName"]))
    return {}


async def list_receipt_filters(ctx: OperationContext, p: Params) -> Params:
    """Sorted by name (spec §2, probed)."""
    filters = sorted(_current(ctx).filters, key=lambda f: f.name)
    return {"Filters": model.to_api(tuple(filters))}


OPERATIONS: dict[str, Callable[[OperationContext, Params], Awaitable[Params | None]]] = {
    "CreateReceiptRuleSet": create_receipt_rule_set,
    "CloneReceiptRuleSet": clone_receipt_rule_set,
    "DeleteReceiptRuleSet": delete_receipt_rule_set,
    "DescribeReceiptRuleSet": describe_receipt_rule_set,
    "DescribeActiveReceiptRuleSet": describe_active_receipt_rule_set,
    "SetActiveReceiptRuleSet": set_active_receipt_rule_set,
    "ListReceiptRuleSets": list_receipt_rule_sets,
    "ReorderReceiptRuleSet": reorder_receipt_rule_set,
    "CreateReceiptRule": create_receipt_rule,
    "UpdateReceiptRule": update_receipt_rule,
    "DeleteReceiptRule": delete_receipt_rule,
    "DescribeReceiptRule": describe_receipt_rule,
    "SetReceiptRulePosition": set_receipt_rule_position,
    "CreateReceiptFilter": create_receipt_filter,
    "DeleteReceiptFilter": delete_receipt_filter,
    "ListReceiptFilters": list_receipt_filters,
}
