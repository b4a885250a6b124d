"""A message's verdicts are evaluated once (receiving/evaluation.py): a resumed or retried run
keeps the scan verdicts its trace recorded, and forced ones are not scanned for."""

from __future__ import annotations

import asyncio
from pathlib import Path

from inbound.receiving.evaluation import Evaluator
from inbound.receiving.forced import Override, OverrideBook
from inbound.receiving.verdicts import AuthInput, NoDnsAuthenticator, Status
from inbound.store import Store

MESSAGE = AuthInput("127.0.0.1", "client.test", "a@sender.test", [("From", "a@sender.test")])


class Counting:
    """A scanner that says PASS and counts the messages it was asked about."""

    def __init__(self) -> None:
        self.asked = 0

    async def scan(self, raw: bytes) -> Status:
        self.asked += 1
        return Status.PASS


def _evaluate(tmp_path: Path, recorded=None, overrides=()):
    spam, virus = Counting(), Counting()
    store = Store(tmp_path)
    store.open()
    try:
        evaluator = Evaluator(spam, virus, NoDnsAuthenticator(), OverrideBook(store, overrides))
        found = asyncio.run(
            evaluator.evaluate(MESSAGE, b"", rule_set="s", scan=True, recorded=recorded)
        )
    finally:
        store.close()
    return found, spam.asked + virus.asked


def test_a_resumed_run_keeps_the_recorded_scan_verdicts(tmp_path: Path) -> None:
    recorded = {"spamVerdict": {"status": "FAIL"}, "virusVerdict": {"status": "PROCESSING_FAILED"}}
    found, asked = _evaluate(tmp_path, recorded)
    assert (found.spam, found.virus, asked) == (Status.FAIL, Status.PROCESSING_FAILED, 0)


def test_a_run_without_a_record_scans_both_once(tmp_path: Path) -> None:
    found, asked = _evaluate(tmp_path, {"spamVerdict": {"status": "DISABLED"}})
    assert (found.spam, found.virus, asked) == (Status.PASS, Status.PASS, 2)


def test_a_forced_scan_verdict_is_not_scanned_for(tmp_path: Path) -> None:
    forced = (Override.parse("o", "config", {"virus": "FAIL"}),)
    found, asked = _evaluate(tmp_path, overrides=forced)
    assert (found.virus, asked, found.forced) == (Status.FAIL, 1, {"virusVerdict": "config:o"})
