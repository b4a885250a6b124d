"""Receipt IP filters (spec receiving.md §2): `IpFilterTable`, `validate.check_cidr`, and the
RCPT reply they produce over a real SMTP session.

Filters are built from rules.json-shaped `Filters` lists by `codec.parse_rules`, so every case
also passes SES's CIDR validation. The hypothesis oracle decides containment with integer
arithmetic on the addresses it generated, not with `ip_network.__contains__` as the table does.
"""

from __future__ import annotations

import ipaddress
import smtplib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.errors import InvalidParameterValue
from inbound.receiving import replies
from inbound.receiving.filters import FilterVerdict, IpFilterTable
from inbound.rules import codec
from inbound.rules.validate import check_cidr

ALLOWED, BLOCKED, UNLISTED = FilterVerdict.ALLOWED, FilterVerdict.BLOCKED, FilterVerdict.UNLISTED


def params(cases: list[Any]) -> list[Any]:
    """`(id, *values)` rows become `pytest.param(*values, id=id)`; `pytest.param` rows pass."""
    return [pytest.param(*c[1:], id=c[0]) if type(c) is tuple else c for c in cases]


def table(*filters: tuple[str, str]) -> IpFilterTable:
    """`filters` are (policy, cidr) pairs, loaded as a rules.json `Filters` list."""
    data = {
        "Filters": [
            {"Name": f"filter-{i}", "IpFilter": {"Policy": policy, "Cidr": cidr}}
            for i, (policy, cidr) in enumerate(filters)
        ]
    }
    return IpFilterTable(codec.parse_rules(data, frozenset(), "us-east-1").filters)


def block(cidr: str) -> tuple[str, str]:
    return ("Block", cidr)


def allow(cidr: str) -> tuple[str, str]:
    return ("Allow", cidr)


RECIPE = (block("0.0.0.0/0"), allow("203.0.113.0/24"), allow("198.51.100.7"))

