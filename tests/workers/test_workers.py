"""`[server] workers = N` (docs/workers.md): real processes, real sockets, smtplib and boto3.

`inbound serve --workers 2` on both stores: both workers serve the one SMTP port over one
store; an API edit made through whichever worker answers applies to the very next RCPT on
every worker; a worker killed with kill -9 mid-load is started again and finishes the mail it
had accepted, every accepted message processed once; bad values stop start-up with status 2.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.rulesets import FUNCTION, lambda_, message, rule, rules, s3, sns
from tests.serving import ROOT, Serve

BLOCKING = """
import pathlib, time
RELEASE = pathlib.Path(__file__).with_name("release")

def handle(event, context):
    while not RELEASE.exists():  # every message waits here: the killed worker's are pending
        time.sleep(0.02)
    return {"disposition": "CONTINUE"}
"""


class Workers(Serve):
    """`inbound serve --workers N`, its log (stderr) in JSON lines."""

    def __init__(
        self, tmp_path: Path, store_url: str, *flags: str, workers: int = 2, more: str = ""
    ) -> None:
        """With the config and rules of `tmp_path`, or one rule (S3, SNS) for example.com;
        `more`: TOML added to the config."""
        config = tmp_path / "inbound.toml"
        if not config.exists():
            (tmp_path / "rules.json").write_text(json.dumps(rules(rule("r", s3("b"), sns()))))
            config.write_text('[identities]\nverified = ["example.com"]\n')
        with config.open("a") as added:
            added.write(f'[store]\nurl = "{store_url}"\n{more}')
        flags = ("--workers", str(workers), "--log-format", "json", *flags)
        super().__init__(tmp_path, *flags, config=config, last=r"workers: ")
        self.pids = {int(s): int(p) for s, p in re.findall(r"(\d+) \(pid (\d+)\)", self.started)}

    def ses(self) -> Any:
        """A new client: a connection of its own, which the kernel gives to either worker."""
        return boto3.client("ses", endpoint_url=self.http_url, region_name="us-east-1",
                            aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="s")  # fmt: skip

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.http_url + path, timeout=30) as response:
            return json.loads(response.read())

    def log_lines(self) -> list[dict[str, Any]]:
        text = self.log.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def received(self) -> list[dict[str, Any]]:
        """The per-message lines of the received mail, each with the worker that wrote it."""
        return [line for line in self.log_lines() if line.get("event") == "received"]

    def wait_for(self, done: Any, what: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not done():
            assert time.monotonic() < deadline, f"{what}:\n{self.log.read_text()[-3000:]}"
            time.sleep(0.05)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)

    def kill(self) -> None:
        if self.process.poll() is None:
            for pid in self.pids.values():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait()


def _send(port: int, recipient: str = "user@example.com") -> bool:
    """One message on a connection of its own; whether it got `250`."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail("sender@sender.test", [recipient], message())
        return True
    except (smtplib.SMTPException, OSError):
        return False


def _rcpt(port: int) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        client.mail("sender@sender.test")
        return client.rcpt("user@example.com")


