"""The embedded CloudWatch and Firehose backends: what a configuration set's event destinations
publish is recorded in the store and listed by the JSON API (`/api/metrics`, `/api/firehose`)."""

from __future__ import annotations

from datetime import UTC, datetime

from inbound.backends import MetricDatum

STREAM = "arn:aws:firehose:us-east-1:123456789012:deliverystream/events"
MOMENT = datetime(2026, 12, 4, 14, 30, 5, 123000, tzinfo=UTC)


def test_metric_data_points_are_listed_with_their_dimensions(inbound_factory) -> None:
    server = inbound_factory()
    data = [
        MetricDatum("Send", (("campaign", "book"), ("ses:from-domain", "example.com")), MOMENT),
        MetricDatum("Delivery", (("campaign", "book"),), MOMENT),
    ]
    server.call(server.server.backends.metrics.put_metric_data("AWS/SES", data, "m-1"))
    server.call(server.server.store.flush(durable=False))
    points = server.get("/api/metrics")
    assert [(p["metricName"], p["dimensions"]) for p in points] == [
        ("Send", {"campaign": "book", "ses:from-domain": "example.com"}),
        ("Delivery", {"campaign": "book"}),
    ]
    first = points[0]
    assert first["namespace"] == "AWS/SES"
    assert (first["value"], first["unit"]) == (1.0, "Count")
    assert first["timestamp"] == "2026-12-04T14:30:05.123Z"
    assert first["messageId"] == "m-1"
    assert list(first["dimensions"]) == ["campaign", "ses:from-domain"]  # order kept


def test_firehose_records_are_listed_byte_for_byte_and_reset_clears_both(inbound_factory):
    server = inbound_factory()
    backends = server.server.backends
    record_id = server.call(backends.streams.put_record(STREAM, b'{"eventType":"Send"}\n', "m-2"))
    server.call(backends.metrics.put_metric_data("AWS/SES", [MetricDatum("Send", (), MOMENT)], ""))
    server.call(server.server.store.flush(durable=False))
    [record] = server.get("/api/firehose")
    assert record["id"] == record_id
    assert record["streamArn"] == STREAM
    assert record["data"] == '{"eventType":"Send"}\n'
    assert record["messageId"] == "m-2"
    server.reset()
    assert server.get("/api/firehose") == []
    assert server.get("/api/metrics") == []
