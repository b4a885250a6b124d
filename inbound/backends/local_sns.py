"""The embedded SNS: topics, HTTP(S) subscriptions with SNS's handshake, publication.

What it keeps is in the store (API documents of kinds `sns-topic` and `sns-subscription`), so
topics and subscriptions survive a restart and every process sharing the data dir sees them:
* topics are made by CreateTopic, and on first use by a publication (receipt actions, sending
  events) or a rule naming a topic nobody made: the sandbox makes it, as it makes buckets;
  under `[backends] strict` it does not (the rule is refused, the publication fails);
* a subscription is made pending by Subscribe, which POSTs the `SubscriptionConfirmation` to
  the endpoint; ConfirmSubscription (the API call, or a GET of its SubscribeURL) confirms it;
  only confirmed subscriptions receive notifications, as on SNS;
* `[sns.subscriptions]` in inbound.toml are subscriptions confirmed from the start, made again
  at each start (and removed when gone from the file); Unsubscribe removes one until then.

The notification log (`GET /api/notifications`) records every publication with what each
subscriber answered (`sns_delivery.py` delivers, with SNS's challenge and retries).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inbound.backends.errors import BackendError
from inbound.backends.sns_delivery import (
    CONTENT_TYPE,
    HttpDelivery,
    Post,
    RetryPolicy,
    retry_policy,
)
from inbound.backends.sns_envelope import SnsSigner, notification, subscription_confirmation
from inbound.backends.sns_errors import InvalidParameter, NotFound
from inbound.ids import new_uuid
from inbound.records import Notification
from inbound.store import Store
from inbound.timestamps import now_iso

TOPICS = "sns-topic"
SUBSCRIPTIONS = "sns-subscription"
USER_AGENT = "Amazon Simple Notification Service Agent"


@dataclass(frozen=True)
class Topic:
    arn: str
    attributes: dict[str, str] = field(default_factory=dict)  # the ones set, by SNS name

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    @property
    def signature_version(self) -> str:
        return self.attributes.get("SignatureVersion", "1")

    def default_retry_policy(self) -> RetryPolicy:
        """The topic's `http.defaultHealthyRetryPolicy` (its DeliveryPolicy), else SNS's."""
        policy = json.loads(self.attributes.get("DeliveryPolicy", "{}"))
        return retry_policy(policy.get("http", {}).get("defaultHealthyRetryPolicy"))


@dataclass(frozen=True)
class Subscription:
    arn: str
    topic_arn: str
    protocol: str  # http | https
    endpoint: str
    token: str
    confirmed: bool
    attributes: dict[str, str] = field(default_factory=dict)  # RawMessageDelivery, DeliveryPolicy
    configured: bool = False  # from [sns.subscriptions]: confirmed from the start

    @property
    def raw(self) -> bool:
        return self.attributes.get("RawMessageDelivery", "false") == "true"

    def retry_policy(self, topic: Topic) -> RetryPolicy:
        policy = self.attributes.get("DeliveryPolicy")
        if policy is None:
            return topic.default_retry_policy()
        return retry_policy(json.loads(policy).get("healthyRetryPolicy"))


def _topic(arn: str, body: dict[str, Any]) -> Topic:
    return Topic(**body)


def _subscription(arn: str, body: dict[str, Any]) -> Subscription:
    return Subscription(**body)


def configured_arn(topic_arn: str, url: str) -> str:
    """A configured subscription's ARN: the same at every start."""
    return f"{topic_arn}:{uuid.uuid5(uuid.NAMESPACE_URL, url)}"


