"""Endpoint down: actions fail, are retried, and are delivered exactly once when it is back
(issue 6 item 8; spec receiving.md §8).

This test owns its moto server. "Down" is real: the server is shut down and its listening socket
closed, so every boto3 call gets connection refused (not a 4xx from a live server). moto keeps
its resources in process-wide backends, so the bucket, topic, queue and subscription made
before are all there again when a new server binds the same port: the retry meets the same
AWS account, as it would after an outage.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from inbound.config import RetrySettings
from tests.aws.conftest import Moto
from tests.rulesets import message, rule, rules, s3, sns


class OwnMoto:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._factory = ThreadedMotoServer
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        self.host, self.port = self.server.get_host_and_port()
        self.moto = Moto(f"http://{self.host}:{self.port}")

    def down(self) -> None:
        self.server.stop()
        self.server._server.server_close()  # type: ignore[union-attr]  # refuse, not hang
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((self.host, self.port), timeout=2).close()

    def up(self) -> None:
        self.server = self._factory(ip_address=self.host, port=self.port, verbose=False)
        self.server.start()

    def close(self) -> None:
        if self.server._server_ready_event.is_set():  # type: ignore[attr-defined]
            self.server.stop()
            self.server._server.server_close()  # type: ignore[union-attr]


@pytest.fixture
def own_moto() -> Iterator[OwnMoto]:
    own = OwnMoto()
    try:
        yield own
    finally:
        own.close()


def _until(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return value


def test_actions_failed_while_endpoint_down_are_delivered_once(inbound_factory, own_moto) -> None:
    moto = own_moto.moto
    bucket = moto.bucket()
    topic, queue = moto.topic_with_queue()
    backend = moto.backend(max_attempts=1, connect_timeout=1.0)  # fail fast while it is down
    server = inbound_factory(
        rules(rule("r", s3(bucket, "in/"), sns(topic))),
        backends={"s3": backend, "sns": backend},
        retries=RetrySettings(initial_seconds=0.2, max_seconds=0.5),
    )

    own_moto.down()
    for i in range(2):
        server.send("sender@sender.test", ["user@example.com"], message(subject=f"m{i}"))
    ids = sorted(m["messageId"] for m in server.messages())
    assert len(ids) == 2
    pending = server.get("/api/retries?status=pending")
    assert len(pending) == 4  # S3 and SNS, for each message
    for message_id in ids:
        failed = [t for t in server.trace(message_id) if t["kind"] == "action"]
        assert [t["detail"]["status"] for t in failed] == ["PublishFailure"] * 2
        assert all("connect" in t["error"].lower() for t in failed), failed

    own_moto.up()
    _until(lambda: len(server.get("/api/retries?status=delivered")) == 4)
    time.sleep(0.6)  # anything delivered twice would have been by now

    listed = moto.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
    assert sorted(o["Key"] for o in listed) == [f"in/{i}" for i in ids]
    bodies = moto.received(queue, 2)
    bodies += moto.received(queue, 1)  # nothing more arrives
    assert len(bodies) == 2
    assert sorted(json.loads(b)["mail"]["messageId"] for b in bodies) == ids
    for message_id in ids:
        delivered = [
            t["action"]
            for t in server.trace(message_id)
            if t["kind"] == "retry" and t["detail"]["status"] == "Delivered"
        ]
        assert sorted(delivered) == ["S3", "SNS"]
    assert server.get("/api/outbox") == []
