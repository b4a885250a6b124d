"""Virtual Deliverability Manager's data: BatchGetMetricData and GetMessageInsights, over what
this engine really sent (`sending/insights.py` computes them from the sent messages' traces);
and GetEmailAddressInsights, an address's verdicts from what this engine knows of it
(`sending/address_insights.py`).

VDM tracks only while it is on: "VdmEnabled" ENABLED through PutAccountVdmAttributes, which
records since when (`account.vdm_since`). Messages sent before that, or while it was off, have
no insights, and with VDM off every metric query is refused (`ACCESS_DENIED`); SES does not
document either answer (docs/behaviour.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import default
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import BadRequest, NotFound
from inbound.api.v2.operations import account
from inbound.receiving.matching import RecipientIndex
from inbound.records import SentMessage
from inbound.sending import address_insights, checks, insights
from inbound.sending.sent_mail import region_of
from inbound.timestamps import from_wire, to_wire

Params = dict[str, Any]
LOOKBACK = timedelta(days=30)  # events counted for messages sent up to 30 days before a span
MAX_SCANNED = 100_000  # messages read for one query, oldest first
VDM_OFF = "Virtual Deliverability Manager is not enabled for this account."


def _in_view(ctx: OperationContext, record: SentMessage, since: datetime) -> bool:
    """Sent in this Region while VDM was on."""
    return region_of(record, ctx.region) == ctx.region and from_wire(record.created) >= since


def _identity_of(ctx: OperationContext) -> Any:
    identities = ctx.identities.all()

    def identity(record: SentMessage) -> str:
        found = checks.sending_identity(record.source, identities)
        return found.name if found is not None else record.source

    return identity


def tracked_between(
    ctx: OperationContext, start: datetime, end: datetime
) -> list[insights.Tracked] | None:
    """The messages VDM tracks whose events can fall in [start, end]; None when VDM is off."""
    since = account.vdm_since(ctx)
    if since is None:
        return None
    first = to_wire(max(since, start - LOOKBACK))
    records = ctx.store.sent_created_between(first, to_wire(end), MAX_SCANNED)
    return list(
        insights.tracked((r for r in records if _in_view(ctx, r, since)), _identity_of(ctx))
    )


def check_span(start: datetime, end: datetime) -> None:
    if end <= start:
        raise BadRequest("EndDate must be later than StartDate.")


async def batch_get_metric_data(ctx: OperationContext, p: Params) -> Params:
    """One result per query: the metric's count for each UTC day of its span ("A list of
    values (cumulative / sum)"), oldest first, days without events included as 0."""
    results, errors = [], []
    for query in p["Queries"]:
        start, end = query["StartDate"], query["EndDate"]
        check_span(start, end)
        messages = tracked_between(ctx, start, end)
        if messages is None:
            errors.append({"Id": query["Id"], "Code": "ACCESS_DENIED", "Message": VDM_OFF})
            continue
        metric = insights.Metric(query["Metric"])
        found = insights.daily(messages, metric, query.get("Dimensions") or {}, start, end)
        results.append(
            {
                "Id": query["Id"],
                "Timestamps": [day for day, _ in found],
                "Values": [count for _, count in found],
            }
        )
    return {"Results": results, "Errors": errors}


async def get_message_insights(ctx: OperationContext, p: Params) -> Params:
    """A message this engine sent while VDM was on, with each destination's events; any other
    id is `NotFoundException`."""
    message_id = p["MessageId"]
    record = ctx.store.sent_message(message_id)
    since = account.vdm_since(ctx)
    if record is None or since is None or not _in_view(ctx, record, since):
        raise NotFound(f"Message <{message_id}> does not exist.")
    raw = ctx.store.sent_raw(message_id) or b""
    subject = BytesHeaderParser(policy=default).parsebytes(raw)["Subject"]
    events = insights.events_of(record)
    return {
        "MessageId": record.id,
        "FromEmailAddress": record.source,
        "Subject": None if subject is None else str(subject),
        "EmailTags": [{"Name": k, "Value": v} for k, v in record.tags.items()],
        "Insights": [
            {
                "Destination": recipient,
                "Isp": insights.isp_of(recipient),
                "Events": [
                    {
                        "Timestamp": event.at,
                        "Type": event.kind.name,  # the model's names are the enum's
                        "Details": event.details(recipient),
                    }
                    for event in insights.for_recipient(events, recipient)
                ],
            }
            for recipient in insights.destinations(record)
        ],
    }


async def get_email_address_insights(ctx: OperationContext, p: Params) -> Params:
    """Received here: a rule of the active receipt rule set matches the address (what RCPT
    asks); its domain is received here when it is a verified domain."""
    address = p["EmailAddress"]
    state = ctx.keeper.current
    domain = address.rpartition("@")[2].lower()
    received = "@" in address and bool(
        RecipientIndex(state.active_rule_set, state.verified).match(address)
    )
    found = address_insights.evaluate(
        address, received_here=received, receives_for_domain=domain in state.verified
    )
    verdict = {
        "HasValidSyntax": found.has_valid_syntax,
        "HasValidDnsRecords": found.has_valid_dns_records,
        "MailboxExists": found.mailbox_exists,
        "IsRoleAddress": found.is_role_address,
        "IsDisposable": found.is_disposable,
        "IsRandomInput": found.is_random_input,
    }
    return {
        "MailboxValidation": {
            "IsValid": {"ConfidenceVerdict": found.is_valid},
            "Evaluations": {k: {"ConfidenceVerdict": v} for k, v in verdict.items()},
        }
    }
