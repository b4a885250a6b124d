"""SNS action delivered to an HTTP subscriber in SNS's envelope, with a verifiable signature."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.rulesets import TOPIC, message, rule, rules, sns

SIGNED_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")


class Subscriber:
    """A real HTTP endpoint on an ephemeral port, in its own thread."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, str]]] = []
        self.got = threading.Event()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    async def _start(self) -> str:
        async def hook(request: web.Request) -> web.Response:
            self.received.append((dict(request.headers), json.loads(await request.text())))
            self.got.set()
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/hook", hook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hook"

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


def test_http_subscriber_gets_a_signed_sns_envelope(inbound_factory) -> None:
    subscriber = Subscriber()
    try:
        server = inbound_factory(
            rules(rule("r", sns())), sns_subscribers={TOPIC: (subscriber.url,)}
        )
        server.send("sender@sender.test", ["user@example.com"], message())
        server.wait_idle()
        assert subscriber.got.wait(10)
        [(headers, envelope)] = subscriber.received
    finally:
        subscriber.close()
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-topic-arn"] == TOPIC
    assert headers["x-amz-sns-message-id"] == envelope["MessageId"]
    assert set(envelope) == {
        *SIGNED_KEYS,
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "UnsubscribeURL",
    }
    assert envelope["Subject"] == "Amazon SES Email Receipt Notification"
    notification = json.loads(envelope["Message"])
    assert notification["receipt"]["action"]["type"] == "SNS"
    for _ in range(100):  # the delivery result is logged after the POST returns
        [logged] = server.get("/api/notifications")
        if logged["deliveries"]:
            break
        time.sleep(0.05)
    assert logged["id"] == envelope["MessageId"] and logged["message"] == envelope["Message"]
    assert logged["deliveries"] == [{"url": subscriber.url, "status": 200}]
    # Verify as SNS's documentation says: SHA1withRSA over "Key\nValue\n" of the signed keys.
    cert = x509.load_pem_x509_certificate(
        server.get(envelope["SigningCertURL"][len(server.api_url) :])
    )
    canonical = "".join(f"{k}\n{envelope[k]}\n" for k in SIGNED_KEYS).encode()
    cert.public_key().verify(
        base64.b64decode(envelope["Signature"]), canonical, padding.PKCS1v15(), hashes.SHA1()
    )


def test_subscriber_credentials_are_used_but_never_shown(inbound_factory) -> None:
    """A subscriber URL with Basic credentials: the POST carries them; the delivery log (JSON
    API) and the settings' repr show the URL with the password redacted, a failed delivery's
    error text included."""
    subscriber = Subscriber()
    secret = "s3cr%40t-pw"  # percent-encoded '@': redacted as written and as decoded
    try:
        host = subscriber.url.removeprefix("http://")
        url = f"http://hook-user:{secret}@{host}"
        dead = f"http://hook-user:{secret}@127.0.0.1:1/hook"  # nothing listens on port 1
        server = inbound_factory(rules(rule("r", sns())), sns_subscribers={TOPIC: (url, dead)})
        server.send("sender@sender.test", ["user@example.com"], message())
        server.wait_idle()
        assert subscriber.got.wait(10)
        [(headers, _)] = subscriber.received
        for _ in range(100):
            [logged] = server.get("/api/notifications")
            if logged["deliveries"]:
                break
            time.sleep(0.05)
    finally:
        subscriber.close()
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"hook-user:s3cr@t-pw").decode()
    ok, failed = logged["deliveries"]
    assert ok == {"url": f"http://hook-user:****@{host}", "status": 200}
    assert failed["url"] == "http://hook-user:****@127.0.0.1:1/hook" and failed["error"]
    shown = json.dumps(server.get("/api/notifications")) + repr(server.server.settings)
    assert "s3cr" not in shown and "t-pw" not in shown
