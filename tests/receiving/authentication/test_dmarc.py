"""DMARC on a zone (RFC 7489): policy discovery at the From domain and its organizational
domain, relaxed and strict alignment of SPF and DKIM, p/sp/pct, malformed records; and a corpus
compared with an independent implementation (authheaders, with its own public suffix code)."""

from __future__ import annotations

import functools
import itertools

import authheaders
import authheaders.dmarc_lookup
import authres
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.dns.zone import Zone, ZoneSource
from inbound.receiving.authentication import dmarc
from inbound.receiving.verdicts import Status

ZONE = ZoneSource(
    Zone.from_text(
        """\
$TTL 300
_dmarc.example.com.      TXT "v=DMARC1; p=reject; sp=quarantine"
_dmarc.strict.test.      TXT "v=DMARC1; p=quarantine; aspf=s; adkim=s"
_dmarc.none.test.        TXT "v=DMARC1; p=none"
_dmarc.half.test.        TXT "v=DMARC1; p=reject; pct=0"
_dmarc.quarter.test.     TXT "v=DMARC1; p=quarantine; pct=25"
_dmarc.badp.test.        TXT "v=DMARC1; p=maybe"
_dmarc.badpct.test.      TXT "v=DMARC1; p=reject; pct=200"
_dmarc.badalign.test.    TXT "v=DMARC1; p=reject; aspf=x"
_dmarc.notag.test.       TXT "v=DMARC1; p"
_dmarc.first.test.       TXT "p=reject; v=DMARC1"
_dmarc.ruaonly.test.     TXT "v=DMARC1; rua=mailto:d@ruaonly.test"
_dmarc.two.test.         TXT "v=DMARC1; p=reject"
_dmarc.two.test.         TXT "v=DMARC1; p=none"
_dmarc.other.test.       TXT "v=spf1 -all"
_dmarc.example.co.uk.    TXT "v=DMARC1; p=reject; sp=none"
_dmarc.own.example.com.  TXT "v=DMARC1; p=none"
_dmarc.example.org.      TXT "v=DMARC1; p=quarantine; aspf=s; adkim=s"
_dmarc.example.net.      TXT "v=DMARC1; p=none"
_dmarc.temp.test.        CNAME loop.temp.test.
loop.temp.test.          CNAME _dmarc.temp.test.
"""
    )
)


def evaluate(from_domain, spf_domain="", spf_pass=False, dkim=(), headers=()):
    headers = [("From", f"someone@{from_domain}"), *headers] if from_domain else list(headers)
    return dmarc.evaluate(
        ZONE, headers, spf_pass=spf_pass, spf_domain=spf_domain, dkim_domains=dkim
    )


