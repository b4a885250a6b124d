"""What the VDM and export-job tests share: real sends, and waiting until what they cause
(deliveries, the receipt rule's bounce coming back) has been recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from inbound.testing import RunningInbound

SIM = "simulator.amazonses.com"
VDM_ON = {"VdmEnabled": "ENABLED"}


def send(v2: Any, *to: str, **extra: Any) -> str:
    return str(
        v2.send_email(
            FromEmailAddress="sender@example.com",
            Destination={"ToAddresses": list(to)},
            Content={"Simple": {"Subject": {"Data": "Hello"}, "Body": {"Text": {"Data": "hi"}}}},
            **extra,
        )["MessageId"]
    )


def settled(server: RunningInbound) -> None:
    """Delivered, received, and what came back (the rule's bounce) published."""
    for _ in range(3):
        server.wait_idle()


def today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def end_of_today() -> datetime:
    """The last second of today (UTC): an EndDate that takes in what a test sends now, at any
    hour (`today() + 23 h` left out what was sent after 23:00)."""
    return today() + timedelta(days=1, seconds=-1)
