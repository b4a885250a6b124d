"""Virtual Deliverability Manager data over what was really sent, through boto3 `sesv2`:
messages are sent first (to the mailbox simulator, to an address a receipt rule bounces, to an
outbox address), delivered by the engine, then read back through BatchGetMetricData and
GetMessageInsights (inbound/sending/insights.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inbound.testing import RunningInbound
from tests.api.v2.conftest import client, error
from tests.api.v2.vdm import SIM, VDM_ON, end_of_today, send, settled, today


def _query(metric: str, key: str = "q", **dimensions: str) -> dict[str, Any]:
    query: dict[str, Any] = {
        "Id": key,
        "Namespace": "VDM",
        "Metric": metric,
        "StartDate": today() - timedelta(days=2),
        "EndDate": end_of_today(),
    }
    if dimensions:
        query["Dimensions"] = dimensions
    return query


def _values(v2: Any, *queries: dict[str, Any]) -> dict[str, list[int]]:
    answer = v2.batch_get_metric_data(Queries=list(queries))
    assert answer["Errors"] == []
    return {r["Id"]: r["Values"] for r in answer["Results"]}


def test_metrics_count_what_was_sent_and_what_happened_to_it(
    vdm_server: RunningInbound,
) -> None:
    v2 = client(vdm_server)
    v2.create_configuration_set(ConfigurationSetName="news")
    v2.put_account_vdm_attributes(VdmAttributes=VDM_ON)
    send(v2, "someone@elsewhere.test", ConfigurationSetName="news")  # outbox: Delivery
    send(v2, "friend@gmail.com")  # outbox: Delivery, ISP Gmail
    send(v2, "gone@example.com")  # received here, bounced by its rule: Permanent bounce
    send(v2, f"bounce@{SIM}")  # the simulator: left out of the metrics
    send(v2, "a@elsewhere.test", "b@elsewhere.test")  # two recipients: left out
    settled(vdm_server)
    found = _values(
        v2,
        _query("SEND", "send"),
        _query("DELIVERY", "delivery"),
        _query("PERMANENT_BOUNCE", "permanent"),
        _query("TRANSIENT_BOUNCE", "transient"),
        _query("COMPLAINT", "complaint"),
        _query("SEND", "news", CONFIGURATION_SET="news"),
        _query("DELIVERY", "gmail", ISP="Gmail"),
        _query("SEND", "identity", EMAIL_IDENTITY="example.com"),
        _query("SEND", "other", EMAIL_IDENTITY="example.org"),
    )
    # three days, oldest first, today last
    assert found == {
        "send": [0, 0, 3],
        "delivery": [0, 0, 3],  # the bounced message was delivered to this engine first
        "permanent": [0, 0, 1],
        "transient": [0, 0, 0],
        "complaint": [0, 0, 0],
        "news": [0, 0, 1],
        "gmail": [0, 0, 1],
        "identity": [0, 0, 3],
        "other": [0, 0, 0],
    }
    answer = v2.batch_get_metric_data(Queries=[_query("SEND")])
    assert answer["Results"][0]["Timestamps"] == [
        today() - timedelta(days=2),
        today() - timedelta(days=1),
        today(),
    ]


def test_without_vdm_nothing_is_tracked(vdm_server: RunningInbound) -> None:
    v2 = client(vdm_server)
    message_id = send(v2, "someone@elsewhere.test")
    settled(vdm_server)
    answer = v2.batch_get_metric_data(Queries=[_query("SEND", "a"), _query("DELIVERY", "b")])
    assert answer["Results"] == []
    assert answer["Errors"] == [
        {
            "Id": key,
            "Code": "ACCESS_DENIED",
            "Message": "Virtual Deliverability Manager is not enabled for this account.",
        }
        for key in ("a", "b")
    ]
    missing = ("NotFoundException", 404, f"Message <{message_id}> does not exist.")
    assert error(v2.get_message_insights, MessageId=message_id) == missing
    # VDM tracks from when it is turned on: what was sent before stays untracked
    v2.put_account_vdm_attributes(VdmAttributes=VDM_ON)
    assert error(v2.get_message_insights, MessageId=message_id) == missing
    assert _values(v2, _query("SEND"))["q"] == [0, 0, 0]
    send(v2, "someone@elsewhere.test")
    settled(vdm_server)
    assert _values(v2, _query("SEND"))["q"] == [0, 0, 1]
    v2.put_account_vdm_attributes(VdmAttributes={"VdmEnabled": "DISABLED"})
    assert v2.batch_get_metric_data(Queries=[_query("SEND")])["Errors"][0]["Code"] == (
        "ACCESS_DENIED"
    )


def test_message_insights_give_each_destination_its_events(vdm_server: RunningInbound) -> None:
    v2 = client(vdm_server)
    v2.put_account_vdm_attributes(VdmAttributes=VDM_ON)
    message_id = send(
        v2,
        f"complaint@{SIM}",
        "gone@example.com",
        EmailTags=[{"Name": "campaign", "Value": "launch"}],
    )
    settled(vdm_server)
    found = v2.get_message_insights(MessageId=message_id)
    assert (found["MessageId"], found["FromEmailAddress"], found["Subject"]) == (
        message_id,
        "sender@example.com",
        "Hello",
    )
    assert found["EmailTags"] == [{"Name": "campaign", "Value": "launch"}]
    by_destination = {i["Destination"]: i for i in found["Insights"]}
    assert list(by_destination) == [f"complaint@{SIM}", "gone@example.com"]
    complained = by_destination[f"complaint@{SIM}"]
    assert complained["Isp"] == "Other"
    assert [e["Type"] for e in complained["Events"]] == ["SEND", "DELIVERY", "COMPLAINT"]
    assert complained["Events"][2]["Details"] == {"Complaint": {"ComplaintFeedbackType": "abuse"}}
    bounced = by_destination["gone@example.com"]
    assert [e["Type"] for e in bounced["Events"]] == ["SEND", "DELIVERY", "BOUNCE"]
    assert bounced["Events"][2]["Details"] == {
        "Bounce": {
            "BounceType": "PERMANENT",
            "BounceSubType": "General",
            "DiagnosticCode": "smtp; 550 5.1.1 Mailbox does not exist",
        }
    }
    times = [e["Timestamp"] for e in bounced["Events"]]
    assert times == sorted(times)
    assert all(abs(t - datetime.now(UTC)) < timedelta(minutes=5) for t in times)


def test_an_id_this_engine_did_not_send_is_not_found(v2: Any) -> None:
    v2.put_account_vdm_attributes(VdmAttributes=VDM_ON)
    assert error(v2.get_message_insights, MessageId="0100-unknown") == (
        "NotFoundException",
        404,
        "Message <0100-unknown> does not exist.",
    )


def test_a_span_must_go_forward(v2: Any) -> None:
    query = {**_query("SEND"), "EndDate": today() - timedelta(days=3)}
    assert error(v2.batch_get_metric_data, Queries=[query]) == (
        "BadRequestException",
        400,
        "EndDate must be later than StartDate.",
    )


@pytest.mark.parametrize(
    ("address", "verdicts"),
    [
        # received here: a receipt rule matches it
        ("gone@example.com", ("HIGH", "HIGH", "HIGH", "HIGH", "LOW", "LOW", "LOW")),
        # a verified domain this engine receives for, but no rule takes this mailbox
        ("nobody@example.com", ("LOW", "HIGH", "HIGH", "LOW", "LOW", "LOW", "LOW")),
        (f"success@{SIM}", ("HIGH", "HIGH", "HIGH", "HIGH", "LOW", "LOW", "LOW")),
        (f"bounce+x@{SIM}", ("LOW", "HIGH", "HIGH", "LOW", "LOW", "LOW", "LOW")),
        # a domain this engine can say nothing of
        ("someone@elsewhere.test", ("MEDIUM", "HIGH", "MEDIUM", "MEDIUM", "LOW", "LOW", "LOW")),
        ("support@elsewhere.test", ("MEDIUM", "HIGH", "MEDIUM", "MEDIUM", "HIGH", "LOW", "LOW")),
        ("someone@mailinator.com", ("LOW", "HIGH", "MEDIUM", "MEDIUM", "LOW", "HIGH", "LOW")),
        ("xkcdqrtzw9@elsewhere.test", ("MEDIUM", "HIGH", "MEDIUM", "MEDIUM", "LOW", "LOW", "HIGH")),
        ("not an address", ("LOW", "LOW", "LOW", "LOW", "LOW", "LOW", "LOW")),
        ("a..b@example.com", ("LOW", "LOW", "LOW", "LOW", "LOW", "LOW", "LOW")),
    ],
)
def test_email_address_insights(vdm_server: RunningInbound, address: str, verdicts: tuple) -> None:
    """IsValid, then HasValidSyntax, HasValidDnsRecords, MailboxExists, IsRoleAddress,
    IsDisposable, IsRandomInput."""
    found = client(vdm_server).get_email_address_insights(EmailAddress=address)["MailboxValidation"]
    evaluations = found["Evaluations"]
    assert (
        found["IsValid"]["ConfidenceVerdict"],
        *(
            evaluations[name]["ConfidenceVerdict"]
            for name in (
                "HasValidSyntax",
                "HasValidDnsRecords",
                "MailboxExists",
                "IsRoleAddress",
                "IsDisposable",
                "IsRandomInput",
            )
        ),
    ) == verdicts
