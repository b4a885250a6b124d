"""Dedicated IPs and the Deliverability dashboard, answered as an account without them: the
simulated account has no dedicated IPs or pools (every send goes out of SES's shared pool) and
no dashboard subscription, so listings are empty and anything named does not exist
(`NotFoundException`, which the model lists for each of these operations)."""

from __future__ import annotations

from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import NotFound

Params = dict[str, Any]


def no_pool(name: str) -> NotFound:
    return NotFound(f"Dedicated IP pool <{name}> does not exist.")


def _no_ip(ip: str) -> NotFound:
    return NotFound(f"Dedicated IP <{ip}> does not exist.")


async def get_dedicated_ips(ctx: OperationContext, p: Params) -> Params:
    """With a PoolName: that pool does not exist; without: no dedicated IPs."""
    if p.get("PoolName"):
        raise no_pool(p["PoolName"])
    return {"DedicatedIps": []}


async def list_dedicated_ip_pools(ctx: OperationContext, p: Params) -> Params:
    return {"DedicatedIpPools": []}


async def get_dedicated_ip(ctx: OperationContext, p: Params) -> Params:
    raise _no_ip(p["Ip"])


async def put_dedicated_ip_in_pool(ctx: OperationContext, p: Params) -> Params:
    raise _no_ip(p["Ip"])


async def put_dedicated_ip_warmup_attributes(ctx: OperationContext, p: Params) -> Params:
    raise _no_ip(p["Ip"])


async def get_dedicated_ip_pool(ctx: OperationContext, p: Params) -> Params:
    raise no_pool(p["PoolName"])


async def delete_dedicated_ip_pool(ctx: OperationContext, p: Params) -> Params:
    raise no_pool(p["PoolName"])


async def put_dedicated_ip_pool_scaling_attributes(ctx: OperationContext, p: Params) -> Params:
    raise no_pool(p["PoolName"])


async def get_deliverability_dashboard_options(ctx: OperationContext, p: Params) -> Params:
    """ "DashboardEnabled: Specifies whether the Deliverability dashboard is enabled"; it is
    not, and no domains are subscribed."""
    return {
        "DashboardEnabled": False,
        "ActiveSubscribedDomains": [],
        "PendingExpirationSubscribedDomains": [],
    }


async def list_deliverability_test_reports(ctx: OperationContext, p: Params) -> Params:
    return {"DeliverabilityTestReports": []}


async def get_deliverability_test_report(ctx: OperationContext, p: Params) -> Params:
    raise NotFound(f"Deliverability test report <{p['ReportId']}> does not exist.")


async def get_domain_deliverability_campaign(ctx: OperationContext, p: Params) -> Params:
    raise NotFound(f"Campaign <{p['CampaignId']}> does not exist.")
