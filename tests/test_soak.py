"""The soak test's harness (`benchmarks/soak.py`, issue 18 item 9) kept from rotting: a run of a
few seconds with one kill, and its checks shown to catch what they look for.

The full soak (`make soak`, about 5 minutes) is not part of the suite; its figures are in
docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import random
import smtplib
from pathlib import Path

import pytest

from benchmarks import servers, soak
from benchmarks.soak_traffic import EXCEPTION_TEXT, SOAK, Ledger, Mix, Session, transaction
from inbound.testing import RunningInbound


def test_a_short_soak_with_one_kill_passes_every_check(tmp_path: Path) -> None:
    plan = soak.Plan(duration=4, kill_every=2, concurrency=3)
    run, verdict = asyncio.run(soak.soak(plan, tmp_path))

    assert soak.problems(run, verdict) == []
    assert run.kills == 1
    assert set(run.ledger.sessions) <= {kind for kind, _ in Mix(plan.max_size).weights}
    assert len(run.ledger.sessions) >= 5  # a few seconds of a mix of eight kinds
    assert run.ledger.accepted and verdict.stored >= len(run.ledger.accepted)
    assert run.ledger.replies["DOT 552"] <= run.ledger.sessions["oversized"]  # one killed
    assert run.churn is not None and run.churn.total > 0
    assert {s.point for s in run.samples} == {"start", "loaded", "drained"}
    assert "PASS" in soak.report(run, verdict)


async def _send_valid(port: int, ledger: Ledger) -> None:
    session = await Session.open(ledger, port)
    assert await transaction(session, "valid", Mix(100_000), random.Random(0))
    await session.close()


@pytest.mark.inbound_rules(
    servers.rule_set([servers.rule("soak", [SOAK])]), verified=["example.com"]
)
def test_the_exactly_once_check_sees_mail_the_clients_were_not_told_about(
    inbound_server: RunningInbound,
) -> None:
    ledger = Ledger()
    asyncio.run(_send_valid(inbound_server.smtp_port, ledger))
    inbound_server.wait_idle()
    assert soak.check_exactly_once(ledger, inbound_server.api_url).problems == []

    stray = b"X-Soak-Id: 0123456789abcdef\r\nSubject: not in the ledger\r\n\r\nhi\r\n"
    with smtplib.SMTP(inbound_server.smtp_host, inbound_server.smtp_port) as client:
        client.sendmail("s@sender.test", [SOAK], stray)
    inbound_server.wait_idle()
    ledger.accepted["f" * 32] = "never-stored"
    problems = soak.check_exactly_once(ledger, inbound_server.api_url).problems
    assert len(problems) == 2, problems
    assert "(0123456789abcdef) stored but never accepted" in problems[0]
    assert "accepted never-stored" in problems[1]


def test_flatness_tolerates_noise_and_flags_growth() -> None:
    def at(life: int, rss_mb: int, files: int = 9, sockets: int = 5) -> soak.Sample:
        return soak.Sample(life, "loaded", rss_mb * 1024, files, sockets)

    flat = [at(0, 60), at(1, 70), at(2, 58, files=12)]
    assert soak.Flatness().problems(flat, concurrency=8) == []
    grown = [at(0, 60), at(1, 90, files=30, sockets=40)]
    found = soak.Flatness().problems(grown, concurrency=8)
    assert [p.split(":")[0] for p in found] == [
        "RSS at loaded of life 1",
        "files at loaded of life 1",
        "sockets at loaded of life 1",
    ]


@pytest.mark.parametrize(
    ("reply", "has_exception"),
    [
        (b"500 Error: (IndexError) string index out of range\r\n", True),
        (b"451 ValueError: bad\r\n", True),
        (b"552 Error: Too much mail data\r\n", False),
        (b"500 5.5.2 Error: bad syntax\r\n", False),
        (b"500 Line too long (see RFC5321 4.5.3.1.6)\r\n", False),
    ],
)
def test_exception_text_in_a_reply_is_recognised(reply: bytes, has_exception: bool) -> None:
    assert bool(EXCEPTION_TEXT.search(reply)) is has_exception