class LocalSns:
    """The Publisher of the embedded backends, and what the SNS Query API works on."""

    def __init__(
        self,
        store: Store,
        subscribers: Mapping[str, Sequence[str]],
        signer: SnsSigner,
        retry_delay_scale: float = 1.0,
        strict: bool = False,
    ) -> None:
        self.store = store
        self.subscribers = subscribers
        self.signer = signer
        self.retry_delay_scale = retry_delay_scale
        self.strict = strict  # a topic is made by CreateTopic only
        self.http = HttpDelivery()
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()  # read-modify-write of the documents, one at a time

    async def start(self) -> None:
        """Make the configured subscriptions (and their topics), confirmed; forget the ones
        the file no longer has."""
        wanted = {
            configured_arn(topic, url): (topic, url)
            for topic, urls in self.subscribers.items()
            for url in urls
        }
        for known in self.subscriptions():
            if known.configured and known.arn not in wanted:
                await self.store.delete_document(SUBSCRIPTIONS, known.arn)
        for arn, (topic, url) in wanted.items():
            await self._ensure_topic(topic)
            if self.subscription(arn) is None:
                protocol = url.partition(":")[0]
                await self._save(Subscription(arn, topic, protocol, url, "", True, configured=True))

    # ── topics ─────────────────────────────────────────────────────────────────────────────
    def topic(self, arn: str) -> Topic | None:
        return self.store.records(TOPICS, _topic).get(arn)

    def topics(self) -> list[Topic]:
        return list(self.store.records(TOPICS, _topic).values())

    async def create_topic(self, arn: str, attributes: Mapping[str, str]) -> Topic:
        """CreateTopic is idempotent: the same name answers the same topic, unless asked for
        other attributes ("Topic already exists with different attributes")."""
        async with self._lock:
            found = self.topic(arn)
            if found is not None:
                if any(found.attributes.get(k) != v for k, v in attributes.items()):
                    raise InvalidParameter(
                        "Invalid parameter: Attributes Reason: "
                        "Topic already exists with different attributes"
                    )
                return found
            topic = Topic(arn, dict(attributes))
            await self.store.put_document(TOPICS, arn, dataclasses.asdict(topic))
            return topic

    async def _ensure_topic(self, arn: str) -> Topic:
        return self.topic(arn) or await self.create_topic(arn, {})

    async def delete_topic(self, arn: str) -> None:
        """With its subscriptions; a topic that does not exist is no error (SNS: "This action
        is idempotent")."""
        async with self._lock:
            for subscription in self.subscriptions(arn):
                await self.store.delete_document(SUBSCRIPTIONS, subscription.arn)
            await self.store.delete_document(TOPICS, arn)

    async def set_topic_attribute(self, arn: str, name: str, value: str) -> None:
        async with self._lock:
            topic = self.existing_topic(arn)
            changed = Topic(arn, {**topic.attributes, name: value})
            await self.store.put_document(TOPICS, arn, dataclasses.asdict(changed))

    async def prepare_topic(self, arn: str) -> bool:
        if self.topic(arn) is None and self.strict:
            return False
        await self._ensure_topic(arn)
        return True

    def existing_topic(self, arn: str) -> Topic:
        topic = self.topic(arn)
        if topic is None:
            raise NotFound("Topic does not exist")
        return topic

    # ── subscriptions ──────────────────────────────────────────────────────────────────────
    def subscription(self, arn: str) -> Subscription | None:
        return self.store.records(SUBSCRIPTIONS, _subscription).get(arn)

    def subscriptions(self, topic_arn: str | None = None) -> list[Subscription]:
        found = self.store.records(SUBSCRIPTIONS, _subscription).values()
        return [s for s in found if topic_arn is None or s.topic_arn == topic_arn]

    async def _save(self, subscription: Subscription) -> None:
        await self.store.put_document(
            SUBSCRIPTIONS, subscription.arn, dataclasses.asdict(subscription)
        )

    async def subscribe(
        self, topic_arn: str, protocol: str, endpoint: str, attributes: Mapping[str, str]
    ) -> Subscription:
        """A confirmed subscription of the same endpoint is answered as it is; otherwise the
        subscription is (still) pending and the confirmation request goes out again."""
        async with self._lock:
            topic = self.existing_topic(topic_arn)
            for known in self.subscriptions(topic_arn):
                if known.protocol == protocol and known.endpoint == endpoint:
                    subscription = known
                    break
            else:
                subscription = Subscription(
                    f"{topic_arn}:{uuid.uuid4()}",
                    topic_arn,
                    protocol,
                    endpoint,
                    secrets.token_hex(128),
                    False,
                    dict(attributes),
                )
                await self._save(subscription)
        if not subscription.confirmed:
            self._request_confirmation(topic, subscription)
        return subscription

    def _request_confirmation(self, topic: Topic, subscription: Subscription) -> None:
        sns_id = new_uuid()
        envelope = subscription_confirmation(
            self.signer, topic.signature_version, sns_id, topic.arn, subscription.token, now_iso()
        )
        post = self._post(topic, subscription, "SubscriptionConfirmation", sns_id, envelope)
        self._spawn(self._confirmation(post))

    async def _confirmation(self, post: Post) -> None:
        await self.http.deliver(post)  # not a publication: nothing in the notification log

    async def confirm(self, topic_arn: str, token: str) -> Subscription:
        async with self._lock:
            self.existing_topic(topic_arn)
            for known in self.subscriptions(topic_arn):
                if known.token and secrets.compare_digest(known.token, token):
                    if not known.confirmed:
                        known = dataclasses.replace(known, confirmed=True)
                        await self._save(known)
                    return known
        raise InvalidParameter("Invalid parameter: Token")

    async def unsubscribe(self, arn: str) -> None:
        await self.store.delete_document(SUBSCRIPTIONS, arn)

    def existing_subscription(self, arn: str) -> Subscription:
        subscription = self.subscription(arn)
        if subscription is None:
            raise NotFound("Subscription does not exist")
        return subscription

    async def set_subscription_attribute(self, arn: str, name: str, value: str) -> None:
        async with self._lock:
            subscription = self.existing_subscription(arn)
            attributes = {**subscription.attributes, name: value}
            await self._save(dataclasses.replace(subscription, attributes=attributes))

    # ── publication ────────────────────────────────────────────────────────────────────────
    async def publish(self, topic_arn: str, subject: str, message: str, message_id: str) -> str:
        """What receipt actions and sending events publish: a topic nobody made is made,
        unless strict. The topic is looked up once (per message, on the event loop)."""
        topic = self.topic(topic_arn)
        if topic is None:
            if self.strict:
                raise BackendError(f"SNS Publish {topic_arn}: NotFound: Topic does not exist")
            topic = await self.create_topic(topic_arn, {})
        return self.publish_to(topic, subject, {"default": message}, message_id, {})

    def publish_to(
        self,
        topic: Topic,
        subject: str,
        messages: Mapping[str, str],
        message_id: str | None,
        attributes: Mapping[str, Mapping[str, str]],
    ) -> str:
        """Log the publication, then deliver it to each confirmed subscription in the
        background; `messages` by protocol (`default` for any other, MessageStructure=json);
        `attributes` the envelope's MessageAttributes (`{name: {Type, Value}}`)."""
        sns_id = new_uuid()
        timestamp = now_iso()
        self.store.add_notification(
            Notification(
                id=sns_id,
                topic_arn=topic.arn,
                subject=subject,
                message=messages["default"],
                message_id=message_id,
                created=timestamp,
            )
        )
        posts = []
        for subscription in self.subscriptions(topic.arn):
            if not subscription.confirmed:
                continue
            message = messages.get(subscription.protocol, messages["default"])
            if subscription.raw:
                posts.append(self._post(topic, subscription, "Notification", sns_id, message))
                continue
            envelope: dict[str, Any] = notification(
                self.signer,
                topic.signature_version,
                sns_id,
                topic.arn,
                subject,
                message,
                timestamp,
                subscription.arn,
            )
            if attributes:
                envelope["MessageAttributes"] = dict(attributes)
            posts.append(self._post(topic, subscription, "Notification", sns_id, envelope))
        if posts:
            self._spawn(self._deliver(sns_id, posts))
        return sns_id

    def _post(
        self,
        topic: Topic,
        subscription: Subscription,
        kind: str,
        sns_id: str,
        body: Mapping[str, Any] | str,
    ) -> Post:
        headers = {
            "Content-Type": CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            "x-amz-sns-message-type": kind,
            "x-amz-sns-message-id": sns_id,
            "x-amz-sns-topic-arn": topic.arn,
            "x-amz-sns-subscription-arn": subscription.arn,
        }
        if isinstance(body, str):
            headers["x-amz-sns-rawdelivery"] = "true"
        delays = subscription.retry_policy(topic).delays()
        return Post(
            subscription.endpoint,
            body if isinstance(body, str) else json.dumps(body),
            headers,
            tuple(delay * self.retry_delay_scale for delay in delays),
        )

    async def _deliver(self, sns_id: str, posts: Sequence[Post]) -> None:
        """Every subscriber at once; the log shows each result as it comes, in subscription
        order."""
        results: list[dict[str, Any] | None] = [None] * len(posts)

        async def one(index: int, post: Post) -> None:
            results[index] = await self.http.deliver(post)
            self.store.notification_delivered(sns_id, [r for r in results if r is not None])

        await asyncio.gather(*(one(i, post) for i, post in enumerate(posts)))

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Deliveries under way finish their attempt; none waits for its next retry."""
        self.http.stop_retrying()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.http.close()