# (id, filters, client IP as the SMTP peer reports it, verdict)
VERDICTS: list[Any] = [
    ("none/v4", (), "192.0.2.1", UNLISTED),
    ("none/v6", (), "2001:db8::1", UNLISTED),
    ("v4/block-range-in", (block("192.0.2.0/24"),), "192.0.2.7", BLOCKED),
    ("v4/block-range-out", (block("192.0.2.0/24"),), "192.0.3.7", UNLISTED),
    ("v4/block-single-in", (block("192.0.2.7"),), "192.0.2.7", BLOCKED),
    ("v4/block-single-neighbour", (block("192.0.2.7"),), "192.0.2.8", UNLISTED),
    ("v4/allow-range", (allow("10.0.0.0/8"),), "10.200.3.4", ALLOWED),
    ("v4/slash-32", (block("192.0.2.7/32"),), "192.0.2.7", BLOCKED),
    ("v4/slash-0", (block("0.0.0.0/0"),), "255.255.255.255", BLOCKED),
    # "10.0.0.1/24" is the API's own example: host bits set means the /24, not the host (§2).
    ("v4/host-bits-set", (block("192.0.2.77/24"),), "192.0.2.200", BLOCKED),
    ("v4/host-bits-set-out", (block("192.0.2.77/24"),), "192.0.1.77", UNLISTED),
    ("v6/block-range-in", (block("2001:db8::/32"),), "2001:db8:ffff::5", BLOCKED),
    ("v6/block-range-out", (block("2001:db8::/32"),), "2001:db9::5", UNLISTED),
    ("v6/block-single-in", (block("2001:db8::1"),), "2001:db8::1", BLOCKED),
    ("v6/block-single-neighbour", (block("2001:db8::1"),), "2001:db8::2", UNLISTED),
    ("v6/host-bits-set", (block("2001:db8::1/64"),), "2001:db8::ffff:1", BLOCKED),
    ("v6/exploded-client", (block("2001:db8::1"),), "2001:0db8:0000:0000::0001", BLOCKED),
    ("v6/upper-case-client", (block("2001:db8::/32"),), "2001:DB8::AB", BLOCKED),
    ("v6/allow", (allow("2001:db8::/48"),), "2001:db8:0:1::9", ALLOWED),
    ("v6/zone-scoped-client", (block("fe80::/10"),), "fe80::1%eth0", BLOCKED),
    # Allow beats Block whatever the prefix lengths and the list order (§2).
    ("precedence/allow-wider", (block("192.0.2.7"), allow("192.0.0.0/16")), "192.0.2.7", ALLOWED),
    (
        "precedence/allow-narrower",
        (block("192.0.0.0/16"), allow("192.0.2.7")),
        "192.0.2.7",
        ALLOWED,
    ),
    ("precedence/same-cidr", (block("192.0.2.0/24"), allow("192.0.2.0/24")), "192.0.2.1", ALLOWED),
    ("precedence/allow-first", (allow("192.0.2.0/24"), block("192.0.2.1")), "192.0.2.1", ALLOWED),
    ("precedence/v6", (block("::/0"), allow("2001:db8::1/128")), "2001:db8::1", ALLOWED),
    ("precedence/other-allow", (block("192.0.2.0/24"), allow("10.0.0.0/8")), "192.0.2.1", BLOCKED),
    # AWS's recipe: block 0.0.0.0/0, allow the trusted ranges (§2).
    ("recipe/trusted-range", RECIPE, "203.0.113.99", ALLOWED),
    ("recipe/trusted-host", RECIPE, "198.51.100.7", ALLOWED),
    ("recipe/untrusted", RECIPE, "198.51.100.8", BLOCKED),
    # 0.0.0.0/0 covers IPv4 only: a v6 client is unlisted unless ::/0 is blocked too.
    ("recipe/v6-client", RECIPE, "2001:db8::1", UNLISTED),
    # Families never meet: a v4 client against v6 filters and the reverse.
    ("family/v4-client-v6-filters", (block("::/0"), allow("2001:db8::/32")), "192.0.2.1", UNLISTED),
    ("family/v6-client-v4-filters", (block("0.0.0.0/0"),), "2001:db8::1", UNLISTED),
    ("family/v6-loopback-v4-filter", (block("127.0.0.0/8"),), "::1", UNLISTED),
    # A v4 client seen through a dual-stack socket is judged as the v4 address.
    ("mapped/blocked", (block("192.0.2.0/24"),), "::ffff:192.0.2.7", BLOCKED),
    ("mapped/allowed", (block("0.0.0.0/0"), allow("192.0.2.7")), "::ffff:192.0.2.7", ALLOWED),
    ("mapped/upper-case", (block("192.0.2.0/24"),), "::FFFF:192.0.2.7", BLOCKED),
    ("mapped/hex-form", (block("192.0.2.0/24"),), "::ffff:c000:207", BLOCKED),
    ("mapped/not-v6-filters", (block("::/0"),), "::ffff:192.0.2.7", UNLISTED),
    # A peer that is not an IP address (a Unix socket) matches no filter.
    ("not-an-ip/unix-socket", (block("0.0.0.0/0"), block("::/0")), "/run/inbound.sock", UNLISTED),
    ("not-an-ip/empty", (block("0.0.0.0/0"), block("::/0")), "", UNLISTED),
]


@pytest.mark.parametrize(("filters", "client", "expected"), params(VERDICTS))
def test_verdict_table(filters, client: str, expected: FilterVerdict) -> None:
    assert table(*filters).verdict(client) is expected


# ── CIDR validation (spec receiving.md §2, probed forms) ───────────────────────────────────
ACCEPTED_CIDRS = [
    ("v4-single", "192.0.2.1"),
    ("v4-cidr", "192.0.2.0/24"),
    ("v4-host-bits-set", "10.0.0.1/24"),
    ("v4-slash-0", "0.0.0.0/0"),
    ("v4-slash-32", "192.0.2.1/32"),
    ("v6-single", "2001:db8::1"),
    ("v6-loopback", "::1"),
    ("v6-cidr", "2001:db8::/32"),
    ("v6-host-bits-set", "2001:db8::1/64"),
    ("v6-slash-0", "::/0"),
    ("v6-slash-128", "2001:db8::1/128"),
    ("v6-exploded", "2001:0db8:0000:0000:0000:0000:0000:0001"),
]

