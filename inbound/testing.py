"""pytest plugin (entry point `pytest11`): a real engine per test, on ephemeral ports.

    @pytest.mark.inbound_rules({"ActiveRuleSet": "s", "RuleSets": [...]}, verified=["example.com"])
    def test_bounce(inbound_server):
        inbound_server.send("me@sender.test", ["nobody@example.com"], "Subject: x\\r\\n\\r\\nhi")
        inbound_server.wait_idle()
        assert inbound_server.get("/api/outbox")

`inbound_server` runs `InboundServer` on its own event loop in a background thread, with a
temporary data dir, SMTP, HTTP and the SMTP interface's listeners on port 0 (`.smtp_port`,
`.api_url`, `.submission_address`, `.submission_tls_address`), and the rules of the test's
`inbound_rules` marker (default: a catch-all rule with no actions for `example.com`).
`inbound_verdicts` markers force verdicts (docs/authentication.md, "Forced verdicts").
`inbound_factory(rules=..., verified=..., **settings)` makes more, e.g. to restart on the same
data dir; `make_backends=` replaces the backends factory (`InboundServer(backends=...)`), e.g.
with one that fails on purpose. Everything the fixtures start is stopped at teardown. Imports
are lazy so that loading the plugin costs nothing in projects that do not use it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import smtplib
import ssl
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import asyncio
    from email.message import EmailMessage

    from inbound.app import InboundServer
    from inbound.config import Address, Settings

DEFAULT_RULES: dict[str, Any] = {
    "ActiveRuleSet": "default",
    "RuleSets": [
        {
            "Metadata": {"Name": "default"},
            "Rules": [{"Name": "catch-all", "Enabled": True, "Recipients": [], "Actions": []}],
        }
    ],
}

_NEXT_LINK = re.compile(r'<([^>]*)>;\s*rel="next"')


class RunningInbound:
    """A started server and helpers that speak to it through its real interfaces."""

    def __init__(
        self,
        settings: Settings,
        executors: Mapping[str, Any] | None = None,
        make_backends: Callable[..., Any] | None = None,
    ) -> None:
        from inbound import eventloop
        from inbound.app import InboundServer

        self.settings = settings
        self.loop: asyncio.AbstractEventLoop = eventloop.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.server: InboundServer = InboundServer(
            settings, executors=executors, backends=make_backends
        )
        self.call(self.server.start())
        self.smtp_host, self.smtp_port = self.server.smtp_address
        self.api_url = self.server.http_url
        # the SMTP interface ([sending] smtp, smtps), when on
        self.submission_address = self.server.submission_address
        self.submission_tls_address = self.server.submission_tls_address

    def call(self, coro: Any, timeout: float = 60) -> Any:
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.loop.is_running():
            self.call(self.server.stop())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()

    # ── SMTP ────────────────────────────────────────────────────────────────────────────────
    def smtp(self) -> smtplib.SMTP:
        return smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=30)

    def send(
        self,
        mail_from: str,
        recipients: Sequence[str],
        message: bytes | str,
        *,
        starttls: bool = False,
    ) -> dict[str, tuple[int, bytes]]:
        """Send one message; returns smtplib's refused-recipients dict (empty if all taken).

        Raises `smtplib.SMTPRecipientsRefused` when every recipient is refused.
        """
        body = message.encode() if isinstance(message, str) else message
        with self.smtp() as client:
            client.ehlo("client.test")
            if starttls:
                client.starttls(context=_trusting_context())
                client.ehlo("client.test")
            return client.sendmail(mail_from, list(recipients), body)

    # ── JSON API ────────────────────────────────────────────────────────────────────────────
    def request(self, path: str, method: str = "GET", body: bytes | None = None) -> Any:
        """A JSON API request; when the server checks who calls (`api_auth="verify"`), with
        the `[api] token`, else signed (SigV4) by the first `[api] credentials` key."""
        url, settings = self.api_url + path, self.settings
        headers: dict[str, str] = {}
        if settings.api_auth == "verify" and settings.api_token:
            headers["Authorization"] = f"Bearer {settings.api_token}"
        elif settings.api_auth == "verify":
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials

            key, secret = next(iter(settings.api_credentials.items()))
            signed = AWSRequest(method=method, url=url, data=body or b"")
            SigV4Auth(Credentials(key, secret), "ses", settings.region).add_auth(signed)
            headers = dict(signed.headers.items())
        return urllib.request.Request(url, data=body, method=method, headers=headers)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.request(path), timeout=30) as response:
            body = response.read()
        content_type = response.headers.get("Content-Type", "")
        return json.loads(body) if content_type.startswith("application/json") else body

    def listing(self, path: str) -> list[Any]:
        """Every entry of a JSON API listing (`/api/messages`, `/api/s3`, ...): the pages its
        `Link: <...>; rel="next"` header leads to, joined."""
        entries: list[Any] = []
        page: str | None = path
        while page is not None:
            with urllib.request.urlopen(self.request(page), timeout=30) as response:
                entries.extend(json.loads(response.read()))
                following = _NEXT_LINK.search(response.headers.get("Link", ""))
            page = None if following is None else following[1]
        return entries

    def delete(self, path: str) -> Any:
        with urllib.request.urlopen(self.request(path, "DELETE"), timeout=30) as response:
            return json.loads(response.read())

    def wait_idle(self) -> None:
        """Block until every sent message has been delivered, every accepted message has been
        processed, and every failed action
        due for a retry by now has been attempted (a fail_fast DSN has been queued)."""
        assert self.server.engine is not None
        if self.server.deliveries is not None:  # sent mail first: it may be received here
            self.call(self.server.deliveries.settle())
        self.call(self.server.engine.drain())
        self.call(self.server.engine.retries.settle())

    def messages(self) -> list[dict[str, Any]]:
        self.wait_idle()
        return self.listing("/api/messages")

    def trace(self, message_id: str) -> list[dict[str, Any]]:
        self.wait_idle()
        return self.get(f"/api/messages/{message_id}")["trace"]  # type: ignore[no-any-return]

    def notifications(self) -> list[dict[str, Any]]:
        """SNS publications with `message` decoded from JSON."""
        self.wait_idle()
        return [
            {**n, "message": json.loads(n["message"])} for n in self.listing("/api/notifications")
        ]

    def sent(self) -> list[dict[str, Any]]:
        """What the Send* operations accepted, oldest first: each `GET /api/sent` entry with
        `message`, its bytes parsed by the stdlib (`email.message.EmailMessage`, default
        policy), or None for a rendering failure (nothing was built)."""
        self.wait_idle()
        found = []
        for entry in self.listing("/api/sent"):
            message = None
            if entry["status"] != "renderingFailure":
                message = _parsed(self.get(f"/api/sent/{entry['messageId']}/raw"))
            found.append({**entry, "message": message})
        return found

    def raw(self, message_id: str) -> bytes:
        """A received message's bytes, exactly as received (`GET /api/messages/{id}/raw`)."""
        self.wait_idle()
        return self.get(f"/api/messages/{message_id}/raw")  # type: ignore[no-any-return]

    def s3_object(self, bucket: str, key: str) -> bytes:
        """An object the embedded S3 stored (an S3 action's message, with any headers the
        rules added: `email.message_from_bytes` reads it)."""
        self.wait_idle()
        return self.get(f"/api/s3/{urllib.parse.quote(bucket)}/{urllib.parse.quote(key)}")  # type: ignore[no-any-return]

    def outbox(self) -> list[dict[str, Any]]:
        """What was queued for the relay (Bounce actions' DSNs, forwarded feedback), oldest
        first: each `GET /api/outbox` entry with `message`, its bytes parsed by the stdlib
        (`email.message.EmailMessage`, default policy)."""
        self.wait_idle()
        return [
            {**entry, "message": _parsed(self.get(f"/api/outbox/{entry['id']}/raw"))}
            for entry in self.listing("/api/outbox")
        ]

    def bounces(self) -> list[dict[str, Any]]:
        """The outbox's DSNs (null sender, `multipart/report; report-type=delivery-status`),
        as `outbox()` gives them: `message["X-..."]`, `message.get_body()`, its parts."""
        return [
            entry
            for entry in self.outbox()
            if entry["mailFrom"] == ""
            and entry["message"].get_content_type() == "multipart/report"
            and entry["message"].get_param("report-type") == "delivery-status"
        ]

    def reset(self) -> None:
        self.delete("/api/messages")

    def ses(self, region: str | None = None) -> Any:
        """A boto3 SES client for this server's Query API (fake credentials)."""
        return self.client("ses", region)

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client of `service` (`ses`, `sesv2`, and the embedded `s3` and `kms`)
        pointed at this server, with fake credentials."""
        import boto3

        return boto3.client(  # type: ignore[call-overload]  # the stubs type literal names
            service,
            endpoint_url=self.api_url,
            region_name=region or self.settings.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def _parsed(raw: bytes) -> EmailMessage:
    from email import message_from_bytes, policy

    return message_from_bytes(raw, policy=policy.default)


def _trusting_context() -> ssl.SSLContext:
    """The server's certificate is self-signed: tests trust it as swaks --tls would."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def make_settings(
    data_dir: Path,
    rules: Mapping[str, Any] | None = None,
    verified: Sequence[str] = ("example.com",),
    **changes: Any,
) -> Settings:
    from inbound import config
    from inbound.rules import codec

    identities = frozenset(v.lower() for v in verified)
    settings = config.Settings(
        smtp=config.Address("127.0.0.1", 0),
        http=config.Address("127.0.0.1", 0),
        data_dir=data_dir,
        verified=identities,
        # a writer thread: no child process to start for every test's server (docs/
        # pytest-plugin.md); `serve`'s writer process is for throughput
        store=config.StoreSettings(writer="thread"),
    ).clone(**changes)
    # validated as the API validates, for the Region the server receives in
    rules = dict(rules if rules is not None else DEFAULT_RULES)
    settings = settings.clone(state=codec.parse_rules(rules, identities, settings.region))
    # The SMTP interface's listeners that are on, on port 0 too (whatever `sending` says).
    sending = settings.sending
    return settings.clone(
        sending=dataclasses.replace(
            sending, smtp=_ephemeral(sending.smtp), smtps=_ephemeral(sending.smtps)
        )
    )


