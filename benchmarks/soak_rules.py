"""The soak test's rule churn: a receipt rule created, updated or deleted every second through
the SES v1 API (boto3), in the active rule set, while mail flows.

The churned rules match `CHURN` only (an AddHeader and an S3 action into their own prefix), so
the steady rule that counts exactly-once delivery is never touched. Each tick reads the rule
set first (a change whose reply a kill cut off may or may not have been made), then makes one
change, create, update and delete in turn (a create when none is left, an update instead of a
fourth rule), so one to three churned rules exist at any time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from benchmarks.soak_traffic import CHURN

RULE_SET = "default"
CHURN_BUCKET = "soak-churn"
# Answers while the engine is down or starting: the change was not made (or not known to be).
UNAVAILABLE = frozenset({"ServiceUnavailable", "EndpointConnectionError", "ConnectionClosedError"})


def churn_rule(name: str, version: int) -> dict[str, Any]:
    return {
        "Name": name,
        "Enabled": True,
        "TlsPolicy": "Optional",
        "ScanEnabled": False,
        "Recipients": [CHURN],
        "Actions": [
            {"AddHeaderAction": {"HeaderName": "X-Churn", "HeaderValue": f"v{version}"}},
            {"S3Action": {"BucketName": CHURN_BUCKET, "ObjectKeyPrefix": f"{name}/"}},
        ],
    }


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), max(seconds, 0))


@dataclass
class RuleChurn:
    http_port: int
    changes: Counter[str] = field(default_factory=Counter)  # "create" ... made (200)
    unavailable: int = 0  # calls made while the engine was down or starting
    errors: list[str] = field(default_factory=list)  # any other error: a finding

    def __post_init__(self) -> None:
        self._client = boto3.client(
            "ses",
            endpoint_url=f"http://127.0.0.1:{self.http_port}",
            region_name="us-east-1",
            aws_access_key_id="AKIAINBOUNDSOAK00000",
            aws_secret_access_key="soak",
            config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=15),
        )
        self._names = itertools.count()
        self._ticks = itertools.count()

    def tick(self) -> None:
        """One read and one change; what went wrong is counted, never raised."""
        try:
            found = self._client.describe_receipt_rule_set(RuleSetName=RULE_SET)["Rules"]
            churned = [r["Name"] for r in found if r["Name"].startswith("churn-")]
            tick = next(self._ticks)
            change = "create" if not churned else ("create", "update", "delete")[tick % 3]
            if change == "create" and len(churned) < 3:
                rule = churn_rule(f"churn-{next(self._names)}-{tick}", tick)
                self._client.create_receipt_rule(RuleSetName=RULE_SET, Rule=rule)
            elif change != "delete":
                change = "update"
                rule = churn_rule(churned[tick % len(churned)], tick)
                self._client.update_receipt_rule(RuleSetName=RULE_SET, Rule=rule)
            else:
                self._client.delete_receipt_rule(RuleSetName=RULE_SET, RuleName=churned[0])
            self.changes[change] += 1
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in UNAVAILABLE:
                self.unavailable += 1
            else:
                self.errors.append(f"HTTP {status} {code}: {exc}")
        except BotoCoreError as exc:  # no connection: the engine is down
            if type(exc).__name__ in UNAVAILABLE:
                self.unavailable += 1
            else:
                self.errors.append(f"{type(exc).__name__}: {exc}")

    async def run(self, every: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self.tick)
            await pause(stop, every)

    @property
    def total(self) -> int:
        return sum(self.changes.values())
