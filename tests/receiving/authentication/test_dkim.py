"""DKIM verification of received mail (issue 13 item 3): real signatures made by dkimpy with
keys whose public halves are in a dnspython zone, each signature's RFC 8601 result, and SES's
`dkimVerdict` over them (docs/authentication.md, "DKIM")."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.receiving.authentication.dkim import Result, SignatureResult, verdict, verify
from inbound.receiving.verdicts import Status
from tests.receiving.authentication.signing import DOMAIN, DOWN, Keys, message, zone_lookup

PASS, FAIL, POLICY = Result.PASS, Result.FAIL, Result.POLICY
TEMPERROR, PERMERROR = Result.TEMPERROR, Result.PERMERROR


@pytest.fixture(scope="module")
def check(keys: Keys) -> Callable[[bytes], tuple[SignatureResult, ...]]:
    lookup = zone_lookup(keys.zone())
    return lambda raw: verify(raw, lookup)


def words(results: tuple[SignatureResult, ...]) -> list[tuple[Result, str]]:
    return [(r.result, r.domain) for r in results]


@pytest.mark.parametrize(
    "canonicalize",
    [(b"relaxed", b"simple"), (b"simple", b"simple"), (b"relaxed", b"relaxed"),
     (b"simple", b"relaxed")],
    ids=lambda c: b"/".join(c).decode(),
)  # fmt: skip
def test_an_rsa_sha256_signature_passes_in_every_canonicalization(keys, check, canonicalize):
    [result] = check(keys.sign(message(), canonicalize=canonicalize))
    assert (result.result, result.domain, result.selector) == (PASS, DOMAIN, "rsa")
    assert result.pair == ("pass", DOMAIN)
    assert verdict([result]) is Status.PASS


def test_an_ed25519_signature_passes(keys, check) -> None:
    assert words(check(keys.sign(message(), "ed"))) == [(PASS, DOMAIN)]


def test_relaxed_canonicalization_forgives_whitespace_that_simple_does_not(keys, check) -> None:
    relaxed = keys.sign(message(), canonicalize=(b"relaxed", b"relaxed"))
    simple = keys.sign(message(), canonicalize=(b"simple", b"simple"))
    respaced = (b"Subject:  Signed  ", b"Subject: Signed")  # folded/re-spaced in transit
    assert words(check(relaxed.replace(respaced[1], respaced[0]))) == [(PASS, DOMAIN)]
    assert words(check(simple.replace(respaced[1], respaced[0]))) == [(FAIL, DOMAIN)]


@pytest.mark.parametrize(
    ("old", "new"),
    [(b"Hello.", b"Hullo."), (b"Subject: Signed", b"Subject: Signe"),
     (b"From: Alice", b"From: Mallory")],
    ids=["body", "subject", "from"],
)  # fmt: skip
def test_a_changed_body_or_signed_header_fails(keys, check, old, new) -> None:
    for selector in ("rsa", "ed"):
        signed = keys.sign(message(), selector)
        [result] = check(signed.replace(old, new))
        assert (result.result, result.domain) == (FAIL, DOMAIN), selector
        assert verdict([result]) is Status.FAIL


def test_a_signature_by_another_key_fails(keys, check) -> None:
    [result] = check(keys.sign(message(), "rsa", key="forged"))
    assert result.result is FAIL


def test_no_published_key_is_a_permerror_and_processing_failed(keys, check) -> None:
    """RFC 6376 §6.1.2: no key record is PERMFAIL; SES: PROCESSING_FAILED (docs)."""
    for signed in (keys.sign(message(), "gone"), keys.sign(message(), "rsa", "nowhere.example")):
        [result] = check(signed)
        assert result.result is PERMERROR and "no key" in result.reason
        assert verdict([result]) is Status.PROCESSING_FAILED


def test_a_dns_failure_is_a_temperror_and_processing_failed(keys, check) -> None:
    [result] = check(keys.sign(message(), "rsa", DOWN))
    assert (result.result, result.domain) == (TEMPERROR, DOWN)
    assert verdict([result]) is Status.PROCESSING_FAILED


@pytest.mark.parametrize("selector", ["revoked", "garbled", "notbase64", "dsa", "badtags", "v2"])
def test_a_malformed_or_revoked_key_record_is_a_permerror(keys, check, selector) -> None:
    [result] = check(keys.sign(message(), selector, key="rsa"))
    assert (result.result, result.domain, result.selector) == (PERMERROR, DOMAIN, selector)
    assert "bad key record" in result.reason


@pytest.mark.parametrize(
    ("old", "new"),
    [(b" b=", b" x-b="), (b"a=rsa-sha256", b"a=rsa-md5"), (b"c=relaxed/simple", b"c=odd/simple"),
     (b"v=1", b"v=2"), (b"; h=", b"; h=; x-h="), (b"d=signed.test", b"d=signed.test; d=x.test"),
     (b"i=@signed.test", b"i=@elsewhere.test"), (b"; bh=", b"; bh=!!"),
     (b"i=@signed.test", b"i=signed.test"), (b"; q=", b"; l=; q=")],
    ids=["no-b", "algorithm", "canonicalization", "version", "duplicate-h", "duplicate-d",
         "i-outside-d", "bh-not-base64", "i-is-d", "empty-l"],
)  # fmt: skip
def test_a_malformed_signature_is_a_permerror_and_never_a_crash(keys, check, old, new) -> None:
    signed = keys.sign(message())
    assert old in signed
    [result] = check(signed.replace(old, new, 1))
    assert result.result in {PERMERROR, FAIL}
    assert verdict([result]) in {Status.PROCESSING_FAILED, Status.FAIL}
    if new != b" x-b=" and old != b"; h=":
        assert result.result is PERMERROR, result.reason


def test_a_signature_that_is_no_tag_list_keeps_its_place_and_no_domain(keys, check) -> None:
    raw = b"DKIM-Signature: this is not a tag list\r\n" + keys.sign(message())
    assert words(check(raw)) == [(PERMERROR, ""), (PASS, DOMAIN)]


def test_a_message_dkimpy_cannot_read_gives_each_signature_a_permerror(keys, check) -> None:
    raw = keys.sign(message()).replace(b"To:", b"Bad header line\r\nTo:")
    assert words(check(raw)) == [(PERMERROR, DOMAIN)]
    # a continuation line before any field (dkimpy's parser fails with an IndexError)
    assert words(check(b" folded: first\r\n" + keys.sign(message()))) == [(PERMERROR, DOMAIN)]


def test_the_l_tag_signs_only_that_much_of_the_body(keys, check) -> None:
    """Text appended after the `l=` count is not covered: the signature still passes (RFC 6376
    §3.5); without `l=`, the same append breaks it."""
    appended = b"P.S. added by a list.\r\n"
    limited = keys.sign(message(), length=True)
    assert b" l=" in limited
    assert words(check(limited + appended)) == [(PASS, DOMAIN)]
    assert words(check(keys.sign(message()) + appended)) == [(FAIL, DOMAIN)]
    assert words(check(limited.replace(b"Hello.", b"Hullo."))) == [(FAIL, DOMAIN)]


def test_two_signatures_are_each_reported_and_one_good_one_passes(keys, check) -> None:
    """Both clauses, top to bottom (SES writes one per signature); the verdict is PASS."""
    good = keys.sign(message(), "rsa")
    both = keys.sign(good, "rsa", "other.test", key="forged")
    results = check(both)
    assert words(results) == [(PERMERROR, "other.test"), (PASS, DOMAIN)]
    assert verdict(results) is Status.PASS
    tampered = keys.sign(keys.sign(message(), "ed"), "rsa").replace(b"Hello.", b"Hullo.")
    assert words(check(tampered)) == [(FAIL, DOMAIN), (FAIL, DOMAIN)]
    assert verdict(check(tampered)) is Status.FAIL


def test_an_rsa_key_under_1024_bits_is_refused_by_policy(keys, check) -> None:
    [result] = check(keys.sign(message(), "small"))
    assert result.result is POLICY and "too small" in result.reason
    assert verdict([result]) is Status.FAIL


def test_an_expired_signature_is_refused_by_policy(keys, check) -> None:
    past = int(time.time()) - 86400 * 2
    signed = keys.sign(message())
    expired = signed.replace(b"; s=rsa", f"; s=rsa; x={past}".encode(), 1)
    [result] = check(expired)
    assert result.result is POLICY and "x=" in result.reason


def test_an_rsa_sha1_signature_is_refused_by_policy(keys, check) -> None:
    import dkim

    raw = message()
    field = dkim.DKIM(raw, signature_algorithm=b"rsa-sha1").sign(
        b"rsa", DOMAIN.encode(), keys.private("rsa"), include_headers=[b"from", b"subject"]
    )
    [result] = check(field + raw)
    assert result.result is POLICY and "rsa-sha1" in result.reason


def test_an_unsigned_message_has_no_results_and_is_gray(check) -> None:
    assert check(message()) == ()
    assert check(message(body="DKIM-Signature: in the body is no signature\r\n")) == ()
    assert verdict(()) is Status.GRAY


_TAG = st.sampled_from(["v", "a", "b", "bh", "c", "d", "h", "i", "l", "q", "s", "t", "x", "z"])
_VALUE = st.text(st.sampled_from("aZ09+/=;: .-@\t\r\n\x00é"), max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    tags=st.lists(st.tuples(_TAG, _VALUE), max_size=8),
    records=st.none() | st.lists(st.text(max_size=40), max_size=2),
)
def test_arbitrary_signatures_and_key_records_never_raise(tags, records) -> None:
    value = "; ".join(f"{k}={v}" for k, v in tags)
    raw = f"DKIM-Signature: {value}\r\nFrom: a@{DOMAIN}\r\n\r\nbody\r\n".encode()
    results = verify(raw, lambda name: records)
    assert len(results) == 1
    assert results[0].result in set(Result)