CASES = [
    # (From domain, SPF domain, SPF passed, passing DKIM d=, result, verdict, policy)
    ("example.com", "example.com", True, (), "pass", Status.PASS, None),
    ("example.com", "bounce.example.com", True, (), "pass", Status.PASS, None),
    ("example.com", "example.com", False, (), "fail", Status.FAIL, "reject"),
    ("example.com", "other.test", True, (), "fail", Status.FAIL, "reject"),
    ("example.com", "other.test", True, ("example.com",), "pass", Status.PASS, None),
    ("example.com", "", False, ("mail.example.com",), "pass", Status.PASS, None),
    ("example.com", "", False, ("other.test",), "fail", Status.FAIL, "reject"),
    ("news.example.com", "other.test", True, (), "fail", Status.FAIL, "quarantine"),
    ("news.example.com", "example.com", True, (), "pass", Status.PASS, None),
    ("own.example.com", "other.test", True, (), "fail", Status.FAIL, "none"),
    ("strict.test", "mail.strict.test", True, (), "fail", Status.FAIL, "quarantine"),
    ("strict.test", "strict.test", True, (), "pass", Status.PASS, None),
    ("strict.test", "", False, ("sub.strict.test",), "fail", Status.FAIL, "quarantine"),
    ("strict.test", "", False, ("STRICT.test",), "pass", Status.PASS, None),
    ("none.test", "other.test", True, (), "fail", Status.FAIL, "none"),
    ("half.test", "other.test", True, (), "fail", Status.FAIL, "quarantine"),
    ("ruaonly.test", "other.test", True, (), "fail", Status.FAIL, "none"),
    ("example.co.uk", "other.test", True, (), "fail", Status.FAIL, "reject"),
    ("news.example.co.uk", "other.test", True, (), "fail", Status.FAIL, "none"),
    ("news.example.co.uk", "example.co.uk", True, (), "pass", Status.PASS, None),
    ("co.uk", "example.co.uk", True, (), "none", Status.GRAY, None),
    ("nowhere.test", "other.test", True, (), "none", Status.GRAY, None),
    ("two.test", "other.test", True, (), "none", Status.GRAY, None),
    ("other.test", "other.test", False, (), "none", Status.GRAY, None),
    ("first.test", "other.test", True, (), "none", Status.GRAY, None),
    ("", "other.test", True, (), "none", Status.GRAY, None),
    ("badp.test", "other.test", True, (), "permerror", Status.PROCESSING_FAILED, None),
    ("badpct.test", "other.test", True, (), "permerror", Status.PROCESSING_FAILED, None),
    ("badalign.test", "other.test", True, (), "permerror", Status.PROCESSING_FAILED, None),
    ("notag.test", "other.test", True, (), "permerror", Status.PROCESSING_FAILED, None),
    ("temp.test", "other.test", True, (), "temperror", Status.PROCESSING_FAILED, None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("from_domain", "spf_domain", "spf_pass", "dkim", "result", "status", "policy"),
    CASES,
    ids=[f"{c[4]}-{c[0] or 'no-from'}-{c[1]}-{'+'.join(c[3])}" for c in CASES],
)
def test_dmarc(from_domain, spf_domain, spf_pass, dkim, result, status, policy) -> None:
    found = evaluate(from_domain, spf_domain, spf_pass, dkim)
    assert (found.result, found.status, found.policy) == (result, status, policy)


def test_pct_applies_the_policy_to_that_share_of_messages_and_keeps_each_decision() -> None:
    policies = [
        evaluate("quarter.test", "other.test", True, headers=[("Message-ID", f"<{i}@x>")]).policy
        for i in range(400)
    ]
    assert set(policies) == {"quarantine", "none"}  # outside pct: the next policy down
    assert 60 <= policies.count("quarantine") <= 140  # 25 % of 400, within a wide margin
    again = evaluate("quarter.test", "other.test", True, headers=[("Message-ID", "<7@x>")])
    assert again.policy == policies[7]


@pytest.mark.parametrize(
    ("domain", "organizational"),
    [
        ("example.com", "example.com"),
        ("a.b.Example.COM", "example.com"),
        ("news.example.co.uk", "example.co.uk"),
        ("co.uk", "co.uk"),
        ("com", "com"),
        ("foo.github.io", "foo.github.io"),  # the list's private section counts (RFC 7489 §3.2)
    ],
)
def test_organizational_domain(domain: str, organizational: str) -> None:
    assert dmarc.organizational_domain(domain) == organizational


# ── the same inputs through authheaders ─────────────────────────────────────────────────
def _txt(name: str) -> str | None:
    """authheaders' DNS function: one TXT string or None."""
    found = ZONE.lookup(name, "TXT")
    return found[0] if found else None


# Only names under real public suffixes: for a name under one the list does not have (`.test`)
# authheaders' publicsuffix2 takes the whole TLD as the organizational domain, where RFC 7489
# §3.2 and publicsuffixlist apply the list's default rule `*`.
CORPUS_FROM = ["example.com", "news.example.com", "own.example.com", "example.org",
               "mail.example.org", "example.net", "example.info", "example.co.uk",
               "news.example.co.uk"]  # fmt: skip
CORPUS_IDS = ["", "example.com", "mail.example.com", "example.org", "mail.example.org",
              "example.co.uk", "a.example.co.uk", "other.net"]  # fmt: skip


# From domains whose own record has an `sp` other than `p`: RFC 7489 applies `p` to them
OWN_SP = {"example.com": "reject", "example.co.uk": "reject"}


def test_corpus_agrees_with_authheaders(monkeypatch) -> None:
    """Every (From domain, SPF identity, DKIM d=) of the corpus gets the same result and
    policy from authheaders' `dmarc_per_from`. authheaders applies `sp` to a record found at
    the From domain itself (RFC 7489 gives `p` there): for those domains (OWN_SP) the
    expected policy is `p`."""
    cached = functools.cache(authheaders.dmarc_lookup.get_org_domain)  # it reads the PSL per call
    monkeypatch.setattr(authheaders.dmarc_lookup, "get_org_domain", cached)
    monkeypatch.setattr(authheaders, "get_org_domain", cached)
    seen = []
    for from_domain, spf_domain, dkim_domain in itertools.product(
        CORPUS_FROM, CORPUS_IDS, CORPUS_IDS
    ):
        ours = evaluate(
            from_domain, spf_domain, bool(spf_domain), (dkim_domain,) * bool(dkim_domain)
        )
        spf = authres.SPFAuthenticationResult(
            result="pass" if spf_domain else "none", smtp_mailfrom=f"x@{spf_domain}"
        )
        dkim = authres.DKIMAuthenticationResult(
            result="pass" if dkim_domain else "none", header_d=dkim_domain
        )
        result, _, _, policy = authheaders.dmarc_per_from(
            from_domain, spf_result=spf, dkim_result=dkim, dnsfunc=_txt
        )
        if result == "fail" and from_domain in OWN_SP:
            policy = OWN_SP[from_domain]  # see the docstring
        assert (ours.result, ours.policy) == (result, policy if result == "fail" else None), (
            from_domain,
            spf_domain,
            dkim_domain,
        )
        seen.append((result, policy if result == "fail" else None))
    assert len(seen) == len(CORPUS_FROM) * len(CORPUS_IDS) ** 2
    assert set(seen) >= {("pass", None), ("none", None)} | {
        ("fail", p) for p in ("none", "quarantine", "reject")
    }


DMARC_TEXT = st.text(alphabet=st.sampled_from("v=DMARC1; psctaqurein0123456789rs:@.,"), max_size=60)


@given(
    record=st.one_of(DMARC_TEXT, DMARC_TEXT.map("v=DMARC1; p=reject; ".__add__)),
    spf_domain=st.sampled_from(["", "any.test", "other.test"]),
)
@settings(max_examples=300, deadline=None)
def test_any_record_gets_a_dmarc_result(record: str, spf_domain: str) -> None:
    """Whatever `_dmarc` holds, the result is one of the five words, with its verdict; a
    policy comes with a failure only."""
    source = ZoneSource(Zone({("_dmarc.any.test", "TXT"): (record,)}))
    found = dmarc.evaluate(
        source,
        [("From", "a@any.test")],
        spf_pass=bool(spf_domain),
        spf_domain=spf_domain,
        dkim_domains=(),
    )
    statuses = {
        "pass": Status.PASS,
        "fail": Status.FAIL,
        "none": Status.GRAY,
        "temperror": Status.PROCESSING_FAILED,
        "permerror": Status.PROCESSING_FAILED,
    }
    assert found.status is statuses[found.result]
    assert (found.policy in dmarc.POLICIES) == (found.result == "fail")
