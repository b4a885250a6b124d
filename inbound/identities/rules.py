"""Identities, pure logic: names, tokens, the stored record, status transitions, policy checks.

No I/O here: `api/operations/identities.py` keeps the records in the store and asks DNS
(`dns_check.py`); this module decides what a name, a token or a lookup result means. Which SES
documentation each rule rests on is said where the rule is, and summed up in
`docs/identities.md`.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from inbound.errors import InvalidParameterValue, SesClientError, ValidationError

DOMAIN, EMAIL = "Domain", "EmailAddress"
PENDING, SUCCESS, FAILED = "Pending", "Success", "Failed"
TEMPORARY_FAILURE, NOT_STARTED = "TemporaryFailure", "NotStarted"
NOTIFICATION_TYPES = ("Bounce", "Complaint", "Delivery")
USE_DEFAULT = "UseDefaultValue"
# How DKIM is set up for a domain (SES v2 `SigningAttributesOrigin`): Easy DKIM or BYODKIM.
AWS_SES, EXTERNAL = "AWS_SES", "EXTERNAL"
RSA_1024, RSA_2048 = "RSA_1024_BIT", "RSA_2048_BIT"  # DkimSigningKeyLength
# "If Amazon SES is unable to detect the record within 72 hours, the domain's verification
# status changes to Failed" (VerifyDomainIdentity); the link in the verification email
# "expires after 24 hours" (DG, verifying email addresses).
WINDOWS = {DOMAIN: timedelta(hours=72), EMAIL: timedelta(hours=24)}
MAX_POLICY_BYTES = 4096  # "The policy cannot exceed 4 KB." (PutIdentityPolicy)
POLICY_VERSIONS = ("2008-10-17", "2012-10-17")
_POLICY_NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # "alphanumeric characters, dashes, and underscores"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})+$")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_ARN = re.compile(r"^arn:aws[a-z-]*:ses:[a-z0-9-]*:\d*:identity/(.+)$")
_DKIM_ALPHABET = string.ascii_lowercase + string.digits


class InvalidPolicy(SesClientError):
    """The model's `InvalidPolicyException` (wire code `InvalidPolicy`), PutIdentityPolicy only."""

    code = "InvalidPolicy"


# ── names ───────────────────────────────────────────────────────────────────────────────────
def canonical(identity: str) -> str:
    """The stored name of `identity` as a caller spells it (a name or an identity ARN, which the
    policy operations document: `arn:aws:ses:us-east-1:123456789012:identity/example.com`).

    Domains are DNS names, so case-insensitive and without a trailing dot. Email addresses are
    kept exactly as given: AWS says verified email identities are case-sensitive (spec
    receiving.md §1.4 [rePost-554]), so `User@example.com` and `user@example.com` are two.
    """
    name = identity.strip()
    match = _ARN.match(name)
    if match:
        name = match.group(1)
    return name if "@" in name else name.lower().rstrip(".")


def kind_of(name: str) -> str:
    return EMAIL if "@" in name else DOMAIN


def domain_of(name: str) -> str:
    return name.rpartition("@")[2].lower()


def check_domain(domain: str) -> str:
    name = canonical(domain)
    if "@" in name or not _DOMAIN.match(name):
        raise InvalidParameterValue(f"Invalid domain name {domain}.")
    return name


def check_email(address: str) -> str:
    name = canonical(address)
    local, at, domain = name.rpartition("@")
    if not at or not _LOCAL.match(local) or not _DOMAIN.match(domain.lower()) or len(name) > 320:
        raise InvalidParameterValue(f"Invalid email address {address}.")
    return name


def check_policy_name(name: str) -> None:
    """The model bounds the length (1-64, checked by the codec); the pattern is the API
    reference's "can only include alphanumeric characters, dashes, and underscores"."""
    if not _POLICY_NAME.match(name):
        raise ValidationError(
            "policyName", "Member must satisfy regular expression pattern: ^[A-Za-z0-9_-]+$", name
        )


