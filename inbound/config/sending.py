"""`[sending]`: the account's sending status and the SMTP interface's listeners."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inbound.config.section import Key, Section, toml
from inbound.config.values import Address, is_loopback, optional_address, quota


@dataclass(frozen=True)
class SendingSettings(Section):
    """`[sending]`: the account's sending status (docs/behaviour.md, "Sending").

    A new SES account is in the sandbox: "You can only send mail to verified email addresses
    and domains, or to the Amazon SES mailbox simulator", "a maximum of 200 messages per 24-hour
    period" and "a maximum of 1 message per second" (DG, "Moving out of the Amazon SES
    sandbox").
    `production = true` drops the recipient check; the quotas are what GetSendQuota reports and
    what sending is held to (`Throttling`).
    """

    production: bool = field(default=False, metadata=toml(bool))
    max_send_rate: float = field(default=1.0, metadata=toml((int, float), quota))
    max_24_hour_send: float = field(default=200.0, metadata=toml((int, float), quota))
    # The SMTP interface (email-smtp.<region>.amazonaws.com, docs/behaviour.md "The SMTP
    # interface"): STARTTLS on `smtp`, TLS from the first byte on `smtps`; empty: off.
    smtp: Address | None = field(
        default=Address("127.0.0.1", 2587), metadata=toml(str, optional_address)
    )
    smtps: Address | None = field(default=None, metadata=toml(str, optional_address))
    # AUTH (and mail) without STARTTLS on `smtp`, for tests; a loopback address only
    smtp_allow_plain_auth: bool = field(default=False, metadata=toml(bool))

    @classmethod
    def check(cls, values: Mapping[str, Any], at: Key) -> None:
        smtp = values["smtp"]
        if values["smtp_allow_plain_auth"] and not (smtp and is_loopback(smtp.host)):
            raise at.child("smtp_allow_plain_auth").error(
                "AUTH without TLS is only allowed when sending.smtp is a loopback address"
            )
