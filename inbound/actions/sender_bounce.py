"""DSNs SES itself sends to the envelope sender when an action cannot take the message.

Sample dsn-samples/sisimai-lhost-receivingses-08.eml (SNS action, message over 150 KB) shows
`552 5.2.3 Message length exceeds limit set by recipient` sent from the postmaster of the
receiving domain; the same bounce is used for the S3 action's 40 MB limit (spec §3.3 says only
"larger emails bounce"). Which address SES sends these from is UNCONFIRMED: we use
`postmaster@<domain of the first matched recipient>`, as the anonymised sample suggests.
"""

from __future__ import annotations

from inbound import dsn
from inbound.actions import ActionContext, Result

TOO_LARGE = ("552", "5.2.3", "Message length exceeds limit set by recipient")
# An action still failing when SES stops retrying (PublishExpired), or at once with
# `[retries] fail_fast`: the observed DSN of spec §8 [OBS-sisimai-rfc3464-43].
RECIPIENT_ERROR = (
    "451",
    "4.3.0",
    "This message could not be delivered due to a recipient error. Please try again later.",
)


async def over_limit(
    ctx: ActionContext, fields: dict[str, object], size: int, limit: int, what: str
) -> Result | None:
    """The failed Result (after bouncing) when the message is over an action's size limit."""
    if size <= limit:
        return None
    bounced = await bounce_to_sender(ctx, TOO_LARGE)
    return Result(
        detail={"action": fields, **bounced},
        error=f"message of {size} bytes exceeds the {what} limit",
        final=True,
    )


async def bounce_to_sender(
    ctx: ActionContext, reply: tuple[str, str | None, str], *, sender: str | None = None
) -> dict[str, str]:
    """Queue a DSN for this rule's recipients; returns the trace detail for it."""
    code, status, text = reply
    if sender is None:
        sender = "postmaster@" + ctx.recipients[0].rpartition("@")[2]
    try:
        report = dsn.ses_receipt_bounce(
            ctx.head(),  # SES returns only the header; all of a 40 MB message is not copied
            sender=sender,
            envelope_sender=ctx.view.source,
            recipients=ctx.recipients,
            smtp_reply_code=code,
            status_code=status,
            message=text,
            region=ctx.site.region,
            reporting_mta=f"dns; {ctx.site.hostname}",
            arrival_date=ctx.view.received_at,
        )
    except dsn.NullReversePath:
        # Never bounce a bounce (RFC 5321 §6.1, spec dsn.md E3).
        return {"dsn": "not sent: the message has a null reverse-path"}
    outbox_id = await ctx.backends.mailer.send(
        "", [ctx.view.source], dsn.as_bytes(report), ctx.message_id
    )
    return {"dsn": outbox_id}
