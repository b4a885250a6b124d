"""A running engine takes over what a killed one left (docs/cluster.md, "Sharing the work"):
real `inbound serve` processes on one PostgreSQL database, with a short lease."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import time
from pathlib import Path

from tests.receiving.test_restart import HANDLER, _get, _start
from tests.rulesets import FUNCTION, lambda_, message, rule, rules, s3, sns

LEASE = 2.0  # seconds; the sweep runs every half lease


def _config(folder: Path, url: str, *actions: dict[str, object]) -> Path:
    (folder / "rules.json").write_text(json.dumps(rules(rule("r", *actions))))
    config = folder / "inbound.toml"
    config.write_text(
        '[identities]\nverified = ["example.com"]\n'
        f'[lambda.functions]\n"{FUNCTION}" = "handler.py:handle"\n'
        f'[store]\nurl = "{url}"\nlease_seconds = {LEASE}\n'
    )
    return config


def test_a_running_engine_finishes_a_killed_engine_s_mail_once_its_lease_runs_out(
    tmp_path: Path, postgres_url: str
) -> None:
    (tmp_path / "handler.py").write_text(HANDLER)  # the first invocation blocks
    config = _config(tmp_path, postgres_url, s3("b", "mail/"), sns(), lambda_("RequestResponse"))
    survivor, _, survivor_url = _start(config, tmp_path / "survivor")
    try:
        doomed, doomed_smtp, _ = _start(config, tmp_path / "doomed")
        try:
            with smtplib.SMTP("127.0.0.1", doomed_smtp, timeout=10) as client:
                client.sendmail("sender@sender.test", ["user@example.com"], message())
            marker, deadline = tmp_path / "started", time.monotonic() + 10
            while not marker.exists():  # the doomed engine's Lambda function has begun
                assert time.monotonic() < deadline, "the message was never processed"
                time.sleep(0.05)
            message_id = marker.read_text()
            # alive and renewing its lease, the engine keeps its message: past a lease and
            # a sweep, the survivor has not touched it
            time.sleep(LEASE * 1.5)
            assert _get(f"{survivor_url}/api/messages/{message_id}")["status"] == "pending"
        finally:
            os.kill(doomed.pid, signal.SIGKILL)
            doomed.wait()
        killed = time.monotonic()
        while (detail := _get(f"{survivor_url}/api/messages/{message_id}"))["status"] != "done":
            assert time.monotonic() - killed < LEASE * 1.5 + 5, "never taken over"
            time.sleep(0.05)
        steps = [t["action"] for t in detail["trace"] if t["kind"] == "action"]
        assert steps == ["S3", "SNS", "Lambda"]
        assert [o["key"] for o in _get(f"{survivor_url}/api/s3")] == [f"mail/{message_id}"]
        # published before the kill, and recorded: not published again
        assert len(_get(f"{survivor_url}/api/notifications")) == 1
        invocations = _get(f"{survivor_url}/api/lambda")
        assert len(invocations) == 2  # the killed engine's never answered; the survivor's did
    finally:
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(20) == 0