REJECTED_CIDRS: list[Any] = [
    ("bracketed-v6", "[2001:db8::1]"),
    ("bracketed-v6-cidr", "[2001:db8::]/32"),
    ("zone-scoped", "fe80::1%eth0"),
    ("zone-scoped-cidr", "fe80::%eth0/64"),
    ("v4-mapped-v6", "::ffff:192.0.2.1"),
    ("v4-mapped-v6-hex", "::ffff:c000:201"),
    ("v4-mapped-v6-cidr", "::ffff:192.0.2.0/120"),
    ("fullwidth-digits", "\uff11\uff19\uff12.0.2.1"),
    ("fullwidth-mask", "192.0.2.0/\uff12\uff14"),
    ("arabic-indic-digits", "192.0.2.0/\u0662\u0664"),
    ("v4-mask-33", "192.0.2.0/33"),
    ("v6-mask-129", "2001:db8::/129"),
    ("negative-mask", "192.0.2.0/-1"),
    ("empty-mask", "192.0.2.0/"),
    ("double-mask", "192.0.2.0/24/8"),
    ("octet-256", "256.0.2.1"),
    ("three-octets", "192.0.2"),
    ("hostname", "mail.example.com"),
    ("empty", ""),
    ("surrounding-space", " 192.0.2.1 "),
    # IPv4-mapped whatever the mask, and netmask notation: not CIDR blocks as SES parses them.
    ("v4-mapped-v6-short-mask", "::ffff:192.0.2.1/64"),
    ("v4-mapped-v6-hex-short-mask", "::ffff:c000:201/64"),
    ("v4-netmask-notation", "192.0.2.0/255.255.255.0"),
    ("v4-hostmask-notation", "192.0.2.0/0.0.0.255"),
]


@pytest.mark.parametrize("cidr", params(ACCEPTED_CIDRS))
def test_check_cidr_accepts(cidr: str) -> None:
    check_cidr(cidr)
    table(block(cidr))  # ...and the loader and the filter table take it too


@pytest.mark.parametrize("cidr", params(REJECTED_CIDRS))
def test_check_cidr_rejects(cidr: str) -> None:
    with pytest.raises(InvalidParameterValue) as caught:
        check_cidr(cidr)
    assert caught.value.message == f"Invalid CIDR block: {cidr}"
    assert (caught.value.code, caught.value.status) == ("InvalidParameterValue", 400)


# ── properties ─────────────────────────────────────────────────────────────────────────────
BITS = {4: 32, 6: 128}


@st.composite
def network(draw: st.DrawFn) -> tuple[int, int, int, str]:
    """(version, address as int, prefix, Cidr text); host bits may be set, as SES allows."""
    version = draw(st.sampled_from([4, 6]))
    bits = BITS[version]
    value = draw(st.integers(0, 2**bits - 1))
    prefix = draw(st.integers(0, bits))
    address = ipaddress.ip_address(value) if version == 4 else ipaddress.IPv6Address(value)
    if version == 6 and value >> 32 == 0xFFFF:
        value ^= 1 << 100  # an IPv4-mapped address is not a valid Cidr (§2); move it away
        address = ipaddress.IPv6Address(value)
    text = address.exploded if version == 6 and draw(st.booleans()) else str(address)
    single = prefix == bits and draw(st.booleans())
    return version, value, prefix, text if single else f"{text}/{prefix}"


def _contains(version: int, net_value: int, prefix: int, client: int) -> bool:
    shift = BITS[version] - prefix
    return net_value >> shift == client >> shift


@st.composite
def client_for(draw: st.DrawFn, nets: list[tuple[int, int, int, str]]) -> tuple[int, int, str]:
    """(version, address as int, text as the SMTP peer would report it)."""
    if nets and draw(st.booleans()):  # inside (or at the edge of) one of the filters
        version, value, prefix, _ = draw(st.sampled_from(nets))
        shift = BITS[version] - prefix
        host = draw(st.integers(0, 2**shift - 1))
        value = (value >> shift << shift) | host
    else:
        version = draw(st.sampled_from([4, 6]))
        value = draw(st.integers(0, 2 ** BITS[version] - 1))
    if version == 4:
        text = str(ipaddress.IPv4Address(value))
        if draw(st.booleans()):
            text = f"::ffff:{text}"  # dual-stack socket view of a v4 peer
        return 4, value, text
    if value >> 32 == 0xFFFF:  # a v4 peer, drawn above; as a v6 one, a Cidr could not name it
        value ^= 1 << 100
    return 6, value, str(ipaddress.IPv6Address(value))


