"""`Settings`: the flat union of the server-wide sections' keys plus the nested sections, frozen,
changed by `clone(**changes)`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inbound import model
from inbound.config.backends import BackendSettings
from inbound.config.identities import DnsSettings, IdentitySettings
from inbound.config.lambdas import LambdaSettings
from inbound.config.limits import LimitSettings
from inbound.config.receiving import RetrySettings, ScanningSettings
from inbound.config.relay import RelaySettings
from inbound.config.section import Section
from inbound.config.sending import SendingSettings
from inbound.config.server import AccountSettings, ApiSettings, ServerSettings, TlsSettings
from inbound.config.sns import SnsSettings
from inbound.config.store import StoreSettings
from inbound.receiving.forced import Override

# The sections whose keys are `Settings` attributes themselves, in the order they are read.
SERVER_WIDE: dict[str, type[Section]] = {
    "server": ServerSettings,
    "account": AccountSettings,
    "identities": IdentitySettings,
    "tls": TlsSettings,
    "lambda": LambdaSettings,
    "sns": SnsSettings,
    "api": ApiSettings,
}
NESTED: dict[str, type[Section]] = {
    "relay": RelaySettings,
    "retries": RetrySettings,
    "sending": SendingSettings,
    "limits": LimitSettings,
    "scanning": ScanningSettings,
    "dns": DnsSettings,
    "store": StoreSettings,
}


@dataclass(frozen=True)
class Settings(  # listed last to first: a dataclass's fields start with its last base's
    ApiSettings,
    SnsSettings,
    LambdaSettings,
    TlsSettings,
    IdentitySettings,
    AccountSettings,
    ServerSettings,
):
    """Everything `InboundServer` runs with: the server-wide sections' keys as attributes, the
    receipt state loaded from `rules_file`, and the nested sections."""

    state: model.ReceiptState = model.ReceiptState()
    relay: RelaySettings | None = None  # None: the outbox is kept, never relayed
    # `[backends.<service>]` (docs/aws.md): absent ⇒ the embedded ("local") backend.
    backends: Mapping[str, BackendSettings] = field(default_factory=dict)
    # `[backends] strict`: a rule naming a bucket or topic nobody made is refused, as on AWS;
    # false (the sandbox): the first use makes it (docs/aws-endpoints.md)
    strict: bool = False
    retries: RetrySettings = RetrySettings()
    store: StoreSettings = StoreSettings()
    sending: SendingSettings = SendingSettings()
    limits: LimitSettings = LimitSettings()
    scanning: ScanningSettings = ScanningSettings()
    verdicts: tuple[Override, ...] = ()  # `[verdicts.<name>]`, forced verdicts
    dns: DnsSettings | None = None  # None: no DNS, authentication is not evaluated

    @property
    def dns_settings(self) -> DnsSettings | None:
        """`[dns]`, or the resolver of `[identities] resolver`, the key `[dns]` replaced."""
        if self.dns is None and self.identity_resolver is not None:
            return DnsSettings.at_resolver(self.identity_resolver)
        return self.dns

    def backend(self, service: str) -> BackendSettings:
        """The settings of `service` (BACKEND_SERVICES); local when unset."""
        return self.backends.get(service) or BackendSettings()

    @property
    def smtp_hostname(self) -> str:
        return self.hostname or f"inbound-smtp.{self.region}.amazonaws.com"

    def clone(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)
