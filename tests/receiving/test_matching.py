"""Recipient matching (spec receiving.md §1.4, §1.6) through `RecipientIndex`.

Rule sets are built from rules.json-shaped dicts by `codec.parse_rules`, the loader the server
uses, so every case is also a valid rules.json. The hypothesis properties compare the index with
`oracle()`, a plain scan over the rules written from the spec text, not from the index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.model import ReceiptRule
from inbound.receiving.matching import RecipientIndex, base_local, split_address
from inbound.rules import codec, editing
from tests.receiving import rule_edits

# A rule is (recipient entries, enabled); `None` for enabled leaves the member out (API default).
Rule = tuple[Sequence[str], bool | None]


def rules_json(rules: Sequence[Rule]) -> dict[str, Any]:
    body = []
    for i, (recipients, enabled) in enumerate(rules):
        rule: dict[str, Any] = {"Name": f"rule-{i}", "Recipients": list(recipients), "Actions": []}
        if enabled is not None:
            rule["Enabled"] = enabled
        body.append(rule)
    return {"ActiveRuleSet": "s", "RuleSets": [{"Metadata": {"Name": "s"}, "Rules": body}]}


def index(rules: Sequence[Rule], verified: Sequence[str] = ("example.com",)) -> RecipientIndex:
    state = codec.parse_rules(rules_json(rules), frozenset(verified), "us-east-1")
    return RecipientIndex(state.active_rule_set, state.verified)


def on(*recipients: str) -> Rule:
    return (recipients, True)


def off(*recipients: str) -> Rule:
    return (recipients, False)


# ── table ──────────────────────────────────────────────────────────────────────────────────
# (id, rules, verified identities, recipient, expected positions)
CASES: list[Any] = [
    # An address entry matches itself and every +label form of it (§1.4).
    ("address/exact", [on("user@example.com")], ["example.com"], "user@example.com", (0,)),
    ("address/other-local", [on("user@example.com")], ["example.com"], "other@example.com", ()),
    ("address/other-domain", [on("user@example.com")], ["example.com"], "user@example.org", ()),
    ("address/subdomain", [on("user@example.com")], ["example.com"], "user@a.example.com", ()),
    ("address/prefix-local", [on("user@example.com")], ["example.com"], "users@example.com", ()),
    ("address/+label", [on("user@example.com")], ["example.com"], "user+news@example.com", (0,)),
    ("address/+a+b", [on("user@example.com")], ["example.com"], "user+a+b@example.com", (0,)),
    # ...and a labelled entry matches only that label (§1.4).
    ("label/exact", [on("user+news@example.com")], [], "user+news@example.com", (0,)),
    ("label/base-address", [on("user+news@example.com")], [], "user@example.com", ()),
    ("label/other-label", [on("user+news@example.com")], [], "user+spam@example.com", ()),
    ("label/longer-label", [on("user+news@example.com")], [], "user+news+x@example.com", ()),
    # A bare domain is that domain only; a leading dot is its subdomains only (§1.4).
    ("domain/in-domain", [on("example.com")], [], "anyone@example.com", (0,)),
    ("domain/not-subdomain", [on("example.com")], [], "anyone@sub.example.com", ()),
    ("domain/suffix-lookalike", [on("example.com")], [], "anyone@badexample.com", ()),
    ("domain/longer-tld", [on("example.com")], [], "anyone@example.com.evil", ()),
    ("domain/fqdn-root-dot", [on("example.com")], [], "anyone@example.com.", (0,)),
    ("dot/subdomain", [on(".example.com")], [], "anyone@sub.example.com", (0,)),
    ("dot/deep-subdomain", [on(".example.com")], [], "anyone@a.b.example.com", (0,)),
    ("dot/not-the-domain", [on(".example.com")], [], "anyone@example.com", ()),
    ("dot/suffix-lookalike", [on(".example.com")], [], "anyone@badexample.com", ()),
    ("dot/multi-label", [on(".corp.example.co.uk")], [], "x@mail.corp.example.co.uk", (0,)),
    ("domain/multi-label", [on("corp.example.co.uk")], [], "x@mail.corp.example.co.uk", ()),
    ("domain+dot/both-forms", [on("example.com", ".example.com")], [], "x@s.example.com", (0,)),
    # Empty recipient list: every address of a verified domain and its subdomains (§1.4).
    ("catch-all/verified", [on()], ["example.com"], "anyone@example.com", (0,)),
    ("catch-all/verified-subdomain", [on()], ["example.com"], "anyone@a.b.example.com", (0,)),
    ("catch-all/unverified", [on()], ["example.com"], "anyone@example.org", ()),
    ("catch-all/suffix-lookalike", [on()], ["example.com"], "anyone@badexample.com", ()),
    ("catch-all/nothing-verified", [on()], [], "anyone@example.com", ()),
    # A verified *address* identity is not a domain: the catch-all is "all verified domains".
    ("catch-all/address-identity", [on()], ["me@example.org"], "me@example.org", ()),
    ("catch-all/verified-case", [on()], ["Example.COM"], "a@EXAMPLE.com", (0,)),
    # Case-insensitive throughout, local part included (§1.4 recommendation).
    ("case/address", [on("User@Example.COM")], [], "uSER@eXAMPLE.com", (0,)),
    ("case/label", [on("user+News@example.com")], [], "USER+NEWS@EXAMPLE.COM", (0,)),
    ("case/base-with-label", [on("USER@example.com")], [], "user+Tag@Example.com", (0,)),
    ("case/domain", [on("EXAMPLE.com")], [], "a@Example.Com", (0,)),
    ("case/dot-domain", [on(".Example.COM")], [], "a@SUB.example.com", (0,)),
    # Quoted local parts (RFC 5321 Quoted-string), still case-insensitive.
    ("quoted/exact", [on('"john doe"@example.com')], [], '"John Doe"@example.com', (0,)),
    ("quoted/with-at", [on('"a@b"@example.com')], [], '"a@b"@example.com', (0,)),
    ("quoted/not-unquoted", [on('"john doe"@example.com')], [], "john.doe@example.com", ()),
    # Disabled rules are skipped entirely; Enabled defaults to false in the API (§1.6).
    ("disabled/skipped", [off("example.com"), on("example.com")], [], "a@example.com", (1,)),
    ("disabled/catch-all", [off()], ["example.com"], "a@example.com", ()),
    ("disabled/omitted-enabled", [(["example.com"], None)], [], "a@example.com", ()),
    # Every matching rule, in rule-set order (§1.2): positions index the whole rule set.
    (
        "order/all-forms",
        [on(), on("example.com"), on("a@example.com"), on(".example.com"), on("a+x@example.com")],
        ["example.com"],
        "a@example.com",
        (0, 1, 2),
    ),
    (
        "order/skips-disabled",
        [on("a@example.com"), off("a@example.com"), on("b@example.com"), on("example.com")],
        [],
        "a@example.com",
        (0, 3),
    ),
    (
        "order/later-rules-too",
        [on("b@example.com"), on("c@example.com"), on("a+x@example.com"), on("a@example.com")],
        [],
        "a+x@example.com",
        (2, 3),
    ),
    # One rule whose several entries all match is still one position.
    (
        "several-entries/one-rule",
        [on("a@example.com", "a+x@example.com", "example.com", "A@EXAMPLE.COM")],
        [],
        "a+x@example.com",
        (0,),
    ),
    # Not an address: nothing can match.
    ("no-domain", [on(), on("example.com")], ["example.com"], "postmaster", ()),
    ("empty-local", [on(), on("example.com")], ["example.com"], "@example.com", ()),
    ("empty-domain", [on(), on("example.com")], ["example.com"], "user@", ()),
    # Normalisation of the root dot, for entries as for recipients.
    ("domain/entry-root-dot", [on("example.com.")], [], "a@example.com", (0,)),
    ("dot/entry-root-dot", [on(".example.com.")], [], "a@sub.example.com", (0,)),
    # A `+` inside a quoted local part is not a label separator.
    ("quoted/plus-inside", [on('"a+b"@example.com')], [], '"a+b"+tag@example.com', (0,)),
    ("quoted/plus-inside-exact", [on('"a+b"@example.com')], [], '"a+b"@example.com', (0,)),
]


def test_a_plus_inside_a_quoted_local_part_is_not_a_label() -> None:
    """What the `"a@example.com` entry of this table showed before rule recipients were
    validated (such an entry is now refused: tests/api/test_receipt_rules.py)."""
    assert base_local('"a+b"') == '"a+b"'
    assert base_local('"a+b"+tag') == '"a+b"'


def params(cases: list[Any]) -> list[Any]:
    """`(id, *values)` rows become `pytest.param(*values, id=id)`; `pytest.param` rows pass."""
    return [pytest.param(*c[1:], id=c[0]) if type(c) is tuple else c for c in cases]


@pytest.mark.parametrize(("rules", "verified", "recipient", "expected"), params(CASES))
def test_match_table(rules, verified, recipient, expected) -> None:
    assert index(rules, verified).match(recipient) == expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("User@Example.COM", ("user", "example.com")),
        ("user@example.com.", ("user", "example.com")),
        ('"a@b"@example.com', ('"a@b"', "example.com")),
        ("  a@b.example  ", ("a", "b.example")),
        ("postmaster", ("", "postmaster")),
    ],
    ids=["lower-cased", "root-dot", "quoted-at", "stripped", "no-at"],
)
def test_split_address(address: str, expected: tuple[str, str]) -> None:
    assert split_address(address) == expected


def test_no_active_rule_set_matches_nothing() -> None:
    assert RecipientIndex(None, ["example.com"]).match("a@example.com") == ()


def test_scaling_200_rules_of_100_recipients() -> None:
    """The quota-sized rule set (§9.1: 200 rules, 100 recipients each): only the last rule holds
    the needle, every other entry is a near miss of it, and every entry maps back to its rule."""
    near_misses = [
        "needle@example.org",
        "needle+x@example.com",
        "needle@sub.example.com",
        "needles@example.com",
        ".sub.example.com",
        "example.net",
    ]
    rules: list[Rule] = [
        on(*[f"u{k}-{j}@example.com" for j in range(100 - len(near_misses))], *near_misses)
        for k in range(199)
    ]
    rules.append(on(*[f"u199-{j}@example.com" for j in range(99)], "needle@example.com"))
    assert all(len(entries) == 100 for entries, _ in rules)
    idx = index(rules)

    assert idx.match("needle@example.com") == (199,)
    assert idx.match("NEEDLE+tag@Example.Com") == (199,)
    for k in range(200):
        for j in (0, 47, 93):
            assert idx.match(f"u{k}-{j}@example.com") == (k,)
    assert all(idx.match(f"stranger{i}@example.com") == () for i in range(100))
    assert idx.match("a@deep.sub.example.com") == tuple(range(199))


# ── properties against an independent oracle ───────────────────────────────────────────────
def _label_base(local: str) -> str:
    """The local part before its +label; `+` inside a quoted string is not a separator."""
    if local.startswith('"'):
        close = local.index('"', 1)
        head, rest = local[: close + 1], local[close + 1 :]
        return head + rest.split("+", 1)[0]
    return local.split("+", 1)[0]


def oracle(rules: Sequence[Rule], verified: Sequence[str], recipient: str) -> tuple[int, ...]:
    """§1.4 read literally, one rule and one entry at a time."""
    address = recipient.lower()
    if "@" not in address:
        return ()
    local, _, domain = address.rpartition("@")
    if not local or not domain:
        return ()
    base = _label_base(local)
    domains = [v.lower() for v in verified if "@" not in v]
    positions = []
    for position, (entries, enabled) in enumerate(rules):
        if not enabled:
            continue
        if not entries:
            hit = any(domain == d or domain.endswith("." + d) for d in domains)
        else:
            hit = False
            for entry in (e.lower() for e in entries):
                if "@" in entry:
                    entry_local, _, entry_domain = entry.rpartition("@")
                    hit |= entry_domain == domain and entry_local in (local, base)
                elif entry.startswith("."):
                    hit |= domain.endswith(entry)
                else:
                    hit |= domain == entry
        if hit:
            positions.append(position)
    return tuple(positions)


ATOM = st.text("abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=6)
# Quoted strings (RFC 5321 Quoted-string) without `"` or `\`, `+` and `@` included.
QUOTED = st.text("abcxyz .@,;:()+", min_size=1, max_size=6).map(lambda s: f'"{s}"')
LOCAL = ATOM | QUOTED
LABEL = st.text("abcz09-+", min_size=1, max_size=5)
DNS_LABEL = st.sampled_from(["example", "mail", "corp", "sub", "a", "b", "x-1"])
TLD = st.sampled_from(["com", "org", "co.uk", "test"])
DOMAIN = st.builds(
    lambda labels, tld: ".".join([*labels, tld]), st.lists(DNS_LABEL, min_size=1, max_size=3), TLD
)


MASK = st.integers(0, 2**64 - 1)


def random_case(draw: st.DrawFn, text: str) -> str:
    mask = draw(MASK)
    return "".join(c.upper() if mask >> i & 1 else c for i, c in enumerate(text))


# Pools are drawn first; entries and recipients then pick from them by index (kind, local,
# domain, label), so that they collide often. Built once: strategies made inside a composite
# are re-validated on every example.
PICK = st.tuples(
    st.sampled_from(["address", "labelled", "domain", "parent", ".domain", ".parent"]),
    st.integers(0, 3),
    st.integers(0, 3),
    LABEL,
)
RULES = st.lists(
    st.tuples(st.lists(PICK, max_size=4), st.sampled_from([True, True, False, None])),
    min_size=1,
    max_size=8,
)
VERIFIED = st.lists(st.tuples(st.sampled_from(["domain", "parent", "address"]), PICK), max_size=3)
RECIPIENTS = st.lists(
    st.tuples(st.sampled_from(["address", "labelled"]), PICK), min_size=1, max_size=8
)


def _render(pick: tuple[str, int, int, str], locals_: list[str], domains: list[str]) -> str:
    kind, i, j, label = pick
    local, domain = locals_[i % len(locals_)], domains[j % len(domains)]
    labels = domain.split(".")
    parent = ".".join(labels[1 + i % max(len(labels) - 1, 1) :]) or domain  # any ancestor
    return {
        "address": f"{local}@{domain}",
        "labelled": f"{local}+{label}@{domain}",
        "domain": domain,
        "parent": parent,
        ".domain": f".{domain}",
        ".parent": f".{parent}",
    }[kind]


@st.composite
def scenario(draw: st.DrawFn, mixed_case: bool = True):
    """Rules, verified identities and recipients drawn from shared pools."""
    domains = draw(st.lists(DOMAIN, min_size=1, max_size=4, unique=True))
    locals_ = draw(st.lists(LOCAL, min_size=1, max_size=4, unique=True))
    rules: list[Rule] = [
        ([_render(p, locals_, domains) for p in picks], enabled) for picks, enabled in draw(RULES)
    ]
    verified = [_render((kind, *p[1:]), locals_, domains) for kind, p in draw(VERIFIED)]
    recipients = [_render((kind, *p[1:]), locals_, domains) for kind, p in draw(RECIPIENTS)]
    if mixed_case:
        rules = [([random_case(draw, e) for e in entries], on_) for entries, on_ in rules]
        verified = [random_case(draw, v) for v in verified]
        recipients = [random_case(draw, r) for r in recipients]
    return rules, verified, recipients


@settings(max_examples=200, deadline=None)
@given(scenario())
def test_index_equals_oracle(case) -> None:
    rules, verified, recipients = case
    idx = index(rules, verified)
    for recipient in recipients:
        assert idx.match(recipient) == oracle(rules, verified, recipient), recipient


@settings(max_examples=100, deadline=None)
@given(scenario(mixed_case=False), st.data())
def test_case_folding_invariance(case, data) -> None:
    rules, verified, recipients = case
    lower = index(rules, verified)

    def shout(text: str) -> str:
        return data.draw(st.sampled_from([text.upper(), text.swapcase(), text.title()]))

    shouted = index(
        [([shout(e) for e in es], on_) for es, on_ in rules], [shout(v) for v in verified]
    )
    for recipient in recipients:
        expected = lower.match(recipient)
        assert shouted.match(recipient) == expected
        assert lower.match(shout(recipient)) == expected
        assert shouted.match(shout(recipient)) == expected


@settings(max_examples=100, deadline=None)
@given(scenario(), LOCAL, DOMAIN, LABEL)
def test_plus_label_equivalence(case, local, domain, label) -> None:
    """`local+label@d` matches what `local@d` matches, plus the rules naming that exact label."""
    rules, verified, _ = case
    rules = [*rules, on(f"{local}@{domain}"), on(f"{local}+{label}@{domain}")]
    idx = index(rules, verified)
    plain, tagged = f"{local}@{domain}", f"{local}+{label}@{domain}"
    naming_label = {
        position
        for position, (entries, enabled) in enumerate(rules)
        if enabled and any(e.lower() == tagged.lower() for e in entries)
    }
    assert len(rules) - 2 in idx.match(tagged)
    assert len(rules) - 1 not in idx.match(plain)
    assert idx.match(tagged) == tuple(sorted(set(idx.match(plain)) | naming_label))


# ── an index derived from the previous state's ─────────────────────────────────────────────
@settings(max_examples=300, deadline=None)
@given(st.lists(rule_edits.EDITS, max_size=30))
def test_an_index_derived_from_the_previous_one_equals_one_built_from_scratch(edits) -> None:
    """After any sequence of API edits (create, update, delete, move, reorder, a set cloned or
    made active, verified domains changed), the index the engine derives from the previous
    state's holds exactly what one built from the state alone holds, and answers alike."""
    state = rule_edits.start()
    previous = RecipientIndex(state.active_rule_set, state.verified)
    for edit in edits:
        state = rule_edits.apply(state, edit)
        derived = RecipientIndex(state.active_rule_set, state.verified, previous)
        fresh = RecipientIndex(state.active_rule_set, state.verified)
        assert derived.tables() == fresh.tables(), edit
        for address in rule_edits.ADDRESSES:
            assert derived.match(address) == fresh.match(address), (edit, address)
            assert derived.explain(address) == fresh.explain(address), (edit, address)
        previous = derived


def test_a_derived_index_is_its_previous_one_changed_by_the_edited_rule_only() -> None:
    """Deriving touches only the entries of the rules the edit replaced: an index whose
    previous one was altered behind its back keeps the alteration (so nothing was rebuilt)."""
    state = codec.parse_rules(
        rules_json([on(*[f"u{k}-{j}@example.com" for j in range(100)]) for k in range(200)]),
        frozenset(),
        "us-east-1",
    )
    previous = RecipientIndex(state.active_rule_set, state.verified)
    previous._addresses["marker@example.com"] = ("rule-0",)  # not a recipient of any rule
    edited = ReceiptRule("rule-5", True, recipients=("new@example.com",))
    state = editing.update_rule(state, "s", edited)
    derived = RecipientIndex(state.active_rule_set, state.verified, previous)
    assert derived.match("marker@example.com") == (0,)
    assert derived.match("new@example.com") == (5,)
    assert derived.match("u5-0@example.com") == ()
    assert derived.match("u6-0@example.com") == (6,)
