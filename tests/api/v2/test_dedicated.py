"""Dedicated IPs, the Deliverability dashboard and the other resources the account has none of,
through boto3 `sesv2`: answered as an account without them (pools: test_pools.py)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def test_no_dedicated_ips_or_pools(v2: Any) -> None:
    assert v2.get_dedicated_ips()["DedicatedIps"] == []
    assert v2.list_dedicated_ip_pools()["DedicatedIpPools"] == []
    assert v2.get_deliverability_dashboard_options()["DashboardEnabled"] is False
    assert v2.list_deliverability_test_reports()["DeliverabilityTestReports"] == []


@pytest.mark.parametrize(
    ("operation", "params", "message"),
    [
        ("get_dedicated_ips", {"PoolName": "p"}, "Dedicated IP pool <p> does not exist."),
        ("get_dedicated_ip", {"Ip": "192.0.2.1"}, "Dedicated IP <192.0.2.1> does not exist."),
        (
            "put_dedicated_ip_in_pool",
            {"Ip": "192.0.2.1", "DestinationPoolName": "p"},
            "Dedicated IP <192.0.2.1> does not exist.",
        ),
        (
            "put_dedicated_ip_warmup_attributes",
            {"Ip": "192.0.2.1", "WarmupPercentage": 50},
            "Dedicated IP <192.0.2.1> does not exist.",
        ),
        ("get_dedicated_ip_pool", {"PoolName": "p"}, "Dedicated IP pool <p> does not exist."),
        ("delete_dedicated_ip_pool", {"PoolName": "p"}, "Dedicated IP pool <p> does not exist."),
        (
            "put_dedicated_ip_pool_scaling_attributes",
            {"PoolName": "p", "ScalingMode": "MANAGED"},
            "Dedicated IP pool <p> does not exist.",
        ),
        (
            "get_deliverability_test_report",
            {"ReportId": "r1"},
            "Deliverability test report <r1> does not exist.",
        ),
        (
            "get_domain_deliverability_campaign",
            {"CampaignId": "c1"},
            "Campaign <c1> does not exist.",
        ),
    ],
)
def test_nothing_named_exists(
    v2: Any, operation: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClientError) as raised:
        getattr(v2, operation)(**params)
    response = raised.value.response
    assert response["Error"] == {"Code": "NotFoundException", "Message": message}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize(
    ("operation", "member"),
    [
        ("list_import_jobs", "ImportJobs"),
        ("list_recommendations", "Recommendations"),
    ],
)
def test_listings_of_what_the_account_has_none_of(v2: Any, operation: str, member: str) -> None:
    assert getattr(v2, operation)()[member] == []


@pytest.mark.parametrize(
    ("operation", "params", "message"),
    [
        ("get_import_job", {"JobId": "j"}, "Import job <j> does not exist."),
    ],
)
def test_what_the_account_has_none_of_does_not_exist(
    v2: Any, operation: str, params: dict[str, Any], message: str
) -> None:
    test_nothing_named_exists(v2, operation, params, message)
