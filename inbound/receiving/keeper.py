"""The receipt state's one owner: seeded from rules.json, edited by the API, kept in the data dir.

Every state the engine ever used is one snapshot in the store, named by the hash of its
stored form (receiving/state_texts.py: the state's text naming its rules by digest, each rule's
text stored once): messages name the snapshot they were received under, and the
`receipt/state` document names the active one and the configured rules it was seeded from.
An edit writes the state's few kB and the rules it changed, not the whole state.

At start, the state saved in the data dir is used, unless the rules.json it was seeded from has
changed since: then the file wins (it is the newer intent) and a warning says that rules changed
through the API were replaced. Every edit runs under one lock and is saved durably before it
becomes active, so it applies to the very next RCPT and survives a restart.

Receipt rule sets and filters are per Region, as in SES (docs/json-api.md "Regions"): the
configured `[account] region` holds the state above, the one the engine receives with; a client
signing for another Region edits that Region's own state (`in_region`), which starts empty, is
kept in the data dir (stored the same way, named by an `OTHER_REGIONS` document) and never
receives mail.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from inbound.model import ReceiptState
from inbound.receiving import state_texts
from inbound.receiving.state_texts import StateTexts
from inbound.rules import codec
from inbound.store import Store

log = logging.getLogger("inbound.state")

DOCUMENT = ("receipt", "state")  # {"seed": seed() of the configured rules, "active": a state id}
# key: a Region other than the configured one; {"active": its state's id} (before: `state_json`)
OTHER_REGIONS = "receipt-region"
Document = tuple[str, str, Any]  # (kind, key, body) of a store document; body None: deleted


@dataclass(frozen=True)
class Snapshot:
    id: str
    state: ReceiptState


def state_json(state: ReceiptState) -> str:
    """The whole state as one text: what the seed is a digest of (and what snapshots were
    before they were stored by parts)."""
    body = codec.rules_to_json(state)
    body["Verified"] = sorted(state.verified)
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def seed(configured: ReceiptState) -> str:
    """The configured rules alone: `[identities] verified` may change without replacing them.
    Computed as it always was, so that data dirs seeded before keep their API edits."""
    return state_texts.digest(state_json(dataclasses.replace(configured, verified=frozenset())))


def read_state(store: Store, state_id: str, region: str) -> ReceiptState:
    return state_texts.read(store.load_state(state_id), region, store.load_state)


def _stamped(state: ReceiptState) -> ReceiptState:
    """Rule sets from a file have no creation time; they are created now."""
    now = datetime.now(UTC)
    return dataclasses.replace(
        state,
        rule_sets=tuple(
            s if s.created else dataclasses.replace(s, created=now) for s in state.rule_sets
        ),
    )


def read_saved(store: Store, configured: ReceiptState, region: str) -> ReceiptState | None:
    """The state saved in the data dir, if it was seeded from these same configured rules;
    its verified identities are the configured ones (the API's are published again)."""
    saved = store.document(*DOCUMENT)
    if saved is None:
        return None
    if "rules" in saved:
        return _read_pre_3219ffe(saved, configured, region)
    if saved["seed"] != seed(configured):
        return None
    state = read_state(store, saved["active"], region)
    return dataclasses.replace(state, verified=configured.verified)


def _read_pre_3219ffe(
    saved: dict[str, Any], configured: ReceiptState, region: str
) -> ReceiptState | None:
    """Migration, reading the document that releases before commit 3219ffe wrote: the rules
    themselves, `{"seed": digest, "rules": rules.json}`, the digest being the SHA-256 of the
    configured rules' JSON with sorted keys. `load()` saves what it returns in today's format,
    so this runs once per data dir."""
    old_seed = json.dumps(codec.rules_to_json(configured), sort_keys=True)
    if saved["seed"] != hashlib.sha256(old_seed.encode()).hexdigest():
        return None
    return codec.parse_rules(saved["rules"], configured.verified, region)


async def store_state(
    store: Store,
    texts: StateTexts,
    state: ReceiptState,
    named_by: Callable[[str], Document],
    also: Document | None = None,
) -> str:
    """Store `state` by parts (the rules `texts` has not stored yet) with the document that
    names it, `named_by(its id)`, and `also`, in one commit; returns its id."""
    parts = texts.parts(state)
    documents = [named_by(parts.id), *([also] if also else [])]
    await store.save_state(parts.id, parts.text, parts.rules, documents)
    texts.saved(parts)
    return parts.id


async def save(
    store: Store,
    seeded_from: str,
    state: ReceiptState,
    texts: StateTexts | None = None,
    also: Document | None = None,
) -> Snapshot:
    """Store the snapshot and make it the active one (`seeded_from`: `seed()`'s), with the
    document `also` in the same commit."""
    saved = await store_state(
        store,
        texts or StateTexts(),
        state,
        lambda state_id: (*DOCUMENT, {"seed": seeded_from, "active": state_id}),
        also,
    )
    return Snapshot(saved, state)


class StateKeeper:
    def __init__(self, store: Store, configured: ReceiptState, region: str) -> None:
        self.store = store
        self.configured = configured
        self.region = region  # the configured Region: its state is the one mail is received with
        self._seed = seed(configured)
        self._lock = asyncio.Lock()
        self._active: Snapshot | None = None
        self._others: dict[str, ReceiptState] = {}
        self._texts: dict[str, StateTexts] = {}  # by Region
        self._outside = 0  # the store's `outside_changes` this keeper has taken in

    async def load(self) -> None:
        state = read_saved(self.store, self.configured, self.region)
        if state is None:
            if self.store.document(*DOCUMENT) is not None:
                log.warning(
                    "the rules file changed since the data dir was seeded from it: using the "
                    "file, replacing rules changed through the API"
                )
            state = _stamped(self.configured)
        self._active = await save(self.store, self._seed, state, self._texts_of(self.region))
        self._others = {
            region: self._read_other(region, saved)
            for region, saved in self.store.documents(OTHER_REGIONS).items()
        }

    def _read_other(self, region: str, saved: str | dict[str, str]) -> ReceiptState:
        if isinstance(saved, str):  # before states were stored by parts: the state's text
            return state_texts.read(saved, region, self.store.load_state)
        return read_state(self.store, saved["active"], region)

    def _texts_of(self, region: str) -> StateTexts:
        return self._texts.setdefault(region, StateTexts())

    @property
    def active(self) -> Snapshot:
        """The state in force: another engine's edit (PostgreSQL, docs/cluster.md) is taken
        in before the next decision that reads it."""
        store = self.store
        if store.elsewhere or store.outside_changes != self._outside:
            store.catch_up()
            self._outside = store.outside_changes
            self._take_in()
        assert self._active is not None, "no receipt state loaded"
        return self._active

    async def deciding(self) -> Snapshot:
        """`active`, for a decision on mail (RCPT): on a store shared with other engines,
        after every edit they committed before now (a rule changed through any engine's API
        applies to the very next RCPT on every engine)."""
        if self.store.shared:
            await self.store.synced()
        return self.active

    def _take_in(self) -> None:
        """The active state and the other Regions' as saved now, edited by another engine."""
        saved = self.store.document(*DOCUMENT)
        assert self._active is not None, "no receipt state loaded"
        if saved is not None and saved.get("active", self._active.id) != self._active.id:
            state = read_state(self.store, saved["active"], self.region)
            self._active = Snapshot(saved["active"], state)
        self._others = {
            region: self._read_other(region, saved)
            for region, saved in self.store.documents(OTHER_REGIONS).items()
        }

    @property
    def current(self) -> ReceiptState:
        return self.active.state

    def current_in(self, region: str) -> ReceiptState:
        """The receipt state of `region` (a caller's SigV4 Region); identities are shared."""
        if region == self.region:
            return self.current
        other = self._others.get(region, ReceiptState())
        return dataclasses.replace(other, verified=self.current.verified)

    async def edit_in(self, region: str, change: Callable[[ReceiptState], ReceiptState]) -> None:
        """`edit` for `region`'s state; another Region's is stored the same way and named by
        its document."""
        if region == self.region:
            await self.edit(change)
            return
        async with self._lock:
            old = self.current_in(region)
            new = change(old)
            if new is not old:
                texts = self._texts_of(region)
                await store_state(
                    self.store,
                    texts,
                    new,
                    lambda state_id: (OTHER_REGIONS, region, {"active": state_id}),
                )
                self._others[region] = new

    def snapshot(self, snapshot_id: str) -> ReceiptState:
        """A state saved earlier: the one a message was received under."""
        if snapshot_id == self.active.id:
            return self.active.state
        return read_state(self.store, snapshot_id, self.region)

    async def set_verified(
        self, verified_through_api: frozenset[str], document: Document | None = None
    ) -> None:
        """Identities verified through the API join the configured ones: they are what
        recipient matching (catch-all rules) and Bounce senders check from the next RCPT on.
        `document`: the identity's, written in the same commit as the state."""
        verified = self.configured.verified | {v.lower() for v in verified_through_api}
        await self.edit(
            lambda s: s if s.verified == verified else dataclasses.replace(s, verified=verified),
            document,
        )

    async def edit(
        self, change: Callable[[ReceiptState], ReceiptState], document: Document | None = None
    ) -> None:
        """Apply `change` (which raises SES errors) all-or-nothing, with `document` (kind,
        key, body; None deletes it) written in the same commit, or alone when the state does
        not change."""
        async with self._lock:
            new = change(self.current)
            texts = self._texts_of(self.region)
            if new is not self.current:
                self._active = await save(self.store, self._seed, new, texts, document)
            elif document is not None:
                await self.store.write_documents([document])