def oracle(filters: list[tuple[str, tuple[int, int, int, str]]], client: str) -> FilterVerdict:
    address = ipaddress.ip_address(client)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    hits = {
        policy
        for policy, (version, value, prefix, _) in filters
        if version == address.version and _contains(version, value, prefix, int(address))
    }
    if "Allow" in hits:
        return ALLOWED
    return BLOCKED if "Block" in hits else UNLISTED


@st.composite
def scenario(draw: st.DrawFn):
    nets = draw(st.lists(network(), max_size=12))
    policies = draw(
        st.lists(st.sampled_from(["Allow", "Block"]), min_size=len(nets), max_size=len(nets))
    )
    filters = list(zip(policies, nets, strict=True))
    clients = draw(st.lists(client_for(nets), min_size=1, max_size=6))
    return filters, clients


@settings(max_examples=200, deadline=None)
@given(scenario())
def test_verdict_equals_oracle(case) -> None:
    filters, clients = case
    compiled = table(*[(policy, net[3]) for policy, net in filters])
    for _, _, text in clients:
        assert compiled.verdict(text) is oracle(filters, text), text


@settings(max_examples=100, deadline=None)
@given(scenario(), st.randoms(use_true_random=False))
def test_verdict_ignores_filter_order(case, rnd) -> None:
    filters, clients = case
    pairs = [(policy, net[3]) for policy, net in filters]
    shuffled = rnd.sample(pairs, len(pairs))
    for _, _, text in clients:
        assert table(*pairs).verdict(text) is table(*shuffled).verdict(text)


@settings(max_examples=100, deadline=None)
@given(scenario())
def test_an_allow_covering_the_client_always_wins(case) -> None:
    filters, clients = case
    pairs = [(policy, net[3]) for policy, net in filters]
    for version, value, text in clients:
        exact = str(ipaddress.ip_address(value) if version == 4 else ipaddress.IPv6Address(value))
        assert table(*pairs, allow(exact)).verdict(text) is ALLOWED
        assert table(*pairs, block(exact)).verdict(text) is not UNLISTED


# ── over SMTP: the verdict is the reply to RCPT TO (§2, §11) ───────────────────────────────
def _rules(*filters: tuple[str, str]) -> dict[str, Any]:
    return {
        "Filters": [
            {"Name": f"f{i}", "IpFilter": {"Policy": p, "Cidr": c}}
            for i, (p, c) in enumerate(filters)
        ],
        "ActiveRuleSet": "s",
        "RuleSets": [
            {
                "Metadata": {"Name": "s"},
                "Rules": [{"Name": "all", "Enabled": True, "Recipients": [], "Actions": []}],
            }
        ],
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ((), replies.S250_OK),
        ((block("0.0.0.0/0"),), replies.S550_IP_BLACKLISTED),
        ((block("127.0.0.1"),), replies.S550_IP_BLACKLISTED),
        ((block("0.0.0.0/0"), allow("127.0.0.0/8")), replies.S250_OK),
        ((block("127.0.0.0/8"), allow("127.0.0.1")), replies.S250_OK),
        ((block("0.0.0.0/0"), allow("10.0.0.0/8")), replies.S550_IP_BLACKLISTED),
        ((block("::/0"),), replies.S250_OK),
    ],
    ids=[
        "no-filters",
        "block-all",
        "block-loopback-host",
        "recipe-allows-loopback",
        "allow-host-in-blocked-range",
        "recipe-without-loopback",
        "v6-block-all-v4-client",
    ],
)
def test_rcpt_reply_over_smtp(inbound_factory, filters, expected) -> None:
    server = inbound_factory(_rules(*filters))
    with smtplib.SMTP(server.smtp_host, server.smtp_port, timeout=10) as client:
        client.ehlo("client.test")
        assert client.mail("sender@sender.test")[0] == 250  # filters answer at RCPT, not MAIL
        code, text = client.rcpt("someone@example.com")
        assert f"{code} {text.decode()}" == str(expected)
        if code != 250:
            assert client.docmd("DATA") == (503, b"Error: need RCPT command")
    assert server.messages() == []
