"""Recipient matching: which enabled rules of a rule set match an envelope recipient.

Rules of spec receiving.md §1.4, with its recommendations for what AWS leaves open:
* `user@example.com` matches itself and every `user+label@example.com`; `user+x@example.com`
  matches only that label;
* `example.com` matches addresses in that domain only, `.example.com` its subdomains only;
* an empty recipient list matches every address in a verified domain or one of its subdomains
  (verifying a domain covers its subdomains in SES);
* comparison is case-insensitive, local part included (no source says SES is case-sensitive).

The rule set is compiled into dictionaries once, so a lookup costs the same with 1 rule as with
200 rules of 100 recipients (benchmarks/ measure it); after an edit, the new state's index is
the previous one's changed by the rules the edit changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from inbound.model import ReceiptRule, RuleSet


def split_address(address: str) -> tuple[str, str]:
    """(local part, domain), lower-cased; the domain is what follows the last `@`."""
    local, _, domain = address.strip().lower().rpartition("@")
    return local, domain.rstrip(".")


def base_local(local: str) -> str:
    """The local part without its `+label`; a `+` inside a quoted string is not a label."""
    start = local.rindex('"') + 1 if local.startswith('"') and local.count('"') > 1 else 0
    plus = local.find("+", start)
    return local if plus < 0 else local[:plus]


def parent_domains(domain: str) -> Iterable[str]:
    """`a.b.example.com` → `b.example.com`, `example.com`, `com`."""
    labels = domain.split(".")
    return (".".join(labels[i:]) for i in range(1, len(labels)))


# The index's tables: an entry (an address, a domain, a parent domain) → the names of the
# enabled rules listing it. Names, not positions: a rule created, deleted or moved shifts the
# positions of the rules after it, never their names.
_Table = dict[str, tuple[str, ...]]


class RecipientIndex:
    """Enabled rules of one rule set, indexed by address, domain and parent domain.

    `previous`: the index of an earlier state of the rule set. Rules are frozen, and an edit
    keeps the rules it does not change as the same objects (rules/editing.py), so the new
    index is the previous one's tables, copied, with the entries of the rules that went out
    removed and those of the rules that came in added: an edit of one rule among 200 of 100
    recipients costs that rule's entries, not 20,000 (issue 15 item 8). Built from nothing, or
    from any previous index, the tables are the same (tests/receiving/test_matching.py).
    """

    def __init__(
        self,
        rule_set: RuleSet | None,
        verified: Iterable[str],
        previous: RecipientIndex | None = None,
    ) -> None:
        rules = rule_set.rules if rule_set else ()
        self._rules = rules
        self._positions = {rule.name: position for position, rule in enumerate(rules)}
        self._verified_domains = frozenset(v.lower() for v in verified if "@" not in v)
        if previous is None:
            self._tables: tuple[_Table, _Table, _Table, _Table] = ({}, {}, {}, {})
            gone: tuple[ReceiptRule, ...] = ()
            came = rules
        else:
            self._tables = tuple(dict(t) for t in previous._tables)  # type: ignore[assignment]
            kept = {id(rule) for rule in rules}
            was = {id(rule) for rule in previous._rules}
            gone = tuple(r for r in previous._rules if id(r) not in kept)
            came = tuple(r for r in rules if id(r) not in was)
        for rule in gone:
            self._enter(rule, _without)
        for rule in came:
            self._enter(rule, _with)
        # Plain dicts of tuples of strings: such tuples are untracked by the garbage collector,
        # so a large rule set (200 rules x 100 recipients) adds no work to every collection.
        self._addresses, self._domains, self._subdomains, catch_all = self._tables
        self._catch_all = catch_all.get("", ())

    def _enter(self, rule: ReceiptRule, change: _Change) -> None:
        """Add (`_with`) or remove (`_without`) `rule`'s entries; a disabled rule has none
        (it is skipped entirely, §1.6)."""
        if rule.enabled:
            for table, key in _keys(rule):
                change(self._tables[table], key, rule.name)

    def tables(self) -> tuple[dict[str, frozenset[str]], ...]:
        """The index's contents, for comparing two indexes (the order within an entry does
        not matter: lookups sort by position)."""
        return tuple({k: frozenset(v) for k, v in t.items()} for t in self._tables)

    def match(self, address: str) -> tuple[int, ...]:
        """Positions (in rule-set order) of the enabled rules that match `address`; asked for
        every RCPT, so no reason text is built."""
        position = self._positions
        found = {position[name] for names, _, _ in self._lookups(address) for name in names}
        return tuple(sorted(found))

    def explain(self, address: str) -> dict[int, str]:
        """The matching rules' positions, each with the first reason it matched (for the
        trace)."""
        found: dict[int, str] = {}
        for names, reason, subject in self._lookups(address):
            for position in sorted(self._positions[name] for name in names):
                if position not in found:
                    found[position] = reason.format(subject)
        return found

    def _lookups(self, address: str) -> Iterator[tuple[tuple[str, ...], str, str]]:
        """(rule names, reason template, its subject) for every index entry `address` hits,
        most specific first; each is a dictionary probe, whatever the number of rules."""
        local, domain = split_address(address)
        if not local or not domain:
            return
        yield self._addresses.get(f"{local}@{domain}", ()), "address {}", f"{local}@{domain}"
        base = base_local(local)
        if base != local:
            yield (
                self._addresses.get(f"{base}@{domain}", ()),
                "address {} (+label)",
                f"{base}@{domain}",
            )
        yield self._domains.get(domain, ()), "domain {}", domain
        parents = list(parent_domains(domain))
        for parent in parents:
            yield self._subdomains.get(parent, ()), "subdomain of {}", parent
        if self._catch_all and (
            domain in self._verified_domains or any(p in self._verified_domains for p in parents)
        ):
            yield self._catch_all, "catch-all rule: recipient in a verified domain", ""


_Change = Callable[[_Table, str, str], None]
_ADDRESSES, _DOMAINS, _SUBDOMAINS, _CATCH_ALL = range(4)  # `RecipientIndex._tables`


def _keys(rule: ReceiptRule) -> set[tuple[int, str]]:
    """(table, entry) for each of a rule's recipients, once each (`A@x.com` and `a@x.com.` are
    one entry)."""
    if not rule.recipients:
        return {(_CATCH_ALL, "")}
    keys = set()
    for entry in (e.strip().lower() for e in rule.recipients):
        if "@" in entry:
            keys.add((_ADDRESSES, "@".join(split_address(entry))))
        elif entry.startswith("."):
            keys.add((_SUBDOMAINS, entry[1:].rstrip(".")))
        else:
            keys.add((_DOMAINS, entry.rstrip(".")))
    return keys


def _with(table: _Table, key: str, name: str) -> None:
    table[key] = (*table.get(key, ()), name)


def _without(table: _Table, key: str, name: str) -> None:
    names = tuple(n for n in table[key] if n != name)
    if names:
        table[key] = names
    else:
        del table[key]
