"""The HTTP port while the server starts: every API answers 503 in its own format until the
engine is ready, never a 500 (issue 18 item 3; inbound/api/readiness.py).

The server is held at the last step of its start (the HTTP port has long been bound) while
real clients call it: boto3's `ses` (Query XML) and `sesv2` (REST-JSON), and the JSON API."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from inbound.app import InboundServer
from inbound.testing import make_settings

UNAVAILABLE = "The request has failed due to a temporary failure of the server."


class HeldStart(InboundServer):
    """InboundServer, waiting for `release` before its last step (the SMTP interface)."""

    release: asyncio.Event

    async def _start_submission(self, tls_context: ssl.SSLContext) -> None:
        self.release = asyncio.Event()
        await self.release.wait()
        await super()._start_submission(tls_context)


@pytest.fixture
def held(tmp_path: Path, _inbound_keys: Path) -> Iterator[tuple[HeldStart, Any, Any]]:
    """(the server, its event loop, the future of its start), the HTTP port bound."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    shutil.copytree(_inbound_keys, tmp_path / "data")
    server = HeldStart(make_settings(tmp_path / "data"))
    started = asyncio.run_coroutine_threadsafe(server.start(), loop)
    for _ in range(500):
        if getattr(server, "release", None) is not None:
            break
        time.sleep(0.01)
    assert server.http_url, "the HTTP port was not bound before the held step"
    try:
        yield server, loop, started
    finally:
        loop.call_soon_threadsafe(server.release.set)
        started.result(30)
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def client(server: InboundServer, service: str, attempts: int = 1) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.http_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}),
    )


def refusal(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response


def get(server: InboundServer, path: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(server.http_url + path, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_every_api_answers_503_until_the_engine_is_ready(held: tuple[HeldStart, Any, Any]) -> None:
    server, loop, started = held
    v1 = refusal(client(server, "ses").list_receipt_rule_sets)
    assert v1["Error"] == {"Type": "Receiver", "Code": "ServiceUnavailable", "Message": UNAVAILABLE}
    assert v1["ResponseMetadata"]["HTTPStatusCode"] == 503
    v2 = refusal(client(server, "sesv2").get_account)
    assert v2["Error"] == {"Code": "ServiceUnavailable", "Message": UNAVAILABLE}
    assert v2["ResponseMetadata"]["HTTPStatusCode"] == 503
    status, headers, body = get(server, "/api/messages")
    assert (status, json.loads(body), headers["Retry-After"]) == (503, {"error": UNAVAILABLE}, "1")
    # the SNS certificate is served all along: subscribers of resumed mail fetch it
    assert get(server, "/sns/SimpleNotificationService.pem")[0] == 200

    # an SDK client with botocore's standard retries, calling now, is served once ready: the
    # start is released when the client's first attempt has been answered 503
    answers: list[Any] = []
    retrying = client(server, "ses", 10)

    def release(**_: Any) -> None:  # a needs-retry handler: what it returns is botocore's delay
        loop.call_soon_threadsafe(server.release.set)

    retrying.meta.events.register("needs-retry", release)
    caller = threading.Thread(target=lambda: answers.append(retrying.list_receipt_rule_sets()))
    caller.start()
    caller.join(30)
    started.result(30)
    assert answers and answers[0]["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert client(server, "sesv2").get_account()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert get(server, "/api/messages")[0] == 200
