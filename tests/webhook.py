"""A real HTTP(S) subscriber for SNS tests: an aiohttp server on an ephemeral port, in its own
thread, recording what it receives and answering as told.

* `statuses`: the status of each answer in turn (then 200): a failing endpoint for the retry
  policy;
* `credentials`: ("user", "password") makes it a Basic-auth endpoint that challenges a request
  without them with 401 and `WWW-Authenticate`, as a protected webhook does;
* `confirm_by_get`: on a SubscriptionConfirmation it GETs the SubscribeURL, as a webhook that
  follows SNS's instructions does (the answer's XML is kept in `confirmations`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: str
    at: float  # time.monotonic() on arrival

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Webhook:
    def __init__(
        self,
        *,
        statuses: tuple[int, ...] = (),
        credentials: tuple[str, str] | None = None,
        confirm_by_get: bool = False,
    ) -> None:
        self.requests: list[Received] = []
        self.got = threading.Event()  # set by the first request
        self.confirmations: list[str] = []
        self._statuses = list(statuses)
        self._credentials = credentials
        self._confirm_by_get = confirm_by_get
        self._changed = threading.Condition()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}/hook"

    async def _hook(self, request: web.Request) -> web.Response:
        received = Received(dict(request.headers), await request.text(), time.monotonic())
        with self._changed:
            self.requests.append(received)
            self.got.set()
            self._changed.notify_all()
        if self._credentials is not None:
            expected = "Basic " + base64.b64encode(":".join(self._credentials).encode()).decode()
            if request.headers.get("Authorization") != expected:
                return web.Response(
                    status=401, headers={"WWW-Authenticate": 'Basic realm="webhook"'}
                )
        if self._statuses:
            return web.Response(status=self._statuses.pop(0))
        if self._confirm_by_get and received.headers.get("x-amz-sns-message-type") == (
            "SubscriptionConfirmation"
        ):
            url = received.json["SubscribeURL"]
            async with aiohttp.ClientSession() as session, session.get(url) as answer:
                text = await answer.text()
            with self._changed:
                self.confirmations.append(text)
                self._changed.notify_all()
        return web.Response(text="ok")

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        """The first `count` requests, once they have arrived."""
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.requests) >= count, timeout), (
                f"{len(self.requests)} requests arrived, not {count}"
            )
            return self.requests[:count]

    @property
    def received(self) -> list[tuple[dict[str, str], Any]]:
        """(headers, the JSON document) of each request so far."""
        return [(r.headers, r.json) for r in self.requests]

    def confirmed(self, timeout: float = 10) -> str:
        """The answer to the first GET of a SubscribeURL (`confirm_by_get`)."""
        with self._changed:
            assert self._changed.wait_for(lambda: self.confirmations, timeout), "no confirmation"
            return self.confirmations[0]

    def of_type(self, kind: str, count: int = 1, timeout: float = 10) -> list[Received]:
        """The first `count` requests of SNS message type `kind`."""

        def found() -> list[Received]:
            return [r for r in self.requests if r.headers.get("x-amz-sns-message-type") == kind]

        with self._changed:
            assert self._changed.wait_for(lambda: len(found()) >= count, timeout), (
                f"{len(found())} {kind} requests arrived, not {count}"
            )
            return found()[:count]

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def webhook() -> Iterator[Callable[..., Webhook]]:
    """Webhooks made with the options of `Webhook`, closed after the test (a conftest imports
    this fixture where its tests use it)."""
    started: list[Webhook] = []

    def make(**options: Any) -> Webhook:
        started.append(Webhook(**options))
        return started[-1]

    yield make
    for hook in started:
        hook.close()


# The keys SNS signs, by message type, in the order of the string to sign ("Verifying the
# signatures of Amazon SNS messages"); a Notification without a Subject signs no Subject.
SIGNED_KEYS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}


def verify_signature(envelope: dict[str, str], pem: bytes | None = None) -> None:
    """Check an SNS message as a subscriber does, with `cryptography` against the certificate
    fetched from its SigningCertURL (or `pem`): SHA1withRSA for SignatureVersion 1,
    SHA256withRSA for 2. Raises `InvalidSignature` when it does not hold."""
    import urllib.request

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    if pem is None:
        with urllib.request.urlopen(envelope["SigningCertURL"], timeout=10) as response:
            pem = response.read()
    certificate = x509.load_pem_x509_certificate(pem)
    keys = SIGNED_KEYS[envelope["Type"]]
    canonical = "".join(f"{k}\n{envelope[k]}\n" for k in keys if k in envelope)
    digest = {"1": hashes.SHA1(), "2": hashes.SHA256()}[envelope["SignatureVersion"]]
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(
        base64.b64decode(envelope["Signature"]), canonical.encode(), padding.PKCS1v15(), digest
    )
