"""Dedicated IP pools through boto3 `sesv2`: CreateDedicatedIpPool makes a pool the other pool
operations, tagging and a configuration set's `SendingPoolName` then find; it holds no IPs."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from inbound.testing import RunningInbound
from tests.api.v2.conftest import error


def test_a_created_pool_is_found_listed_and_deleted(v2: Any) -> None:
    v2.create_dedicated_ip_pool(PoolName="marketing")
    v2.create_dedicated_ip_pool(PoolName="alerts", ScalingMode="MANAGED")
    assert v2.get_dedicated_ip_pool(PoolName="marketing")["DedicatedIpPool"] == {
        "PoolName": "marketing",
        "ScalingMode": "STANDARD",  # "selected by default if no value is specified"
    }
    assert v2.get_dedicated_ip_pool(PoolName="alerts")["DedicatedIpPool"]["ScalingMode"] == (
        "MANAGED"
    )
    assert v2.list_dedicated_ip_pools()["DedicatedIpPools"] == ["alerts", "marketing"]
    assert v2.get_dedicated_ips(PoolName="marketing")["DedicatedIps"] == []  # none leased
    v2.delete_dedicated_ip_pool(PoolName="marketing")
    assert v2.list_dedicated_ip_pools()["DedicatedIpPools"] == ["alerts"]
    assert error(v2.get_dedicated_ip_pool, PoolName="marketing") == (
        "NotFoundException",
        404,
        "Dedicated IP pool <marketing> does not exist.",
    )


def test_a_pool_name_is_taken_once(v2: Any) -> None:
    v2.create_dedicated_ip_pool(PoolName="p1")
    assert error(v2.create_dedicated_ip_pool, PoolName="p1") == (
        "AlreadyExistsException",
        400,
        "Dedicated IP pool <p1> already exists.",
    )


@pytest.mark.parametrize("name", ["Upper", "dot.ted", "x" * 65])
def test_a_pool_name_outside_the_pattern_is_refused(v2: Any, name: str) -> None:
    code, status, message = error(v2.create_dedicated_ip_pool, PoolName=name)
    assert (code, status) == ("BadRequestException", 400)
    assert message.startswith(f"Invalid pool name <{name}>")
    assert v2.list_dedicated_ip_pools()["DedicatedIpPools"] == []


def test_scaling_goes_from_standard_to_managed_only(v2: Any) -> None:
    v2.create_dedicated_ip_pool(PoolName="p1")
    v2.put_dedicated_ip_pool_scaling_attributes(PoolName="p1", ScalingMode="MANAGED")
    assert v2.get_dedicated_ip_pool(PoolName="p1")["DedicatedIpPool"]["ScalingMode"] == "MANAGED"
    assert error(
        v2.put_dedicated_ip_pool_scaling_attributes, PoolName="p1", ScalingMode="STANDARD"
    ) == (
        "BadRequestException",
        400,
        "Dedicated IP pool <p1> cannot change its scaling mode from MANAGED to STANDARD.",
    )


def test_pools_are_paged(v2: Any) -> None:
    for name in ("a", "b", "c"):
        v2.create_dedicated_ip_pool(PoolName=name)
    first = v2.list_dedicated_ip_pools(PageSize=2)
    assert first["DedicatedIpPools"] == ["a", "b"]
    second = v2.list_dedicated_ip_pools(PageSize=2, NextToken=first["NextToken"])
    assert second["DedicatedIpPools"] == ["c"]
    assert "NextToken" not in second


def test_a_configuration_set_sends_through_a_pool_that_exists(v2: Any) -> None:
    options = {"SendingPoolName": "transactional", "TlsPolicy": "REQUIRE"}
    assert error(
        v2.create_configuration_set, ConfigurationSetName="cs", DeliveryOptions=options
    ) == ("NotFoundException", 404, "Dedicated IP pool <transactional> does not exist.")
    v2.create_dedicated_ip_pool(PoolName="transactional")
    v2.create_configuration_set(ConfigurationSetName="cs", DeliveryOptions=options)
    found = v2.get_configuration_set(ConfigurationSetName="cs")["DeliveryOptions"]
    assert found["SendingPoolName"] == "transactional"


def test_pool_tags_are_kept_and_edited(server: RunningInbound, v2: Any) -> None:
    v2.create_dedicated_ip_pool(PoolName="p1", Tags=[{"Key": "team", "Value": "mail"}])
    arn = f"arn:aws:ses:{server.settings.region}:123456789012:dedicated-ip-pool/p1"
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "mail"}]
    v2.tag_resource(ResourceArn=arn, Tags=[{"Key": "tier", "Value": "gold"}])
    v2.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "tier", "Value": "gold"}]


def test_pools_are_kept_per_region(server: RunningInbound, v2: Any) -> None:
    v2.create_dedicated_ip_pool(PoolName="p1")
    elsewhere = boto3.client(
        "sesv2",
        endpoint_url=server.api_url,
        region_name="eu-west-1",  # the Region of the SigV4 scope is the one used
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert elsewhere.list_dedicated_ip_pools()["DedicatedIpPools"] == []
    assert v2.list_dedicated_ip_pools()["DedicatedIpPools"] == ["p1"]
