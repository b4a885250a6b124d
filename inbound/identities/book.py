"""One server's identities: the store documents, the verified set, the DNS checks.

Identities live in the store's `identity` documents, one per identity, so they survive
restarts; every change of the set whose status is Success goes to `StateKeeper.set_verified`,
so catch-all rules (receiving.md §1.4) and Bounce senders see it from the next RCPT on. In
`[identities] verification = "dns"` mode a background task asks DNS about pending identities
every `check_interval` seconds; app.py starts and stops it. The pure rules are in `rules.py`,
the lookups in `dns.py`, the SES operations in `api/query/operations/identities.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from inbound.errors import ConfigError, InvalidParameterValue
from inbound.identities import rules as ident
from inbound.identities.rules import EMAIL, PENDING, SUCCESS, Identity
from inbound.receiving.keeper import StateKeeper
from inbound.store import Store

if TYPE_CHECKING:
    from inbound.dns import DnsSource
    from inbound.identities.dns import DnsChecker

log = logging.getLogger("inbound.identities")

KIND = "identity"  # store documents: kind "identity", key = canonical name


def utcnow() -> datetime:
    return datetime.now(UTC)


def dns_checker(verification: str, source: DnsSource | None) -> DnsChecker | None:
    """The DNS checker of `verification = "dns"`, asking the server's DNS source; None in
    "auto" mode."""
    if verification != "dns":
        return None
    if source is None:
        raise ConfigError("settings", "identities.resolver", "dns mode needs a DNS source")
    from inbound.identities.dns import DnsChecker

    return DnsChecker(source)


class IdentityBook:
    """One server's identities: the store documents, the verified set, the DNS checks."""

    def __init__(
        self,
        store: Store,
        keeper: StateKeeper,
        *,
        configured: frozenset[str],
        region: str,
        dns: DnsChecker | None,
        check_interval: float,
    ) -> None:
        self.store = store
        self.keeper = keeper
        self.lock = asyncio.Lock()
        self.configured = configured  # lower-cased by the config loader
        self.region = region
        self.dns = dns
        self.interval = check_interval
        self._task: asyncio.Task[None] | None = None
        self._stored: dict[str, Identity] | None = None  # `stored()`'s copy
        self._all: dict[str, Identity] | None = None  # `all()`'s copy
        self._outside = 0  # the store's `outside_changes` the copies were made after

    # ── reading ─────────────────────────────────────────────────────────────────────────
    def stored(self) -> dict[str, Identity]:
        """Read once and kept, with every `save` and `delete` (through which every identity
        write goes) applied to it: the sending path asks for identities several times per
        message (profiled), and reading them all again made each identity edit cost time in
        proportion to their number (issue 15 item 8). Dropped when another engine changes a
        document (PostgreSQL, docs/cluster.md)."""
        self._drop_outdated()
        if self._stored is None:
            found = self.store.documents(KIND).items()
            self._stored = {key: Identity.from_json(body) for key, body in found}
        return dict(self._stored)

    def all(self) -> dict[str, Identity]:
        """Stored identities, plus configured ones (always Success) not stored; kept as
        `stored()` is."""
        self._drop_outdated()
        if self._all is None:
            self._all = self._with_configured(self.stored())
        return dict(self._all)

    def _with_configured(self, found: dict[str, Identity]) -> dict[str, Identity]:
        epoch = datetime.fromtimestamp(0, UTC).isoformat()
        for name in self.configured:
            if name in found:
                found[name] = found[name].replace(status=SUCCESS)
            else:
                found[name] = Identity(name, ident.kind_of(name), SUCCESS, epoch)
        return found

    def _drop_outdated(self) -> None:
        """The copies go when another engine changed a document since they were made."""
        store = self.store
        if store.elsewhere or store.outside_changes != self._outside:
            store.catch_up()
            self._outside = store.outside_changes
            self._stored = self._all = None

    def get(self, identity: str) -> Identity | None:
        name = ident.canonical(identity)
        return self.all().get(name)

    def require(self, identity: str) -> Identity:
        found = self.get(identity)
        if found is None:
            raise InvalidParameterValue(f"Identity {identity} does not exist.")
        return found

    def initial_status(self, name: str) -> str:
        return SUCCESS if self.dns is None or name in self.configured else PENDING

    # ── writing ─────────────────────────────────────────────────────────────────────────
    async def save(self, identity: Identity) -> None:
        await self._write(identity.name, identity)

    async def delete(self, name: str) -> None:
        await self._write(name, None)

    async def _write(self, name: str, identity: Identity | None) -> None:
        """Store `identity` as `name` (None: delete it) in the commit that saves the receipt
        state with the verified set it makes (`StateKeeper.set_verified`): one commit per
        identity edit, and never an identity stored without the state it verifies."""
        stored = self.stored()
        if identity is None:
            stored.pop(name, None)
        else:
            stored[name] = identity
        verified = ident.verified_names(self._with_configured(stored))
        body = None if identity is None else identity.to_json()
        await self.keeper.set_verified(verified, (KIND, name, body))
        self._written(name)

    def _written(self, name: str) -> None:
        """`name` was stored or deleted: the copy takes it as the store now reads it."""
        if self._stored is not None:
            body = self.store.document(KIND, name)
            if body is None:
                self._stored.pop(name, None)
            else:
                self._stored[name] = Identity.from_json(body)
        self._all = None

    async def edit(self, identity: str, change: Callable[[Identity], Identity]) -> Identity:
        async with self.lock:
            new = change(self.require(identity))
            await self.save(new)
            return new

    async def verify(self, name: str) -> Identity:
        """Start verifying `name` (VerifyEmailIdentity, SendCustomVerificationEmail): a new
        identity, or verification restarted; a verified one stays verified."""
        async with self.lock:
            status = self.initial_status(name)
            existing = self.stored().get(name)
            if existing is None:
                identity = ident.new_identity(name, status, utcnow())
            else:
                identity = ident.restarted(existing, status, utcnow())
            if identity != existing:
                await self.save(identity)
            return identity

    async def publish(self) -> None:
        await self.keeper.set_verified(ident.verified_names(self.all()))

    # ── DNS ─────────────────────────────────────────────────────────────────────────────
    async def refresh(self, names: Iterable[str] | None = None) -> None:
        """Ask DNS about the pending parts of `names` (default: every identity)."""
        if self.dns is None:
            return
        everything = self.stored()
        wanted = [i for n, i in everything.items() if names is None or n in names]
        now = utcnow()
        for identity in wanted:
            if identity.kind == EMAIL:
                expired = ident.email_expired(identity, now)
                if expired is not identity:
                    await self._apply(identity, functools.partial(ident.email_expired, now=now))
                continue
            if not _pending(identity):
                continue
            txt = dkim = mail_from = None
            if identity.status != SUCCESS and identity.token:
                txt = await self.dns.txt_token(identity.name, identity.token)
            if identity.dkim_tokens and identity.dkim_status != SUCCESS:
                dkim = await self._dkim(identity)
            if identity.mail_from_domain and identity.mail_from_status != SUCCESS:
                mail_from = await self.dns.mail_from_mx(identity.mail_from_domain, self.region)

            await self._apply(
                identity,
                functools.partial(
                    ident.after_dns, txt=txt, dkim=dkim, mail_from=mail_from, now=now
                ),
            )

    async def _dkim(self, identity: Identity) -> bool | None:
        """Easy DKIM's three CNAMEs, or BYODKIM's one TXT record under the user's selector."""
        assert self.dns is not None
        if identity.dkim_origin == ident.EXTERNAL and identity.dkim_public_key:
            selector = identity.dkim_tokens[0]
            return await self.dns.byodkim(identity.name, selector, identity.dkim_public_key)
        return await self.dns.dkim(identity.name, identity.dkim_tokens)

    async def _apply(self, seen: Identity, change: Callable[[Identity], Identity]) -> None:
        """Apply a lookup's result unless the identity changed meanwhile (lookups run
        without the lock, so API calls never wait for DNS timeouts)."""
        async with self.lock:
            current = self.stored().get(seen.name)
            if current is None or current != seen:
                return
            new = change(current)
            if new != current:
                await self.save(new)

    async def start(self) -> None:
        """At start, after the receipt state is loaded: re-publish the verified identities kept
        in the data dir, and start the DNS checks."""
        await self.publish()
        if self.dns is not None:
            self._task = asyncio.create_task(self._check_periodically())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _check_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except Exception:  # a bad round must not end the checks
                log.exception("identity verification check failed")


def _pending(identity: Identity) -> bool:
    waiting = (PENDING, ident.TEMPORARY_FAILURE)
    return (
        identity.status in waiting
        or identity.dkim_status in waiting
        or identity.mail_from_status in waiting
    )
