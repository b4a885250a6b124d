"""SNS action delivered to an HTTP subscriber as SNS delivers: its envelope with a verifiable
signature, Basic credentials only after a 401 challenge, and SNS's retry policy."""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Callable
from typing import Any

from inbound.backends.sns_delivery import RetryPolicy
from inbound.testing import RunningInbound
from tests.rulesets import TOPIC, message, rule, rules, sns
from tests.webhook import Webhook, verify_signature

SCALE = 0.001  # SNS's 20 s between retries: 20 ms


def deliveries(server: RunningInbound, count: int) -> list[dict[str, Any]]:
    """The logged deliveries of the one notification, once `count` are in."""
    for _ in range(500):  # each result is logged after its last attempt
        [logged] = server.get("/api/notifications")
        if len(logged["deliveries"]) == count:
            return logged["deliveries"]  # type: ignore[no-any-return]
        time.sleep(0.02)
    raise AssertionError(f"not {count} deliveries: {logged['deliveries']}")


def receive(
    inbound_factory: Callable[..., RunningInbound], *urls: str, **settings: Any
) -> RunningInbound:
    server = inbound_factory(
        rules(rule("r", sns())),
        sns_subscribers={TOPIC: urls},
        sns_retry_delay_scale=SCALE,
        **settings,
    )
    server.send("sender@sender.test", ["user@example.com"], message())
    server.wait_idle()
    return server


def test_http_subscriber_gets_a_signed_sns_envelope(
    inbound_factory: Callable[..., RunningInbound], webhook: Callable[..., Webhook]
) -> None:
    hook = webhook()
    server = receive(inbound_factory, hook.url)
    [received] = hook.wait_for(1)
    headers, envelope = received.headers, received.json
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-topic-arn"] == TOPIC
    assert headers["x-amz-sns-message-id"] == envelope["MessageId"]
    assert envelope["Subject"] == "Amazon SES Email Receipt Notification"
    assert envelope["UnsubscribeURL"].startswith(f"{server.api_url}/?Action=Unsubscribe&")
    verify_signature(envelope)
    [logged] = server.get("/api/notifications")
    assert logged["id"] == envelope["MessageId"] and logged["message"] == envelope["Message"]
    assert deliveries(server, 1) == [{"url": hook.url, "status": 200, "attempts": 1}]


def test_credentials_go_only_after_a_401_challenge_and_are_never_shown(
    inbound_factory: Callable[..., RunningInbound], webhook: Callable[..., Webhook]
) -> None:
    """A subscriber URL with Basic credentials: the first POST goes without them, the endpoint
    challenges, the second carries them; the delivery log (JSON API) and the settings' repr
    show the URL with the password redacted, a failed delivery's error text included."""
    hook = webhook(credentials=("hook-user", "s3cr@t-pw"))
    secret = "s3cr%40t-pw"  # percent-encoded '@': redacted as written and as decoded
    host = hook.url.removeprefix("http://")
    url = f"http://hook-user:{secret}@{host}"
    dead = f"http://hook-user:{secret}@127.0.0.1:1/hook"  # nothing listens on port 1
    server = receive(inbound_factory, url, dead)
    challenged, answered = hook.wait_for(2)
    assert "Authorization" not in challenged.headers
    expected = "Basic " + base64.b64encode(b"hook-user:s3cr@t-pw").decode()
    assert answered.headers["Authorization"] == expected
    assert answered.body == challenged.body
    ok, failed = sorted(deliveries(server, 2), key=lambda d: "error" in d)
    assert ok == {"url": f"http://hook-user:****@{host}", "status": 200, "attempts": 1}
    assert failed["url"] == "http://hook-user:****@127.0.0.1:1/hook" and failed["error"]
    assert failed["attempts"] == 4  # the first and SNS's 3 retries
    shown = str(server.listing("/api/notifications")) + repr(server.server.settings)
    assert "s3cr" not in shown and "t-pw" not in shown


def test_server_errors_are_retried_by_the_policy_and_client_errors_are_not(
    inbound_factory: Callable[..., RunningInbound], webhook: Callable[..., Webhook]
) -> None:
    flaky, broken, gone = (
        webhook(statuses=(500, 503)),
        webhook(statuses=(502,) * 9),
        webhook(statuses=(404,)),
    )
    server = receive(inbound_factory, flaky.url, broken.url, gone.url)
    logged = {d["url"]: (d["status"], d["attempts"]) for d in deliveries(server, 3)}
    assert logged == {flaky.url: (200, 3), broken.url: (502, 4), gone.url: (404, 1)}
    attempts = broken.wait_for(4)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(attempts)]
    # 20 s apart, scaled; uvloop's timers count from the clock it read at the start of the
    # loop's iteration, so a scaled delay may end a busy iteration's few ms early
    assert all(gap >= 15 * SCALE for gap in gaps)
    time.sleep(0.2)
    assert (len(flaky.requests), len(broken.requests), len(gone.requests)) == (3, 4, 1)


def test_a_subscriptions_delivery_policy_sets_the_phases(
    inbound_factory: Callable[..., RunningInbound], webhook: Callable[..., Webhook]
) -> None:
    from tests.api.aws.conftest import sns_client

    hook = webhook(statuses=(500,) * 20)
    server = inbound_factory(sns_retry_delay_scale=SCALE)
    client = sns_client(server)
    topic = client.create_topic(Name="t")["TopicArn"]
    client.subscribe(
        TopicArn=topic,
        Protocol="http",
        Endpoint=hook.url,
        Attributes={
            "DeliveryPolicy": '{"healthyRetryPolicy": {"numRetries": 5, "numNoDelayRetries": 2,'
            ' "minDelayTarget": 10, "maxDelayTarget": 40}}'
        },
    )
    hook.wait_for(6)  # the confirmation request failed 6 times: it is retried by the policy too
    client.confirm_subscription(
        TopicArn=topic, Token=hook.of_type("SubscriptionConfirmation")[0].json["Token"]
    )
    client.publish(TopicArn=topic, Message="m")
    assert deliveries(server, 1)[0]["attempts"] == 6


def test_the_policy_phases() -> None:
    assert RetryPolicy().delays() == [20.0, 20.0, 20.0]
    policy = RetryPolicy(
        min_delay=1,
        max_delay=9,
        retries=8,
        no_delay_retries=2,
        min_delay_retries=1,
        max_delay_retries=1,
    )
    assert policy.delays() == [0.0, 0.0, 1.0, 3.0, 5.0, 7.0, 9.0, 9.0]
    curved = RetryPolicy(min_delay=1, max_delay=9, retries=4, backoff="exponential").delays()
    assert curved[0] >= 1 and curved[-1] == 9 and curved == sorted(curved)
