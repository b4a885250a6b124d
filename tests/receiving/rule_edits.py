"""Sequences of receipt-state edits as the API makes them (`rules/editing.py`), for the
properties of what is derived from the previous state instead of rebuilt: the recipient index
(`matching.py`) and the stored form (`state_texts.py`).

Rule names, entries and sets come from small pools, so that edits collide: a rule created
twice, updated into a disabled one, moved after itself, a rule set cloned (its rules are then
the same objects in two sets) and made active."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st

from inbound import model
from inbound.errors import SesError
from inbound.model import ReceiptRule, ReceiptState
from inbound.rules import editing

NAMES = st.sampled_from(["a", "b", "c", "d", "e"])
SETS = st.sampled_from(["s", "t"])
ENTRIES = st.sampled_from(
    [
        "x@one.test",
        "X@One.test",
        "x+tag@one.test",
        "y@one.test",
        "one.test",
        "one.test.",
        ".one.test",
        "two.test",
        "z@sub.one.test",
    ]
)
ACTIONS = st.sampled_from(
    [(), (model.AddHeaderAction("X-A", "1"),), (model.StopAction(model.StopScope.RULE_SET),)]
)
RULES = st.builds(
    lambda name, recipients, enabled, actions: ReceiptRule(
        name, enabled, recipients=tuple(recipients), actions=actions
    ),
    NAMES,
    st.lists(ENTRIES, max_size=3),
    st.booleans(),
    ACTIONS,
)
EDITS = st.one_of(
    st.tuples(st.just("create"), RULES, st.none() | NAMES),
    st.tuples(st.just("update"), RULES),
    st.tuples(st.just("delete"), NAMES),
    st.tuples(st.just("position"), NAMES, st.none() | NAMES),
    st.tuples(st.just("reorder"), st.integers(0, 2**16)),
    st.tuples(st.just("clone"), SETS),
    st.tuples(st.just("activate"), SETS),
    st.tuples(st.just("verified"), st.frozensets(st.sampled_from(["one.test", "sub.one.test"]))),
    st.tuples(st.just("filter"), st.sampled_from(["f", "g"])),
)
ADDRESSES = (
    "x@one.test",
    "x+tag@one.test",
    "x+other@ONE.test",
    "y@one.test",
    "w@one.test",
    "z@sub.one.test",
    "q@deep.sub.one.test",
    "x@two.test",
    "nobody@else.test",
)


def start() -> ReceiptState:
    return editing.set_active(editing.create_rule_set(ReceiptState(), "s"), "s")


def apply(state: ReceiptState, edit: tuple[Any, ...]) -> ReceiptState:
    """`edit` applied to the active set, as its API operation would; one SES refuses leaves
    the state as it was."""
    kind, *args = edit
    active = state.active or "s"
    try:
        if kind == "create":
            return editing.create_rule(state, active, *args)
        if kind == "update":
            return editing.update_rule(state, active, *args)
        if kind == "delete":
            return editing.delete_rule(state, active, *args)
        if kind == "position":
            return editing.set_rule_position(state, active, *args)
        if kind == "reorder":
            names = [r.name for r in editing.rule_set(state, active).rules]
            random.Random(args[0]).shuffle(names)
            return editing.reorder(state, active, names)
        if kind == "clone":
            return editing.clone_rule_set(state, args[0], active)
        if kind == "activate":
            return editing.set_active(state, args[0])
        if kind == "verified":
            return ReceiptState(state.filters, state.rule_sets, state.active, args[0])
        block = model.ReceiptFilter(args[0], model.IpFilter(model.FilterPolicy.BLOCK, "10.0.0.1"))
        return editing.create_filter(state, block)
    except SesError:
        return state
