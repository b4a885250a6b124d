"""The receipt state's lifecycle: seeded from rules.json, edited by the API, kept in the data dir.

At start, the state saved in the data dir is used, unless the rules.json it was seeded from has
changed since: then the file wins (it is the newer intent) and a warning says that rules changed
through the API were replaced. Every edit runs under one lock, is saved durably, then installed
in the engine, so it applies to the very next RCPT and survives a restart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from inbound import config
from inbound.model import ReceiptState
from inbound.receiving.engine import Engine
from inbound.store import Store

log = logging.getLogger("inbound.state")

DOCUMENT = ("receipt", "state")


def _digest(state: ReceiptState) -> str:
    body = json.dumps(config.rules_to_json(state), sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _stamped(state: ReceiptState) -> ReceiptState:
    """Rule sets from a file have no creation time; they are created now."""
    now = datetime.now(UTC)
    return dataclasses.replace(
        state,
        rule_sets=tuple(
            s if s.created else dataclasses.replace(s, created=now) for s in state.rule_sets
        ),
    )


def read_saved(store: Store, configured: ReceiptState) -> ReceiptState | None:
    """The state saved in the data dir, if it was seeded from these same configured rules."""
    saved = store.document(*DOCUMENT)
    if saved is None or saved["seed"] != _digest(configured):
        return None
    return config.parse_rules(saved["rules"], configured.verified)


async def save(store: Store, configured: ReceiptState, state: ReceiptState) -> None:
    body = {"seed": _digest(configured), "rules": config.rules_to_json(state)}
    await store.put_document(*DOCUMENT, body)


class StateKeeper:
    def __init__(self, store: Store, engine: Engine, configured: ReceiptState) -> None:
        self.store = store
        self.engine = engine
        self.configured = configured
        self._lock = asyncio.Lock()

    async def load(self) -> ReceiptState:
        state = read_saved(self.store, self.configured)
        if state is None:
            if self.store.document(*DOCUMENT) is not None:
                log.warning(
                    "the rules file changed since the data dir was seeded from it: using the "
                    "file, replacing rules changed through the API"
                )
            state = _stamped(self.configured)
            await save(self.store, self.configured, state)
        await self.engine.set_state(state)
        return state

    @property
    def current(self) -> ReceiptState:
        return self.engine.state

    async def set_verified(self, verified_through_api: frozenset[str]) -> None:
        """Identities verified through the API join the configured ones: they are what
        recipient matching (catch-all rules) and Bounce senders check from the next RCPT on."""
        verified = self.configured.verified | {v.lower() for v in verified_through_api}
        await self.edit(
            lambda s: s if s.verified == verified else dataclasses.replace(s, verified=verified)
        )

    async def edit(self, change: Callable[[ReceiptState], ReceiptState]) -> ReceiptState:
        """Apply `change` (which raises SES errors) all-or-nothing."""
        async with self._lock:
            new = change(self.engine.state)
            if new is not self.engine.state:
                await save(self.store, self.configured, new)
                await self.engine.set_state(new)
            return new