# ── tokens ──────────────────────────────────────────────────────────────────────────────────
def verification_token() -> str:
    """44 characters of base64, the shape of SES's TXT tokens (32 random bytes)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def dkim_tokens() -> tuple[str, str, str]:
    """Three Easy DKIM tokens, 32 characters of [a-z0-9] each."""
    first, second, third = (
        "".join(secrets.choice(_DKIM_ALPHABET) for _ in range(32)) for _ in range(3)
    )
    return first, second, third


# ── the record ──────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Identity:
    """One identity as stored (`identity` documents keyed by `name`)."""

    name: str
    kind: str
    status: str
    started: str  # ISO 8601: when verification (re)started, for the Failed windows
    token: str | None = None  # domains: the `_amazonses` TXT value
    dkim_tokens: tuple[str, ...] = ()  # Easy DKIM's three tokens, or BYODKIM's selector
    dkim_status: str = NOT_STARTED
    dkim_started: str | None = None
    dkim_enabled: bool | None = None  # None: the default (on once Easy DKIM is set up)
    dkim_origin: str = AWS_SES  # EXTERNAL: BYODKIM, the user's key
    dkim_public_key: str | None = None  # BYODKIM: the base64 key its `p=` record must carry
    dkim_key_length: str = RSA_2048  # Easy DKIM: CurrentSigningKeyLength
    dkim_next_key_length: str = RSA_2048  # Easy DKIM: NextSigningKeyLength
    mail_from_domain: str | None = None
    mail_from_status: str | None = None
    mail_from_started: str | None = None
    mail_from_behavior: str = USE_DEFAULT
    topics: Mapping[str, str] = field(default_factory=dict)  # notification type → topic ARN
    forwarding: bool = True  # SES forwards feedback by email until told otherwise
    headers: frozenset[str] = frozenset()  # notification types that include headers
    policies: Mapping[str, str] = field(default_factory=dict)  # name → policy text
    tags: Mapping[str, str] = field(default_factory=dict)  # SES v2 resource tags, key → value
    configuration_set: str | None = None  # SES v2: the default configuration set of its sends
    certificates: Mapping[str, str] = field(default_factory=dict)  # S/MIME: address → ACM ARN

    def to_json(self) -> dict[str, Any]:
        body = dataclasses.asdict(self)
        body["dkim_tokens"] = list(self.dkim_tokens)
        body["headers"] = sorted(self.headers)
        body["topics"], body["policies"] = dict(self.topics), dict(self.policies)
        body["tags"], body["certificates"] = dict(self.tags), dict(self.certificates)
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Identity:
        data = dict(body)
        data["dkim_tokens"] = tuple(data.get("dkim_tokens", ()))
        data["headers"] = frozenset(data.get("headers", ()))
        return cls(**data)

    def replace(self, **changes: Any) -> Identity:
        return dataclasses.replace(self, **changes)

    @property
    def domain(self) -> str:
        return domain_of(self.name)


def dkim_domain(everything: Mapping[str, Identity], identity: Identity) -> Identity | None:
    """Where an identity's Easy DKIM setup lives: itself for a domain, else its domain ("If
    the identity is an email address, the tokens represent the domain of that address")."""
    if identity.kind == DOMAIN:
        return identity
    return everything.get(identity.domain)


def dkim_enabled(identity: Identity, domain: Identity | None) -> bool:
    """DkimEnabled: as SetIdentityDkimEnabled set it; else an email address follows its domain,
    and a domain is on once set up for Easy DKIM ("The default value is true")."""
    if identity.dkim_enabled is not None:
        return identity.dkim_enabled
    return domain is not None and bool(domain.dkim_tokens) and domain.dkim_enabled is not False


def new_identity(name: str, status: str, now: datetime) -> Identity:
    kind = kind_of(name)
    token = verification_token() if kind == DOMAIN else None
    return Identity(name, kind, status, now.isoformat(), token)


def restarted(identity: Identity, status: str, now: datetime) -> Identity:
    """Verify* on an existing identity: a verified one stays verified; otherwise verification
    starts again with the same token ("you must restart the verification process")."""
    if identity.status == SUCCESS:
        return identity
    return identity.replace(status=status, started=now.isoformat())


def verified_names(identities: Mapping[str, Identity]) -> frozenset[str]:
    return frozenset(name for name, i in identities.items() if i.status == SUCCESS)


