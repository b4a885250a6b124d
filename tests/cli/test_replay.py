"""`inbound replay`: the same pipeline without SMTP; `--dry-run` has no side effects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rulesets import bounce, message, rule, rules, s3, stop


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    (tmp_path / "rules.json").write_text(
        json.dumps(
            rules(
                rule("nobody", bounce(), stop(), recipients=["nobody@example.com"]),
                rule("all", s3("b", "in/")),
                filters=[{"Name": "lan", "IpFilter": {"Policy": "Block", "Cidr": "10.0.0.0/8"}}],
            )
        )
    )
    config = tmp_path / "inbound.toml"
    config.write_text('[identities]\nverified = ["example.com"]\n')
    eml = tmp_path / "m.eml"
    eml.write_bytes(message())
    return config, eml, tmp_path / "data"


def replay(config: Path, eml: Path, data: Path, *args: str) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "inbound", "replay", str(eml), "--config", str(config),
         "--data", str(data), "--mail-from", "sender@sender.test", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done.returncode, json.loads(done.stdout)


def test_replay_runs_the_rules_and_prints_the_trace(setup) -> None:
    config, eml, data = setup
    code, report = replay(config, eml, data, "--rcpt", "user@example.com", "--rcpt", "x@nope.test")
    assert code == 0
    assert report["rcpt"] == {
        "user@example.com": "250 Ok",
        "x@nope.test": "550 5.1.1 Requested action not taken: mailbox unavailable",
    }
    [verdicts, matched, stored] = report["trace"]
    assert verdicts["kind"] == "verdicts" and verdicts["detail"]["spamVerdict"]["status"]
    assert (matched["rule"], stored["action"]) == ("all", "S3")
    key = stored["detail"]["action"]["objectKey"]
    assert (data / "s3" / "b" / key).read_bytes().endswith(message())


def test_dry_run_performs_no_side_effects(setup) -> None:
    config, eml, data = setup
    code, report = replay(config, eml, data, "--rcpt", "nobody@example.com", "--dry-run")
    assert code == 0
    assert [t["action"] for t in report["trace"] if t["kind"] == "action"] == ["Bounce", "Stop"]
    assert [c["call"] for c in report["wouldHave"]] == ["outbox.send"]
    assert not data.exists()


def test_a_dry_run_s_object_counts_the_headers_ses_prepends(setup) -> None:
    """The S3 action passes the prepended headers apart from the message (no copy of it):
    the object a dry run reports is both."""
    config, eml, data = setup
    code, report = replay(config, eml, data, "--rcpt", "user@example.com", "--dry-run")
    assert code == 0
    [put] = [c for c in report["wouldHave"] if c["call"] == "s3.put_object"]
    assert put["size"] > len(message()) + len(b"Received: ")


def test_replay_applies_ip_filters(setup) -> None:
    config, eml, data = setup
    code, report = replay(config, eml, data, "--rcpt", "user@example.com", "--ip", "10.1.2.3")
    assert code == 1
    assert report == {"rcpt": {"user@example.com": "550 5.7.1 IP address blacklisted by recipient"}}


def test_a_missing_file_is_a_clear_error_not_a_traceback(setup, tmp_path) -> None:
    config = setup[0]
    done = subprocess.run(
        [sys.executable, "-m", "inbound", "replay", str(tmp_path / "nope.eml"), "--config",
         str(config), "--mail-from", "s@sender.test", "--rcpt", "user@example.com"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        f"inbound: configuration error: {tmp_path / 'nope.eml'}: -: cannot read the message: "
        "No such file or directory\n"
    )


def test_dry_run_evaluates_the_rules_the_data_dir_uses_not_only_the_file(setup, tmp_path) -> None:
    """The rules applied to the data dir (as the API would have changed them) are the ones the
    server uses, so a dry run evaluates those: here one that bounces everybody."""
    config, eml, data = setup
    applied = rules(rule("everybody", bounce(), stop()))
    (tmp_path / "applied.json").write_text(json.dumps(applied))
    done = subprocess.run(
        [sys.executable, "-m", "inbound", "rules", "apply", str(tmp_path / "applied.json"),
         "--config", str(config), "--data", str(data)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    code, report = replay(config, eml, data, "--rcpt", "user@example.com", "--dry-run")
    assert code == 0
    assert [t["rule"] for t in report["trace"] if t["kind"] == "rule"] == ["everybody"]
    assert [c["call"] for c in report["wouldHave"]] == ["outbox.send"]


def test_dry_run_with_http_evaluates_the_running_servers_rules(setup, inbound_factory) -> None:
    """A running server's rules (here changed through its API) are what `--http` evaluates;
    the data dir of a running server is not replayed into."""
    config, eml, _ = setup
    server = inbound_factory(rules(rule("server-rule", bounce())))
    server.ses().create_receipt_rule(RuleSetName="test", Rule=rule("added-live", s3("live")))
    code, report = replay(
        config, eml, server.settings.data_dir, "--rcpt", "user@example.com", "--dry-run",
        "--http", server.api_url,
    )  # fmt: skip
    assert code == 0
    matched = {t["rule"] for t in report["trace"] if t["kind"] == "rule"}
    assert matched == {"added-live", "server-rule"}  # not the file's "nobody" and "all"
    refused = subprocess.run(
        [sys.executable, "-m", "inbound", "replay", str(eml), "--config", str(config),
         "--data", str(server.settings.data_dir), "--mail-from", "s@sender.test",
         "--rcpt", "user@example.com"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2
    assert f"a server is running on it ({server.api_url})" in refused.stderr
