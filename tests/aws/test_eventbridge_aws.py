"""The `aws` EventBridge backend against moto: a configuration set's EventBridge destination
puts SES's event on the default bus with `events.put_events`, where a rule matching
`source: aws.ses` delivers it to an SQS queue (docs/aws.md)."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

from inbound.backends.aws import AwsBus
from inbound.sending.events import Event, Send
from tests.api.v2.conftest import add_destination, client
from tests.aws.conftest import REGION
from tests.sending.test_events import MAIL
from tests.sending.test_feedback import publish

BUS = f"arn:aws:events:{REGION}:123456789012:event-bus/default"


def test_events_reach_eventbridge_through_aws(inbound_factory, moto_server) -> None:
    campaign = f"c-{uuid.uuid4().hex[:8]}"
    events, sqs = moto_server.client("events"), moto_server.client("sqs")
    queue = sqs.create_queue(QueueName=campaign)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {"source": ["aws.ses"], "detail": {"mail": {"tags": {"campaign": [campaign]}}}}
    events.put_rule(Name=campaign, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=campaign, Targets=[{"Id": "queue", "Arn": queue_arn}])
    server = inbound_factory(backends=moto_server.backends("eventbridge"))
    assert isinstance(server.server.backends.bus, AwsBus)
    v2 = client(server)
    v2.create_configuration_set(ConfigurationSetName="ConfigSet")
    add_destination(v2, "ConfigSet", "bus", ["SEND"], EventBridgeDestination={"EventBusArn": BUS})
    event = Event(replace(MAIL, tags=(("campaign", campaign),)), Send())
    [done] = publish(server, event)
    assert done.error is None and done.ref
    [body] = moto_server.received(queue, 1)
    delivered = json.loads(body)
    assert (delivered["source"], delivered["detail-type"]) == ("aws.ses", "Email Sent")
    assert delivered["detail"] == event.record()
