"""Signed mail sent over SMTP (smtplib) to a running server whose `[dns]` zone publishes the
keys: the `dkim=` clauses SES writes in `Authentication-Results`, as stored by the S3 action and
notified by the SNS action, and `receipt.dkimVerdict`; DMARC sees the DKIM results (the zone's
SPF record fails every sender, so only an aligned passing signature passes DMARC)."""

from __future__ import annotations

import email
import re
from typing import Any

from inbound.config import DnsSettings
from inbound.dns.zone import Zone
from inbound.testing import RunningInbound
from tests.receiving.authentication.signing import DOMAIN, Keys, message
from tests.rulesets import rule, rules, s3, sns

_CLAUSE = re.compile(r"dkim=\S+ header\.i=@[^;]*;")


def _cases(keys: Keys) -> dict[str, tuple[bytes, list[str], str]]:
    """Subject → (message, the dkim clauses expected in order, dkimVerdict)."""

    def signed(subject: str, selector: str = "rsa", **options: Any) -> bytes:
        return keys.sign(message(subject=subject), selector, **options)

    def ok(word: str, domain: str = DOMAIN) -> str:
        return f"dkim={word} header.i=@{domain};"

    appended = signed("l-tag", length=True) + b"A footer added after signing.\r\n"
    forged_over_good = keys.sign(signed("one-good-one-bad"), key="forged")
    return {
        "rsa": (signed("rsa"), [ok("pass")], "PASS"),
        "ed25519": (signed("ed25519", "ed"), [ok("pass")], "PASS"),
        "body-tampered": (signed("body-tampered").replace(b"Hello.", b"Hullo."), [ok("fail")],
                          "FAIL"),
        "header-tampered": (signed("header-tampered").replace(b"Alice", b"Mallory"),
                            [ok("fail")], "FAIL"),
        "no-key": (signed("no-key", "gone"), [ok("permerror")], "PROCESSING_FAILED"),
        "dns-loop": (signed("dns-loop", "loop", key="rsa"), [ok("temperror")],
                     "PROCESSING_FAILED"),
        "garbled-key": (signed("garbled-key", "garbled", key="rsa"), [ok("permerror")],
                        "PROCESSING_FAILED"),
        "no-b-tag": (signed("no-b-tag").replace(b" b=", b" x-b=", 1), [ok("permerror")],
                     "PROCESSING_FAILED"),
        "l-tag": (appended, [ok("pass")], "PASS"),
        "one-good-one-bad": (forged_over_good, [ok("fail"), ok("pass")], "PASS"),
        "unsigned": (message(subject="unsigned"), [], "GRAY"),
    }  # fmt: skip


def test_each_signature_has_its_clause_and_the_receipt_its_verdict(
    inbound_factory: Any, keys: Keys
) -> None:
    zone = keys.zone_text(
        f"loop._domainkey.{DOMAIN}. CNAME loop._domainkey.{DOMAIN}.",  # never answers
        f'{DOMAIN}. TXT "v=spf1 -all"',
        f'_dmarc.{DOMAIN}. TXT "v=DMARC1; p=reject"',
    )
    server: RunningInbound = inbound_factory(
        rules(rule("r", s3("mail"), sns())), dns=DnsSettings(zone=Zone.from_text(zone))
    )
    cases = _cases(keys)
    for raw, _, _ in cases.values():
        server.send(f"alice@{DOMAIN}", ["user@example.com"], raw)
    notified = {n["message"]["mail"]["commonHeaders"]["subject"]: n["message"]
                for n in server.notifications()}  # fmt: skip
    assert set(notified) == set(cases)
    for subject, (raw, clauses, status) in cases.items():
        note = notified[subject]
        stored = server.get(f"/api/s3/mail/{note['mail']['messageId']}")
        parsed = email.message_from_bytes(stored)
        results = parsed["Authentication-Results"]
        assert _CLAUSE.findall(results) == clauses, (subject, results)
        [header] = [h["value"] for h in note["mail"]["headers"]
                    if h["name"] == "Authentication-Results"]  # fmt: skip
        assert _CLAUSE.findall(header) == clauses, subject
        assert note["receipt"]["dkimVerdict"] == {"status": status}, subject
        assert stored.endswith(raw)  # the signed original, byte for byte
        # DMARC: SPF fails for everyone here, so only an aligned DKIM pass makes it pass
        dmarc = "PASS" if status == "PASS" else "FAIL"
        assert note["receipt"]["dmarcVerdict"] == {"status": dmarc}, subject
        assert f"dmarc={dmarc.lower()} header.from={DOMAIN};" in results, subject
        if dmarc == "FAIL":
            assert note["receipt"]["dmarcPolicy"] == "reject", subject