# ── status from what DNS showed ─────────────────────────────────────────────────────────────
def progress(
    status: str, started: str | None, found: bool | None, window: timedelta, now: datetime
) -> str:
    """Next status of a Pending check: `found` None means DNS could not be asked ("a temporary
    issue is preventing Amazon SES from determining the verification status")."""
    if status in (SUCCESS, FAILED, NOT_STARTED):
        return status
    if found:
        return SUCCESS
    if started is not None and now - datetime.fromisoformat(started) > window:
        return FAILED
    return TEMPORARY_FAILURE if found is None else PENDING


def after_dns(
    identity: Identity,
    *,
    txt: bool | None,
    dkim: bool | None,
    mail_from: bool | None,
    now: datetime,
) -> Identity:
    """Apply one round of lookups. "The domain's verification status also changes to Success
    when it is DKIM verified." (VerifyDomainIdentity)"""
    window = WINDOWS[DOMAIN]
    dkim_status = progress(identity.dkim_status, identity.dkim_started, dkim, window, now)
    status = progress(identity.status, identity.started, txt, window, now)
    if dkim_status == SUCCESS and status != SUCCESS:
        status = SUCCESS
    mail_from_status = identity.mail_from_status
    if mail_from_status is not None:
        mail_from_status = progress(
            mail_from_status, identity.mail_from_started, mail_from, window, now
        )
    return identity.replace(
        status=status, dkim_status=dkim_status, mail_from_status=mail_from_status
    )


def email_expired(identity: Identity, now: datetime) -> Identity:
    status = progress(identity.status, identity.started, False, WINDOWS[EMAIL], now)
    return identity if status == identity.status else identity.replace(status=status)


# ── MAIL FROM ───────────────────────────────────────────────────────────────────────────────
def check_mail_from(identity: Identity, mail_from: str, receiving: frozenset[str]) -> str:
    """SetIdentityMailFromDomain: "The MAIL FROM domain must 1) be a subdomain of the verified
    identity, 2) not be used in a "From" address if the MAIL FROM domain is the destination of
    email feedback forwarding, and 3) not be used to receive emails." Rule 2 concerns sending,
    which this engine does not do; rule 3 is checked against the receipt rules' recipients
    (`receiving`: lower-cased recipient conditions of the active rule set)."""
    name = mail_from.lower().rstrip(".")
    if not _DOMAIN.match(name) or not name.endswith("." + identity.domain):
        raise InvalidParameterValue(
            f"Provided MAIL-FROM domain <{mail_from}> is not subdomain of "
            f"the domain of the identity <{identity.name}>."
        )
    for recipient in receiving:
        if recipient in (name, "." + name) or recipient.endswith("@" + name):
            raise InvalidParameterValue(
                f"Provided MAIL-FROM domain <{mail_from}> is used to receive email "
                f"(receipt rule recipient {recipient})."
            )
    return name


# ── sending-authorization policies ──────────────────────────────────────────────────────────
def check_policy(text: str) -> None:
    """A sending-authorization policy: JSON, ≤ 4 KB, an IAM-style Version and Statement whose
    entries each have Effect (Allow/Deny), Principal and Action (DG, "Sending authorization
    policy anatomy"). Anything else is `InvalidPolicy`."""
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise InvalidPolicy("Policy exceeds the maximum size of 4 KB.")
    try:
        policy = json.loads(text)
    except ValueError:
        raise InvalidPolicy("Policy is not valid JSON.") from None
    if not isinstance(policy, dict):
        raise InvalidPolicy("Policy must be a JSON object.")
    if policy.get("Version") not in POLICY_VERSIONS:
        raise InvalidPolicy(f"Policy Version must be one of {', '.join(POLICY_VERSIONS)}.")
    statements = policy.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise InvalidPolicy("Policy must have at least one Statement.")
    for number, statement in enumerate(statements, 1):
        if not isinstance(statement, dict):
            raise InvalidPolicy(f"Statement {number} is not a JSON object.")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise InvalidPolicy(f"Statement {number}: Effect must be Allow or Deny.")
        for key in ("Principal", "Action"):
            if key not in statement:
                raise InvalidPolicy(f"Statement {number} has no {key}.")
