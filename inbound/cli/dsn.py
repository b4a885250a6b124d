"""`inbound dsn FILE.eml`: write the DSN for a message on disk with `inbound.dsn`.

No configuration is read: everything comes from the options and the message. Exit status 0
when the DSN was written, 1 when none may be sent (the original has a null reverse-path:
never bounce a bounce, RFC 5321 §6.1), 2 for bad input (the library's error names the field).
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import email.utils
import re
import sys
from pathlib import Path

from inbound import dsn

# `--ses-template` names → the receipt-rule Bounce templates (console / CDK BounceTemplate).
SES_TEMPLATES: dict[str, dsn.SesTemplate] = {
    "mailbox-does-not-exist": dsn.MAILBOX_DOES_NOT_EXIST,
    "message-too-large": dsn.MESSAGE_TOO_LARGE,
    "mailbox-full": dsn.MAILBOX_FULL,
    "message-content-rejected": dsn.MESSAGE_CONTENT_REJECTED,
    "temporary-failure": dsn.TEMPORARY_FAILURE,
    "unknown-failure": dsn.UNKNOWN_FAILURE,
}
DEFAULT_REGION = "us-east-1"
_REPLY = re.compile(r"\d{3}(?:[ -]|$)")


class _Usage(Exception):
    """Bad input that is not a DSN field (a missing file, no sender to bounce to)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE.eml", help="the original message")
    parser.add_argument(
        "--recipient", action="append", required=True, metavar="ADDR", help="failed recipient"
    )
    parser.add_argument("--status", metavar="X.Y.Z", help="enhanced status code, e.g. 5.1.1")
    parser.add_argument("--smtp-code", metavar="NNN", help="SMTP reply code, e.g. 550")
    parser.add_argument("--diagnostic", metavar="TEXT", help="the reply text (or a full reply)")
    parser.add_argument(
        "--headers-only", action="store_true", help="return only the original's header"
    )
    parser.add_argument(
        "--ses-template",
        choices=sorted(SES_TEMPLATES),
        metavar="NAME",
        help=f"SES receipt-rule bounce format: {', '.join(SES_TEMPLATES)}",
    )
    parser.add_argument(
        "--reporting-mta",
        metavar="HOST",
        help="default: inbound-smtp.<region>.amazonaws.com, as the server reports itself",
    )
    parser.add_argument("--region", default=DEFAULT_REGION, help="AWS region (us-east-1)")
    parser.add_argument("--sender", metavar="ADDR", help="From: of the DSN (a postmaster)")
    parser.add_argument(
        "--envelope-sender",
        metavar="ADDR",
        help="where the DSN goes; default: the original's Return-Path, else its From",
    )
    parser.add_argument("--output", type=Path, metavar="FILE", help="write here, not stdout")


def run(args: argparse.Namespace) -> int:
    try:
        wire = build(args)
    except dsn.NullReversePath as exc:
        print(f"inbound dsn: {exc} (RFC 5321 §6.1): no DSN written", file=sys.stderr)
        return 1
    except dsn.DsnError as exc:
        print(f"inbound dsn: {exc}", file=sys.stderr)
        return 2
    except _Usage as exc:
        print(f"inbound dsn: {exc}", file=sys.stderr)
        return 2
    if args.output is not None:
        args.output.write_bytes(wire)
    else:
        sys.stdout.buffer.write(wire)
        sys.stdout.flush()
    return 0


def build(args: argparse.Namespace) -> bytes:
    """The DSN's wire form (CRLF); send it with `MAIL FROM:<>` to its `To:` address."""
    try:
        original = args.file.read_bytes()
    except OSError as exc:
        raise _Usage(f"cannot read {args.file}: {exc.strerror or exc}") from None
    envelope_sender = (
        args.envelope_sender if args.envelope_sender is not None else envelope_of(original)
    )
    dsn.return_path(envelope_sender)  # a null sender ends here, before anything else
    reporting_host = args.reporting_mta or f"inbound-smtp.{args.region}.amazonaws.com"
    reporting_mta = reporting_host if ";" in reporting_host else f"dns; {reporting_host}"
    if args.ses_template:
        template = SES_TEMPLATES[args.ses_template]
        sender = args.sender or "postmaster@" + args.recipient[0].rpartition("@")[2]
        message = dsn.ses_receipt_bounce(
            original,
            sender=sender,
            envelope_sender=envelope_sender,
            recipients=args.recipient,
            smtp_reply_code=args.smtp_code or template.smtp_reply_code,
            status_code=args.status or template.status_code,
            message=args.diagnostic or template.message,
            region=args.region,
            reporting_mta=reporting_mta,
        )
        return dsn.as_bytes(message)
    if not args.status or not args.smtp_code:
        raise _Usage("--status and --smtp-code are required without --ses-template")
    # The library's check of a reply code and status (errors name SmtpReplyCode / StatusCode).
    dsn.SesTemplate(args.smtp_code, args.status, args.diagnostic or "-")
    reply = args.diagnostic or ""
    if not _REPLY.match(reply):  # a bare text: make it the reply the code and status describe
        reply = f"{args.smtp_code} {args.status} {reply}".rstrip()
    elif not reply.startswith(args.smtp_code):
        raise dsn.DsnError(
            "Diagnostic-Code", f"reply {reply!r} has not --smtp-code {args.smtp_code}"
        )
    report = dsn.DeliveryReport(
        dsn.PerMessage(reporting_mta=reporting_mta),
        tuple(
            dsn.RecipientStatus(address, dsn.Action.FAILED, args.status, diagnostic_code=reply)
            for address in args.recipient
        ),
    )
    # RFC 3464 §2 (spec dsn.md H2): From is a human responsible for the reporting MTA.
    sender = args.sender or "postmaster@" + reporting_mta.split(";", 1)[1].strip()
    message = dsn.build_dsn(
        report,
        original=original,
        envelope_sender=envelope_sender,
        sender=sender,
        ret=dsn.Ret.HDRS if args.headers_only else dsn.Ret.FULL,
    )
    return dsn.as_bytes(message)


def envelope_of(original: bytes) -> str:
    """The original's envelope sender: its Return-Path (added at delivery, RFC 5321 §4.4),
    else the From address. `""` for `Return-Path: <>`."""
    header = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(original)
    return_path = header.get("Return-Path")
    if return_path is not None:
        value = str(return_path).strip()
        return "" if value.replace(" ", "") in ("", "<>") else value
    address = email.utils.parseaddr(str(header.get("From", "")))[1]
    if not address:
        raise _Usage("the message has no Return-Path or From: give --envelope-sender")
    return address
