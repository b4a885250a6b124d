"""What an operation handler is given besides its input: the request's Region and id, who made
it, and the services it works with (never the whole server)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inbound.backends import Backends
    from inbound.identities.book import IdentityBook
    from inbound.receiving.keeper import StateKeeper
    from inbound.sending.origin import Origin
    from inbound.sending.sender import Sender
    from inbound.sending.service import SendingConfiguration
    from inbound.store import Store


@dataclass(frozen=True)
class OperationContext:
    region: str  # from the SigV4 credential scope when present, else the configured region
    request_id: str
    store: Store
    keeper: StateKeeper
    identities: IdentityBook
    sending: SendingConfiguration
    sender: Sender
    backends: Backends
    origin: Origin  # who made the request: the Send* operations record it with the message
    account_id: str  # the simulated account's id, in the ARNs an operation answers with
