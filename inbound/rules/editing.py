"""Pure edits of the receipt state, one per SES operation: each returns a new `ReceiptState`
or raises the SES error, with the texts probed against real SES (query-api.md §9.3).

No I/O here: the API handlers call these under the server's state lock, then persist and
install the result, so every edit is all-or-nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime

from inbound.errors import (
    AlreadyExists,
    CannotDelete,
    InvalidParameterValue,
    LimitExceeded,
    RuleDoesNotExist,
    RuleSetDoesNotExist,
)
from inbound.model import ReceiptFilter, ReceiptRule, ReceiptState, RuleSet
from inbound.rules import validate


def _now() -> datetime:
    return datetime.now(UTC)


def rule_set(state: ReceiptState, name: str) -> RuleSet:
    found = next((s for s in state.rule_sets if s.name == name), None)
    if found is None:
        raise RuleSetDoesNotExist(f"Rule set does not exist: {name}", Name=name)
    return found


def _position(rules: tuple[ReceiptRule, ...], name: str) -> int:
    for i, rule in enumerate(rules):
        if rule.name == name:
            return i
    raise RuleDoesNotExist(f"Rule does not exist: {name}", Name=name)


def _replace_set(state: ReceiptState, new: RuleSet) -> ReceiptState:
    sets = tuple(new if s.name == new.name else s for s in state.rule_sets)
    return dataclasses.replace(state, rule_sets=sets)


def _with_rules(state: ReceiptState, old: RuleSet, rules: Iterable[ReceiptRule]) -> ReceiptState:
    return _replace_set(state, dataclasses.replace(old, rules=tuple(rules)))


# ── rule sets ───────────────────────────────────────────────────────────────────────────────
def create_rule_set(state: ReceiptState, name: str) -> ReceiptState:
    validate.check_name(name, "ruleSetName", "ruleSetName")
    if any(s.name == name for s in state.rule_sets):
        raise AlreadyExists(f"Rule set already exists: {name}", Name=name)
    if len(state.rule_sets) >= validate.MAX_RULE_SETS:
        raise LimitExceeded("Too many rule sets")
    return dataclasses.replace(state, rule_sets=(*state.rule_sets, RuleSet(name, (), _now())))


def clone_rule_set(state: ReceiptState, name: str, original: str) -> ReceiptState:
    source = rule_set(state, original)
    state = create_rule_set(state, name)
    return _replace_set(state, RuleSet(name, source.rules, rule_set(state, name).created))


def delete_rule_set(state: ReceiptState, name: str) -> ReceiptState:
    """Idempotent; the active set cannot be deleted (§1.1)."""
    if state.active == name:
        raise CannotDelete(f"Cannot delete active rule set: {name}", Name=name)
    return dataclasses.replace(state, rule_sets=tuple(s for s in state.rule_sets if s.name != name))


def set_active(state: ReceiptState, name: str | None) -> ReceiptState:
    """No name deactivates every set: all mail is rejected (§1.1)."""
    if name is not None:
        rule_set(state, name)
    return dataclasses.replace(state, active=name)


def reorder(state: ReceiptState, name: str, rule_names: list[str]) -> ReceiptState:
    """The new order must name every rule of the set, once (§1.2). The checks run in the order
    probed against SES (query-api.md §9.3's floci notes): a name given twice, then rules of the
    set left out, then names that are not rules of the set."""
    current = rule_set(state, name)
    by_name = {r.name: r for r in current.rules}
    seen: set[str] = set()
    for rule_name in rule_names:
        if rule_name in seen:
            raise InvalidParameterValue(f"Multiple positions found for rule: {rule_name}")
        seen.add(rule_name)
    missing = [n for n in by_name if n not in seen]
    if missing:
        raise InvalidParameterValue(f"Positions for rules not found: {', '.join(missing)}")
    for rule_name in rule_names:
        if rule_name not in by_name:
            raise RuleDoesNotExist(f"Rule does not exist: {rule_name}", Name=rule_name)
    return _with_rules(state, current, (by_name[n] for n in rule_names))


# ── rules ───────────────────────────────────────────────────────────────────────────────────
def create_rule(
    state: ReceiptState, set_name: str, rule: ReceiptRule, after: str | None
) -> ReceiptState:
    """Insert behind `after`, or first when there is none (§1.2)."""
    current = rule_set(state, set_name)
    insert_at = 0 if after is None else _position(current.rules, after) + 1
    if current.rule(rule.name) is not None:
        raise AlreadyExists(f"Rule already exists: {rule.name}", Name=rule.name)
    if len(current.rules) >= validate.MAX_RULES_PER_SET:
        raise LimitExceeded("Too many rules")
    validate.check_rule(rule, state.verified)
    rules = list(current.rules)
    rules.insert(insert_at, rule)
    return _with_rules(state, current, rules)


def update_rule(state: ReceiptState, set_name: str, rule: ReceiptRule) -> ReceiptState:
    """Replace the whole rule in place; omitted members take their defaults (§9.3)."""
    current = rule_set(state, set_name)
    position = _position(current.rules, rule.name)
    validate.check_rule(rule, state.verified)
    rules = list(current.rules)
    rules[position] = rule
    return _with_rules(state, current, rules)


def delete_rule(state: ReceiptState, set_name: str, rule_name: str) -> ReceiptState:
    """Idempotent for the rule; the set must exist (§9.3)."""
    current = rule_set(state, set_name)
    return _with_rules(state, current, (r for r in current.rules if r.name != rule_name))


def set_rule_position(
    state: ReceiptState, set_name: str, rule_name: str, after: str | None
) -> ReceiptState:
    """Without `after` the rule moves first; after itself is a no-op (§9.3)."""
    current = rule_set(state, set_name)
    moving = current.rules[_position(current.rules, rule_name)]
    if after is not None:
        _position(current.rules, after)
        if after == rule_name:
            return state
    rules = [r for r in current.rules if r.name != rule_name]
    insert_at = 0 if after is None else _position(tuple(rules), after) + 1
    rules.insert(insert_at, moving)
    return _with_rules(state, current, rules)


# ── filters (§2) ────────────────────────────────────────────────────────────────────────────
def create_filter(state: ReceiptState, new: ReceiptFilter) -> ReceiptState:
    validate.check_filter(new)
    if any(f.name == new.name for f in state.filters):
        raise AlreadyExists(f"Filter already exists: {new.name}", Name=new.name)
    if len(state.filters) >= validate.MAX_FILTERS:
        raise LimitExceeded("Too many filters")
    return dataclasses.replace(state, filters=(*state.filters, new))


def delete_filter(state: ReceiptState, name: str) -> ReceiptState:
    """Idempotent (§2)."""
    return dataclasses.replace(state, filters=tuple(f for f in state.filters if f.name != name))
