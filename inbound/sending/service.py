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
from inbound.sending.daily import DailyCounts
from inbound.store import Store
from inbound.store.sent import SentBody
from inbound.store.statistics_writes import COUNTERS, Count

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
        self._days: dict[str, DailyCounts] = {}  # by Region: `queued_last_24_hours`'s
        self._buckets: dict[str, str] = {}  # by Region: the bucket this engine last counted in

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

    def data_points(self, region: str) -> list[dict[str, Any]]:
        """GetSendStatistics: the buckets of the last two weeks, as committed (every engine's)."""
        moment = rules.now()
        return rules.data_points(self._store.send_statistics(region, rules.first_kept(moment)))

    def sent_last_24_hours(self, region: str) -> float:
        """GetSendQuota's SentLast24Hours, as committed (every engine's)."""
        buckets = self._store.send_statistics(region, rules.first_of_day(rules.now()))
        return float(sum(counts["DeliveryAttempts"] for _, counts in buckets))

    def queued_last_24_hours(self, region: str) -> float:
        """What a send's quota check reads: this engine's running count (sending/daily.py)."""
        return float(self._daily(region).since(rules.first_of_day(rules.now())))

    def _daily(self, region: str) -> DailyCounts:
        found = self._days.get(region)
        if found is None:
            buckets = self._store.send_statistics(region, rules.first_of_day(rules.now()))
            committed = ((start, counts["DeliveryAttempts"]) for start, counts in buckets)
            found = self._days[region] = DailyCounts(committed)
        return found

    def store_sent(
        self, region: str, message: SentMessage, body: SentBody, attempts: int, *, maximum: float
    ) -> Awaitable[None]:
        """Queue a sent message and its `attempts` (DeliveryAttempts) counted in the statistics
        as one durable transaction, so a kill never keeps the message and loses its count;
        awaiting the result waits for the fsync. The count is made and the write queued without
        an await, so the Sender's quota check before it and this are one step on the event
        loop (concurrent sends never pass the last unit of the quota). The count is added to
        its bucket's row as committed (store/statistics_writes.py), so engines sending at once
        add up, and the 24-hour quota (`maximum`) is checked again there, the Region's lock
        row held: of engines sending at once, one takes the last unit and the others' sends
        fail with the Sender's Throttling, storing nothing. Concurrent sends share an fsync
        (profiled: under a lock held across it, sends were one fsync each)."""
        moment = rules.now()
        check = functools.partial(quota.check_daily, recipients=attempts, maximum=maximum)
        counted = self._count(region, moment, {"DeliveryAttempts": attempts}, check)
        stored = self._store.add_sent(message, body, counted=counted)
        daily = self._daily(region)
        write = daily.queue(counted.bucket, attempts, counted.day)
        stored.add_done_callback(functools.partial(_told, daily, write))
        return stored

    async def record_sending(self, region: str, counts: Mapping[str, int]) -> None:
        """Count sending activity (DeliveryAttempts, Bounces, Complaints, Rejects) in the
        current 15-minute bucket: what GetSendQuota and GetSendStatistics report."""
        await self._store.count_sending(self._count(region, rules.now(), counts))

    def _count(
        self,
        region: str,
        moment: datetime,
        counts: Mapping[str, int],
        check: Callable[[float], None] | None = None,
    ) -> Count:
        """`counts` in `moment`'s bucket; the first count of this engine in a bucket also
        deletes those older than two weeks (as the document dropped them)."""
        bucket = rules.bucket(moment)
        oldest = None if self._buckets.get(region) == bucket else rules.first_kept(moment)
        self._buckets[region] = bucket
        values = tuple(int(counts.get(name, 0)) for name in COUNTERS)
        day = rules.first_of_day(moment)
        return Count(region, bucket, values, oldest, day, check)


def _told(daily: DailyCounts, write: int, stored: asyncio.Future[Any]) -> None:
    """A send's count, committed or refused, told to the running count of its Region (a send
    whose caller went away is not: the next send's commit settles it)."""
    if stored.cancelled():
        return
    ok = stored.exception() is None
    daily.done(write, ok, stored.result() if ok else None)
