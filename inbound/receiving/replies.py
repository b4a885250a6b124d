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
# Limits and timeouts, on both SMTP listeners (docs/behaviour.md, "Limits and timeouts"). The
# first two are SES's, as its DG lists them ("SMTP response codes returned by Amazon SES");
# the others are Postfix's, as SES's receiving endpoint's observed texts are.
S421_TOO_MANY_CONNECTIONS = SmtpReply(421, None, "Too many concurrent SMTP connections")
S451_TIMEOUT = SmtpReply(451, None, "Timeout waiting for data from client")
S452_TOO_MANY_RECIPIENTS = SmtpReply(452, "4.5.3", "Error: too many recipients")
S554_TOO_MANY_HOPS = SmtpReply(554, "5.4.0", "Error: too many hops")
# What aiosmtpd's own code fails on is a syntax error (aiosmtpd would answer
# `500 Error: (<exception class>) <exception text>`); an unknown command is answered without
# quoting it (aiosmtpd's `500 Error: command "<name>" not recognized` echoes control
# characters); the fifth unknown command ends the session, as in aiosmtpd. Postfix's texts.
S500_BAD_SYNTAX = SmtpReply(500, "5.5.2", "Error: bad syntax")
# STARTTLS once TLS is on (after STARTTLS, or on the SMTP interface's TLS-wrapper port): RFC
# 3207 §4.2 forbids a second negotiation, and aiosmtpd would start one inside the first.
# Postfix's text, with the 503 of a bad command sequence (Postfix answers 554).
S503_TLS_ACTIVE = SmtpReply(503, "5.5.1", "Error: TLS already active")
S500_UNKNOWN_COMMAND = SmtpReply(500, "5.5.2", "Error: command not recognized")
S502_TOO_MANY_UNKNOWN = SmtpReply(502, "5.5.1", "Too many unrecognized commands, goodbye.")
