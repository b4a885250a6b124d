"""Outbox relay to a smarthost (docs/relay.md): real SMTP in, real SMTP out to an aiosmtpd sink.

Each sink listens on a socket the test binds first, so a test knows the port before the sink
runs and a bound-but-not-listening socket stands for a smarthost that is down (connections
are refused) without another process being able to take the port meanwhile.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from inbound import config
from inbound.config import Address, RelaySettings
from inbound.errors import ConfigError
from inbound.testing import RunningInbound
from inbound.tls import ensure_self_signed, server_context
from tests.rulesets import bounce, message, rule, rules

BOUNCE_RULES = rules(rule("r", bounce(sender="mailer@example.com")))
SENDER = "sender@sender.test"
USER, PASSWORD = "relay-user", "s3cret"


# ── the sink ─────────────────────────────────────────────────────────────────────────────────
@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    mail_options: list[str]
    tls: bool
    login: bytes | None


class Recorder:
    """aiosmtpd handler: records each accepted envelope; scripted refusals first."""

    def __init__(self) -> None:
        self.envelopes: list[Received] = []
        self.rcpt_reply: str | None = None  # refuse every RCPT with this reply
        self.data_replies: list[str] = []  # answer the next DATAs with these, then 250

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        auth = session.auth_data
        self.envelopes.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=envelope.original_content,
                mail_options=list(envelope.mail_options),
                tls=session.ssl is not None,
                login=auth.login if isinstance(auth, LoginPassword) else None,
            )
        )
        return "250 2.0.0 Ok: queued as 42"


class _SocketController(Controller):
    """Controller serving on an already bound socket."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1], **kwargs)
        self._sock = sock

    def _create_server(self):  # type: ignore[no-untyped-def]
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class Sink:
    def __init__(self, **smtp_kwargs: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        self.port: int = self.sock.getsockname()[1]
        self.handler = Recorder()
        self._kwargs = smtp_kwargs
        self._controller: Controller | None = None

    @property
    def envelopes(self) -> list[Received]:
        return self.handler.envelopes

    def start(self) -> Sink:
        self._controller = _SocketController(self.handler, self.sock, **self._kwargs)
        self._controller.start()
        return self

    def close(self) -> None:
        if self._controller is not None:
            self._controller.stop()
        self.sock.close()


@pytest.fixture
def make_sink() -> Any:
    sinks: list[Sink] = []

    def make(**smtp_kwargs: Any) -> Sink:
        sinks.append(Sink(**smtp_kwargs))
        return sinks[-1]

    yield make
    for sink in sinks:
        sink.close()


@pytest.fixture(scope="module")
def sink_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("sink-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    ensure_self_signed(cert, key, "localhost")
    return cert, key


def relay_to(port: int, host: str = "127.0.0.1", **changes: Any) -> RelaySettings:
    return RelaySettings(smarthost=Address(host, port), timeout_seconds=5, **changes)


# ── helpers ──────────────────────────────────────────────────────────────────────────────────
def bounce_one(server: RunningInbound) -> None:
    """Send a message whose Bounce rule queues one DSN to SENDER."""
    server.send(SENDER, ["user@example.com"], message())
    server.wait_idle()


def outbox_when(
    server: RunningInbound, done: Callable[[dict[str, Any]], bool], timeout: float = 10
) -> dict[str, Any]:
    """The only outbox message, once `done(it)`."""
    deadline = time.monotonic() + timeout
    while True:
        rows = server.get("/api/outbox")
        if len(rows) == 1 and done(rows[0]):
            return rows[0]
        assert time.monotonic() < deadline, f"outbox never got there: {rows}"
        time.sleep(0.02)


def status_is(*statuses: str) -> Callable[[dict[str, Any]], bool]:
    return lambda row: row["status"] in statuses


def post(server: RunningInbound, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(server.api_url + path, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# ── delivery ─────────────────────────────────────────────────────────────────────────────────
def test_bounce_dsn_is_relayed_with_null_sender_byte_identical(inbound_factory, make_sink) -> None:
    sink = make_sink().start()
    server = inbound_factory(BOUNCE_RULES, relay=relay_to(sink.port))
    bounce_one(server)
    row = outbox_when(server, status_is("sent"))
    [received] = sink.envelopes
    assert received.mail_from == "<>"  # MAIL FROM:<> (spec dsn.md E1), as aiosmtpd records it
    assert received.rcpt_tos == [SENDER]  # the original envelope sender (E2)
    assert not [o for o in received.mail_options if o.upper().startswith(("RET=", "NOTIFY="))]
    assert received.content == server.get(f"/api/outbox/{row['id']}/raw")
    assert not received.tls  # opportunistic, and the sink offers no STARTTLS
    assert row["attempts"] == 1
    assert row["remoteReply"] == "250 2.0.0 Ok: queued as 42"
    assert row["lastError"] is None and row["nextAttempt"] is None


def test_starttls_required_with_auth_and_a_verified_certificate(
    inbound_factory, make_sink, sink_cert
) -> None:
    cert, key = sink_cert

    def authenticator(server, session, envelope, mechanism, data) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data == (USER.encode(), PASSWORD.encode())
        return AuthResult(success=ok, handled=False, auth_data=data)

    sink = make_sink(
        tls_context=server_context(cert, key),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    ).start()
    relay = relay_to(
        sink.port,
        host="localhost",  # the name in the sink's certificate
        starttls="required",
        ca_file=cert,
        username=USER,
        password=PASSWORD,
    )
    server = inbound_factory(BOUNCE_RULES, relay=relay)
    bounce_one(server)
    outbox_when(server, status_is("sent"))
    [received] = sink.envelopes
    assert received.tls and received.login == USER.encode()
    assert (received.mail_from, received.rcpt_tos) == ("<>", [SENDER])


@pytest.mark.parametrize(
    ("sink_kwargs", "relay_changes", "error"),
    [
        ({}, {"starttls": "required"}, "does not offer STARTTLS"),
        ("tls", {"starttls": "required"}, "CERTIFICATE_VERIFY_FAILED"),  # not in the CA store
        ("tls", {"starttls": "required", "verify_certificate": False, "username": USER,
                 "password": "wrong"}, "535"),
    ],
    ids=["starttls-not-offered", "untrusted-certificate", "auth-rejected"],
)  # fmt: skip
def test_session_problems_defer_the_message(
    inbound_factory, make_sink, sink_cert, sink_kwargs, relay_changes, error
) -> None:
    if sink_kwargs == "tls":
        sink_kwargs = {
            "tls_context": server_context(*sink_cert),
            "authenticator": lambda *args: AuthResult(success=False, handled=False),
        }
    sink = make_sink(**sink_kwargs).start()
    relay = relay_to(sink.port, host="localhost", retry_initial_seconds=30, **relay_changes)
    server = inbound_factory(BOUNCE_RULES, relay=relay)
    bounce_one(server)
    row = outbox_when(server, status_is("deferred"))
    assert error in row["lastError"]
    assert row["nextAttempt"] > row["lastAttempt"]
    assert sink.envelopes == []


def test_a_4xx_defers_and_the_next_attempt_delivers(inbound_factory, make_sink) -> None:
    sink = make_sink().start()
    sink.handler.data_replies = ["451 4.3.0 Try again later"]
    relay = relay_to(sink.port, retry_initial_seconds=0.8, retry_max_seconds=0.8)
    server = inbound_factory(BOUNCE_RULES, relay=relay)
    bounce_one(server)
    deferred = outbox_when(server, status_is("deferred", "sent"))
    assert deferred["status"] == "deferred", "the 451 should have deferred it"
    assert deferred["remoteReply"] == "451 4.3.0 Try again later"
    assert "451 4.3.0 Try again later" in deferred["lastError"]
    assert deferred["attempts"] == 1 and deferred["nextAttempt"] is not None
    sent = outbox_when(server, status_is("sent"))
    assert sent["attempts"] == 2 and sent["lastError"] is None
    assert len(sink.envelopes) == 1


def test_a_5xx_fails_with_the_reply_and_retry_sends_it_again(inbound_factory, make_sink) -> None:
    sink = make_sink().start()
    sink.handler.rcpt_reply = "550 5.1.1 No such user here"
    server = inbound_factory(BOUNCE_RULES, relay=relay_to(sink.port))
    bounce_one(server)
    failed = outbox_when(server, status_is("failed"))
    assert failed["remoteReply"] == "550 5.1.1 No such user here"
    assert failed["lastError"] == f"RCPT TO:<{SENDER}> refused: 550 5.1.1 No such user here"
    assert failed["attempts"] == 1 and failed["nextAttempt"] is None
    assert sink.envelopes == []

    sink.handler.rcpt_reply = None  # the recipient exists now
    assert post(server, f"/api/outbox/{failed['id']}/retry") == (
        200,
        {"id": failed["id"], "status": "queued", "was": "failed"},
    )
    sent = outbox_when(server, status_is("sent"))
    assert sent["attempts"] == 2
    assert len(sink.envelopes) == 1
    assert post(server, f"/api/outbox/{failed['id']}/retry")[0] == 409  # sent: nothing to do
    assert post(server, "/api/outbox/no-such-id/retry")[0] == 404


def test_gives_up_after_max_age(inbound_factory, make_sink) -> None:
    sink = make_sink()  # never started: connection refused
    relay = relay_to(sink.port, retry_initial_seconds=0.05, max_age_seconds=0.3)
    server = inbound_factory(BOUNCE_RULES, relay=relay)
    bounce_one(server)
    failed = outbox_when(server, status_is("failed"))
    assert "ConnectionRefusedError" in failed["lastError"]
    assert "gave up after" in failed["lastError"]
    assert failed["attempts"] >= 2


def test_restart_resumes_a_deferred_message_and_delivers_it_once(
    inbound_factory, make_sink, tmp_path
) -> None:
    sink = make_sink()  # down for now
    relay = relay_to(sink.port, retry_initial_seconds=0.2, retry_max_seconds=0.2)
    first = inbound_factory(BOUNCE_RULES, relay=relay)
    bounce_one(first)
    deferred = outbox_when(first, status_is("deferred"))
    assert "ConnectionRefusedError" in deferred["lastError"]
    first.stop()

    sink.start()
    second = inbound_factory(BOUNCE_RULES, relay=relay, data_dir=first.settings.data_dir)
    sent = outbox_when(second, status_is("sent"))
    assert sent["id"] == deferred["id"] and sent["attempts"] >= 2
    time.sleep(0.3)  # a duplicate attempt would have happened by now
    assert len(sink.envelopes) == 1
    assert sink.envelopes[0].content == second.get(f"/api/outbox/{sent['id']}/raw")


def test_without_a_smarthost_messages_stay_queued(inbound_factory) -> None:
    server = inbound_factory(BOUNCE_RULES)
    bounce_one(server)
    [row] = server.get("/api/outbox")
    assert (row["status"], row["attempts"], row["nextAttempt"]) == ("queued", 0, None)
    status, body = post(server, f"/api/outbox/{row['id']}/retry")
    assert status == 409 and "smarthost" in body["error"]


# ── configuration ────────────────────────────────────────────────────────────────────────────
def load(tmp_path: Path, relay: str) -> config.Settings:
    (tmp_path / "rules.json").write_text("{}")
    (tmp_path / "ca.pem").write_text("placeholder")
    path = tmp_path / "inbound.toml"
    path.write_text(f"[relay]\n{relay}\n")
    return config.load(path)


@pytest.mark.parametrize(
    ("relay", "key"),
    [
        ('smarthost = "mail.example.com"', "relay.smarthost"),
        ('smarthost = "mail.example.com:99999"', "relay.smarthost"),
        ('smarthost = ":25"', "relay.smarthost"),
        ('smarthost = "mail.example.com:0"', "relay.smarthost"),
        ("smarthost = 25", "relay.smarthost"),
        ('smarthost = "mx:25"\nstarttls = "yes"', "relay.starttls"),
        ('smarthost = "mx:25"\npassword = "p"', "relay.password"),
        ('smarthost = "mx:25"\nusername = "u"', "relay.username"),
        ('smarthost = "mx:25"\nstarttls = "off"\nusername = "u"\npassword = "p"', "relay.username"),
        ('smarthost = "mx:25"\nverify_certificate = "no"', "relay.verify_certificate"),
        ('smarthost = "mx:25"\nca_file = "missing.pem"', "relay.ca_file"),
        ('smarthost = "mx:25"\nretry_initial_seconds = 0', "relay.retry_initial_seconds"),
        ('smarthost = "mx:25"\nretry_initial_seconds = 60\nretry_max_seconds = 10',
         "relay.retry_max_seconds"),
        ('smarthost = "mx:25"\nmax_age_seconds = -1', "relay.max_age_seconds"),
        ('smarthost = "mx:25"\nhelo = "two words"', "relay.helo"),
        ('smarthost = "mx:25"\nsmart_host = "mx:25"', "relay.smart_host"),
    ],
    ids=[
        "no-port", "port-range", "no-host", "port-zero", "smarthost-type", "starttls-value",
        "password-without-username", "username-without-password", "auth-without-tls",
        "verify-type", "ca-file-missing", "retry-zero", "retry-max-below-initial",
        "max-age-negative", "helo", "unknown-key",
    ],
)  # fmt: skip
def test_bad_relay_config_names_the_key(tmp_path, relay, key) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, relay)
    assert caught.value.key == key
    assert caught.value.file == str(tmp_path / "inbound.toml")
    assert key in str(caught.value)


def test_relay_config_is_loaded(tmp_path) -> None:
    settings = load(
        tmp_path,
        'smarthost = "smtp.example.net:587"\nstarttls = "required"\nusername = "u"\n'
        'password = "p"\nverify_certificate = false\nca_file = "ca.pem"\nhelo = "me.example"\n'
        "retry_initial_seconds = 5\nretry_max_seconds = 600\nmax_age_seconds = 86400\n"
        "timeout_seconds = 20\n",
    )
    assert settings.relay == RelaySettings(
        smarthost=Address("smtp.example.net", 587),
        starttls="required",
        username="u",
        password="p",
        allow_plain_auth=False,
        verify_certificate=False,
        ca_file=tmp_path / "ca.pem",
        helo="me.example",
        retry_initial_seconds=5.0,
        retry_max_seconds=600.0,
        max_age_seconds=86400.0,
        timeout_seconds=20.0,
    )


@pytest.mark.parametrize("relay", ["", 'starttls = "off"'], ids=["empty", "no-smarthost"])
def test_no_smarthost_means_no_relay(tmp_path, relay) -> None:
    assert load(tmp_path, relay).relay is None


def test_plain_auth_can_be_allowed(tmp_path) -> None:
    relay = load(
        tmp_path,
        'smarthost = "[::1]:2525"\nstarttls = "off"\nusername = "u"\npassword = "p"\n'
        "allow_plain_auth = true",
    ).relay
    assert relay is not None
    assert (relay.smarthost, relay.allow_plain_auth) == (Address("::1", 2525), True)
