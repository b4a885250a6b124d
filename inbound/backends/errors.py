"""BackendError, apart from the package: `local_kms`, which the package imports, raises it;
and the store's writer process runs `s3_files`, which imports nothing else of the package."""

from __future__ import annotations

from pathlib import Path

from inbound.datadir import UnsafePath, under


class BackendError(Exception):
    """An action's target failed (missing bucket, topic, handler...): a PublishFailure."""


def checked_under(root: Path, *parts: str) -> Path:
    """An unsafe path from a rule or a client fails the action, as any backend error does."""
    try:
        return under(root, *parts)
    except UnsafePath as exc:
        raise BackendError(str(exc)) from None
