"""Composition root: store, backends, executors, engine, SMTP and HTTP on one event loop.

Every component receives its dependencies here, as arguments; nothing else wires things up.
Embedders and the pytest plugin use `InboundServer` directly:

    server = InboundServer(settings, executors={"ConnectAction": my_execute})
    await server.start()   # .smtp_address / .http_url are the bound addresses
    ...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from inbound import logs
from inbound.actions import Executor, Site
from inbound.actions.registry import with_overrides
from inbound.api import make_app
from inbound.api.guard import guard
from inbound.api.query.operations import OPERATIONS, Handler
from inbound.api.registry import Registry
from inbound.api.services import Services
from inbound.backends import Backends
from inbound.backends.factory import (
    embedded_s3_and_kms,
    local_backends,
    local_objects,
    make_backends,
)
from inbound.backends.local import LocalMailer
from inbound.backends.local_sns import LocalSns
from inbound.backends.sns_envelope import signing_paths
from inbound.config import Settings
from inbound.dns import DnsSource
from inbound.dns.factory import open_source
from inbound.errors import ConfigError
from inbound.identities.book import IdentityBook, dns_checker
from inbound.receiving import smtp
from inbound.receiving.engine import Engine
from inbound.receiving.evaluation import Evaluator
from inbound.receiving.forced import OverrideBook
from inbound.receiving.keeper import StateKeeper
from inbound.receiving.pipeline import Pipeline
from inbound.receiving.scanning import scanners
from inbound.receiving.verdicts import Authenticator, NoDnsAuthenticator
from inbound.sending import submission
from inbound.sending.delivery import Deliveries
from inbound.sending.easy_dkim import DkimKeys
from inbound.sending.feedback import Feedback
from inbound.sending.list_management import Unsubscriber
from inbound.sending.returns import Returns
from inbound.sending.sender import Sender
from inbound.sending.sent_mail import SentEvents
from inbound.sending.service import SendingConfiguration
from inbound.sending.tracking import Tracker
from inbound.store import Store, make_store
from inbound.store.claim import Claim
from inbound.takeover import Takeover
from inbound.tls import ensure_self_signed, generated_paths, server_context

if TYPE_CHECKING:
    from inbound.outbox.relay import Relay

log = logging.getLogger("inbound")
__all__ = ["InboundServer", "check_executors", "local_backends", "make_backends", "seed_keys"]


def seed_keys(data_dir: Path, hostname: str = "inbound-smtp.us-east-1.amazonaws.com") -> None:
    """Generate the STARTTLS and SNS signing keys a data dir needs, unless it has them: on
    start, never when a command only reads the data dir (`inbound s3 get`)."""
    ensure_self_signed(*generated_paths(data_dir), hostname)
    ensure_self_signed(*signing_paths(data_dir), "sns.local.inbound")


def check_executors(settings: Settings, executors: Mapping[str, Executor]) -> None:
    """Every action in the rules needs an executor (ConnectAction has none built in)."""
    for rule_set in settings.state.rule_sets:
        for rule in rule_set.rules:
            for action in rule.actions:
                if action.WIRE not in executors:
                    raise ConfigError(
                        settings.rules_file or "rules",
                        f"{rule_set.name}.{rule.name}.{action.WIRE}",
                        f"no executor is registered for {action.WIRE}",
                    )


def _v2_operations() -> Mapping[str, Handler]:
    from inbound.api.v2.operations import V2_OPERATIONS

    return V2_OPERATIONS


def discard_unfinished(store: Store, settings: Settings) -> None:
    """Delete what a killed server left half-written: S3 objects and message bodies. Only
    the process holding the data dir, before it listens: no write of them is in progress."""
    if left := local_objects(store, settings).discard_partial():
        log.warning("discarded %d S3 object writes a previous run left unfinished", left)
    if left := store.discard_orphan_bodies():
        log.warning("discarded %d message bodies a previous run left unaccepted", left)


class InboundServer:
    def __init__(
        self,
        settings: Settings,
        *,
        executors: Mapping[str, Executor] | None = None,
        backends: Callable[[Store, Settings, str], Backends] | None = None,
        worker: int | None = None,
    ) -> None:
        """`worker`: this server is that slot's worker process of `[server] workers`
        (docs/workers.md): the supervisor holds the data dir and prepared it, the listeners
        share their ports with the other workers', the store is shared with them."""
        self.settings = settings
        self.worker = worker
        self.executors = with_overrides(executors)
        self.operations: dict[str, Handler] = dict(OPERATIONS)  # per server: tests may extend it
        # the same, for SES v2, imported with the first SES v2 request (api/registry.py)
        self.v2_operations: MutableMapping[str, Handler] = Registry(_v2_operations)
        check_executors(settings, self.executors)
        self._make_backends = backends or make_backends
        self.store = make_store(
            settings.data_dir, settings.store.url, worker=worker, lease=settings.store.lease_seconds
        )
        self.engine: Engine | None = None
        self.keeper: StateKeeper | None = None
        self.identities: IdentityBook | None = None
        self.sending: SendingConfiguration | None = None
        self.sender: Sender | None = None
        self.feedback: Feedback | None = None  # sending events and identity notifications
        self.deliveries: Deliveries | None = None  # delivers sent mail; runs with `listen`
        self.backends: Backends | None = None
        self.relay: Relay | None = None  # runs when [relay] names a smarthost
        self.dns: DnsSource | None = None  # the [dns] source; None: no DNS configured
        self._smtp_server: asyncio.Server | None = None
        self._sessions: smtp.Sessions | None = None
        self._runner: web.AppRunner | None = None
        # the SMTP interface's listeners ([sending] smtp, smtps) with their sessions
        self._submission: list[tuple[asyncio.Server, smtp.Sessions]] = []
        self.smtp_address: tuple[str, int] = ("", 0)
        self.submission_address: tuple[str, int] | None = None  # STARTTLS
        self.submission_tls_address: tuple[str, int] | None = None  # TLS from the first byte
        self.http_url = ""
        self._services: Services | None = None  # what the HTTP side sees, `ready` included
        self._claim: Claim | None = None  # the data dir's server.lock, while serving
        self._takeover: Takeover | None = None  # a shared store's sweep (inbound/takeover.py)
        self._authenticator: Authenticator | None = None  # closed after the engine

    async def start(self, *, listen: bool = True) -> None:
        """Open the store, resume unfinished work, and (with `listen`) serve SMTP and HTTP.

        `listen=False` runs the engine alone, for `inbound replay`.
        """
        settings = self.settings
        if listen and self.worker is None:  # one server per data dir; `rules apply` and
            self._claim = Claim.take(settings.data_dir)  # `replay` look for it
        self.store.open(process=settings.store.writer == "process")
        if listen and self.worker is None:  # a worker's supervisor did (cli/workers.py)
            discard_unfinished(self.store, settings)
        self.keeper = StateKeeper(self.store, settings.state, settings.region)
        await self.keeper.load()
        dns_settings = settings.dns_settings
        self.dns = None if dns_settings is None else open_source(dns_settings)
        self.identities = IdentityBook(
            self.store,
            self.keeper,
            configured=settings.state.verified,
            region=settings.region,
            dns=dns_checker(settings.identity_verification, self.dns),
            check_interval=settings.identity_check_interval,
        )
        self.sending = SendingConfiguration(self.store)
        self.sender = Sender(
            self.store,
            self.sending,
            self.identities,
            settings.sending,
            DkimKeys(settings.data_dir),
            account_id=settings.account_id,
        )
        services = Services(
            self.store,
            self.keeper,
            self.identities,
            self.sending,
            self.sender,
            region=settings.region,
            account_id=settings.account_id,
            data_dir=settings.data_dir,
            api_auth=settings.api_auth,
            api_credentials=settings.api_credentials,
            api_token=settings.api_token,
            overrides=OverrideBook(self.store, settings.verdicts),
        )
        self._services = services
        if listen:
            # HTTP first: the SNS envelope's certificate URL needs the bound address.
            self._runner = web.AppRunner(
                make_app(services, self.operations, self.v2_operations, guard(settings)),
                access_log=logs.access_log,  # answered only while enabled (`-v`)
                access_log_class=logs.AccessLogger,
            )
            await self._runner.setup()
            site = web.TCPSite(
                self._runner, settings.http.host, settings.http.port, reuse_port=self._sharing
            )
            await site.start()
            bound = site._server.sockets[0].getsockname()[:2]  # type: ignore[union-attr]
            self.http_url = f"http://{_url_host(bound[0])}:{bound[1]}"
            if self._claim is not None:
                self._claim.announce(self.http_url)
        else:
            self.http_url = f"http://{settings.http}"
        self.sender.http_url = self.http_url

        seed_keys(settings.data_dir, settings.smtp_hostname)
        self.backends = services.backends = self._make_backends(self.store, settings, self.http_url)
        if isinstance(self.backends.publisher, LocalSns):  # [sns.subscriptions], confirmed
            await self.backends.publisher.start()
        services.s3, services.kms = embedded_s3_and_kms(self.store, settings, self.backends)
        self.feedback = Feedback(self.sending, self.backends)
        sent_events = SentEvents(
            self.store,
            self.identities,
            self.feedback,
            account_id=settings.account_id,
            region=settings.region,
        )
        services.tracker = Tracker(self.store, sent_events)
        services.unsubscriber = Unsubscriber(self.store, self.sending, sent_events)
        relaying = None
        if listen and settings.relay is not None:  # `replay` leaves the outbox to `serve`
            from inbound.outbox.relay import Relay  # and smtplib, loaded only to relay

            self.relay = services.relay = Relay(
                self.store, settings.relay, helo=settings.smtp_hostname
            )
            if isinstance(self.backends.mailer, LocalMailer):
                self.backends.mailer.on_queued = self.relay.wake
                relaying = settings.relay  # the outbox recipients' events follow the relay
            self.relay.start()
        outbox = self.backends.mailer
        returns = None
        if listen:  # mail to a sent message's envelope sender comes back to it
            returns = Returns(outbox, self.store)
            self.backends = services.backends = replace(self.backends, mailer=returns)
        pipeline = Pipeline(
            self.executors,
            self.backends,
            Site(
                settings.region,
                settings.account_id,
                settings.smtp_hostname,
                settings.lambda_timeout,
            ),
        )
        spam, virus = scanners(settings.scanning)
        authenticator: Authenticator = NoDnsAuthenticator()
        if self.dns is not None:  # SPF, DKIM, DMARC: pyspf, dkimpy, cryptography load only here
            from inbound.receiving.authentication import DnsAuthenticator

            authenticator = DnsAuthenticator(self.dns)
        self._authenticator = authenticator
        self.engine = services.engine = Engine(
            self.store,
            pipeline,
            self.keeper,
            hostname=settings.smtp_hostname,
            evaluator=Evaluator(spam, virus, authenticator, services.overrides),
            retries=settings.retries,
        )
        self.deliveries = Deliveries(
            self.store,
            self.feedback,
            self.sending,
            self.identities,
            self.engine,
            outbox,
            virus,
            region=settings.region,
            account_id=settings.account_id,
            relay=relaying,
        )
        self.sender.on_stored = self.deliveries.hand
        if relaying is not None and self.relay is not None:
            self.relay.on_result = self.deliveries.wake
        if returns is not None:
            returns.on_returned = self.deliveries.wake
        await self.identities.start()  # API-verified identities, DNS checks
        await self.engine.resume()
        if not listen:  # `replay` leaves retrying failed actions to `serve`, as the outbox
            return  # and sent mail
        self.engine.retries.start()  # stopped by engine.close()
        self.deliveries.start()  # finds what a previous process left pending first
        interval = self.store.takeover_interval()
        if interval is not None:  # other engines share the store: take over what they leave
            steps = [self.engine.take_over, self.engine.retries.wake, self.deliveries.take_over]
            self._takeover = Takeover(
                interval, steps if self.relay is None else [*steps, self.relay.wake]
            )
            self._takeover.start()
        loop = asyncio.get_running_loop()
        tls_context = self._tls_context()
        self._sessions = smtp.receiving_sessions(
            self.engine,
            hostname=settings.smtp_hostname,
            max_message_size=settings.max_message_size,
            tls_context=tls_context,
            limits=settings.limits,
        )
        self._smtp_server = await loop.create_server(
            self._sessions,
            settings.smtp.host,
            settings.smtp.port,
            backlog=settings.limits.listen_backlog,
            reuse_port=self._sharing,
        )
        self.smtp_address = self._smtp_server.sockets[0].getsockname()[:2]
        await self._start_submission(tls_context)
        services.ready = True  # the HTTP port answered 503 until now (api/readiness.py)

    async def _start_submission(self, tls_context: ssl.SSLContext) -> None:
        """The SMTP interface: `[sending] smtp` (STARTTLS) and `smtps` (implicit TLS), with the
        receiving port's certificate, checking SMTP credentials of the `[api]` access keys."""
        assert self.sender is not None
        settings = self.settings
        handler = submission.SubmissionHandler(
            self.sender, settings.region, settings.api_credentials
        )
        loop = asyncio.get_running_loop()
        for address, implicit in ((settings.sending.smtp, False), (settings.sending.smtps, True)):
            if address is None:
                continue
            sessions = submission.sessions(
                handler,
                tls_context=tls_context,
                implicit_tls=implicit,
                limits=settings.limits,
                spool=self.store.body_writer,
                plain_auth=settings.sending.smtp_allow_plain_auth and not implicit,
            )
            server = await loop.create_server(
                sessions,
                address.host,
                address.port,
                ssl=tls_context if implicit else None,
                backlog=settings.limits.listen_backlog,
                reuse_port=self._sharing,
            )
            self._submission.append((server, sessions))
            bound = server.sockets[0].getsockname()[:2]
            if implicit:
                self.submission_tls_address = bound
            else:
                self.submission_address = bound

    @property
    def _sharing(self) -> bool | None:
        """Whether the listeners share their ports (SO_REUSEPORT) with other workers'."""
        return True if self.worker is not None else None

    def _tls_context(self) -> ssl.SSLContext:
        settings = self.settings
        cert, key = settings.tls_certificate, settings.tls_private_key
        if cert is None or key is None:
            cert, key = generated_paths(settings.data_dir)  # made by seed_keys
        return server_context(cert, key)

    async def stop(self) -> None:
        if self._takeover is not None:
            await self._takeover.stop()
        if self.identities is not None:
            await self.identities.stop()
        if self._smtp_server is not None:
            self._smtp_server.close()
            if self._sessions is not None:  # what they spooled is processed by engine.close()
                self._sessions.close_all()
            await self._smtp_server.wait_closed()
        for server, sessions in self._submission:
            server.close()
            sessions.close_all()
            await server.wait_closed()
        if self.deliveries is not None:  # before the engine: what it spooled gets processed
            await self.deliveries.stop()
        if self.engine is not None:
            await self.engine.close()
        if self._authenticator is not None:  # after the engine: its last messages use it
            await self._authenticator.close()
        if self._services is not None:  # what the API would use now is closing: 503
            self._services.ready = False
        if self.relay is not None:
            await self.relay.stop()
        if self.backends is not None:
            await self.backends.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self.store.close()
        if self._claim is not None:
            self._claim.release()
            self._claim = None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
