"""UpdateConfigurationSet (message security options, a partial update), the account's
pricing plan (PutAccountPricingAttributes, GetAccount's PricingAttributes) and delivery mode
(PutAccountDeliveryAttributes, GetAccount's DeliveryAttributes), through boto3 `sesv2`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3

from inbound.api.v2.operations.account import next_month, pricing
from inbound.testing import RunningInbound
from tests.api.v2.conftest import client, error

SMIME = {"SigningScheme": {"SmimeScheme": {"SignatureFormat": "DETACHED"}}}
DEFAULT = {"SigningScheme": {"DefaultScheme": {}}}


def test_update_configuration_set(server: RunningInbound, v2: Any) -> None:
    v2.create_configuration_set(
        ConfigurationSetName="signed", SendingOptions={"SendingEnabled": False}
    )
    v2.update_configuration_set(ConfigurationSetName="signed", MessageSecurityOptions=SMIME)
    found = v2.get_configuration_set(ConfigurationSetName="signed")
    assert found["MessageSecurityOptions"] == SMIME
    assert found["SendingOptions"] == {"SendingEnabled": False}  # left unchanged
    v2.update_configuration_set(ConfigurationSetName="signed")  # nothing given: nothing changes
    assert (
        v2.get_configuration_set(ConfigurationSetName="signed")["MessageSecurityOptions"] == SMIME
    )
    v2.update_configuration_set(ConfigurationSetName="signed", MessageSecurityOptions=DEFAULT)
    assert v2.get_configuration_set(ConfigurationSetName="signed")["MessageSecurityOptions"] == (
        DEFAULT
    )
    assert error(
        v2.update_configuration_set, ConfigurationSetName="none", MessageSecurityOptions=SMIME
    ) == ("NotFoundException", 404, "Configuration set <none> does not exist.")
    raw = client(server, validate=False)  # botocore itself refuses a union of two members
    both = {"SigningScheme": {**SMIME["SigningScheme"], **DEFAULT["SigningScheme"]}}
    for options in (both, {"SigningScheme": {}}):
        code, _, message = error(
            raw.update_configuration_set,
            ConfigurationSetName="signed",
            MessageSecurityOptions=options,
        )
        assert code == "BadRequestException" and "exactly one" in message
        assert error(
            raw.create_configuration_set, ConfigurationSetName="new", MessageSecurityOptions=options
        )[0] == ("BadRequestException")
    assert error(v2.get_configuration_set, ConfigurationSetName="new")[0] == "NotFoundException"


def test_pricing_plan_changes_at_the_next_monthly_cycle(v2: Any) -> None:
    assert v2.get_account()["PricingAttributes"] == {"CurrentPlan": "NONE"}
    v2.put_account_pricing_attributes(Plan="PRO")
    assert v2.get_account()["PricingAttributes"] == {"CurrentPlan": "NONE", "NextPlan": "PRO"}
    v2.put_account_pricing_attributes(Plan="ENTERPRISE")
    assert v2.get_account()["PricingAttributes"]["NextPlan"] == "ENTERPRISE"
    v2.put_account_pricing_attributes(Plan="NONE")  # the current plan: the change is cancelled
    assert v2.get_account()["PricingAttributes"] == {"CurrentPlan": "NONE"}


def test_shared_pool_delivery_mode(server: RunningInbound, v2: Any) -> None:
    assert v2.get_account()["DeliveryAttributes"] == {"SharedPoolDeliveryMode": "REGIONAL"}
    v2.put_account_delivery_attributes(SharedPoolDeliveryMode="GLOBAL")
    assert v2.get_account()["DeliveryAttributes"] == {"SharedPoolDeliveryMode": "GLOBAL"}
    other = boto3.client(  # an account setting of the Region
        "sesv2",
        endpoint_url=server.api_url,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert other.get_account()["DeliveryAttributes"]["SharedPoolDeliveryMode"] == "REGIONAL"
    raw = client(server, validate=False)
    assert error(raw.put_account_delivery_attributes, SharedPoolDeliveryMode="WORLD")[0] == (
        "BadRequestException"
    )
    assert v2.get_account()["DeliveryAttributes"]["SharedPoolDeliveryMode"] == "GLOBAL"


def test_a_scheduled_plan_becomes_current_when_the_cycle_starts() -> None:
    assert next_month(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == datetime(
        2027, 1, 1, tzinfo=UTC
    )
    assert next_month(datetime(2026, 3, 1, tzinfo=UTC)) == datetime(2026, 4, 1, tzinfo=UTC)
    stored = {"CurrentPlan": "NONE", "NextPlan": "PRO", "From": "2026-04-01T00:00:00+00:00"}
    before, at = datetime(2026, 3, 31, 23, 59, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    assert pricing(stored, before) == {"CurrentPlan": "NONE", "NextPlan": "PRO"}
    assert pricing(stored, at) == {"CurrentPlan": "PRO"}
    assert pricing(None, at) == {"CurrentPlan": "NONE"}
