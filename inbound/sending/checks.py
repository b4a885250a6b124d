"""The checks SES makes before it accepts a message, pure: addresses, recipients, size,
headers, verification, custom MAIL FROM. Each raises the SES error with SES's text.

`sender.py` runs them in SES's order (docs/behaviour.md, "Sending"); the texts quote the SES
Developer Guide and the API reference, or are marked UNCONFIRMED where AWS does not publish them.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable, Mapping

from inbound.errors import InvalidParameterValue, MailFromDomainNotVerified, MessageRejected
from inbound.identities.rules import SUCCESS, Identity
from inbound.rules.validate import is_verified

# SendEmail: "The message may not include more than 50 recipients, across the To:, CC: and
# BCC: fields."
MAX_RECIPIENTS = 50
# "The maximum message size is 10 MB" (v1 API), counted as the request carries it: base64.
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
# API v2: "The maximum message size, including attachments, is 40 MB" (after base64 too).
MAX_V2_MESSAGE_BYTES = 40 * 1024 * 1024
SIMULATOR_DOMAIN = "simulator.amazonses.com"
REJECT_MESSAGE = "RejectMessage"  # BehaviorOnMXFailure

# DG, "Amazon SES header fields": "The following fields can't appear more than once in the
# header section of a message".
SINGLE_HEADERS = {
    name.lower(): name
    for name in (
        "Accept-Language", "acceptLanguage", "Archived-At", "Auto-Submitted", "Bounces-to",
        "Comments", "Content-Alternative", "Content-Base", "Content-Class",
        "Content-Description", "Content-Disposition", "Content-Duration", "Content-ID",
        "Content-Language", "Content-Length", "Content-Location", "Content-MD5",
        "Content-Transfer-Encoding", "Content-Type", "Date", "Delivered-To",
        "Disposition-Notification-Options", "Disposition-Notification-To", "DKIM-Signature",
        "DomainKey-Signature", "Errors-To", "From", "Importance", "In-Reply-To", "Keywords",
        "List-Archive", "List-Help", "List-Id", "List-Owner", "List-Post", "List-Subscribe",
        "List-Unsubscribe", "List-Unsubscribe-Post", "Message-Context", "Message-ID",
        "MIME-Version", "Organization", "Original-From", "Original-Message-ID",
        "Original-Recipient", "Original-Subject", "Precedence", "Priority", "References",
        "Reply-To", "Return-Path", "Return-Receipt-To", "Sender", "Solicitation", "Sensitivity",
        "Subject", "Thread-Index", "Thread-Topic", "User-Agent", "VBR-Info",
    )
}  # fmt: skip

# "UserName@[SubDomain.]Domain.TopLevelDomain" (SendEmail): a dot-atom local part and a
# domain of at least two labels.
_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}"
)


def address(text: str) -> str:
    """The bare address of `text` (`a@example.com` or `Name <a@example.com>`).

    SES answers a malformed address with `InvalidParameterValue` and the JavaMail parser's
    words: "Missing final '@domain'" without an @, "Illegal address" otherwise (spec
    sending.md §1). A bare address of SES's syntax is one the parser reads as itself, so it
    is not parsed (profiled: a twentieth of a SendRawEmail's CPU)."""
    if _ADDRESS.fullmatch(text):
        return text
    return _parsed_address(text)


def _parsed_address(text: str) -> str:
    bare = email.utils.parseaddr(text)[1]
    if "@" not in (bare or text):
        raise InvalidParameterValue("Missing final '@domain'")
    if not bare or len(email.utils.getaddresses([text])) != 1 or not _ADDRESS.fullmatch(bare):
        raise InvalidParameterValue("Illegal address")
    return bare


# MessageTag: "can only contain ASCII letters (a-z, A-Z), numbers (0-9), underscores (_), or
# dashes (-)", "less than 256 characters", for the name and the value.
_TAG = re.compile(r"[A-Za-z0-9_-]{1,255}")


def tags(given: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """Message tags (API `Tags`, or parsed from X-SES-MESSAGE-TAGS) by name; a malformed name
    or value is `InvalidParameterValue` (the text is UNCONFIRMED)."""
    found: dict[str, str] = {}
    for tag in given:
        name, value = tag["Name"], tag["Value"]
        for what, text in (("name", name), ("value", value)):
            if _TAG.fullmatch(text) is None:
                raise InvalidParameterValue(
                    f"Invalid tag {what}: {text}. It must contain only ASCII letters, numbers, "
                    "underscores, or dashes, and less than 256 characters."
                )
        found[name] = value
    return found


def header_tags(text: str) -> dict[str, str]:
    """`X-SES-MESSAGE-TAGS: tagName1=tagValue1, tagName2=tagValue2` (DG, "Step 3: Specify your
    configuration set when you send email")."""
    pairs = [item.partition("=") for item in text.split(",") if item.strip()]
    return tags({"Name": name.strip(), "Value": value.strip()} for name, _, value in pairs)


def recipient_count(count: int) -> None:
    """At least one ("The message must include at least one recipient email address";
    the error is UNCONFIRMED) and at most 50 ("Recipient count exceeds 50.")."""
    if count == 0:
        raise MessageRejected("Missing recipients: the message must have at least one.")
    if count > MAX_RECIPIENTS:
        raise InvalidParameterValue(f"Recipient count exceeds {MAX_RECIPIENTS}.")


def message_size(size: int, limit: int = MAX_MESSAGE_BYTES) -> None:
    """`size` is the message as the request carries it, base64 (spec sending.md §1); `limit` is
    the API's (v1 10 MB, v2 40 MB)."""
    if size > limit:
        raise InvalidParameterValue(f"Message length is more than {limit} bytes long: '{size}'.")


def single_headers(names: Iterable[str]) -> None:
    """`InvalidParameterValue: Duplicate header 'Subject'.` through the API, as SendRawEmail
    callers report it (aws-lambda-ses-forwarder #11, #51, #111; fluent-smtp #64), and
    `554 Transaction failed: Duplicate header 'Subject'.` through SMTP (goes-notify #10,
    authelia #498)."""
    seen: set[str] = set()
    for name in names:
        key = name.lower()
        if key in SINGLE_HEADERS:
            if key in seen:
                raise InvalidParameterValue(f"Duplicate header '{SINGLE_HEADERS[key]}'.")
            seen.add(key)


def is_simulator(address: str) -> bool:
    """Mailbox simulator addresses (`success@simulator.amazonses.com`, `+label` forms) are
    exempt from the sandbox's recipient check and from the sending statistics."""
    return address.rpartition("@")[2].lower() == SIMULATOR_DOMAIN


def verified(
    senders: Iterable[str],
    recipients: Iterable[str],
    known: frozenset[str],
    *,
    sandbox: bool,
    region: str,
) -> None:
    """Senders must be verified identities (as an address or through its domain); in the
    sandbox every recipient too, except the mailbox simulator's. The failed ones are named in
    the order given: "Email address is not verified. The following identities failed the check
    in region US-EAST-1: a@x, b@y" (AWS re:Post, "554 or 400 Message rejected")."""
    wanted = list(senders)
    if sandbox:
        wanted += [r for r in recipients if not is_simulator(r)]
    failed = [a for a in dict.fromkeys(wanted) if not is_verified(a, known)]
    if failed:
        raise MessageRejected(
            "Email address is not verified. The following identities failed the check in "
            f"region {region.upper()}: {', '.join(failed)}"
        )


def sending_identity(address: str, identities: Mapping[str, Identity]) -> Identity | None:
    """The verified identity `address` sends as: the address itself, else its domain or the
    nearest parent domain (SES's own order for settings of overlapping identities)."""
    found = identities.get(address)
    if found is not None and found.status == SUCCESS:
        return found
    labels = address.rpartition("@")[2].lower().split(".")
    for i in range(len(labels) - 1):
        found = identities.get(".".join(labels[i:]))
        if found is not None and found.status == SUCCESS:
            return found
    return None


def mail_from(identity: Identity | None) -> str | None:
    """The identity's custom MAIL FROM domain when it can be used; None for SES's own
    (amazonses.com). A custom domain that is not verified (its MX record not found) is used
    never: with BehaviorOnMXFailure RejectMessage the message is refused
    (`MailFromDomainNotVerifiedException`: "Amazon SES could not read the MX record required to
    use the specified MAIL FROM domain"), with UseDefaultValue SES's own domain is used."""
    if identity is None or not identity.mail_from_domain:
        return None
    if identity.mail_from_status == SUCCESS:
        return identity.mail_from_domain
    if identity.mail_from_behavior == REJECT_MESSAGE:
        raise MailFromDomainNotVerified(
            f"Could not send the message: the custom MAIL FROM domain "
            f"{identity.mail_from_domain} of identity {identity.name} is not verified "
            "(its MX record was not found)."
        )
    return None
