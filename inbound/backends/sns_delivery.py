"""HTTP(S) delivery as SNS does it: the POST, the Basic-auth challenge, the retry policy.

* Credentials in the endpoint URL (`https://user:password@host/...`) are not sent with the
  first attempt: SNS sends them only after the endpoint answers 401 with a challenge, and
  then at once ("Fanout Amazon SNS notifications to HTTP/S endpoints", SNS Developer Guide).
* A 2xx is a delivery; a 5xx, a refused connection or a timeout (15 s, SNS's) is retried by
  the delivery policy; any other answer ends the delivery as failed, as SNS retries only
  server-side errors ("Amazon SNS message delivery retries").
* The policy has SNS's four phases: immediate retries, pre-backoff retries at the minimum
  delay, backoff retries from the minimum to the maximum delay, post-backoff retries at the
  maximum delay. Its default is SNS's for HTTP/S: 3 retries, 20 s apart ("By default, if the
  initial delivery of the message fails, Amazon SNS attempts up to three retries with a
  delay between failed attempts set at 20 seconds"). `[sns] retry_delay_scale` multiplies
  every delay, so tests (and impatient people) wait 20 ms instead of 20 s.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import aiohttp

from inbound.backends.sns_errors import InvalidParameter

CONTENT_TYPE = "text/plain; charset=UTF-8"  # SNS's default for HTTP(S) ("HTTP/HTTPS headers")
TIMEOUT = 15.0  # seconds SNS waits for an HTTP(S) endpoint's answer
MAX_POLICY_SECONDS = 3600  # "The total policy retry time for an HTTP/S endpoint cannot be greater"
BACKOFF_FUNCTIONS = ("arithmetic", "exponential", "geometric", "linear")
REDACTED = "****"


@dataclass(frozen=True)
class RetryPolicy:
    """SNS's `healthyRetryPolicy`, with SNS's HTTP/S defaults."""

    min_delay: int = 20
    max_delay: int = 20
    retries: int = 3
    no_delay_retries: int = 0
    min_delay_retries: int = 0
    max_delay_retries: int = 0
    backoff: str = "linear"

    def delays(self) -> list[float]:
        """The wait before each retry, phase after phase. The backoff curves run from the
        minimum to the maximum delay; SNS plots them without formulas, so their shapes here
        are the plain ones their names say."""
        backoff = max(
            0,
            self.retries - self.no_delay_retries - self.min_delay_retries - self.max_delay_retries,
        )
        low, high = self.min_delay, self.max_delay
        curve = []
        for step in range(1, backoff + 1):
            t = step / backoff
            shape = {
                "linear": t,
                "arithmetic": t * t,
                "geometric": t**0.5,
                "exponential": (2**t - 1),
            }[self.backoff]
            curve.append(low + (high - low) * shape)
        return [
            *[0.0] * self.no_delay_retries,
            *[float(low)] * self.min_delay_retries,
            *curve,
            *[float(high)] * self.max_delay_retries,
        ][: self.retries]

    def to_api(self) -> dict[str, Any]:
        return {
            "minDelayTarget": self.min_delay,
            "maxDelayTarget": self.max_delay,
            "numRetries": self.retries,
            "numMaxDelayRetries": self.max_delay_retries,
            "numNoDelayRetries": self.no_delay_retries,
            "numMinDelayRetries": self.min_delay_retries,
            "backoffFunction": self.backoff,
        }


_POLICY_KEYS = {
    "minDelayTarget": "min_delay",
    "maxDelayTarget": "max_delay",
    "numRetries": "retries",
    "numNoDelayRetries": "no_delay_retries",
    "numMinDelayRetries": "min_delay_retries",
    "numMaxDelayRetries": "max_delay_retries",
}


def retry_policy(value: Mapping[str, Any] | None) -> RetryPolicy:
    """A `healthyRetryPolicy` object (absent keys take the defaults); InvalidParameter names
    what is wrong, as SNS does for a bad DeliveryPolicy."""
    if value is None:
        return RetryPolicy()
    if not isinstance(value, Mapping):
        raise _bad_policy("healthyRetryPolicy must be an object")
    fields: dict[str, Any] = {}
    for key, item in value.items():
        if key == "backoffFunction":
            if item not in BACKOFF_FUNCTIONS:
                raise _bad_policy(f"backoffFunction must be one of {', '.join(BACKOFF_FUNCTIONS)}")
            fields["backoff"] = item
        elif key in _POLICY_KEYS:
            if not isinstance(item, int) or isinstance(item, bool) or item < 0:
                raise _bad_policy(f"{key} must be an integer of 0 or more")
            fields[_POLICY_KEYS[key]] = item
        else:
            raise _bad_policy(f"unknown key {key}")
    policy = RetryPolicy(**fields)
    if not 1 <= policy.min_delay <= policy.max_delay:
        raise _bad_policy("minDelayTarget must be at least 1 and at most maxDelayTarget")
    if sum(policy.delays()) > MAX_POLICY_SECONDS or policy.retries > 100:
        raise _bad_policy(f"the total policy retry time must be at most {MAX_POLICY_SECONDS} s")
    return policy


def parse_delivery_policy(text: str) -> dict[str, Any]:
    try:
        policy = json.loads(text)
    except ValueError:
        raise _bad_policy("not valid JSON") from None
    if not isinstance(policy, dict):
        raise _bad_policy("must be a JSON object")
    return policy


def _bad_policy(reason: str) -> InvalidParameter:
    return InvalidParameter(f"Invalid parameter: DeliveryPolicy: {reason}")


@dataclass(frozen=True)
class Post:
    """One message for one endpoint, as every attempt sends it."""

    url: str
    body: str
    headers: Mapping[str, str]
    delays: tuple[float, ...]  # before each retry, already scaled


class HttpDelivery:
    """Posts with the challenge and the retries; `stop_retrying()` ends the waits between
    retries (a stopping server does not sit out a policy of minutes)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._closing = asyncio.Event()

    async def deliver(self, post: Post) -> dict[str, Any]:
        """The delivery's log entry: the URL without its password, the last answer's status
        (or error) and how many attempts it took."""
        attempts = 0
        result: dict[str, Any] = {}
        for delay in (0.0, *post.delays):
            if delay and await self._closed_within(delay):
                break
            attempts += 1
            result, retry = await self._attempt(post)
            if not retry:
                break
        return {"url": redacted(post.url), **result, "attempts": attempts}

    async def _closed_within(self, delay: float) -> bool:
        try:
            await asyncio.wait_for(self._closing.wait(), delay)
        except TimeoutError:
            return False
        return True

    async def _attempt(self, post: Post) -> tuple[dict[str, Any], bool]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT))
        parts = urlsplit(post.url)
        bare = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        try:
            status = await self._post(bare, post.headers, post)
            if status == 401 and parts.username is not None:
                userinfo = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
                basic = "Basic " + base64.b64encode(userinfo.encode()).decode("ascii")
                status = await self._post(bare, {**post.headers, "Authorization": basic}, post)
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = _without_password(f"{type(exc).__name__}: {exc}", post.url)
            return {"error": error}, True
        return {"status": status}, status >= 500

    async def _post(self, url: str, headers: Mapping[str, str], post: Post) -> int:
        assert self._session is not None
        async with self._session.post(
            url, data=post.body.encode(), headers=headers, allow_redirects=False
        ) as response:
            return response.status

    def stop_retrying(self) -> None:
        self._closing.set()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def redacted(url: str) -> str:
    """`url` with the password of its user info replaced by `****`. SNS's HTTP(S) subscriptions
    take Basic credentials in the URL (`https://user:password@host/...`, "Fanout Amazon SNS
    notifications to HTTP/S endpoints"); the delivery log, the JSON API and the SNS API's
    listings show the URL without the password, like every other secret (inbound/config/,
    `repr=False`)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{REDACTED}@{host}"))


def _without_password(text: str, url: str) -> str:
    """An error's text with the URL's password (as written and percent-decoded) redacted:
    aiohttp names the URL in some of its errors."""
    password = urlsplit(url).password
    for form in {password, unquote(password)} if password else ():
        text = text.replace(form, REDACTED)
    return text
