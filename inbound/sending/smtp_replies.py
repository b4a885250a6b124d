"""The SMTP interface's replies, by name, and the one table from the Sender's SES errors to them.

Texts are SES's, from the DG ("Amazon SES SMTP issues": "SMTP response codes returned by
Amazon SES"; "Errors related to the sending quotas for your Amazon SES account"; "Testing email
sending using the command line") and from SES conversations published by its users, quoted in
docs/behaviour.md ("The SMTP interface"). Where SES's text is not known it is marked
UNCONFIRMED. Pure: `submission.py` sends them.
"""

from __future__ import annotations

from inbound.errors import (
    InvalidParameterValue,
    MailFromDomainNotVerified,
    MessageRejected,
    SesError,
    Throttling,
)

HOSTNAME = "email-smtp.amazonaws.com"  # every Region's endpoint greets with this name
S220_READY_TLS = "220 Ready to start TLS"
S235_AUTHENTICATED = "235 Authentication successful."
S250_OK = "250 Ok"
S451_TEMPORARY_FAILURE = "451 Temporary service failure"
S501_BAD_MAIL_FROM = "501 Invalid MAIL FROM address provided"
S501_BAD_RCPT_TO = "501 Invalid RCPT TO address provided"
S530_AUTHENTICATION_REQUIRED = "530 Authentication required"
S530_STARTTLS_FIRST = "530 Must issue a STARTTLS command first"  # aiosmtpd's text too
S535_CREDENTIALS_INVALID = "535 Authentication Credentials Invalid"
S552_TOO_LONG = "552 Message is too long."
# AUTH LOGIN's prompts, as SES sends them: `334 VXNlcm5hbWU6`, `334 UGFzc3dvcmQ6`
LOGIN_USERNAME_PROMPT = "Username:"
LOGIN_PASSWORD_PROMPT = "Password:"

# The Sender's errors as SES's SMTP endpoint words them; the most specific class wins (its MRO
# is walked). `{}` is the API error's message: the same check says the same thing both ways.
FAILURES: dict[type[SesError], str] = {
    MessageRejected: "554 Message rejected: {}",
    InvalidParameterValue: "554 Transaction failed: {}",
    Throttling: "454 Throttling failure: {}",
    MailFromDomainNotVerified: (
        "554 MAIL FROM domain not verified: DNS setup for MAIL FROM domain is invalid."
    ),
    # the paused account or configuration set, an unknown configuration set: UNCONFIRMED
    SesError: "554 Transaction failed: {}",
}


def failure(error: SesError) -> str:
    """The reply line for an SES error the send path raised."""
    template = next(FAILURES[cls] for cls in type(error).__mro__ if cls in FAILURES)
    return template.format(error.message)
