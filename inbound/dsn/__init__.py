"""RFC 3464 / RFC 6522 delivery status notifications, built the way Amazon SES builds them.

A standalone library (stdlib only, imports nothing else from ``inbound``).  Describe what
happened with frozen data classes, then build the ``multipart/report`` message::

    from inbound import dsn

    report = dsn.DeliveryReport(
        dsn.PerMessage(reporting_mta="dns; mx.example.net", arrival_date=arrived),
        (dsn.RecipientStatus("bob@example.org", dsn.Action.FAILED, "5.1.1",
                             diagnostic_code="550 5.1.1 No such user"),),
    )
    msg = dsn.build_dsn(report, original=raw, envelope_sender="alice@example.com",
                        sender="postmaster@example.net")
    wire = dsn.as_bytes(msg)                 # CRLF; send with MAIL FROM:<> (dsn_envelope)

SES's receipt-rule Bounce action in one call::

    msg = dsn.ses_receipt_bounce(raw, sender="postmaster@example.net",
                                 envelope_sender="alice@example.com",
                                 recipients=["bob@example.net"],
                                 smtp_reply_code="550", status_code="5.1.1",
                                 message="Mailbox does not exist", region="us-east-1")

Read a DSN back with :func:`parse_dsn`.  Every invalid value raises a :class:`DsnError`
(a ``ValueError``) naming the field; a null envelope sender raises :class:`NullReversePath`.
See docs/dsn.md.
"""

from .build import Ret, as_bytes, build_dsn, dsn_envelope, return_path
from .errors import DsnError, DsnParseError, NullReversePath
from .fields import Action, DeliveryReport, PerMessage, RecipientStatus
from .parse import parse_dsn
from .render import RFC3464_RECIPIENT_ORDER
from .ses import (
    BOUNCE_TYPE_TEMPLATES,
    MAILBOX_DOES_NOT_EXIST,
    MAILBOX_FULL,
    MESSAGE_CONTENT_REJECTED,
    MESSAGE_TOO_LARGE,
    SES_RECIPIENT_ORDER,
    TEMPORARY_FAILURE,
    UNKNOWN_FAILURE,
    BounceType,
    SesTemplate,
    bounce_type_recipient,
    ses_bounce,
    ses_message_id,
    ses_receipt_bounce,
    ses_reporting_mta,
)
from .xtext import decode_utf8_addr, decode_xtext, encode_utf8_addr_xtext, encode_xtext

__all__ = [
    "BOUNCE_TYPE_TEMPLATES",
    "MAILBOX_DOES_NOT_EXIST",
    "MAILBOX_FULL",
    "MESSAGE_CONTENT_REJECTED",
    "MESSAGE_TOO_LARGE",
    "RFC3464_RECIPIENT_ORDER",
    "SES_RECIPIENT_ORDER",
    "TEMPORARY_FAILURE",
    "UNKNOWN_FAILURE",
    "Action",
    "BounceType",
    "DeliveryReport",
    "DsnError",
    "DsnParseError",
    "NullReversePath",
    "PerMessage",
    "RecipientStatus",
    "Ret",
    "SesTemplate",
    "as_bytes",
    "bounce_type_recipient",
    "build_dsn",
    "decode_utf8_addr",
    "decode_xtext",
    "dsn_envelope",
    "encode_utf8_addr_xtext",
    "encode_xtext",
    "parse_dsn",
    "return_path",
    "ses_bounce",
    "ses_message_id",
    "ses_receipt_bounce",
    "ses_reporting_mta",
]
