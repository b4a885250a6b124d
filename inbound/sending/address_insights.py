"""GetEmailAddressInsights' verdicts on one address, from what this engine knows without
sending anything or asking the network: the address's syntax, whether mail to it is received
here (a receipt rule of the active set matches it) or by the mailbox simulator, and lists of
role and disposable addresses. Pure: an address and facts in, verdicts out.

Each evaluation is a `ConfidenceVerdict` that its check holds (HIGH, MEDIUM, LOW: "Each
evaluation returns a confidence verdict"); MEDIUM where this engine cannot tell (a domain it
neither receives for nor simulates). The overall `IsValid` rolls them up. The lists and the
roll-up are decisions (docs/behaviour.md, "GetEmailAddressInsights").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from inbound.sending import simulator


class Verdict(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


ROLES = frozenset(
    {
        "abuse", "admin", "administrator", "billing", "contact", "help", "hostmaster", "info",
        "marketing", "noc", "no-reply", "noreply", "postmaster", "sales", "security", "support",
        "webmaster",
    }
)  # fmt: skip
DISPOSABLE = frozenset(
    {
        "10minutemail.com", "discard.email", "guerrillamail.com", "mailinator.com",
        "sharklasers.com", "temp-mail.org", "throwawaymail.com", "trashmail.com", "yopmail.com",
    }
)  # fmt: skip
# RFC 5322 dot-atom local part and an RFC 1035 host name (what SES sends to without quoting)
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN = re.compile(r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_RANDOM = re.compile(r"[bcdfghjklmnpqrstvwxz0-9]{6,}", re.IGNORECASE)  # no vowel in 6 or more


@dataclass(frozen=True)
class Evaluations:
    has_valid_syntax: Verdict
    has_valid_dns_records: Verdict
    mailbox_exists: Verdict
    is_role_address: Verdict
    is_disposable: Verdict
    is_random_input: Verdict

    @property
    def is_valid(self) -> Verdict:
        """LOW when a check says mail cannot arrive (bad syntax, no mail domain, no mailbox) or
        the address is disposable; HIGH when every check says it arrives and it is no role or
        random address; MEDIUM otherwise."""
        arrives = (self.has_valid_syntax, self.has_valid_dns_records, self.mailbox_exists)
        if Verdict.LOW in arrives or self.is_disposable is Verdict.HIGH:
            return Verdict.LOW
        doubtful = (self.is_role_address, self.is_random_input)
        if all(v is Verdict.HIGH for v in arrives) and Verdict.HIGH not in doubtful:
            return Verdict.HIGH
        return Verdict.MEDIUM


def _yes(flag: bool) -> Verdict:
    return Verdict.HIGH if flag else Verdict.LOW


def evaluate(address: str, *, received_here: bool, receives_for_domain: bool) -> Evaluations:
    """`received_here`: a rule of the active receipt rule set matches the address;
    `receives_for_domain`: this engine receives for its domain (a rule or a verified domain)."""
    local, _, domain = address.rpartition("@")
    valid = bool(local) and _LOCAL.fullmatch(local) is not None
    valid = valid and len(address) <= 320 and _DOMAIN.fullmatch(domain) is not None
    simulated = simulator.outcome_of(address) if valid else None
    if not valid:
        dns = mailbox = Verdict.LOW
    elif simulated is not None:
        dns, mailbox = Verdict.HIGH, _yes(simulated not in simulator.BOUNCES)
    elif received_here:
        dns = mailbox = Verdict.HIGH
    else:
        dns = Verdict.HIGH if receives_for_domain else Verdict.MEDIUM
        mailbox = Verdict.LOW if receives_for_domain else Verdict.MEDIUM
    return Evaluations(
        has_valid_syntax=_yes(valid),
        has_valid_dns_records=dns,
        mailbox_exists=mailbox,
        is_role_address=_yes(local.lower().partition("+")[0] in ROLES),
        is_disposable=_yes(domain.lower() in DISPOSABLE),
        is_random_input=_yes(_RANDOM.search(local) is not None),
    )