def _ephemeral(address: Address | None) -> Address | None:
    from inbound import config

    return None if address is None else config.Address(address.host, 0)


def _free_data_dir(tmp_path: Path) -> Path:
    """`tmp_path/data`, where a restart finds what the previous server left, unless a server
    still runs on it (one server per data dir, `store.claim`): then a folder of its own."""
    from inbound.store.claim import running_server

    data = tmp_path / "data"
    number = 1
    while running_server(data) is not None:
        number += 1
        data = tmp_path / f"data-{number}"
    return data


@pytest.fixture(scope="session")
def _inbound_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Certificates generated once per test session: RSA key generation dominates start-up."""
    from inbound.app import seed_keys

    folder = tmp_path_factory.mktemp("inbound-keys")
    seed_keys(folder)
    return folder


@pytest.fixture
def inbound_factory(tmp_path: Path, _inbound_keys: Path) -> Iterator[Callable[..., RunningInbound]]:
    """Starts servers: `make(rules=None, verified=("example.com",), *, data_dir=None,
    executors=None, make_backends=None, **settings)` → `RunningInbound`. `rules` is a
    rules.json document (validated as the API validates it), `settings` any `Settings` field
    (`region=`, `relay=`, `api_auth=`...). Without `data_dir`, `tmp_path/data`: a server
    started after another stopped finds what it left. Every server is stopped at teardown."""
    started: list[RunningInbound] = []

    def make(
        rules: Mapping[str, Any] | None = None,
        verified: Sequence[str] = ("example.com",),
        *,
        data_dir: Path | None = None,
        executors: Mapping[str, Any] | None = None,
        make_backends: Callable[..., Any] | None = None,
        **changes: Any,
    ) -> RunningInbound:
        settings = make_settings(data_dir or _free_data_dir(tmp_path), rules, verified, **changes)
        if not settings.data_dir.exists():
            shutil.copytree(_inbound_keys, settings.data_dir)
        running = RunningInbound(settings, executors, make_backends)
        started.append(running)
        return running

    yield make
    for running in reversed(started):
        running.stop()


@pytest.fixture
def inbound_server(
    request: pytest.FixtureRequest, inbound_factory: Callable[..., RunningInbound]
) -> RunningInbound:
    """A running server with the test's `inbound_rules` marker's rules (default: a catch-all
    rule without actions for example.com) and its `inbound_verdicts` markers' forced
    verdicts, on ephemeral ports and a temporary data dir."""
    marker = request.node.get_closest_marker("inbound_rules")
    args, kwargs = ((), {}) if marker is None else (marker.args, dict(marker.kwargs))
    forced = _forced_verdicts(request.node)
    if forced:
        kwargs["verdicts"] = (*kwargs.get("verdicts", ()), *forced)
    return inbound_factory(*args, **kwargs)


_MARKER_FIELDS = {"rule_set": "ruleSet", "dmarc_policy": "dmarcPolicy"}


def _forced_verdicts(node: pytest.Item) -> list[Any]:
    """The `inbound_verdicts` markers' overrides (inbound/receiving/forced.py), named
    `marker-1`, `marker-2`... closest first."""
    from inbound.receiving.forced import Override

    return [
        Override.parse(
            f"marker-{i}", "marker", {_MARKER_FIELDS.get(k, k): v for k, v in m.kwargs.items()}
        )
        for i, m in enumerate(node.iter_markers("inbound_verdicts"), start=1)
    ]


@pytest.fixture
def inbound_ses(inbound_server: RunningInbound) -> Any:
    """A boto3 SES client pointed at `inbound_server`."""
    return inbound_server.ses()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "inbound_rules(rules, verified=..., **settings): rules for inbound_server"
    )
    config.addinivalue_line(
        "markers",
        "inbound_verdicts(sender=..., rule_set=..., spam=..., virus=..., spf=..., dkim=..., "
        "dmarc=..., dmarc_policy=...): forced verdicts for inbound_server",
    )
