"""What an operation handler is given besides its input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inbound.app import InboundServer


@dataclass(frozen=True)
class OperationContext:
    server: InboundServer
    region: str  # from the SigV4 credential scope when present, else the configured region
    request_id: str
