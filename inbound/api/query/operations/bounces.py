"""SendBounce: a DSN to the sender of a message this engine received (spec receiving.md §10,
dsn.md §2.1, §2.3), built by `inbound.dsn` in SES's layout and queued in the outbox.

SES's checks, from the API reference: the original must be a message received here within the
last 24 hours; `BounceSender` must be verified (or authorized through `BounceSenderArn`);
each recipient needs `BounceType` or `RecipientDsnFields` and must be one of the original's
recipients. Which error code SES uses for each structural mistake is UNCONFIRMED (§10):
`MessageRejected` for what concerns the message and its sender (the only modeled error), and
`InvalidParameterValue` for malformed input, as SES does elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from inbound import dsn
from inbound.api.query.operations.context import OperationContext
from inbound.errors import InvalidParameterValue, MessageRejected
from inbound.headers import SplitMessage
from inbound.rules.validate import is_verified
from inbound.timestamps import from_wire

Params = dict[str, Any]
WINDOW = timedelta(hours=24)  # "up to 24 hours after you receive the message"


def _recipient(info: Params, original: tuple[str, ...]) -> dsn.RecipientStatus:
    address = info["Recipient"]
    fields = info.get("RecipientDsnFields")
    if ("BounceType" in info) == (fields is not None):
        raise InvalidParameterValue(
            f"Recipient {address} needs exactly one of BounceType and RecipientDsnFields"
        )
    final = (fields or {}).get("FinalRecipient") or address
    if not {address.lower(), final.lower()} & {r.lower() for r in original}:
        raise MessageRejected(f"{address} is not a recipient of the original message")
    try:
        if fields is None:
            return dsn.bounce_type_recipient(address, info["BounceType"])
        return dsn.RecipientStatus(
            final_recipient=final,
            action=dsn.Action(fields["Action"]),
            status=fields["Status"],
            original_recipient=address,
            remote_mta=fields.get("RemoteMta"),
            diagnostic_code=fields.get("DiagnosticCode"),
            last_attempt_date=fields.get("LastAttemptDate"),
            extensions=_extensions(fields),
        )
    except dsn.DsnError as exc:
        raise InvalidParameterValue(str(exc)) from None


def _extensions(fields: Params) -> tuple[tuple[str, str], ...]:
    return tuple((e["Name"], e["Value"]) for e in fields.get("ExtensionFields", ()))


async def send_bounce(ctx: OperationContext, p: Params) -> Params:
    message_id = p["OriginalMessageId"]
    record = ctx.store.message(message_id)
    now = datetime.now(UTC).replace(microsecond=0)
    received = None if record is None else from_wire(record.received_at)
    if record is None or received is None or now - received > WINDOW:
        raise MessageRejected(f"Message {message_id} was not received in the last 24 hours")
    sender = p["BounceSender"]
    if not is_verified(_authorized_identity(p, sender), ctx.keeper.current.verified):
        raise MessageRejected(
            "Email address is not verified. The following identities failed the check in "
            f"region {ctx.region.upper()}: {sender}"
        )
    if not record.mail_from:
        raise MessageRejected("The original message has a null sender: a bounce is not bounced")
    recipients = tuple(_recipient(i, record.recipients) for i in p["BouncedRecipientInfoList"])
    fields = p.get("MessageDsn") or {}
    try:
        report = dsn.DeliveryReport(
            dsn.PerMessage(
                reporting_mta=fields.get("ReportingMta") or dsn.ses_reporting_mta(ctx.region),
                arrival_date=fields.get("ArrivalDate") or received,
                extensions=_extensions(fields),
            ),
            recipients,
        )
        raw = ctx.store.raw(message_id)
        message = dsn.ses_bounce(
            report,
            # SES returns the header only: the DSN is built from it, not from copies of all
            # of a message of up to 40 MB.
            None if raw is None else SplitMessage.parse(raw).head_with(()),
            sender=sender,
            envelope_sender=record.mail_from,
            region=ctx.region,
            date=now,
            **({"explanation": p["Explanation"]} if p.get("Explanation") else {}),
        )
    except dsn.DsnError as exc:
        raise InvalidParameterValue(str(exc)) from None
    await ctx.backends.mailer.send("", [record.mail_from], dsn.as_bytes(message), message_id)
    # The bounce's MessageId is its Message-ID without brackets and domain (query-api.md §6).
    return {"MessageId": message["Message-ID"].strip("<>").partition("@")[0]}


def _authorized_identity(p: Params, sender: str) -> str:
    """With `BounceSenderArn`, the identity it names is the one that must be verified."""
    arn: str | None = p.get("BounceSenderArn")
    if not arn:
        return sender
    prefix, _, identity = arn.partition(":identity/")
    if not prefix.startswith("arn:aws:ses:") or not identity:
        raise InvalidParameterValue(f"Invalid BounceSenderArn: {arn}")
    return identity


OPERATIONS = {"SendBounce": send_bounce}
