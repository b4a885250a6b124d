"""The built-in executors, keyed by SES action name (the `ReceiptAction` union member)."""

from __future__ import annotations

from collections.abc import Mapping

from inbound.actions import Executor, add_header, bounce, lambda_, s3, sns, stop, workmail

REGISTRY: Mapping[str, Executor] = {
    "AddHeaderAction": add_header.execute,
    "BounceAction": bounce.execute,
    "S3Action": s3.execute,
    "SNSAction": sns.execute,
    "LambdaAction": lambda_.execute,
    "StopAction": stop.execute,
    "WorkmailAction": workmail.execute,
}


def with_overrides(overrides: Mapping[str, Executor] | None) -> dict[str, Executor]:
    """The built-ins, with user executors added or replacing them by name."""
    return {**REGISTRY, **(overrides or {})}
