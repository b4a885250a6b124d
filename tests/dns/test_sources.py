"""The DNS sources (inbound/dns/): the zone file, a named resolver, the `[dns]` config, and the
identities' verification through the zone; start-up with a missing or broken zone exits 2."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from inbound import config
from inbound.dns.factory import open_source
from inbound.dns.resolver import ResolverSource
from inbound.dns.zone import Zone, ZoneError, ZoneSource
from inbound.errors import ConfigError
from tests.api.test_identities import FakeDns
from tests.rulesets import rule, rules

REPO = Path(__file__).resolve().parents[2]

ZONE = """\
$TTL 300
Example.COM.            IN TXT   "v=spf1 ip4:192.0.2.0/24 -all"
example.com.            IN TXT   "first " "second"
example.com.            IN MX    10 Mail.Example.com.
mail.example.com.       IN A     192.0.2.1
mail.example.com.       IN AAAA  2001:db8::1
alias.example.com.      IN CNAME mail.example.com.
loop1.example.com.      IN CNAME loop2.example.com.
loop2.example.com.      IN CNAME loop1.example.com.
$ORIGIN example.net.
_dmarc                  IN TXT   "v=DMARC1; p=reject"
utf8                    IN TXT   "caf\\195\\169"
"""


@pytest.fixture(scope="module")
def zone() -> Zone:
    return Zone.from_text(ZONE)


@pytest.mark.parametrize(
    ("name", "rdtype", "expected"),
    [
        ("example.com", "TXT", ["v=spf1 ip4:192.0.2.0/24 -all", "first second"]),
        ("EXAMPLE.com.", "txt", ["v=spf1 ip4:192.0.2.0/24 -all", "first second"]),
        ("example.com", "MX", ["mail.example.com"]),
        ("mail.example.com", "AAAA", ["2001:db8::1"]),
        ("alias.example.com", "A", ["192.0.2.1"]),
        ("alias.example.com", "CNAME", ["mail.example.com"]),
        ("_dmarc.example.net", "TXT", ["v=DMARC1; p=reject"]),
        ("utf8.example.net", "TXT", ["café"]),
        ("mail.example.com", "TXT", []),
        ("nowhere.example.org", "A", []),
        ("loop1.example.com", "TXT", None),
    ],
    ids=[
        "txt-joined", "any-case", "mx-target", "aaaa", "cname-followed", "cname-itself",
        "origin-block", "utf8", "no-such-type", "no-such-name", "cname-loop",
    ],
)  # fmt: skip
def test_zone_answers(zone: Zone, name: str, rdtype: str, expected: list[str] | None) -> None:
    source = ZoneSource(zone)
    assert source.lookup(name, rdtype) == expected
    assert asyncio.run(source.records(name, rdtype)) == expected
    assert not source.blocking


def test_zone_errors_name_the_line(tmp_path: Path) -> None:
    with pytest.raises(ZoneError, match=r"^<zone>:\d+: newline in quoted string"):
        Zone.from_text('a.test. 300 IN TXT "ok"\nb.test. IN TXT "unterminated\n')
    with pytest.raises(ZoneError, match="cannot read"):
        Zone.load(tmp_path / "missing.zone")


def test_resolver_source(tmp_path: Path) -> None:
    fake = FakeDns()
    try:
        fake.add("example.com", "TXT", '"v=spf1 " "-all"')
        fake.add("example.com", "MX", "10 MX.example.com.")
        source = ResolverSource.configured(config.Address("127.0.0.1", fake.port), 2.0)
        assert source.blocking
        assert source.lookup("example.com", "TXT") == ["v=spf1 -all"]
        assert asyncio.run(source.records("example.com", "MX")) == ["mx.example.com"]
        assert source.lookup("example.com", "A") == []  # the name exists, no A record
        assert source.lookup("other.test", "TXT") == []  # NXDOMAIN
        fake.failing = True
        assert source.lookup("example.com", "TXT") is None  # SERVFAIL: temporary failure
        assert asyncio.run(source.records("example.com", "TXT")) is None
    finally:
        fake.close()


def test_unreachable_resolver_is_a_temporary_failure() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = ResolverSource.configured(config.Address("127.0.0.1", port), 0.5)
    assert source.lookup("example.com", "TXT") is None


# ── [dns] in inbound.toml ───────────────────────────────────────────────────────────────
def load(tmp_path: Path, toml: str, zone: str | None = None) -> config.Settings:
    if zone is not None:
        (tmp_path / "dns.zone").write_text(zone)
    path = tmp_path / "inbound.toml"
    path.write_text(toml)
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    return config.load(path)


def test_default_zone_beside_the_config(tmp_path: Path) -> None:
    settings = load(tmp_path, "", ZONE)
    assert settings.dns is not None and settings.dns.source == "zone"
    source = open_source(settings.dns)
    assert source.lookup("example.com", "MX") == ["mail.example.com"]


def test_no_dns_table_and_no_zone_is_no_dns(tmp_path: Path) -> None:
    assert load(tmp_path, "").dns_settings is None


def test_named_zone_resolver_and_system(tmp_path: Path) -> None:
    (tmp_path / "other.zone").write_text('x.test. 60 IN TXT "here"\n')
    settings = load(tmp_path, '[dns]\nzone = "other.zone"\n')
    assert settings.dns is not None
    assert open_source(settings.dns).lookup("x.test", "TXT") == ["here"]
    settings = load(tmp_path, '[dns]\nsource = "resolver"\nresolver = "127.0.0.1:5353"\n')
    assert settings.dns == config.DnsSettings.at_resolver(config.Address("127.0.0.1", 5353))
    assert isinstance(open_source(settings.dns), ResolverSource)
    settings = load(tmp_path, '[dns]\nsource = "system"\ntimeout = 1\n')
    assert settings.dns == config.DnsSettings(source="system", timeout=1.0)


def test_identities_resolver_is_the_old_form_of_dns(tmp_path: Path) -> None:
    settings = load(tmp_path, '[identities]\nresolver = "127.0.0.1:5353"\n', ZONE)
    assert settings.dns is None  # the zone beside the config does not override the old key
    assert settings.dns_settings == config.DnsSettings.at_resolver(
        config.Address("127.0.0.1", 5353)
    )


@pytest.mark.parametrize(
    ("toml", "zone", "key", "message"),
    [
        ("[dns]\n", None, "dns.zone", "zone file not found"),
        ('[dns]\nzone = "missing.zone"\n', ZONE, "dns.zone", "zone file not found"),
        ("", 'a.test. IN TXT "open\n', "dns.zone", "bad zone file"),
        ('[dns]\nsource = "dig"\n', None, "dns.source", "must be"),
        ('[dns]\nsource = "resolver"\n', None, "dns.resolver", "goes with"),
        ('[dns]\nsource = "resolver"\nresolver = "dns.test:53"\n', None, "dns.resolver", "IP"),
        ('[dns]\nsource = "system"\nzone = "dns.zone"\n', ZONE, "dns.zone", "goes with"),
        ('[dns]\nsource = "system"\nresolver = "127.0.0.1:53"\n', None, "dns.resolver", "goes"),
        ("[dns]\ntimeout = 0\n", ZONE, "dns.timeout", "positive"),
        ("[dns]\nport = 53\n", ZONE, "dns.port", "unknown key"),
        (
            '[dns]\nzone = "dns.zone"\n[identities]\nresolver = "127.0.0.1:53"\n',
            ZONE, "identities.resolver", "replaced by [dns]",
        ),
        ('[identities]\nverification = "dns"\n', None, "identities.resolver", "DNS source"),
    ],
    ids=[
        "default-zone-missing", "named-zone-missing", "broken-zone", "bad-source",
        "resolver-missing", "resolver-hostname", "zone-with-system", "resolver-with-system",
        "timeout", "unknown-key", "both-forms", "dns-verification-without-source",
    ],
)  # fmt: skip
def test_config_errors(tmp_path: Path, toml: str, zone: str | None, key: str, message: str):
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, toml, zone)
    assert raised.value.key == key
    assert message in raised.value.message


def test_serve_exits_2_on_a_broken_zone(tmp_path: Path) -> None:
    (tmp_path / "dns.zone").write_text('example.com. IN TXT "v=spf1\n')
    path = tmp_path / "inbound.toml"
    path.write_text('[server]\nsmtp = "127.0.0.1:0"\nhttp = "127.0.0.1:0"\n')
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    result = subprocess.run(
        [sys.executable, "-m", "inbound", "serve", "--config", str(path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"dns.zone: bad zone file: {tmp_path / 'dns.zone'}:" in result.stderr
    assert "newline in quoted string" in result.stderr


def test_shipped_zone_loads() -> None:
    settings = config.load(REPO / "config" / "inbound.toml")
    assert settings.dns is not None and settings.dns.zone is not None
    assert open_source(settings.dns).lookup("_dmarc.example.com", "TXT") == ["v=DMARC1; p=none"]


# ── identities verified through the zone ────────────────────────────────────────────────
MAIL_FROM_ZONE = "$TTL 60\nbounce.example.com. IN MX 10 feedback-smtp.us-east-1.amazonses.com.\n"


def test_identity_verification_asks_the_zone(inbound_factory) -> None:
    server = inbound_factory(
        rules(rule("all")),
        verified=["example.com"],
        identity_verification="dns",
        dns=config.DnsSettings(zone=Zone.from_text(MAIL_FROM_ZONE)),
    )
    ses = server.ses()
    ses.verify_domain_identity(Domain="elsewhere.test")
    ses.set_identity_mail_from_domain(Identity="example.com", MailFromDomain="bounce.example.com")
    ses.set_identity_mail_from_domain(Identity="elsewhere.test", MailFromDomain="m.elsewhere.test")
    found = ses.get_identity_mail_from_domain_attributes(
        Identities=["example.com", "elsewhere.test"]
    )["MailFromDomainAttributes"]
    assert found["example.com"]["MailFromDomainStatus"] == "Success"
    assert found["elsewhere.test"]["MailFromDomainStatus"] in ("Pending", "Failed")
    verification = ses.get_identity_verification_attributes(Identities=["elsewhere.test"])
    assert verification["VerificationAttributes"]["elsewhere.test"]["VerificationStatus"] in (
        "Pending",
        "Failed",
    )
