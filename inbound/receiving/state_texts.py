"""A receipt state's stored form, by parts: each rule's text once, named by its digest, and the
state's own text naming its rules by those digests.

An API edit changes one rule of up to 200, each with up to 100 recipients. Stored whole, the
state's text was 460 kB at 200 such rules: serialising it, hashing it and writing it made every
edit, an identity's too, cost time in proportion to the whole state (87 ms per CreateReceiptRule
at 200 rules, 16 ms at 50; issue 15 item 8) and grew the store by that much per edit. By parts,
the state's text is a few kB whatever its rules hold, and an edit serialises and writes only
the rules it changed: rules it did not change are the same objects in the new state
(rules/editing.py replaces only what it edits), so their digests are known by identity.

A state's id is the digest of its text, which names each rule by the digest of the rule's own
text: one id per content, as before. Texts written before this form, with the rules inline,
still read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from inbound import model
from inbound.model import ReceiptRule, ReceiptState
from inbound.rules import codec


def _compact(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Parts:
    """What saving a state writes: its text and id, and the texts of its rules not written by
    an earlier save of the same `StateTexts`, by digest."""

    id: str
    text: str
    rules: dict[str, str]
    _digests: dict[int, tuple[ReceiptRule, str]] = field(repr=False, compare=False)


class StateTexts:
    """The digests of the rules of the state saved last, by the rule objects' identity (each
    entry keeps its rule alive, so an id is never reused while it is here). One per state that
    is edited in turn (a Region's)."""

    def __init__(self) -> None:
        self._saved: dict[int, tuple[ReceiptRule, str]] = {}

    def parts(self, state: ReceiptState) -> Parts:
        """`state` by parts; rules unchanged since the last `saved()` are not serialised."""
        digests: dict[int, tuple[ReceiptRule, str]] = {}
        new: dict[str, str] = {}

        def named(rule: ReceiptRule) -> str:
            known = digests.get(id(rule)) or self._saved.get(id(rule))
            if known is None:
                text = _compact(model.to_api(rule))
                known = (rule, digest(text))
                new[known[1]] = text
            digests[id(rule)] = known
            return known[1]

        body = codec.rules_to_json(state, rule_json=named)
        body["Verified"] = sorted(state.verified)
        text = _compact(body)
        return Parts(digest(text), text, new, digests)

    def saved(self, parts: Parts) -> None:
        """`parts` is stored: its rules need not be written again. Called only once the write
        succeeded, so that a failed one leaves no rule believed stored that is not."""
        self._saved = parts._digests


def read(text: str, region: str, rule_text: Callable[[str], str]) -> ReceiptState:
    """A state's text (either form) as a `ReceiptState`, its rules read by `rule_text(digest)`,
    validated as a loaded rules.json is."""
    data = json.loads(text)
    verified = frozenset(data.pop("Verified"))
    for rule_set in data["RuleSets"]:
        rule_set["Rules"] = [
            json.loads(rule_text(r)) if isinstance(r, str) else r for r in rule_set["Rules"]
        ]
    return codec.parse_rules(data, verified, region)
