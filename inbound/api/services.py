"""What the HTTP side works with, built and owned by app.py: `make_app` is given this, never
the server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from inbound.api.query.operations.context import OperationContext

if TYPE_CHECKING:
    from inbound.backends import Backends
    from inbound.backends.local_kms import LocalKms
    from inbound.backends.local_s3 import LocalObjectStore
    from inbound.identities.book import IdentityBook
    from inbound.outbox.relay import Relay
    from inbound.receiving.engine import Engine
    from inbound.receiving.forced import OverrideBook
    from inbound.receiving.keeper import StateKeeper
    from inbound.sending.list_management import Unsubscriber
    from inbound.sending.origin import Origin
    from inbound.sending.sender import Sender
    from inbound.sending.service import SendingConfiguration
    from inbound.sending.tracking import Tracker
    from inbound.store import Store


@dataclass
class Services:
    """The backends, the engine and the relay are set once the HTTP port is bound (the SNS
    envelope's certificate URL needs its address); the relay only when one is configured."""

    store: Store
    keeper: StateKeeper
    identities: IdentityBook
    sending: SendingConfiguration
    sender: Sender
    region: str  # the configured Region: requests signed for another one use theirs
    account_id: str
    data_dir: Path
    api_auth: str  # "verify" | "off"
    api_credentials: Mapping[str, str]
    api_token: str  # `[api] token`: the JSON API's and the web UI's bearer (api/access.py)
    overrides: OverrideBook  # forced verdicts (api/verdicts.py)
    backends: Backends | None = None
    engine: Engine | None = None
    relay: Relay | None = None
    tracker: Tracker | None = None  # open and click tracking: needs the feedback service
    unsubscriber: Unsubscriber | None = None  # unsubscribe links: needs it too
    # the embedded S3 and KMS their APIs serve (api/aws), whichever backends the actions use
    s3: LocalObjectStore | None = None
    kms: LocalKms | None = None
    # False until every component above is set and running, and again once shutting down
    # stops them: until then requests are answered 503 (api/readiness.py)
    ready: bool = False

    def operation_context(self, region: str, request_id: str, origin: Origin) -> OperationContext:
        assert self.backends is not None
        return OperationContext(
            region,
            request_id,
            self.store,
            self.keeper,
            self.identities,
            self.sending,
            self.sender,
            self.backends,
            origin,
            self.account_id,
        )
