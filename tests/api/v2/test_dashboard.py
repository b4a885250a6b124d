"""The Deliverability dashboard family through boto3 `sesv2`, as an account without the
dashboard subscription sees it (decisions in docs/behaviour.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.v2.conftest import error

START = datetime(2026, 11, 1, tzinfo=UTC)
UNAVAILABLE = (
    "BadRequestException",
    400,
    "The Deliverability dashboard is not enabled for this account. "
    "Use Virtual Deliverability Manager (PutAccountVdmAttributes) instead.",
)


def test_the_dashboard_cannot_be_turned_on(v2: Any) -> None:
    assert error(v2.put_deliverability_dashboard_option, DashboardEnabled=True) == UNAVAILABLE
    v2.put_deliverability_dashboard_option(DashboardEnabled=False)  # it is off: nothing to do
    options = v2.get_deliverability_dashboard_options()
    assert options["DashboardEnabled"] is False
    assert options["ActiveSubscribedDomains"] == []


def test_no_predictive_inbox_placement_test_without_the_dashboard(v2: Any) -> None:
    content = {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}}
    assert (
        error(
            v2.create_deliverability_test_report,
            FromEmailAddress="sender@example.com",
            Content=content,
        )
        == UNAVAILABLE
    )
    assert v2.list_deliverability_test_reports()["DeliverabilityTestReports"] == []


def test_blacklist_reports_name_dedicated_ips_the_account_does_not_have(v2: Any) -> None:
    assert error(v2.get_blacklist_reports, BlacklistItemNames=["192.0.2.7", "192.0.2.8"]) == (
        "NotFoundException",
        404,
        "Dedicated IP <192.0.2.7> does not exist.",
    )


@pytest.mark.parametrize(
    ("operation", "member"),
    [
        ("get_domain_statistics_report", "Domain"),
        ("list_domain_deliverability_campaigns", "SubscribedDomain"),
    ],
)
def test_no_domain_is_subscribed(v2: Any, operation: str, member: str) -> None:
    call = getattr(v2, operation)
    span = {"StartDate": START, "EndDate": START + timedelta(days=30)}
    assert error(call, **{member: "example.com"}, **span) == (
        "NotFoundException",
        404,
        "Domain <example.com> is not subscribed to the Deliverability dashboard.",
    )
    too_long = {"StartDate": START, "EndDate": START + timedelta(days=31)}
    assert error(call, **{member: "example.com"}, **too_long) == (
        "BadRequestException",
        400,
        "EndDate must be less than or equal to 30 days after StartDate.",
    )
    backwards = {"StartDate": START, "EndDate": START - timedelta(days=1)}
    assert error(call, **{member: "example.com"}, **backwards) == (
        "BadRequestException",
        400,
        "EndDate must be later than or equal to StartDate.",
    )
