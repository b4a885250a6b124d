"""DMARC (RFC 7489): the policy of the header From domain, its organizational domain from the
Public Suffix List (the `publicsuffixlist` package), SPF and DKIM alignment, `p`/`sp`/`pct`;
SES's `dmarcVerdict`, `dmarcPolicy` and the `dmarc=` clause of Authentication-Results.

Verdicts (spec receiving.md §6; docs/authentication.md, "DMARC"): pass ⇒ PASS; fail ⇒ FAIL, with
`dmarcPolicy` the policy to apply (after `pct`), `none` included (OBSERVED: FAIL with policy
"none"); no policy record ⇒ `dmarc=none`, GRAY; a DNS failure ⇒ `temperror`, a record that
starts `v=DMARC1` but cannot be read ⇒ `permerror`, both PROCESSING_FAILED.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from publicsuffixlist import PublicSuffixList

from inbound.dns import DnsSource
from inbound.headers import Header
from inbound.receiving.verdicts import Status, header_from_domain

POLICIES = ("none", "quarantine", "reject")
ORG_CACHE = 4096  # domains whose organizational domain is kept
# RFC 7489 §6.6.4: a message outside `pct` gets the next policy down
_DOWNGRADE = {"reject": "quarantine", "quarantine": "none", "none": "none"}


class LookupFailed(Exception):
    """The DNS source could not answer (a temporary failure)."""


class RecordError(ValueError):
    """A DMARC record (it starts `v=DMARC1`) that RFC 7489 §6.3 cannot read."""


@dataclass(frozen=True)
class DmarcRecord:
    policy: str  # p
    subdomain_policy: str | None  # sp
    percent: int  # pct, 0..100
    strict_spf: bool  # aspf=s
    strict_dkim: bool  # adkim=s

    @classmethod
    @functools.lru_cache(maxsize=1024)  # a few records serve many messages; the parse is pure
    def parse(cls, text: str) -> DmarcRecord:
        """RFC 7489 §6.3-§6.4: `tag=value` pairs separated by `;`, `v=DMARC1` first; unknown
        tags are ignored; `p` is required (§6.6.3 step 6: without it, a record with `rua` is
        `p=none`)."""
        tags: dict[str, str] = {}
        for i, item in enumerate(text.split(";")):
            if not item.strip():
                continue
            name, equals, value = item.partition("=")
            name, value = name.strip().lower(), value.strip()
            if not equals or not name:
                raise RecordError(f"not a tag=value pair: {item.strip()!r}")
            if i == 0 and (name, value) != ("v", "DMARC1"):
                raise RecordError("v=DMARC1 must come first")
            tags.setdefault(name, value)
        policy = tags.get("p", "").lower()
        if policy not in POLICIES:
            if "rua" not in tags:
                raise RecordError(f"p must be one of {', '.join(POLICIES)}")
            policy = "none"
        subdomain = tags.get("sp", "").lower() or None
        if subdomain is not None and subdomain not in POLICIES:
            raise RecordError(f"sp must be one of {', '.join(POLICIES)}")
        pct = tags.get("pct", "100")
        if not (pct.isascii() and pct.isdigit() and int(pct) <= 100):
            raise RecordError("pct must be an integer from 0 to 100")
        modes = {key: tags.get(key, "r").lower() for key in ("aspf", "adkim")}
        if any(mode not in ("r", "s") for mode in modes.values()):
            raise RecordError("aspf and adkim must be r or s")
        return cls(policy, subdomain, int(pct), modes["aspf"] == "s", modes["adkim"] == "s")


@dataclass(frozen=True)
class DmarcResult:
    status: Status
    result: str  # RFC 8601 §2.7.7 word: pass, fail, none, temperror, permerror
    policy: str | None = None  # the policy to apply, when DMARC fails


@functools.cache
def suffix_list() -> PublicSuffixList:
    """The list the package ships, parsed once per process (0.2 s: app start-up pays it)."""
    return PublicSuffixList()


@functools.lru_cache(maxsize=ORG_CACHE)
def organizational_domain(domain: str) -> str:
    """RFC 7489 §3.2: the public suffix plus one label; a public suffix itself is its own.
    Kept per name: the list is the package's, fixed for the process (DNS plays no part)."""
    return suffix_list().privatesuffix(domain) or domain


def aligned(domain: str, from_domain: str, strict: bool) -> bool:
    """RFC 7489 §3.1: strict means the same name, relaxed the same organizational domain."""
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if strict or domain == from_domain:
        return domain == from_domain
    return organizational_domain(domain) == organizational_domain(from_domain)


def _record(source: DnsSource, domain: str) -> DmarcRecord | None:
    """The one DMARC record at `_dmarc.<domain>`; None when there is none, or several
    (RFC 7489 §6.6.3 step 2: not exactly one record is "no DMARC record")."""
    values = source.lookup(f"_dmarc.{domain}", "TXT")
    if values is None:
        raise LookupFailed(domain)
    found = [v for v in values if v.split(";", 1)[0].replace(" ", "") == "v=DMARC1"]
    return DmarcRecord.parse(found[0]) if len(found) == 1 else None


def _in_sample(percent: int, headers: Sequence[Header]) -> bool:
    """Whether this message is among the `pct` per cent the policy applies to: decided by a
    hash of its header block, so a message keeps its decision when it is evaluated again (a
    retry, a restart), and messages spread evenly."""
    if percent >= 100:
        return True
    digest = hashlib.blake2b(digest_size=8)
    for name, value in headers:
        digest.update(f"{name}:{value}\n".encode("utf-8", "replace"))
    return int.from_bytes(digest.digest(), "big") % 100 < percent


def evaluate(
    source: DnsSource,
    headers: Sequence[Header],
    *,
    spf_pass: bool,
    spf_domain: str,
    dkim_domains: Iterable[str],
) -> DmarcResult:
    """RFC 7489 §6.6: policy discovery for the header From domain, then alignment of the
    SPF-authenticated domain (when SPF passed) and of each passing DKIM signature's d=."""
    from_domain = header_from_domain(headers)
    if not from_domain:
        return DmarcResult(Status.GRAY, "none")
    org = organizational_domain(from_domain)
    try:
        record = _record(source, from_domain)
        at_org = record is None and org != from_domain
        if at_org:
            record = _record(source, org)
    except LookupFailed:
        return DmarcResult(Status.PROCESSING_FAILED, "temperror")
    except RecordError:
        return DmarcResult(Status.PROCESSING_FAILED, "permerror")
    if record is None:
        return DmarcResult(Status.GRAY, "none")
    if (spf_pass and aligned(spf_domain, from_domain, record.strict_spf)) or any(
        aligned(d, from_domain, record.strict_dkim) for d in dkim_domains
    ):
        return DmarcResult(Status.PASS, "pass")
    policy = record.subdomain_policy if at_org and record.subdomain_policy else record.policy
    if not _in_sample(record.percent, headers):
        policy = _DOWNGRADE[policy]
    return DmarcResult(Status.FAIL, "fail", policy)
