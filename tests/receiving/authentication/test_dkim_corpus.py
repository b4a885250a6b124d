"""The engine's DKIM results against independent verdicts on the same messages and zone: the
`authheaders` package's `authenticate_message` (the Authentication-Results a milter writes; it
checks the topmost signature) and dkimpy's own `DKIM.verify` path with a DNS function (each
signature), both asking the zone through dkimpy's `dnsfunc` interface instead of our lookup.

They report only pass / fail / temperror; the engine's finer words (policy, permerror) must
collapse onto theirs, and every message where they disagree beyond that is listed with why.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import authheaders
import authres
import dkim
import dns.exception

from inbound.receiving.authentication.dkim import Result, verify
from tests.receiving.authentication.signing import DOMAIN, DOWN, Keys, message, zone_lookup

# Where the engine deliberately differs: RFC 8301 §3.1 forbids accepting rsa-sha1, which
# dkimpy (and so authheaders) still verifies as pass.
DIFFERENT = {"rsa-sha1": ("policy", "pass")}


def _corpus(keys: Keys) -> dict[str, bytes]:
    plain = message()
    body_changed = lambda raw: raw.replace(b"Hello.", b"Hullo.")  # noqa: E731
    corpus: dict[str, bytes] = {"unsigned": plain}
    for selector in ("rsa", "ed"):
        for c in ((b"relaxed", b"simple"), (b"simple", b"simple"), (b"relaxed", b"relaxed")):
            name = f"{selector}-{b'/'.join(c).decode()}"
            signed = keys.sign(message(body="Line one\r\n\r\nLine  two \r\n\r\n"), selector,
                               canonicalize=c)  # fmt: skip
            corpus[name] = signed
            corpus[f"{name}-body-changed"] = signed.replace(b"Line one", b"Line 1")
            corpus[f"{name}-subject-changed"] = signed.replace(b"Subject: Signed", b"Subject: X")
            corpus[f"{name}-respaced"] = signed.replace(b"Subject: Signed", b"Subject:  Signed ")
    limited = keys.sign(plain, length=True)
    corpus["l-tag"] = limited
    corpus["l-tag-appended"] = limited + b"Unsigned tail.\r\n"
    corpus["no-l-tag-appended"] = keys.sign(plain) + b"Unsigned tail.\r\n"
    corpus["forged"] = keys.sign(plain, key="forged")
    corpus["no-key"] = keys.sign(plain, "gone")
    corpus["dns-down"] = keys.sign(plain, "rsa", DOWN)
    corpus["small-key"] = keys.sign(plain, "small")
    for selector in ("revoked", "garbled", "notbase64", "dsa", "badtags", "v2"):
        corpus[f"key-{selector}"] = keys.sign(plain, selector, key="rsa")
    signed = keys.sign(plain)
    corpus["sig-no-b"] = signed.replace(b" b=", b" x-b=", 1)
    corpus["sig-bad-algorithm"] = signed.replace(b"a=rsa-sha256", b"a=rsa-md5")
    corpus["sig-expired"] = signed.replace(
        b"; s=rsa", f"; s=rsa; x={int(time.time()) - 86400 * 2}".encode()
    )
    corpus["two-good"] = keys.sign(keys.sign(plain, "ed"), "rsa")
    corpus["bad-over-good"] = keys.sign(signed, "rsa", key="forged")
    corpus["good-over-bad"] = keys.sign(body_changed(keys.sign(plain, "ed")), "rsa")
    sha1 = dkim.DKIM(plain, signature_algorithm=b"rsa-sha1").sign(
        b"rsa", DOMAIN.encode(), keys.private("rsa"), include_headers=[b"from", b"subject"]
    )
    corpus["rsa-sha1"] = sha1 + plain
    corpus["lf-line-ends"] = keys.sign(plain).replace(b"\r\n", b"\n")
    corpus["lf-line-ends-body-changed"] = body_changed(corpus["lf-line-ends"])
    headers_only = plain.partition(b"\r\n\r\n")[0] + b"\r\n"
    corpus["no-body"] = keys.sign(headers_only)
    corpus["no-body-added"] = corpus["no-body"] + b"\r\nA body.\r\n"
    return corpus


def _dnsfunc(keys: Keys) -> Callable[..., bytes | None]:
    """dkimpy's DNS interface over the same zone: `(name, timeout)` → the TXT string."""
    lookup = zone_lookup(keys.zone())

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        records = lookup(name.decode())
        if records is None:
            raise dns.exception.Timeout
        return records[0].encode() if records else None

    return dnsfunc


def _collapse(word: str) -> str:
    """The engine's word as a verifier that knows only pass/fail/temperror says it."""
    return word if word in ("pass", "temperror") else "fail"


def test_the_topmost_signature_agrees_with_authheaders(keys: Keys) -> None:
    lookup, dnsfunc = zone_lookup(keys.zone()), _dnsfunc(keys)
    compared = 0
    for name, raw in _corpus(keys).items():
        ours = verify(raw, lookup)
        header = authheaders.authenticate_message(raw, "test", dmarc=False, dnsfunc=dnsfunc)
        parsed = authres.AuthenticationResultsHeader.parse(header)  # "Authentication-Results: …"
        [theirs] = [r for r in parsed.results if r.method == "dkim"]
        if not ours:  # authheaders says "fail" of an unsigned message (dkimpy's verify: False)
            assert name == "unsigned" and theirs.result == "fail"
            continue
        mine = ours[0].result.value
        if name in DIFFERENT:
            assert (mine, theirs.result) == DIFFERENT[name], name
        else:
            assert (_collapse(mine), ours[0].domain) == (theirs.result, theirs.header_d), name
        compared += 1
    assert compared >= 35


def test_every_signature_agrees_with_dkimpys_own_verify(keys: Keys) -> None:
    lookup, dnsfunc = zone_lookup(keys.zone()), _dnsfunc(keys)
    words: dict[str, set[str]] = {}
    for name, raw in _corpus(keys).items():
        ours = verify(raw, lookup)
        for index, result in enumerate(ours):
            try:
                theirs = "pass" if dkim.DKIM(raw).verify(index, dnsfunc=dnsfunc) else "fail"
            except dkim.DKIMException:
                theirs = "fail"
            except dns.exception.DNSException:
                theirs = "temperror"
            if name in DIFFERENT:
                assert (result.result.value, theirs) == DIFFERENT[name], name
            else:
                assert _collapse(result.result.value) == theirs, (name, index, result)
            words.setdefault(result.result.value, set()).add(name)
    # the corpus exercises every word the engine writes
    assert set(words) == {r.value for r in Result}, words
