"""What an S3 operation is given (api/aws/s3/routes.py makes it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from inbound.backends.local_s3 import LocalObjectStore


@dataclass(frozen=True)
class S3Request:
    """What an operation gets: the parsed request and the embedded store it works on."""

    http: web.Request
    bucket: str
    key: str
    query: dict[str, str]
    body: bytes
    region: str  # the credential scope's, else the configured one
    account_id: str
    objects: LocalObjectStore
