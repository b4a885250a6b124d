"""DKIM verification of received mail: every `DKIM-Signature`, each with its own result.

SES evaluates DKIM "over all DKIM-Signature headers" of every message it receives (spec
receiving.md §6) and writes one `dkim=<result> header.i=@<d>` clause per signature in its
`Authentication-Results` (§5 item 6). dkimpy does the cryptography and the canonicalization
(rsa-sha256, rsa-sha1, ed25519-sha256 per RFC 8463 through PyNaCl; simple and relaxed; `l=`);
this module asks DNS itself, through the lookup it is given, so that each way a signature can
go wrong gets its own RFC 8601 §2.7.1 word, where `dkim.DKIM.verify` turns a missing key, a
broken key and a DNS timeout alike into False:

* pass: the signature verifies with the published key;
* fail: it does not (a changed header or body: RFC 6376 §6.1.3);
* policy: it verifies, or could, but is not acceptable: an RSA key under 1024 bits (RFC 8301
  §3.2), rsa-sha1 (RFC 8301 §3.1), an `x=` expiry in the past (RFC 6376 §3.5);
* temperror: the key could not be fetched now (timeout, SERVFAIL: RFC 6376 §6.1.2);
* permerror: the signature cannot be checked at all: its tag list is malformed or lacks a
  required tag, its algorithm or canonicalization is unknown, no key is published at
  `<s>._domainkey.<d>`, or the key record is malformed or revoked (RFC 6376 §6.1.1, §6.1.2).

`neutral` is not written: RFC 8601 gives it to "syntax errors", which permerror already names,
and SES was observed writing `dkim=permerror header.i=@<d>` for such signatures (docs/
authentication.md, "DKIM").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from inbound.dns import DnsSource
from inbound.headers import Header, SplitMessage, body_start, unfolded
from inbound.receiving.authentication.results import Result, SignatureResult, TxtLookup
from inbound.receiving.verdicts import AuthInput, DkimOutcome, Status


class DkimVerifier:
    """The DKIM of `DnsAuthenticator`: every signature verified against `source`'s keys."""

    def __init__(self, source: DnsSource) -> None:
        self._source = source

    def _txt(self, name: str) -> list[str] | None:
        return self._source.lookup(name, "TXT")

    def evaluate(self, message: AuthInput) -> DkimOutcome:
        results = verify(message.message, self._txt)
        return DkimOutcome(verdict(results), tuple(r.pair for r in results))


def verdict(results: Sequence[SignatureResult]) -> Status:
    """SES's `dkimVerdict` over every signature: GRAY when the message is not signed (spec
    §6); PASS when any signature passes, since one good signature is what DKIM vouches with
    and bad ones weigh nothing beside it (RFC 6376 §6.1); FAIL when one failed or was refused;
    PROCESSING_FAILED when none could be checked (DNS failure, malformed signature or key:
    spec §6, and SES's `dkim=permerror` with PROCESSING_FAILED in [OBS])."""
    words = {r.result for r in results}
    if not words:
        return Status.GRAY
    if Result.PASS in words:
        return Status.PASS
    if words & {Result.FAIL, Result.POLICY}:
        return Status.FAIL
    return Status.PROCESSING_FAILED


def signed(raw: bytes) -> bool:
    """Whether the message's header block names a DKIM-Signature at all."""
    return b"dkim-signature" in raw[: body_start(raw)].lower()


def verify(raw: bytes, lookup: TxtLookup) -> tuple[SignatureResult, ...]:
    """Every DKIM-Signature of `raw` (the message as received, before SES's headers) checked
    against the keys `lookup` finds; () when the message carries none."""
    start = body_start(raw)
    if b"dkim-signature" not in raw[:start].lower():
        return ()  # unsigned: no parse, no cost (most mail a test sends)
    import dkim

    from inbound.receiving.authentication import canonical, signature  # dkimpy: see there

    head, body = raw[:start], raw[start:]
    try:
        fields = canonical.header_fields(head)
    except dkim.DKIMException as error:  # a line DKIM cannot read: none is checked
        return tuple(
            SignatureResult(Result.PERMERROR, *_signer(value), f"unreadable message: {error}")
            for value in _signatures(SplitMessage.parse(raw).headers)
        )
    results = []
    for field in fields:
        if field[0].lower() == b"dkim-signature":
            domain, selector = _signer(field[1].decode("utf-8", "replace"))
            word, reason = signature.check(fields, body, field, lookup, domain, selector)
            results.append(SignatureResult(word, domain, selector, reason))
    return tuple(results)


def _signatures(headers: Iterable[Header]) -> list[str]:
    return [value for name, value in headers if name.lower() == "dkim-signature"]


def _signer(signature: str) -> tuple[str, str]:
    """The signature's d= and s=, as far as its tags parse: a broken signature is reported
    with its domain too."""
    tags: dict[str, str] = {}
    for item in unfolded(signature).split(";"):
        key, equals, value = item.partition("=")
        key = key.strip()
        if equals and key in ("d", "s") and key not in tags:  # the first of each counts
            tags[key] = "".join(value.split()).lower()
            if len(tags) == 2:
                break  # b=, usually after them, is the longest value: not read
    return tags.get("d", ""), tags.get("s", "")
