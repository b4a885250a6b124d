"""`inbound dsn FILE.eml`: run as a subprocess, read back with the stdlib and `parse_dsn`."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from pathlib import Path

import pytest

from inbound import cli, dsn

ORIGINAL = (
    b"Return-Path: <alice@sender.test>\r\n"
    b"From: Alice <alice@sender.test>\r\n"
    b"To: bob@example.com, carol@example.com\r\n"
    b"Subject: Hello\r\n"
    b"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <m1@sender.test>\r\n"
    b"\r\n"
    b"The body.\r\n"
)


def inbound_dsn(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    # cwd is an empty temp dir: no config/inbound.toml there, and none is needed.
    return subprocess.run(
        [sys.executable, "-m", "inbound", "dsn", *args],
        capture_output=True,
        cwd=cwd,
        timeout=60,
    )


@pytest.fixture
def original(tmp_path: Path) -> Path:
    path = tmp_path / "original.eml"
    path.write_bytes(ORIGINAL)
    return path


def parts(wire: bytes) -> list[email.message.Message]:
    message = email.message_from_bytes(wire, policy=email.policy.default)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    return list(message.iter_parts())


def test_generic_dsn_returns_the_full_message(original, tmp_path) -> None:
    result = inbound_dsn(
        str(original),
        "--recipient", "bob@example.com",
        "--recipient", "carol@example.com",
        "--status", "5.1.1",
        "--smtp-code", "550",
        "--diagnostic", "User unknown",
        "--reporting-mta", "mx.example.com",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert b"\r\n" in result.stdout and b"\n" not in result.stdout.replace(b"\r\n", b"")
    message = email.message_from_bytes(result.stdout, policy=email.policy.default)
    assert message["To"] == "alice@sender.test"  # the original's Return-Path
    assert message["From"] == "postmaster@mx.example.com"
    assert message["Auto-Submitted"] == "auto-replied"
    _text, status, returned = parts(result.stdout)
    assert status.get_content_type() == "message/delivery-status"
    assert returned.get_content_type() == "message/rfc822"
    assert ORIGINAL in result.stdout  # returned byte for byte
    report = dsn.parse_dsn(result.stdout)
    assert report.per_message.reporting_mta == "dns; mx.example.com"
    fields = [(r.final_recipient, r.action, r.status, r.diagnostic_code) for r in report.recipients]
    assert fields == [
        ("bob@example.com", dsn.Action.FAILED, "5.1.1", "550 5.1.1 User unknown"),
        ("carol@example.com", dsn.Action.FAILED, "5.1.1", "550 5.1.1 User unknown"),
    ]  # fmt: skip


def test_headers_only_returns_text_rfc822_headers(original, tmp_path) -> None:
    result = inbound_dsn(
        str(original), "--recipient", "bob@example.com", "--status", "4.2.2",
        "--smtp-code", "452", "--headers-only", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    returned = parts(result.stdout)[2]
    assert returned.get_content_type() == "text/rfc822-headers"
    headers = returned.get_payload(decode=True)
    assert b"Subject: Hello" in headers and b"The body." not in headers
    [recipient] = dsn.parse_dsn(result.stdout).recipients
    assert (recipient.status, recipient.diagnostic_code) == ("4.2.2", "452 4.2.2")


@pytest.mark.parametrize(
    ("name", "reply"),
    [
        ("mailbox-does-not-exist", "550 5.1.1 Mailbox does not exist"),
        ("message-too-large", "552 5.3.4 Message too large"),
        ("mailbox-full", "552 5.2.2 Mailbox full"),
        ("message-content-rejected", "500 5.6.1 Message content rejected"),
        ("temporary-failure", "450 4.0.0 Temporary failure"),
        ("unknown-failure", "554 5.0.0 Unknown failure"),
    ],
    ids=lambda v: v if "-" in v and " " not in v else None,
)
def test_ses_template_builds_ses_receipt_bounce(original, capsysbinary, name, reply) -> None:
    # In-process through the same entry point (cli.main), to keep the table fast; the
    # subprocess path is covered by the other tests.
    status = cli.main(
        ["dsn", str(original), "--recipient", "bob@example.com", "--ses-template", name,
         "--sender", "mailer@example.com"]
    )  # fmt: skip
    out, err = capsysbinary.readouterr()
    assert status == 0, err
    message = email.message_from_bytes(out, policy=email.policy.default)
    assert message["Subject"] == "Delivery Status Notification (Failure)"
    assert message["From"] == "mailer@example.com"
    assert message["Message-ID"].endswith("@us-east-1.amazonses.com>")
    assert "Auto-Submitted" not in message  # no SES sample has it
    assert parts(out)[2].get_content_type() == "text/rfc822-headers"  # SES: header only
    report = dsn.parse_dsn(out)
    assert report.per_message.reporting_mta == "dns; inbound-smtp.us-east-1.amazonaws.com"
    [recipient] = report.recipients
    assert recipient.original_recipient == recipient.final_recipient == "bob@example.com"
    assert (recipient.diagnostic_code, recipient.status) == (reply, reply.split()[1])
    # SES's per-recipient field order, Action first (inbound.dsn.ses, spec dsn.md §2.4 item 5)
    assert b"Action: failed\r\nFinal-Recipient: rfc822; bob@example.com" in out


def test_output_file_and_from_fallback(tmp_path) -> None:
    original = tmp_path / "no-return-path.eml"
    original.write_bytes(ORIGINAL.replace(b"Return-Path: <alice@sender.test>\r\n", b""))
    out = tmp_path / "dsn.eml"
    result = inbound_dsn(
        str(original), "--recipient", "bob@example.com", "--ses-template", "mailbox-full",
        "--output", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    message = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert message["To"] == "alice@sender.test"  # from the From: address
    assert message["From"] == "postmaster@example.com"
    assert dsn.parse_dsn(out.read_bytes()).recipients[0].status == "5.2.2"


def test_envelope_sender_option_wins(original, tmp_path) -> None:
    result = inbound_dsn(
        str(original), "--recipient", "bob@example.com", "--ses-template", "mailbox-full",
        "--envelope-sender", "<bounces+123@sender.test>", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert email.message_from_bytes(result.stdout)["To"] == "bounces+123@sender.test"


@pytest.mark.parametrize(
    ("header", "option"),
    [(b"Return-Path: <>\r\n", ()), (b"", ("--envelope-sender", "<>"))],
    ids=["return-path", "option"],
)
def test_null_sender_is_never_bounced(tmp_path, header, option) -> None:
    original = tmp_path / "bounce.eml"
    original.write_bytes(header + ORIGINAL.split(b"\r\n", 1)[1])
    out = tmp_path / "dsn.eml"
    result = inbound_dsn(
        str(original), "--recipient", "bob@example.com", "--status", "5.1.1",
        "--smtp-code", "550", "--output", str(out), *option, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1
    assert b"never bounce a bounce" in result.stderr
    assert result.stdout == b"" and not out.exists()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--status", "5.1", "--smtp-code", "550"), b"StatusCode"),
        (("--status", "5.1.1", "--smtp-code", "999"), b"SmtpReplyCode"),
        (("--status", "4.1.1", "--smtp-code", "550"), b"StatusCode"),
        (("--ses-template", "mailbox-full", "--status", "5.x.1"), b"StatusCode"),
        (("--status", "5.1.1", "--smtp-code", "550", "--recipient", "<x@y>"), b"Final-Recipient"),
        (("--status", "5.1.1"), b"--smtp-code"),
    ],
    ids=["status", "code", "class-mismatch", "template-status", "recipient", "missing-code"],
)
def test_bad_fields_exit_2_naming_the_field(original, tmp_path, args, field) -> None:
    result = inbound_dsn(str(original), "--recipient", "bob@example.com", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert field in result.stderr
    assert result.stdout == b""
