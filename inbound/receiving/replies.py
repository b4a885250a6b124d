"""SMTP replies the product promises, by name (spec receiving.md §1.5, §2, §7, §11).

Observed SES texts are used verbatim; where SES's text is unknown (end of DATA, oversize), the
spec recommends Postfix's, since every observed SES string is Postfix's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class SmtpReply:
    code: int
    enhanced: str | None
    text: str

    @cached_property
    def line(self) -> str:
        """The reply line as sent (built once: it is sent for every RCPT)."""
        middle = f" {self.enhanced}" if self.enhanced else ""
        return f"{self.code}{middle} {self.text}"

    def __str__(self) -> str:
        return self.line


class SmtpRejection(Exception):
    """Raised by the decide stage; only `smtp.py` turns it into a reply line."""

    def __init__(self, reply: SmtpReply) -> None:
        super().__init__(str(reply))
        self.reply = reply


S250_OK = SmtpReply(250, None, "Ok")
S550_MAILBOX_UNAVAILABLE = SmtpReply(
    550, "5.1.1", "Requested action not taken: mailbox unavailable"
)
S550_IP_BLACKLISTED = SmtpReply(550, "5.7.1", "IP address blacklisted by recipient")
S550_TLS_REQUIRED = SmtpReply(550, "5.7.1", "TLS required by recipient")
S503_NEED_RCPT = SmtpReply(503, None, "Error: need RCPT command")
# The message could not be stored (the data dir is full, read-only or failing): SES's text for
# a "local processing error" (DG, SMTP response codes), with the enhanced code of RFC 3463's
# "other or undefined mail system status", as SES's receiving replies carry one.
S451_LOCAL_ERROR = SmtpReply(451, "4.3.0", "Temporary service failure")
# A control character in a command's argument (SES's replies for these are UNCONFIRMED):
# Postfix's texts, without the `<argument>:` prefix Postfix writes, which would echo it.
S501_BAD_HELO = SmtpReply(501, "5.5.2", "Helo command rejected: Invalid name")
S501_BAD_SENDER = SmtpReply(501, "5.1.7", "Bad sender address syntax")
S501_BAD_RECIPIENT = SmtpReply(501, "5.1.3", "Bad recipient address syntax")
