"""Example DSNs shared by the tests, and the script that writes them to ``fixtures/dsn/``.

Regenerate the committed fixtures after changing the library or a case:

    PYTHONPATH=. python tests/dsn/dsn_cases.py

``test_parsers.py`` fails when a committed fixture differs from what the library now builds.
Every case is deterministic (fixed dates, Message-IDs and boundaries).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from inbound import dsn

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "dsn"
# The shared research folder sits next to the repository (spec dsn.md, tools/dsn_check.py).
SHARED = REPO / ".." / "shared"
DSN_CHECK = SHARED / "tools" / "dsn_check.py"


def sisimai_missing() -> str | None:
    """Why ``dsn_check.py`` / Sisimai cannot run here, or ``None`` when they can."""
    if not DSN_CHECK.is_file():
        return f"{DSN_CHECK} not found"
    if shutil.which("perl") is None:
        return "perl not installed"
    if subprocess.run(["perl", "-MSisimai", "-e1"], capture_output=True).returncode:
        return "Sisimai not installed (apt-get install libsisimai-perl)"
    return None


WHEN = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
ARRIVED = WHEN - timedelta(seconds=4)

ORIGINAL = (
    b"Return-Path: <alice@example.com>\r\n"
    b"Received: from mail.example.com (mail.example.com [192.0.2.25])\r\n"
    b" by inbound-smtp.us-east-1.amazonaws.com with SMTP id abc123\r\n"
    b" for bob@example.net; Mon, 06 May 2024 07:08:05 +0000 (UTC)\r\n"
    b'From: "Alice Example" <alice@example.com>\r\n'
    b"To: bob@example.net\r\n"
    b"Subject: Quarterly report\r\n"
    b"Message-ID: <orig-1@example.com>\r\n"
    b"Date: Mon, 06 May 2024 09:08:04 +0200\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"Hello Bob,\r\nthe numbers are in.\r\n"
)
# An SMTPUTF8 original: raw UTF-8 header fields and an 8-bit body (spec dsn.md §4.5).
ORIGINAL_8BIT = (
    "Return-Path: <jürgen@bücher.example>\r\n"
    "From: Jürgen <jürgen@bücher.example>\r\n"
    "To: 山田@例え.jp\r\n"
    "Subject: Grüße aus Köln \u2013 日本語の件名\r\n"
    "Message-ID: <orig-2@bücher.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Schöne Grüße\r\n"
).encode()


@dataclass(frozen=True)
class Case:
    """One example DSN and what every parser must find in it."""

    build: Callable[[], EmailMessage]
    failed: frozenset[str]
    delayed: frozenset[str] = frozenset()
    # dsn_check.py parsers that cannot see these recipients (spec dsn.md §3): bounced raises on
    # the RFC 6533 utf-8 type; BounceParser reports failures only.
    skip_parsers: tuple[str, ...] = ()


def _ses(template: dsn.SesTemplate, recipients: list[str]) -> EmailMessage:
    return dsn.ses_receipt_bounce(
        ORIGINAL,
        sender="postmaster@example.net",
        envelope_sender="alice@example.com",
        recipients=recipients,
        smtp_reply_code=template.smtp_reply_code,
        status_code=template.status_code,
        message=template.message,
        region="us-east-1",
        arrival_date=ARRIVED,
        date=WHEN,
        message_id="<0101018f4c5e2a3b-1b2c3d4e-0000-4000-8000-0123456789ab-000000@us-east-1.amazonses.com>",
        boundary="----=_Part_0_123456789.1714979289000",
    )


def _generic_mixed() -> EmailMessage:
    """Every optional field, full original returned, one failed and one delayed recipient."""
    report = dsn.DeliveryReport(
        dsn.PerMessage(
            reporting_mta="dns; mx1.example.net",
            original_envelope_id="QQ314159",
            received_from_mta="dns; mail.example.com (192.0.2.25)",
            arrival_date=ARRIVED,
            extensions=(("X-Inbound-Queue-ID", "4Hyw9R4v20z1yv6P"),),
        ),
        (
            dsn.RecipientStatus(
                final_recipient="Bob.Smith@Example.NET",
                original_recipient="bob.smith@example.net",
                action=dsn.Action.FAILED,
                status="5.1.1",
                remote_mta="dns; mx.example.org (2001:db8::25)",
                diagnostic_code="550-5.1.1 The email account that you tried to reach does not\n"
                "550 5.1.1 exist. Please check the address.",
                last_attempt_date=WHEN,
                final_log_id="log-42",
            ),
            dsn.RecipientStatus(
                final_recipient='"john..doe"@example.org',
                action=dsn.Action.DELAYED,
                status="4.4.1",
                remote_mta="dns; [IPv6:2001:db8::26]",
                diagnostic_code="451 4.4.1 Connection timed out",
                last_attempt_date=WHEN,
                will_retry_until=WHEN + timedelta(days=4),
                extensions=(("X-Inbound-Attempts", "3"),),
            ),
        ),
    )
    return dsn.build_dsn(
        report,
        original=ORIGINAL,
        envelope_sender="<alice@example.com>",
        sender="Mail Delivery System <postmaster@mx1.example.net>",
        date=WHEN,
        message_id="<dsn-generic-mixed@mx1.example.net>",
        boundary="=_dsn_generic_mixed",
    )


def _delayed_only() -> EmailMessage:
    report = dsn.DeliveryReport(
        dsn.PerMessage(reporting_mta="mx1.example.net", arrival_date=ARRIVED),
        (
            dsn.RecipientStatus(
                final_recipient="carol+invoices@example.org",
                action=dsn.Action.DELAYED,
                status="4.2.2",
                diagnostic_code="452 4.2.2 Mailbox full",
                will_retry_until=WHEN + timedelta(days=5),
            ),
        ),
    )
    return dsn.build_dsn(
        report,
        original=ORIGINAL,
        envelope_sender="alice@example.com",
        sender="postmaster@mx1.example.net",
        date=WHEN,
        message_id="<dsn-delayed@mx1.example.net>",
        boundary="=_dsn_delayed",
    )


def _international() -> EmailMessage:
    """UTF-8 local part, IDN domain, 8-bit original, non-ASCII subject (spec dsn.md §1.10)."""
    recipients = ["山田@例え.jp", "kim@bücher.example", "plain@example.net"]
    report = dsn.DeliveryReport(
        dsn.PerMessage(reporting_mta="dns; mx1.example.net", arrival_date=ARRIVED),
        tuple(dsn.MAILBOX_DOES_NOT_EXIST.recipient(r) for r in recipients),
    )
    return dsn.build_dsn(
        report,
        original=ORIGINAL_8BIT,
        envelope_sender="bounces@example.com",
        sender="postmaster@mx1.example.net",
        subject="Unzustellbar: Grüße aus Köln",
        ret=dsn.Ret.FULL,  # 8-bit: degrades to headers only, quoted-printable
        date=WHEN,
        message_id="<dsn-intl@mx1.example.net>",
        boundary="=_dsn_intl",
    )


def _long_diagnostic() -> EmailMessage:
    words = " ".join(f"word{i:04d}" for i in range(150))  # ~1350 characters, one reply line
    report = dsn.DeliveryReport(
        dsn.PerMessage(reporting_mta="dns; mx1.example.net", arrival_date=ARRIVED),
        (
            dsn.RecipientStatus(
                final_recipient="dave@example.org",
                action=dsn.Action.FAILED,
                status="5.7.1",
                remote_mta="dns; mx.example.org",
                diagnostic_code=f"550 5.7.1 {words}",
            ),
        ),
    )
    return dsn.build_dsn(
        report,
        original=ORIGINAL,
        envelope_sender="alice@example.com",
        sender="postmaster@mx1.example.net",
        ret=dsn.Ret.HDRS,
        date=WHEN,
        message_id="<dsn-long@mx1.example.net>",
        boundary="=_dsn_long",
    )


CASES: dict[str, Case] = {
    "ses-mailbox-does-not-exist": Case(
        lambda: _ses(dsn.MAILBOX_DOES_NOT_EXIST, ["bob@example.net"]),
        failed=frozenset({"bob@example.net"}),
    ),
    "ses-temporary-failure": Case(
        lambda: _ses(dsn.TEMPORARY_FAILURE, ["bob@example.net"]),
        failed=frozenset({"bob@example.net"}),  # SES: Action failed even for 4.0.0
    ),
    "ses-multi-recipient": Case(
        lambda: _ses(
            dsn.MAILBOX_FULL, ["bob@example.net", "carol+tag@example.net", "Dave.X@Example.NET"]
        ),
        failed=frozenset({"bob@example.net", "carol+tag@example.net", "Dave.X@Example.NET"}),
    ),
    "generic-mixed-full": Case(
        _generic_mixed,
        failed=frozenset({"Bob.Smith@Example.NET"}),
        delayed=frozenset({'"john..doe"@example.org'}),
    ),
    "generic-delayed-only": Case(
        _delayed_only,
        failed=frozenset(),
        delayed=frozenset({"carol+invoices@example.org"}),
        skip_parsers=("bounceparser",),
    ),
    "intl-utf8": Case(
        _international,
        failed=frozenset({"山田@例え.jp", "kim@bücher.example", "plain@example.net"}),
        skip_parsers=("bounced",),
    ),
    "long-diagnostic": Case(_long_diagnostic, failed=frozenset({"dave@example.org"})),
}


def write_fixtures(directory: Path = FIXTURES) -> list[Path]:
    """Write every case as ``<name>.eml`` (CRLF wire form); returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, case in CASES.items():
        path = directory / f"{name}.eml"
        path.write_bytes(dsn.as_bytes(case.build()))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_fixtures(Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURES):
        print(written)
