"""A data dir that cannot take writes: mail it cannot store is refused with a temporary `451`,
nothing it had accepted is lost, and it recovers once the cause is gone (issue 18 item 11).

Real file systems under the server (tests/disks.py): a full tmpfs, and an ext4 image that the
kernel turns read-only on an error, as it does a failing disk.
"""

from __future__ import annotations

import logging
import os
import smtplib
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from inbound.config import RetrySettings
from tests import disks
from tests.rulesets import FUNCTION, lambda_, message, rule, rules, s3

TEMPORARY_FAILURE = (451, b"4.3.0 Temporary service failure")
BIG = message(subject="big", body=("y" * 70 + "\r\n") * 3000)  # more than the WAL has spare


class Blocking:
    """A Lambda handler that holds its message mid-processing until released."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def __call__(self, event: object, context: object) -> dict[str, str]:
        self.entered.set()
        self.release.wait(30)
        return {"disposition": "CONTINUE"}


def _start(factory: Callable[..., object], data: Path, handler: Blocking):
    return factory(
        rules(rule("r", lambda_("RequestResponse"), s3("bucket"))),
        data_dir=data,
        lambda_handlers={FUNCTION: handler},
        retries=RetrySettings(initial_seconds=0.1, max_seconds=0.2),
    )


def _refused(server, body: bytes) -> tuple[int, bytes]:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        server.send("sender@sender.test", ["user@example.com"], body)
    return refused.value.smtp_code, refused.value.smtp_error


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> Callable[[], bool]:
    return lambda: any(text in r.getMessage() for r in caplog.records)


def _subjects(server) -> list[str]:
    return [o["key"] for o in server.listing("/api/s3")]


def test_full_disk_answers_451_then_recovers_without_losing_accepted_mail(
    inbound_factory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    handler = Blocking()
    with disks.tmpfs(tmp_path / "disk", "8m") as disk:
        server = _start(inbound_factory, disk / "data", handler)
        first = server.send("sender@sender.test", ["user@example.com"], message(subject="one"))
        assert first == {} and handler.entered.wait(10)

        ballast = disks.fill(disk)
        assert _refused(server, BIG) == TEMPORARY_FAILURE  # not accepted: it could not be stored
        handler.release.set()  # the first message's steps can no longer be recorded
        _until(_logged(caplog, "could not record message"), "no failed record was retried")
        assert [m["status"] for m in server.get("/api/messages")] == ["pending"]

        ballast.unlink()  # space returns: the same process carries on
        server.send("sender@sender.test", ["user@example.com"], message(subject="two"))
        server.wait_idle()
        _until(lambda: len(_subjects(server)) == 2, "the S3 retries did not store both")
        messages = server.listing("/api/messages")
        assert [m["status"] for m in messages] == ["done", "done"]  # the refused one is absent
        assert not any(r.levelno >= logging.ERROR for r in caplog.records)  # one line each


def test_read_only_data_dir_answers_451_and_a_restart_after_repair_finishes_the_work(
    inbound_factory, tmp_path: Path
) -> None:
    handler = Blocking()
    with disks.Ext4.mounted(tmp_path) as disk:
        data = disk.path / "data"
        server = _start(inbound_factory, data, handler)
        server.send("sender@sender.test", ["user@example.com"], message(subject="one"))
        assert handler.entered.wait(10)

        os.sync()  # the keys copied in at start are as old as a real data dir's
        disk.fail()  # read-only under the running server
        assert _refused(server, message(subject="refused")) == TEMPORARY_FAILURE
        handler.release.set()
        server.stop()  # what could not be recorded stays pending for the next start

        # Started on the read-only data dir, the server says so in one line and exits.
        serve = subprocess.run(
            [sys.executable, "-m", "inbound", "serve", "--smtp", "127.0.0.1:0",
             "--http", "127.0.0.1:0", "--submission", "", "--data", str(data)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert serve.returncode == 2
        assert "cannot write to the data dir" in serve.stderr
        assert "Traceback" not in serve.stderr

        disk.repair()
        restarted = _start(inbound_factory, data, handler)
        restarted.wait_idle()
        messages = restarted.listing("/api/messages")
        assert [m["status"] for m in messages] == ["done"]  # the accepted one, finished
        assert len(restarted.listing("/api/s3")) == 1
