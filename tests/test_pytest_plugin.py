"""The pytest plugin's helpers (docs/pytest-plugin.md) on a real server: what they return is
what the JSON API has, parsed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from inbound import testing
from inbound.testing import RunningInbound
from tests.rulesets import add_header, bounce, message, rule, rules, s3, stop

PLUGIN_RULES = rules(
    rule("nobody", bounce(), stop(), recipients=["nobody@example.com"]),
    rule("all", add_header("X-Seen", "yes"), s3("mail", "in/")),
)


@pytest.mark.inbound_rules(PLUGIN_RULES)
def test_raw_and_s3_object_give_the_bytes(inbound_server: RunningInbound) -> None:
    inbound_server.send("s@sender.test", ["user@example.com"], message())
    [received] = inbound_server.messages()
    assert inbound_server.raw(received["messageId"]) == message()
    [stored] = [o for o in inbound_server.get("/api/s3") if o["key"].startswith("in/")]
    body = inbound_server.s3_object("mail", stored["key"])
    assert body.startswith(b"X-Seen: yes\r\n") and body.endswith(message())


@pytest.mark.inbound_rules(PLUGIN_RULES)
def test_outbox_and_bounces_are_parsed_messages(inbound_server: RunningInbound) -> None:
    inbound_server.send("s@sender.test", ["nobody@example.com"], message())
    [queued] = inbound_server.outbox()
    assert queued["mailFrom"] == "" and queued["recipients"] == ["s@sender.test"]
    [dsn] = inbound_server.bounces()
    assert dsn["id"] == queued["id"]
    report = dsn["message"]
    assert report.get_content_type() == "multipart/report"
    status = next(p for p in report.walk() if p.get_content_type() == "message/delivery-status")
    assert "5.1.1" in str(status)
    assert inbound_server.outbox()[0]["message"]["To"] == "s@sender.test"


def test_a_server_that_sent_no_dsn_has_no_bounces(inbound_server: RunningInbound) -> None:
    inbound_server.send("s@sender.test", ["user@example.com"], message())
    assert inbound_server.bounces() == []


@pytest.mark.parametrize(
    "fixture", [testing.inbound_factory, testing.inbound_server, testing.inbound_ses]
)
def test_every_fixture_says_what_it_gives(fixture) -> None:
    """`pytest --fixtures` shows these docstrings."""
    assert fixture.__doc__ and len(fixture.__doc__) > 40


def test_the_example_of_the_docs_passes(tmp_path) -> None:
    """docs/pytest-plugin.md's example, run by pytest as a user's project would run it."""
    page = (Path(__file__).parents[1] / "docs" / "pytest-plugin.md").read_text(encoding="utf-8")
    example = re.search(r"```python\n(.*?)```", page, re.DOTALL)
    assert example is not None
    (tmp_path / "test_example.py").write_text(example[1], encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
         "test_example.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
