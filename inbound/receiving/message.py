"""The received message as rule actions see it: original bytes plus what SES prepends.

Per rule, the message is: headers added by AddHeader actions so far (newest on top, spec
receiving.md §3.1 recommendation), then SES's trace headers (with the scan verdict headers only
when that rule has ScanEnabled, §5), then the original message as received. Its verdicts are
evaluated once, by `evaluate`, before the rules run (receiving/evaluation.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from inbound.headers import Header, SplitMessage, header_lines
from inbound.ids import random_bytes
from inbound.receiving import receipt
from inbound.receiving.evaluation import Evaluator
from inbound.receiving.verdicts import AuthInput, AuthResult, Status, Verdicts, auth_headers
from inbound.records import MessageRecord
from inbound.timestamps import from_wire

# Keys the placeholder X-SES-DKIM-SIGNATURE `b=` value; see receipt.ses_dkim_signature.
_SECRET = random_bytes(16)


class MessageView:
    def __init__(
        self,
        record: MessageRecord,
        raw: bytes,
        *,
        hostname: str,
        evaluator: Evaluator,
    ) -> None:
        self.record = record
        self.split = SplitMessage.parse(raw)
        self.added: list[Header] = []  # AddHeader only appends (pipeline order)
        # `prepended` as bytes, and the whole message, for the (scan, added headers) state
        # they were made in: a size check, the S3 and the SNS actions share them.
        self._top_key: tuple[bool, int] | None = None
        self._top = b""
        self._content_key: tuple[bool, int] | None = None
        self._content = b""
        self.hostname = hostname
        self._evaluator = evaluator
        self._verdicts: Verdicts | None = None

    @cached_property
    def received_at(self) -> datetime:
        return from_wire(self.record.received_at).astimezone(UTC)

    @property
    def source(self) -> str:
        return self.record.mail_from

    @cached_property
    def auth_input(self) -> AuthInput:
        return AuthInput(
            client_ip=self.record.client_ip,
            helo=self.record.helo,
            mail_from=self.record.mail_from,
            headers=self.split.headers,
            message=self.split.raw,
        )

    async def evaluate(
        self, rule_set: str, scan: bool, recorded: Mapping[str, Any] | None
    ) -> Verdicts:
        """The message's verdicts, evaluated on the first call: `scan` when a rule it matched
        has ScanEnabled; `recorded`, the verdicts of an earlier run (evaluation.py)."""
        if self._verdicts is None:
            self._verdicts = await self._evaluator.evaluate(
                self.auth_input, self.split.raw, rule_set=rule_set, scan=scan, recorded=recorded
            )
        return self._verdicts

    @property
    def evaluated(self) -> Verdicts:
        if self._verdicts is None:
            raise RuntimeError("a message's verdicts are evaluated before its rules run")
        return self._verdicts

    @property
    def auth(self) -> AuthResult:
        return self.evaluated.auth

    @cached_property
    def _ses_tail(self) -> list[Header]:
        """The trace headers every rule sees, after the optional scan verdicts."""
        return [
            *auth_headers(self.auth, self.auth_input),
            ("X-SES-RECEIPT", receipt.ses_receipt_blob()),
            (
                "X-SES-DKIM-SIGNATURE",
                receipt.ses_dkim_signature(
                    self.split.raw, self.split.body_offset, self.received_at, _SECRET
                ),
            ),
        ]

    @cached_property
    def _ses_head(self) -> list[Header]:
        record = self.record
        return [
            receipt.return_path_header(record.mail_from),
            receipt.received_header(
                helo=record.helo,
                client_ip=record.client_ip,
                hostname=self.hostname,
                message_id=record.id,
                rcpt=record.recipients[0],
                moment=self.received_at,
            ),
        ]

    def trace_headers(self, scan: bool) -> list[Header]:
        if not scan:  # no scan, no verdict headers, and no scanning cost (§5)
            return [*self._ses_head, *self._ses_tail]
        found = self.evaluated
        verdicts = [("X-SES-Spam-Verdict", found.spam), ("X-SES-Virus-Verdict", found.virus)]
        return [*self._ses_head, *verdicts, *self._ses_tail]

    def prepended(self, scan: bool) -> list[Header]:
        return [*reversed(self.added), *self.trace_headers(scan)]

    def headers(self, scan: bool) -> list[Header]:
        return [*self.prepended(scan), *self.split.headers]

    def _prepended_lines(self, scan: bool) -> bytes:
        """`prepended(scan)` as the header lines above the original message."""
        key = (scan, len(self.added))
        if self._top_key != key:
            self._top = header_lines(self.prepended(scan))
            self._top_key = key
        return self._top

    def content(self, scan: bool) -> bytes:
        """The whole message as a rule sees it; built once per (scan, added headers) state."""
        key = (scan, len(self.added))
        if self._content_key != key:
            self._content = self._prepended_lines(scan) + self.split.raw
            self._content_key = key
        return self._content

    def content_parts(self, scan: bool) -> tuple[bytes, bytes]:
        """`content(scan)` as what it prepends and the message as received, not joined: a
        writer that takes both holds no copy of the message (the S3 action's)."""
        return self._prepended_lines(scan), self.split.raw

    def content_size(self, scan: bool) -> int:
        """`len(content(scan))`, without building it (a size limit is checked so)."""
        return len(self._prepended_lines(scan)) + len(self.split.raw)

    def head(self, scan: bool) -> bytes:
        """`content(scan)` up to its body: what a bounce returns (dsn.ses_receipt_bounce)."""
        return self.split.head_with(self.prepended(scan))

    def mail(self, scan: bool) -> dict[str, object]:
        return receipt.mail_object(
            timestamp=self.record.received_at,
            source=self.record.mail_from,
            message_id=self.record.id,
            headers=self.headers(scan),
            received=self.received_at,
            hostname=self.hostname,
        )

    def verdicts(self, scan: bool) -> dict[str, object]:
        """The five verdicts of `receipt`, and `dmarcPolicy` only when DMARC failed (§4.3)."""
        found = self.evaluated
        auth = found.auth
        verdicts: dict[str, object] = {
            "spamVerdict": {"status": found.spam if scan else Status.DISABLED},
            "virusVerdict": {"status": found.virus if scan else Status.DISABLED},
            "spfVerdict": {"status": auth.spf},
            "dkimVerdict": {"status": auth.dkim},
            "dmarcVerdict": {"status": auth.dmarc},
        }
        if auth.dmarc is Status.FAIL and auth.dmarc_policy:
            verdicts["dmarcPolicy"] = auth.dmarc_policy
        return verdicts
