"""Recipient matching: which enabled rules of a rule set match an envelope recipient.

Rules of spec receiving.md §1.4, with its recommendations for what AWS leaves open:
* `user@example.com` matches itself and every `user+label@example.com`; `user+x@example.com`
  matches only that label;
* `example.com` matches addresses in that domain only, `.example.com` its subdomains only;
* an empty recipient list matches every address in a verified domain or one of its subdomains
  (verifying a domain covers its subdomains in SES);
* comparison is case-insensitive, local part included (no source says SES is case-sensitive).

The rule set is compiled into dictionaries once, so a lookup costs the same with 1 rule as with
200 rules of 100 recipients (benchmarks/ measure it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from inbound.model import RuleSet


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


class RecipientIndex:
    """Enabled rules of one rule set, indexed by address, domain and parent domain."""

    def __init__(self, rule_set: RuleSet | None, verified: Iterable[str]) -> None:
        addresses: dict[str, list[int]] = defaultdict(list)
        domains: dict[str, list[int]] = defaultdict(list)
        subdomains: dict[str, list[int]] = defaultdict(list)
        catch_all: list[int] = []
        self._verified_domains = frozenset(v.lower() for v in verified if "@" not in v)
        for position, rule in enumerate(rule_set.rules if rule_set else ()):
            if not rule.enabled:
                continue  # a disabled rule is skipped entirely (§1.6)
            if not rule.recipients:
                catch_all.append(position)
            for entry in {e.strip().lower() for e in rule.recipients}:
                if "@" in entry:
                    addresses["@".join(split_address(entry))].append(position)
                elif entry.startswith("."):
                    subdomains[entry[1:].rstrip(".")].append(position)
                else:
                    domains[entry.rstrip(".")].append(position)
        # Plain dicts of tuples: tuples of ints are untracked by the garbage collector, so a
        # large rule set (200 rules x 100 recipients) adds no work to every collection.
        self._catch_all = tuple(catch_all)
        self._addresses = {k: tuple(v) for k, v in addresses.items()}
        self._domains = {k: tuple(v) for k, v in domains.items()}
        self._subdomains = {k: tuple(v) for k, v in subdomains.items()}

    def match(self, address: str) -> tuple[int, ...]:
        """Positions (in rule-set order) of the enabled rules that match `address`; asked for
        every RCPT, so no reason text is built."""
        found = {position for positions, _, _ in self._lookups(address) for position in positions}
        return tuple(sorted(found))

    def explain(self, address: str) -> dict[int, str]:
        """The matching rules' positions, each with the first reason it matched (for the
        trace)."""
        found: dict[int, str] = {}
        for positions, reason, subject in self._lookups(address):
            for position in positions:
                if position not in found:
                    found[position] = reason.format(subject)
        return found

    def _lookups(self, address: str) -> Iterator[tuple[tuple[int, ...], str, str]]:
        """(rule positions, reason template, its subject) for every index entry `address` hits,
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
