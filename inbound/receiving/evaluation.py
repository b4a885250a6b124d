"""A message's verdicts, evaluated once per message before its rules run (spec receiving.md
§6; docs/authentication.md).

SPF, DKIM and DMARC are evaluated for every message; spam and virus scanning only when a rule
the message matched has ScanEnabled (the others report DISABLED, without the cost of a scan).
Forced verdicts (receiving/forced.py) go over what the scanners and the authenticator say, and
a scan they force is not made. A message whose processing is resumed or retried keeps the
scan verdicts its trace recorded: a daemon is not asked twice about one message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inbound.receiving.forced import UNASKED, Forced, OverrideBook, senders
from inbound.receiving.verdicts import (
    Authenticator,
    AuthInput,
    ContentScanner,
    Status,
    Verdicts,
    header_from_domain,
)


@dataclass(frozen=True)
class Evaluator:
    spam: ContentScanner
    virus: ContentScanner
    authenticator: Authenticator
    overrides: OverrideBook

    async def evaluate(
        self,
        message: AuthInput,
        raw: bytes,
        *,
        rule_set: str,
        scan: bool,
        recorded: Mapping[str, Any] | None = None,
    ) -> Verdicts:
        """`recorded`: the verdicts row of an earlier run of this message (its `detail`)."""
        overrides = self.overrides.current()
        forced = (
            Forced.of(overrides, rule_set, senders(message.mail_from, message.headers))
            if overrides
            else Forced()
        )
        if scan:
            spam, virus = await asyncio.gather(
                self._scan("spam", self.spam, raw, forced, recorded),
                self._scan("virus", self.virus, raw, forced, recorded),
            )
        else:
            spam = virus = Status.DISABLED
        auth = UNASKED if forced.all_auth else await self.authenticator.authenticate(message)
        if overrides:  # else nothing is forced: `auth` stands as it is
            auth = forced.apply(auth, header_from_domain(message.headers))
        return Verdicts(auth, spam, virus, forced.marks())

    @staticmethod
    async def _scan(
        key: str,
        scanner: ContentScanner,
        raw: bytes,
        forced: Forced,
        recorded: Mapping[str, Any] | None,
    ) -> Status:
        status = forced.status(key)
        if status is not None:
            return status
        before = (recorded or {}).get(f"{key}Verdict", {}).get("status")
        if before is not None and before != Status.DISABLED:
            return Status(before)
        return await scanner.scan(raw)
