"""The sending configuration of one server: its store documents and the lock they are edited
under.

State lives in store documents of kinds `sending.*` keyed `<region>/<name>` (SES resources are
per Region: "Lists the email templates present in your Amazon SES account in the current Amazon
Web Services Region"), so everything survives a restart. Read-modify-write runs under one lock,
so concurrent requests cannot both pass an "already exists" or limit check. The rules are in
`configuration.py`; the SES operations (`api/query/operations/sending/`) call this.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from inbound.errors import (
    ConfigurationSetDoesNotExist,
    CustomVerificationEmailTemplateDoesNotExist,
    LimitExceeded,
    ResourceNotFound,
    SesError,
    TemplateDoesNotExist,
)
from inbound.records import SentMessage
from inbound.sending import configuration as rules
from inbound.sending import quota
from inbound.sending.contact_lists import CONTACT_LISTS
from inbound.store import Store
from inbound.store.sent import SentBody

_MISSING: dict[str, Callable[[str], SesError]] = {
    rules.CONFIGURATION_SETS: lambda name: ConfigurationSetDoesNotExist(
        f"Configuration set <{name}> does not exist.", ConfigurationSetName=name
    ),
    rules.TEMPLATES: lambda name: TemplateDoesNotExist(
        f"Template {name} does not exist.", TemplateName=name
    ),
    rules.VERIFICATION_TEMPLATES: lambda name: CustomVerificationEmailTemplateDoesNotExist(
        f"Custom verification email template <{name}> does not exist.",
        CustomVerificationEmailTemplateName=name,
    ),
    rules.DEDICATED_IP_POOLS: lambda name: ResourceNotFound(
        f"Dedicated IP pool <{name}> does not exist."
    ),
    CONTACT_LISTS: lambda name: ResourceNotFound(f"List with name: {name} doesn't exist."),
    rules.TENANTS: lambda name: ResourceNotFound(f"The requested tenant <{name}> does not exist."),
    rules.MULTI_REGION_ENDPOINTS: lambda name: ResourceNotFound(
        f"Multi-region endpoint <{name}> does not exist."
    ),
    rules.EXPORT_JOBS: lambda name: ResourceNotFound(f"Export job <{name}> does not exist."),
}


class SendingConfiguration:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = asyncio.Lock()
        # by Region: the statistics parsed, and the store's text they were parsed from
        self._statistics: dict[str, tuple[str | None, Mapping[str, Any] | None]] = {}

    # ── named resources: configuration sets, templates, verification templates ───────────────
    def in_region(self, kind: str, region: str) -> dict[str, Any]:
        return rules.in_region(self._store.documents(kind), region)

    def get(self, kind: str, region: str, name: str) -> dict[str, Any]:
        """The resource, or its kind's "does not exist" error."""
        found = self._store.document(kind, rules.key(region, name))
        if found is None:
            raise _MISSING[kind](name)
        return found  # type: ignore[no-any-return]

    async def create(
        self,
        kind: str,
        region: str,
        name: str,
        body: Any,
        *,
        exists: Exception,
        limit: int,
        what: str,
        check: Callable[[], None] | None = None,
    ) -> None:
        """Store a new resource with SES's checks in SES's order: `exists` when the name is
        taken, then `check`, then the quota (`LimitExceeded`)."""
        async with self._lock:
            existing = self.in_region(kind, region)
            if name in existing:
                raise exists
            if check is not None:
                check()
            if len(existing) >= limit:
                raise LimitExceeded(f"Maximum number of {what} ({limit}) reached.")
            await self._store.put_document(kind, rules.key(region, name), body)

    @contextlib.asynccontextmanager
    async def editing(self, kind: str, region: str, name: str) -> AsyncIterator[dict[str, Any]]:
        """The resource, under the lock, stored again when the block ends without an error (an
        error leaves it unchanged)."""
        async with self._lock:
            found = self.get(kind, region, name)
            yield found
            await self._store.put_document(kind, rules.key(region, name), found)

    async def delete(self, kind: str, region: str, name: str, *, must_exist: bool) -> None:
        async with self._lock:
            if must_exist:
                self.get(kind, region, name)
            await self._store.delete_document(kind, rules.key(region, name))

    # ── account: sending enabled, statistics ────────────────────────────────────────────────
    def account_sending_enabled(self, region: str) -> bool:
        """For the sending path: False means `AccountSendingPausedException`."""
        found = self._store.document(rules.ACCOUNT, region) or {}
        return bool(found.get("SendingEnabled", True))

    async def set_account_sending_enabled(self, region: str, enabled: bool) -> None:
        async with self._lock:
            await self._store.put_document(rules.ACCOUNT, region, {"SendingEnabled": enabled})

    def statistics(self, region: str) -> Mapping[str, Any] | None:
        """The statistics document, read for every message sent: parsed again only when the
        store's copy of its text changed (up to two weeks of buckets), by a count of this
        engine (at once) or of another engine sharing the store (docs/cluster.md)."""
        text = self._store.document_text(rules.STATISTICS, region)
        parsed = self._statistics.get(region)
        if parsed is None or parsed[0] is not text:
            parsed = self._statistics[region] = (text, None if text is None else json.loads(text))
        return parsed[1]

    def store_sent(
        self, region: str, message: SentMessage, body: SentBody, attempts: int, *, maximum: float
    ) -> Awaitable[None]:
        """Queue a sent message and its `attempts` (DeliveryAttempts) counted in the statistics
        as one durable transaction, so a kill never keeps the message and loses its count;
        awaiting the result waits for the fsync. The count is made and the write queued without
        an await, so the Sender's quota check before it and this are one step on the event
        loop (concurrent sends never pass the last unit of the quota). The count is added to
        the statistics as committed (`Store.count_document`), so engines sending at once add
        up, and the 24-hour quota (`maximum`) is checked again there, their row locked: of
        engines sending at once, one takes the last unit and the others' sends fail with the
        Sender's Throttling, storing nothing. Concurrent sends share an fsync (profiled: under
        a lock held across it, sends were one fsync each)."""
        counted = (rules.STATISTICS, region, _adding(rules.now(), {"DeliveryAttempts": attempts}))
        check = functools.partial(_check_daily, attempts, maximum)
        return self._store.add_sent(message, body, counted=counted, check=check)

    async def record_sending(self, region: str, counts: Mapping[str, int]) -> None:
        """Count sending activity (DeliveryAttempts, Bounces, Complaints, Rejects) in the
        current 15-minute bucket: what GetSendQuota and GetSendStatistics report."""
        adding = _adding(rules.now(), counts)
        await self._store.count_document(rules.STATISTICS, region, adding)


def _adding(
    moment: datetime, counts: Mapping[str, int]
) -> Callable[[Mapping[str, Any] | None], Mapping[str, Any]]:
    """What adds `counts` to statistics (`configuration.add_counts` makes a new document:
    the one it is given may be the store's copy). A `partial` of module-level functions: it
    runs in the store's writer, which may be a process (store/writer_process.py)."""
    return functools.partial(_add_counts, moment, dict(counts))


def _add_counts(
    moment: datetime, counts: Mapping[str, int], statistics: Mapping[str, Any] | None
) -> Mapping[str, Any]:
    return rules.add_counts(statistics, moment, **counts)


def _check_daily(attempts: int, maximum: float, committed: Mapping[str, Any] | None) -> None:
    """The 24-hour quota, checked again on the statistics as committed."""
    quota.check_daily(rules.sent_last_24_hours(committed, rules.now()), attempts, maximum)
