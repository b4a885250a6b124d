"""`[sns]`: the embedded SNS's HTTP subscribers and its retry policy's timing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inbound.config.section import Key, Section, toml


def _subscribers(table: Mapping[str, Any], at: Key) -> dict[str, tuple[str, ...]]:
    result = {}
    for arn, urls in table.items():
        if not arn.startswith("arn:aws:sns:"):
            raise at.child(arn).error("not an SNS topic ARN")
        if not isinstance(urls, list) or not all(
            isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls
        ):
            raise at.child(arn).error("must be a list of http(s) URLs")
        result[arn] = tuple(urls)
    return result


def _delay_scale(value: float, at: Key) -> float:
    """1 is SNS's own timing; 0.001 makes its 20 s between retries 20 ms (tests)."""
    if not 0 < value <= 1:
        raise at.error("must be more than 0 and at most 1")
    return float(value)


@dataclass(frozen=True)
class SnsSettings(Section):
    """`[sns]`: topic ARN → the http(s) URLs subscribed to it (confirmed from the start), and
    the factor on every delay of SNS's HTTP delivery retry policy (docs/aws-endpoints.md)."""

    # repr=False: a subscriber URL may carry Basic credentials (`https://user:password@...`)
    sns_subscribers: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict, repr=False, metadata=toml(dict, _subscribers, key="subscriptions")
    )
    sns_retry_delay_scale: float = field(
        default=1.0, metadata=toml((int, float), _delay_scale, key="retry_delay_scale")
    )
