"""The account-level suppression list through boto3 `sesv2`: Put/Get/List/Delete
SuppressedDestination and PutAccountSuppressionAttributes with GetAccount, their errors, and the
listing's filters and pages (every entry that matches on exactly one page)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.v2.conftest import client, error


def listed(v2: Any, **filters: Any) -> list[dict[str, Any]]:
    """Every summary the listing gives, following NextToken."""
    found: list[dict[str, Any]] = []
    token: str | None = None
    for _ in range(100):  # a token that never ends the listing fails instead of hanging
        page = v2.list_suppressed_destinations(**filters, **({"NextToken": token} if token else {}))
        found.extend(page["SuppressedDestinationSummaries"])
        token = page.get("NextToken")
        if not token:
            return found
    raise AssertionError(f"the listing did not end: {found[:5]}...")


def test_put_get_delete(v2: Any) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    v2.put_suppressed_destination(EmailAddress="gone@example.net", Reason="BOUNCE")
    got = v2.get_suppressed_destination(EmailAddress="gone@example.net")["SuppressedDestination"]
    assert (got["EmailAddress"], got["Reason"]) == ("gone@example.net", "BOUNCE")
    assert before <= got["LastUpdateTime"] <= datetime.now(UTC) + timedelta(seconds=1)
    assert "Attributes" not in got  # put by hand: no message, no feedback
    v2.put_suppressed_destination(EmailAddress="gone@example.net", Reason="COMPLAINT")
    [summary] = listed(v2)
    assert (summary["EmailAddress"], summary["Reason"]) == ("gone@example.net", "COMPLAINT")
    v2.delete_suppressed_destination(EmailAddress="gone@example.net")
    assert listed(v2) == []
    message = "Email address gone@example.net does not exist on your suppression list."
    assert error(v2.get_suppressed_destination, EmailAddress="gone@example.net") == (
        "NotFoundException",
        404,
        message,
    )
    assert error(v2.delete_suppressed_destination, EmailAddress="gone@example.net") == (
        "NotFoundException",
        404,
        message,
    )


def test_the_domain_is_kept_lower_case_and_the_local_part_as_written(v2: Any) -> None:
    v2.put_suppressed_destination(EmailAddress=" Mixed.Case@Example.NET ", Reason="BOUNCE")
    got = v2.get_suppressed_destination(EmailAddress="Mixed.Case@EXAMPLE.net")
    assert got["SuppressedDestination"]["EmailAddress"] == "Mixed.Case@example.net"
    assert error(v2.get_suppressed_destination, EmailAddress="mixed.case@example.net")[0] == (
        "NotFoundException"
    )
    v2.delete_suppressed_destination(EmailAddress="Mixed.Case@example.NET")
    assert listed(v2) == []


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("no-at-sign", "Missing final '@domain'"),
        ("two@@example.net", "Illegal address"),
        ("Name <named@example.net>", "Illegal address"),
        ("x" * 320 + "@example.net", "Illegal address"),
    ],
)
def test_a_malformed_address_is_a_bad_request(v2: Any, address: str, message: str) -> None:
    assert error(v2.put_suppressed_destination, EmailAddress=address, Reason="BOUNCE") == (
        "BadRequestException",
        400,
        message,
    )
    assert listed(v2) == []


def test_an_unknown_reason_is_a_bad_request(server: Any) -> None:
    raw = client(server, validate=False)
    enum = "Member must satisfy enum value set: [BOUNCE, COMPLAINT]"
    assert error(raw.put_suppressed_destination, EmailAddress="a@example.net", Reason="SPAM") == (
        "BadRequestException",
        400,
        f"1 validation error detected: Value 'SPAM' at 'reason' failed to satisfy constraint: "
        f"{enum}",
    )
    code, status, text = error(raw.list_suppressed_destinations, Reasons=["BOUNCE", "OTHER"])
    assert (code, status) == ("BadRequestException", 400) and "'OTHER' at 'reasons.member'" in text
    code, status, _ = error(raw.put_account_suppression_attributes, SuppressedReasons=["X"])
    assert (code, status) == ("BadRequestException", 400)
    raw.create_configuration_set(ConfigurationSetName="set")
    code, status, _ = error(
        raw.put_configuration_set_suppression_options,
        ConfigurationSetName="set",
        SuppressedReasons=["BOUNCES"],
    )
    assert (code, status) == ("BadRequestException", 400)
    assert "SuppressionOptions" not in raw.get_configuration_set(ConfigurationSetName="set")


def test_listing_errors(v2: Any) -> None:
    assert error(v2.list_suppressed_destinations, NextToken="not-a-token") == (
        "InvalidNextTokenException",
        400,
        "The specified request includes an invalid or expired token.",
    )
    assert error(v2.list_suppressed_destinations, PageSize=0)[:2] == ("BadRequestException", 400)


def test_account_attributes_are_both_reasons_until_changed(v2: Any) -> None:
    """SES: accounts created after November 25, 2019 use the list for both by default."""
    reasons = v2.get_account()["SuppressionAttributes"]["SuppressedReasons"]
    assert reasons == ["BOUNCE", "COMPLAINT"]
    v2.put_account_suppression_attributes(SuppressedReasons=["COMPLAINT"])
    assert v2.get_account()["SuppressionAttributes"] == {"SuppressedReasons": ["COMPLAINT"]}
    v2.put_account_suppression_attributes()
    assert v2.get_account()["SuppressionAttributes"] == {"SuppressedReasons": []}
    v2.put_account_suppression_attributes(SuppressedReasons=["COMPLAINT", "BOUNCE", "BOUNCE"])
    assert v2.get_account()["SuppressionAttributes"] == {
        "SuppressedReasons": ["BOUNCE", "COMPLAINT"]
    }


def test_the_list_survives_a_restart(inbound_factory: Any) -> None:
    server = inbound_factory()
    client(server).put_suppressed_destination(EmailAddress="kept@example.net", Reason="BOUNCE")
    client(server).put_account_suppression_attributes(SuppressedReasons=["BOUNCE"])
    server.stop()
    again = inbound_factory(data_dir=server.settings.data_dir)
    v2 = client(again)
    assert [s["EmailAddress"] for s in listed(v2)] == ["kept@example.net"]
    assert v2.get_account()["SuppressionAttributes"] == {"SuppressedReasons": ["BOUNCE"]}


# ── the listing's filters and pages ─────────────────────────────────────────────────────────
ENTRIES = st.lists(
    st.tuples(
        st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.sampled_from(["BOUNCE", "COMPLAINT"])
    ),
    min_size=0,
    max_size=12,
    unique_by=lambda e: e[0],
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    entries=ENTRIES,
    page=st.integers(1, 5),
    reasons=st.sampled_from([None, ["BOUNCE"], ["COMPLAINT"], ["BOUNCE", "COMPLAINT"]]),
    cut=st.integers(0, 12),
)
def test_every_matching_entry_is_listed_once_across_pages(
    v2: Any, entries: list[tuple[str, str]], page: int, reasons: list[str] | None, cut: int
) -> None:
    for summary in listed(v2):
        v2.delete_suppressed_destination(EmailAddress=summary["EmailAddress"])
    times: dict[str, datetime] = {}
    for local, reason in entries:
        address = f"{local}@example.net"
        v2.put_suppressed_destination(EmailAddress=address, Reason=reason)
        times[address] = v2.get_suppressed_destination(EmailAddress=address)[
            "SuppressedDestination"
        ]["LastUpdateTime"]
        time.sleep(0.002)  # distinct times, so that a cut falls between entries
    ordered = sorted(times, key=lambda a: (times[a], a))
    start = times[ordered[cut]] if cut < len(ordered) else None
    filters: dict[str, Any] = {"PageSize": page}
    if reasons is not None:
        filters["Reasons"] = reasons
    if start is not None:
        filters["StartDate"] = start
    got = [s["EmailAddress"] for s in listed(v2, **filters)]
    wanted = {
        f"{local}@example.net"
        for local, reason in entries
        if (reasons is None or reason in reasons)
        and (start is None or times[f"{local}@example.net"] >= start)
    }
    assert len(got) == len(set(got))  # none twice
    assert set(got) == wanted
    assert got == sorted(got, key=lambda a: (times[a], a))  # in the order they were put
    if start is not None:  # EndDate: before it, StartDate: from it on
        before = {s["EmailAddress"] for s in listed(v2, EndDate=start)}
        assert before == set(ordered[:cut])
