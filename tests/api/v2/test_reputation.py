"""Reputation entities through boto3 `sesv2`: each tenant is one (type RESOURCE, referenced by
its ARN), with the Standard policy and ENABLED statuses at first; the account's pause of it
(DISABLED) refuses the tenant's sends until it is enabled or reinstated."""

from __future__ import annotations

from typing import Any

from inbound.testing import RunningInbound
from tests.api.v2.conftest import error

SIMPLE = {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}}
TO = {"ToAddresses": ["success@simulator.amazonses.com"]}


def policy(server: RunningInbound, name: str) -> str:
    return f"arn:aws:ses:{server.settings.region}:aws:reputation-policy/{name}"


def test_a_tenant_is_a_reputation_entity(v2: Any, server: RunningInbound) -> None:
    tenant_arn = v2.create_tenant(TenantName="acme")["TenantArn"]
    entity = v2.get_reputation_entity(
        ReputationEntityType="RESOURCE", ReputationEntityReference=tenant_arn
    )["ReputationEntity"]
    assert entity["ReputationEntityReference"] == tenant_arn
    assert entity["ReputationEntityType"] == "RESOURCE"
    assert entity["ReputationManagementPolicy"] == policy(server, "standard")
    assert entity["CustomerManagedStatus"]["Status"] == "ENABLED"
    assert entity["AwsSesManagedStatus"]["Status"] == "ENABLED"
    assert entity["SendingStatusAggregate"] == "ENABLED"
    assert "ReputationImpact" not in entity

    v2.update_reputation_entity_policy(
        ReputationEntityType="RESOURCE",
        ReputationEntityReference=tenant_arn,
        ReputationEntityPolicy=policy(server, "strict"),
    )
    got = v2.get_reputation_entity(
        ReputationEntityType="RESOURCE", ReputationEntityReference=tenant_arn
    )["ReputationEntity"]
    assert got["ReputationManagementPolicy"] == policy(server, "strict")


def test_pausing_a_tenant_refuses_its_sends(v2: Any, server: RunningInbound) -> None:
    tenant_arn = v2.create_tenant(TenantName="acme")["TenantArn"]
    identity = f"arn:aws:ses:{server.settings.region}:{server.settings.account_id}:identity/"
    v2.create_tenant_resource_association(TenantName="acme", ResourceArn=identity + "example.com")

    def send() -> Any:
        return v2.send_email(
            FromEmailAddress="a@example.com", Destination=TO, Content=SIMPLE, TenantName="acme"
        )

    def status(value: str) -> None:
        v2.update_reputation_entity_customer_managed_status(
            ReputationEntityType="RESOURCE",
            ReputationEntityReference=tenant_arn,
            SendingStatus=value,
        )

    status("DISABLED")
    entity = v2.get_reputation_entity(
        ReputationEntityType="RESOURCE", ReputationEntityReference=tenant_arn
    )["ReputationEntity"]
    assert entity["CustomerManagedStatus"]["Status"] == "DISABLED"
    assert entity["CustomerManagedStatus"]["Cause"] == "Status manually updated."
    assert entity["SendingStatusAggregate"] == "DISABLED"
    assert v2.get_tenant(TenantName="acme")["Tenant"]["SendingStatus"] == "DISABLED"
    assert error(send) == (
        "SendingPausedException",
        400,
        "Email sending is disabled for tenant <acme>.",
    )
    paused = v2.list_tenants(Filter={"SENDING_STATUS": "DISABLED"})["Tenants"]
    assert [t["TenantName"] for t in paused] == ["acme"]

    status("REINSTATED")
    assert v2.get_tenant(TenantName="acme")["Tenant"]["SendingStatus"] == "REINSTATED"
    assert send()["MessageId"]
    status("ENABLED")
    assert send()["MessageId"]


def test_listing_filters_and_pages(v2: Any, server: RunningInbound) -> None:
    arns = {name: v2.create_tenant(TenantName=name)["TenantArn"] for name in ("a", "b", "c")}
    v2.update_reputation_entity_customer_managed_status(
        ReputationEntityType="RESOURCE",
        ReputationEntityReference=arns["b"],
        SendingStatus="DISABLED",
    )
    listed = v2.list_reputation_entities()["ReputationEntities"]
    assert [e["ReputationEntityReference"] for e in listed] == sorted(arns.values())
    first = v2.list_reputation_entities(PageSize=2)
    rest = v2.list_reputation_entities(NextToken=first["NextToken"])
    assert first["ReputationEntities"] + rest["ReputationEntities"] == listed

    def refs(**filters: str) -> list[str]:
        found = v2.list_reputation_entities(Filter=filters)["ReputationEntities"]
        return [e["ReputationEntityReference"] for e in found]

    assert refs(SENDING_STATUS="DISABLED") == [arns["b"]]
    assert refs(ENTITY_REFERENCE_PREFIX=arns["c"].rpartition("/")[0]) == [arns["c"]]
    assert refs(ENTITY_TYPE="RESOURCE") == sorted(arns.values())
    assert refs(REPUTATION_IMPACT="HIGH") == []  # no findings here


def test_errors(v2: Any, server: RunningInbound) -> None:
    tenant_arn = v2.create_tenant(TenantName="acme")["TenantArn"]
    unknown = tenant_arn.rpartition("/")[0] + "/tn-000"
    assert error(
        v2.get_reputation_entity, ReputationEntityType="RESOURCE", ReputationEntityReference=unknown
    ) == ("NotFoundException", 404, f"Reputation entity <{unknown}> does not exist.")
    assert error(
        v2.update_reputation_entity_customer_managed_status,
        ReputationEntityType="RESOURCE",
        ReputationEntityReference=unknown,
        SendingStatus="DISABLED",
    ) == ("BadRequestException", 400, f"Reputation entity <{unknown}> does not exist.")
    bad = f"arn:aws:ses:{server.settings.region}:aws:reputation-policy/lenient"
    assert error(
        v2.update_reputation_entity_policy,
        ReputationEntityType="RESOURCE",
        ReputationEntityReference=tenant_arn,
        ReputationEntityPolicy=bad,
    ) == ("BadRequestException", 400, f"Invalid reputation entity policy: {bad}")
    assert error(v2.list_reputation_entities, Filter={"SENDING_STATUS": "PAUSED"})[:2] == (
        "BadRequestException",
        400,
    )
