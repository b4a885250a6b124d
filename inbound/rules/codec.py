"""rules.json ⇄ `ReceiptState`: the shapes of ListReceiptFilters and DescribeReceiptRuleSet,
so rules exported from AWS load unchanged and `inbound rules export` writes what AWS reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inbound import model
from inbound.errors import ConfigError, SesError, ValidationError
from inbound.rules import validate
from inbound.timestamps import from_wire, to_wire


def load_rules(path: Path, verified: frozenset[str], region: str) -> model.ReceiptState:
    """rules.json: `{"Filters": [...], "ActiveRuleSet": name, "RuleSets": [{"Metadata":
    {"Name": ...}, "Rules": [...]}]}` — the shapes of ListReceiptFilters and
    DescribeReceiptRuleSet, so rules exported from AWS load unchanged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "-", "file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "-", f"invalid JSON: {exc}") from None
    try:
        return parse_rules(data, verified, region)
    except SesError as exc:
        raise config_error(path, exc) from None


def config_error(path: Path | str, exc: SesError) -> ConfigError:
    """A rules.json that SES would refuse: where in the file (the rule set and rule, by
    position and name, when validation knows them) and SES's code and text."""
    where = getattr(exc, "location", None) or getattr(exc, "path", None)
    return ConfigError(path, where or "-", f"{exc.code}: {exc.message}")


def parse_rules(data: Any, verified: frozenset[str], region: str) -> model.ReceiptState:
    """rules.json → `ReceiptState`, validated as the API validates (`validate.check_state`)
    for the Region the rules are for."""
    if not isinstance(data, dict):
        raise ValidationError("$", "must be an object")
    unknown = set(data) - {"Filters", "ActiveRuleSet", "RuleSets"}
    if unknown:
        raise ValidationError(sorted(unknown)[0], "is not a rules.json member")
    filters = tuple(
        model.filter_from_api(f, f"Filters.{i + 1}")
        for i, f in enumerate(_list(data, "Filters", "Filters"))
    )
    rule_sets = []
    for i, entry in enumerate(_list(data, "RuleSets", "RuleSets")):
        where = f"RuleSets.{i + 1}"
        if not isinstance(entry, dict) or not isinstance(entry.get("Metadata"), dict):
            raise ValidationError(where, "must have Metadata.Name and Rules")
        name = entry["Metadata"].get("Name")
        if not isinstance(name, str):
            raise ValidationError(f"{where}.Metadata.Name", "Member must not be null")
        rules = tuple(
            model.rule_from_api(r, f"{where}.Rules.{j + 1}")
            for j, r in enumerate(_list(entry, "Rules", f"{where}.Rules"))
        )
        created = _timestamp(entry["Metadata"].get("CreatedTimestamp"), where)
        rule_sets.append(model.RuleSet(name, rules, created))
    active = data.get("ActiveRuleSet")
    if active is not None and not isinstance(active, str):
        raise ValidationError("ActiveRuleSet", "Member must be a string", active)
    state = model.ReceiptState(filters, tuple(rule_sets), active, verified)
    validate.check_state(state, region)
    return state


def _list(table: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = table.get(key, [])
    if not isinstance(value, list):
        raise ValidationError(where, "Member must be a list", value)
    return value


def rules_to_json(
    state: model.ReceiptState, rule_json: Callable[[model.ReceiptRule], Any] = model.to_api
) -> dict[str, Any]:
    """The inverse of `parse_rules` (what `inbound rules export` writes); `rule_json` writes
    each rule (the receipt-state store names them by digest: receiving/state_texts.py)."""
    return {
        "Filters": model.to_api(state.filters),
        "ActiveRuleSet": state.active,
        "RuleSets": [
            {"Metadata": rule_set_metadata(s), "Rules": [rule_json(r) for r in s.rules]}
            for s in state.rule_sets
        ],
    }


def rule_set_metadata(rule_set: model.RuleSet) -> dict[str, Any]:
    """`ReceiptRuleSetMetadata` as the API and rules.json spell it."""
    metadata: dict[str, Any] = {"Name": rule_set.name}
    if rule_set.created is not None:
        metadata["CreatedTimestamp"] = to_wire(rule_set.created)
    return metadata


def _timestamp(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = from_wire(str(value))
    except ValueError:
        raise ValidationError(
            f"{where}.Metadata.CreatedTimestamp", "Member must be an ISO 8601 timestamp"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
