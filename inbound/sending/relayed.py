"""What a relay attempt's outcome (outbox/relay.py) means in SES's events, for one recipient.

SES publishes a Delivery when the receiving server accepted the message, a DeliveryDelay when
delivery is delayed, and a Bounce when it fails for good ("Contents of event data that Amazon
SES publishes to Amazon SNS", docs.aws.amazon.com/ses/latest/dg/
event-publishing-retrieving-sns-contents.html). Here the receiving server is the `[relay]`
smarthost: its reply is the `smtpResponse` of the Delivery and the `diagnosticCode` of the
DeliveryDelay and the Bounce. Pure: relay_events.py publishes what these build.
docs/behaviour.md "Delivery of sent mail" has the decisions.
"""

from __future__ import annotations

import re
from datetime import datetime

from inbound.sending import mime
from inbound.sending.events import Bounce, BouncedRecipient, DelayedRecipient, DeliveryDelay

# RFC 3463 enhanced status code after the reply code: "451 4.3.0 Try again later".
_ENHANCED = re.compile(r"\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b")
NO_CONNECTION = "4.4.1"  # RFC 3463 X.4.1 "No answer from host"
EXPIRED = "4.4.7"  # RFC 3463 X.4.7 "Delivery time expired"


def smtp_response(reply: str) -> str:
    """The `smtpResponse` of a Delivery: the reply's last line (SES's is one line)."""
    lines = reply.splitlines()
    return lines[-1] if lines else reply


def status_of(reply: str | None, fallback: str) -> str:
    """The reply's enhanced status code, else its class (`4.0.0`); `fallback` without a reply
    (the smarthost could not be reached, or the session failed before a transaction)."""
    if reply is None:
        return fallback
    found = _ENHANCED.match(reply)
    return found.group(1) if found else f"{reply[0]}.0.0"


def diagnostic(reply: str | None, error: str | None, status: str) -> str:
    """The reply as SES writes it (`smtp; 421 4.4.1 Unable to connect to remote host`, the
    DeliveryDelay example); without a reply, the relay's error after a 421 and `status`
    (DECIDED: SES's example reads that way for a host it could not reach)."""
    if reply is not None:
        return "smtp; " + " ".join(reply.splitlines())
    return f"smtp; 421 {status} {error or 'Unable to connect to remote host'}"


def delay_type(reply: str | None, status: str) -> str:
    """`delayType`: TransientCommunicationFailure without a reply, MailboxFull for a full
    mailbox (X.2.2, or reply code 452), else RecipientServerError (the smarthost answered 4xx)."""
    if reply is None:
        return "TransientCommunicationFailure"
    if status.endswith(".2.2") or reply.startswith("452"):
        return "MailboxFull"
    return "RecipientServerError"


def delay(
    recipient: str,
    reply: str | None,
    error: str | None,
    *,
    now: datetime,
    expires: datetime,
    reporting_mta: str,
) -> DeliveryDelay:
    status = status_of(reply, NO_CONNECTION)
    return DeliveryDelay(
        timestamp=now,
        delay_type=delay_type(reply, status),
        expiration_time=expires,
        recipients=(DelayedRecipient(recipient, status, diagnostic(reply, error, status)),),
        reporting_mta=reporting_mta,
    )


def bounce(
    recipient: str, reply: str | None, error: str | None, *, now: datetime, reporting_mta: str
) -> Bounce:
    """Permanent for a 5xx; a message the relay gave up on (its last reply was 4xx, or there
    was none) is Transient: SES's soft bounces are those it "fails to deliver after retrying
    for a period of time" (API v2 EventDestination MatchingEventTypes)."""
    permanent = reply is not None and reply.startswith("5")
    status = status_of(reply, EXPIRED)
    return Bounce(
        bounce_type="Permanent" if permanent else "Transient",
        bounce_sub_type="General",
        recipients=(
            BouncedRecipient(recipient, "failed", status, diagnostic(reply, error, status)),
        ),
        timestamp=now,
        feedback_id=mime.new_message_id(now),
        reporting_mta=f"dsn; {reporting_mta}",  # as SES writes it (simulator.py)
    )