def test_two_workers_serve_one_port_over_one_store(tmp_path: Path, store_url: str) -> None:
    server = Workers(tmp_path, store_url)
    try:
        count = 40
        results: list[bool] = []
        senders = [
            threading.Thread(
                target=lambda: results.extend(_send(server.smtp_port) for _ in range(count // 8))
            )
            for _ in range(8)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        assert results == [True] * count
        server.wait_for(lambda: len(server.received()) == count, "every message processed")
        by_worker = Counter(line["worker"] for line in server.received())
        assert set(by_worker) == {1, 2}, by_worker  # the kernel spread the connections
        ids = {line["messageId"] for line in server.received()}
        assert len(ids) == count  # each processed once, by one worker
        stats = server.get("/api/stats")  # any worker answers with the whole store
        assert (stats["messages"], stats["pending"]) == (count, 0)
        assert {o["messageId"] for o in server.get(f"/api/s3?limit={count}")} == ids
        assert len(server.get(f"/api/notifications?limit={2 * count}")) == count
        assert server.stop() == 0
    finally:
        server.kill()


def test_mail_sent_through_any_worker_is_delivered_once(tmp_path: Path, store_url: str) -> None:
    """SendEmail to a domain the engine receives for, each call on a connection of its own:
    the worker that stored it delivers it, into its own receiving, once."""
    server = Workers(tmp_path, store_url, "-v", more="[sending]\nmax_send_rate = 1000\n")
    try:
        count = 16
        for n in range(count):
            server.ses().send_email(
                Source="me@example.com",
                Destination={"ToAddresses": [f"user{n}@example.com"]},
                Message={"Subject": {"Data": f"s{n}"}, "Body": {"Text": {"Data": "t"}}},
            )
        server.wait_for(
            lambda: (
                server.get("/api/stats")
                == {"messages": count, "pending": 0, "sent": count, "sentPending": 0}
            ),
            "every message sent and received",
        )
        # a message's log line is written by a thread of the worker's own, after its records
        server.wait_for(lambda: len(server.received()) >= count, "every message's log line")
        sent = server.get(f"/api/sent?limit={2 * count}")
        steps = Counter(step["step"] for message in sent for step in message["trace"])
        assert (len(sent), steps["received"], steps["done"]) == (count, count, count)
        assert len(server.received()) == count
        answering = {line["worker"] for line in server.log_lines() if line.get("event") == "http"}
        assert answering == {1, 2}
        assert server.stop() == 0
    finally:
        server.kill()


def test_an_api_edit_applies_to_the_next_rcpt_on_every_worker(
    tmp_path: Path, store_url: str
) -> None:
    server = Workers(tmp_path, store_url, "-v")  # -v: the access log and refusals, per worker
    blocked = (550, b"5.7.1 IP address blacklisted by recipient")
    refusing: set[int] = set()
    answering: set[int] = set()
    try:
        # Whichever worker answers the API, whichever the RCPT, until each worker has done
        # both: the kernel picks the worker of each connection, and under a loaded machine
        # twelve rounds once all went to one worker (a worker's log lines also come a
        # moment later, from a thread of its own).
        for n in range(200):
            server.ses().create_receipt_filter(
                Filter={
                    "Name": f"block-{n}",
                    "IpFilter": {"Policy": "Block", "Cidr": "127.0.0.1/32"},
                }
            )
            assert _rcpt(server.smtp_port) == blocked
            server.ses().delete_receipt_filter(FilterName=f"block-{n}")
            assert _rcpt(server.smtp_port)[0] == 250
            lines = server.log_lines()
            refusing = {x["worker"] for x in lines if "rejected RCPT" in x.get("message", "")}
            answering = {x["worker"] for x in lines if x.get("event") == "http"}
            if refusing == answering == {1, 2}:
                break
        assert refusing == answering == {1, 2}
        assert server.stop() == 0
    finally:
        server.kill()


def test_a_worker_killed_mid_load_is_restarted_and_its_mail_processed_once(
    tmp_path: Path, store_url: str
) -> None:
    """Every message's Lambda action waits for a file, so every accepted message is pending
    when worker 2 is killed; worker 2, started again in its slot, takes its own back."""
    (tmp_path / "handler.py").write_text(BLOCKING)
    (tmp_path / "rules.json").write_text(
        json.dumps(rules(rule("r", s3("b"), lambda_("RequestResponse"), sns())))
    )
    (tmp_path / "inbound.toml").write_text(
        '[identities]\nverified = ["example.com"]\n'
        f'[lambda.functions]\n"{FUNCTION}" = "handler.py:handle"\n'
    )
    server = Workers(tmp_path, store_url, "-v")
    accepted: list[bool] = []

    def load() -> None:  # fewer than the engine's backlog (MAX_UNPROCESSED): no backpressure
        accepted.extend(_send(server.smtp_port) for _ in range(20))

    senders = [threading.Thread(target=load) for _ in range(4)]
    try:
        for sender in senders:
            sender.start()
        server.wait_for(lambda: accepted.count(True) >= 16, "mail accepted before the kill")
        os.kill(server.pids[2], signal.SIGKILL)
        server.wait_for(
            lambda: any(
                line.get("worker") == 2 and "resuming" in line.get("message", "")
                for line in server.log_lines()
            ),
            "worker 2 started again and taking back its pending mail",
        )
        for sender in senders:
            sender.join()
        assert accepted.count(True) >= 60  # only those in flight at the kill may have failed
        (tmp_path / "release").write_text("")
        total = server.get("/api/stats")["messages"]
        assert total >= accepted.count(True)  # and those whose 250 the kill cut off
        server.wait_for(lambda: server.get("/api/stats")["pending"] == 0, "all processed", 120)
        assert server.get("/api/stats")["messages"] == total
        lines = server.log_lines()
        assert any(
            "worker 2" in line.get("message", "") and "SIGKILL" in line["message"] for line in lines
        ), server.log.read_text()[-6000:]  # it failed once under `make test`: say what was logged
        # a message's line is written once it is done, by the logs' thread (logs.py)
        server.wait_for(lambda: len(server.received()) >= total, "a line per message")
        received = Counter(line["messageId"] for line in server.received())
        assert len(received) == total and set(received.values()) == {1}  # each once
        assert {line["worker"] for line in server.received()} == {1, 2}
        assert len(server.get(f"/api/s3?limit={2 * total}")) == total
        assert len(server.get(f"/api/notifications?limit={2 * total}")) == total
        assert server.stop() == 0
    finally:
        (tmp_path / "release").write_text("")
        server.kill()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("0", "server.workers: must be a whole number from 1 to 64, not 0"),
        ("65", "server.workers: must be a whole number from 1 to 64, not 65"),
        ('"two"', "server.workers: has the wrong type ('two')"),
        ("1.5", "server.workers: has the wrong type (1.5)"),
    ],
)
def test_a_bad_workers_value_stops_start_up(tmp_path: Path, value: str, error: str) -> None:
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    (tmp_path / "inbound.toml").write_text(f"[server]\nworkers = {value}\n")
    found = subprocess.run(
        [sys.executable, "-m", "inbound", "serve", "--config", str(tmp_path / "inbound.toml"),
         "--data", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert found.returncode == 2
    assert error in found.stderr


def test_a_bad_workers_option_stops_start_up(tmp_path: Path) -> None:
    found = subprocess.run(
        [sys.executable, "-m", "inbound", "serve", "--config", str(ROOT / "config/inbound.toml"),
         "--data", str(tmp_path / "data"), "--workers", "0"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert found.returncode == 2
    assert "--workers: must be a whole number from 1 to 64, not 0" in found.stderr
