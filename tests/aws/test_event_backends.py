"""The `aws` CloudWatch and Firehose backends against moto: what an event destination
publishes arrives through `cloudwatch.put_metric_data` and `firehose.put_record` (docs/aws.md)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inbound.backends import BackendError, MetricDatum
from inbound.backends.aws import AwsMetrics, AwsStreams
from inbound.backends.factory import make_backends
from inbound.backends.local import LocalMetrics, LocalStreams
from inbound.sending.events import Event, Send
from inbound.store import Store
from inbound.testing import make_settings
from tests.aws.conftest import REGION, Moto
from tests.sending.test_events import MAIL
from tests.sending.test_feedback import cloudwatch, configuration_set, publish


def backends(tmp_path: Path, moto: Moto, *services: str):
    settings = make_settings(tmp_path / "data", backends=moto.backends(*services))
    return make_backends(Store(settings.data_dir), settings, "http://x")


def test_the_factory_picks_local_or_aws_per_service(tmp_path, moto_server) -> None:
    chosen = backends(tmp_path, moto_server, "cloudwatch")
    assert isinstance(chosen.metrics, AwsMetrics)
    assert isinstance(chosen.streams, LocalStreams)
    assert chosen.metrics.client.meta.endpoint_url == moto_server.url
    chosen.metrics.services.close()
    chosen = backends(tmp_path, moto_server, "firehose")
    assert isinstance(chosen.metrics, LocalMetrics)
    assert isinstance(chosen.streams, AwsStreams)
    chosen.streams.services.close()


def test_metric_data_reach_cloudwatch_with_dimensions(tmp_path, moto_server) -> None:
    metrics = backends(tmp_path, moto_server, "cloudwatch").metrics
    campaign = f"c-{uuid.uuid4().hex[:8]}"
    moment = datetime.now(UTC).replace(microsecond=0)
    data = [MetricDatum("Send", (("campaign", campaign), ("genre", "sci-fi")), moment)] * 2
    try:
        asyncio.run(metrics.put_metric_data("AWS/SES", data, "m-1"))
    finally:
        metrics.services.close()
    dimensions = [{"Name": "campaign", "Value": campaign}, {"Name": "genre", "Value": "sci-fi"}]
    cloudwatch = moto_server.client("cloudwatch")
    listed = cloudwatch.list_metrics(Namespace="AWS/SES", MetricName="Send")["Metrics"]
    assert {"Namespace": "AWS/SES", "MetricName": "Send", "Dimensions": dimensions} in listed
    stats = cloudwatch.get_metric_statistics(
        Namespace="AWS/SES",
        MetricName="Send",
        Dimensions=dimensions,
        StartTime=moment - timedelta(minutes=1),
        EndTime=moment + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum", "SampleCount"],
    )
    [point] = stats["Datapoints"]
    assert (point["Sum"], point["SampleCount"], point["Unit"]) == (2.0, 2.0, "Count")


def firehose_to_bucket(moto: Moto) -> tuple[str, str]:
    """A delivery stream writing to a new S3 bucket: (stream ARN, bucket)."""
    bucket = moto.bucket()
    arn = moto.client("firehose").create_delivery_stream(
        DeliveryStreamName=f"s-{uuid.uuid4().hex[:12]}",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{bucket}",
        },
    )["DeliveryStreamARN"]
    return arn, bucket


def test_a_record_goes_through_firehose_unchanged(tmp_path, moto_server) -> None:
    arn, bucket = firehose_to_bucket(moto_server)
    streams = backends(tmp_path, moto_server, "firehose").streams
    data = json.dumps({"eventType": "Send", "note": "Grüße"}).encode() + b"\n"
    try:
        record_id = asyncio.run(streams.put_record(arn, data, "m-2"))
    finally:
        streams.services.close()
    assert record_id
    s3 = moto_server.client("s3")
    [stored] = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert s3.get_object(Bucket=bucket, Key=stored["Key"])["Body"].read() == data


def test_a_missing_stream_is_a_backend_error(tmp_path, moto_server) -> None:
    streams = backends(tmp_path, moto_server, "firehose").streams
    arn = f"arn:aws:firehose:{REGION}:123456789012:deliverystream/none-{uuid.uuid4().hex[:6]}"
    try:
        with pytest.raises(BackendError, match=r"Firehose PutRecord .*ResourceNotFound"):
            asyncio.run(streams.put_record(arn, b"{}\n", "m-3"))
    finally:
        streams.services.close()


# ── a configuration set's destinations, all three through AWS ───────────────────────────────
def test_event_destinations_publish_through_aws(inbound_factory, moto_server) -> None:
    topic, queue = moto_server.topic_with_queue()
    stream, bucket = firehose_to_bucket(moto_server)
    missing = f"arn:aws:sns:{REGION}:123456789012:gone-{uuid.uuid4().hex[:6]}"
    server = inbound_factory(backends=moto_server.backends("sns", "cloudwatch", "firehose"))
    campaign = f"c-{uuid.uuid4().hex[:8]}"
    sns = {"Name": "sns", "Enabled": True, "MatchingEventTypes": ["send"]}
    configuration_set(
        server,
        {**sns, "Name": "missing", "SNSDestination": {"TopicARN": missing}},
        {**sns, "SNSDestination": {"TopicARN": topic}},
        cloudwatch("cw", ["send"], ("campaign", "messageTag", "none")),
        {
            **sns,
            "Name": "stream",
            "KinesisFirehoseDestination": {
                "IAMRoleARN": "arn:aws:iam::123456789012:role/firehose",
                "DeliveryStreamARN": stream,
            },
        },
    )
    event = Event(replace(MAIL, tags=(("campaign", campaign),)), Send())
    failed, published, measured, streamed = publish(server, event)
    assert "NotFound" in (failed.error or "")  # and the others still ran
    assert (published.error, measured.error, streamed.error) == (None, None, None)
    [body] = moto_server.received(queue, 1)
    assert json.loads(body) == event.record()
    s3 = moto_server.client("s3")
    [stored] = s3.list_objects_v2(Bucket=bucket)["Contents"]
    data = s3.get_object(Bucket=bucket, Key=stored["Key"])["Body"].read()
    assert data.endswith(b"}\n") and json.loads(data) == event.record()
    listed = moto_server.client("cloudwatch").list_metrics(
        Namespace="AWS/SES", Dimensions=[{"Name": "campaign", "Value": campaign}]
    )["Metrics"]
    assert [m["MetricName"] for m in listed] == ["Send"]
