"""The account's sending quotas: the maximum send rate and the 24-hour quota.

"Quotas are based on the number of recipients, rather than on the number of messages" (DG,
"Service quotas in Amazon SES"). Both let one call go over what is left, as the SES team
described it: "if you have any emails remaining in your daily sending quota, then your API call
... will go through", and "if your send rate quota is one message per second, and you send a
message to five recipients at once, Amazon SES lets you do that. For the next five seconds,
though, Amazon will return errors" (quoted in django-ses issue #59).

The rate is a token bucket per Region, refilled at `MaxSendRate` tokens a second and holding at
most one second's worth (at least one token): a message is accepted while the bucket holds a
token and takes one per recipient, which may leave it in debt. It lives in memory: a second is
forgotten by a restart anyway. The 24-hour quota counts the DeliveryAttempts of the persisted
statistics (`configuration.sent_last_24_hours`).
"""

from __future__ import annotations

import time

from inbound.errors import Throttling

RATE_EXCEEDED = "Maximum sending rate exceeded."
DAILY_EXCEEDED = "Daily message quota exceeded."


class SendRate:
    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.capacity = max(per_second, 1.0)
        self._tokens: dict[str, float] = {}
        self._at: dict[str, float] = {}

    def take(self, region: str, recipients: int) -> None:
        """Take `recipients` tokens, or raise `Throttling` without taking any."""
        now = time.monotonic()
        elapsed = now - self._at.get(region, now)
        refilled = self._tokens.get(region, self.capacity) + elapsed * self.per_second
        tokens = min(self.capacity, refilled)
        self._at[region] = now
        if tokens < 1.0:
            self._tokens[region] = tokens
            raise Throttling(RATE_EXCEEDED)
        self._tokens[region] = tokens - recipients


def check_daily(sent_last_24_hours: float, recipients: int, maximum: float) -> None:
    if recipients and sent_last_24_hours >= maximum:
        raise Throttling(DAILY_EXCEEDED)
