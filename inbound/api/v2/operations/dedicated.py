"""Dedicated IPs and the Deliverability dashboard, answered as an account without them: the
simulated account leases no dedicated IPs (every send goes out of SES's shared pool) and has
no dashboard subscription, so anything named that is not there does not exist
(`NotFoundException`, which the model lists for each of these operations).

Dedicated IP pools are real: CreateDedicatedIpPool stores one per Region (a store document,
`sending.dedicated-ip-pools`), which Get/List/Delete and PutDedicatedIpPoolScalingAttributes
then work on and a configuration set's `SendingPoolName` may name. A pool holds no IPs: a
STANDARD pool only gets the IPs one moves into it (none are leased here), and a MANAGED pool's
IPs are leased by SES as sending warrants ("The reputation and number of IPs are automatically
managed by Amazon SES"), which this engine does not simulate (docs/behaviour.md).

The dashboard cannot be turned on (its inbox-placement and blacklist data are nothing this
engine can produce): what needs it is `BadRequestException`, and a domain's reports are
`NotFoundException` as for a domain never subscribed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import AlreadyExists, BadRequest, NotFound
from inbound.sending import configuration as state

Params = dict[str, Any]
POOLS = state.DEDICATED_IP_POOLS
MAX_POOLS = 50  # UNCONFIRMED: the quotas page names none; docs/behaviour.md
MAX_POOLS_PAGE = 1000  # as ListEmailIdentities' PageSize
POOL_NAME = re.compile(r"[a-z0-9_-]{1,64}")  # AWS::SES::DedicatedIpPool: ^[a-z0-9_-]{0,64}$


def _no_ip(ip: str) -> NotFound:
    return NotFound(f"Dedicated IP <{ip}> does not exist.")


def check_pool(ctx: OperationContext, name: str) -> Params:
    """The stored pool, or `NotFoundException`."""
    return ctx.sending.get(POOLS, ctx.region, name)


async def create_dedicated_ip_pool(ctx: OperationContext, p: Params) -> None:
    """ScalingMode "STANDARD ... is selected by default if no value is specified"."""
    name = p["PoolName"]
    if POOL_NAME.fullmatch(name) is None:
        raise BadRequest(
            f"Invalid pool name <{name}>: it must contain only lowercase letters, numbers, "
            "underscores and dashes, and 64 characters or fewer."
        )
    body = {"ScalingMode": p.get("ScalingMode") or "STANDARD", "Tags": list(p.get("Tags") or ())}
    await ctx.sending.create(
        POOLS,
        ctx.region,
        name,
        body,
        exists=AlreadyExists(f"Dedicated IP pool <{name}> already exists."),
        limit=MAX_POOLS,
        what="dedicated IP pools",
    )


async def get_dedicated_ips(ctx: OperationContext, p: Params) -> Params:
    """No dedicated IPs, in any pool; a pool named must exist."""
    if p.get("PoolName"):
        check_pool(ctx, p["PoolName"])
    return {"DedicatedIps": []}


async def list_dedicated_ip_pools(ctx: OperationContext, p: Params) -> Params:
    size = state.page_size(p.get("PageSize"), MAX_POOLS_PAGE, MAX_POOLS_PAGE, "PageSize")
    names, token = state.page(
        sorted(ctx.sending.in_region(POOLS, ctx.region)), p.get("NextToken"), size
    )
    return {"DedicatedIpPools": names, "NextToken": token}


async def get_dedicated_ip(ctx: OperationContext, p: Params) -> Params:
    raise _no_ip(p["Ip"])


async def put_dedicated_ip_in_pool(ctx: OperationContext, p: Params) -> Params:
    raise _no_ip(p["Ip"])


async def put_dedicated_ip_warmup_attributes(ctx: OperationContext, p: Params) -> Params:
    raise _no_ip(p["Ip"])


async def get_dedicated_ip_pool(ctx: OperationContext, p: Params) -> Params:
    found = check_pool(ctx, p["PoolName"])
    return {"DedicatedIpPool": {"PoolName": p["PoolName"], "ScalingMode": found["ScalingMode"]}}


async def delete_dedicated_ip_pool(ctx: OperationContext, p: Params) -> None:
    """A pool holds no IPs here, so the rule that a STANDARD pool with IPs cannot be deleted
    never applies."""
    await ctx.sending.delete(POOLS, ctx.region, p["PoolName"], must_exist=True)


async def put_dedicated_ip_pool_scaling_attributes(ctx: OperationContext, p: Params) -> None:
    """STANDARD to MANAGED is allowed; "updating ScalingMode from MANAGED to STANDARD is not
    supported" (AWS::SES::DedicatedIpPool)."""
    async with ctx.sending.editing(POOLS, ctx.region, p["PoolName"]) as found:
        if found["ScalingMode"] == "MANAGED" and p["ScalingMode"] == "STANDARD":
            raise BadRequest(
                f"Dedicated IP pool <{p['PoolName']}> cannot change its scaling mode "
                "from MANAGED to STANDARD."
            )
        found["ScalingMode"] = p["ScalingMode"]


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


# ── the Deliverability dashboard: no subscription ──────────────────────────────────────────
MAX_REPORT_SPAN = timedelta(days=30)  # "less than or equal to 30 days after the StartDate"


def _unavailable() -> BadRequest:
    return BadRequest(
        "The Deliverability dashboard is not enabled for this account. "
        "Use Virtual Deliverability Manager (PutAccountVdmAttributes) instead."
    )


def _not_subscribed(domain: str) -> NotFound:
    return NotFound(f"Domain <{domain}> is not subscribed to the Deliverability dashboard.")


def _report_span(p: Params) -> None:
    """StartDate to EndDate: forward, and at most 30 days."""
    start, end = p["StartDate"], p["EndDate"]
    if end < start:
        raise BadRequest("EndDate must be later than or equal to StartDate.")
    if end - start > MAX_REPORT_SPAN:
        raise BadRequest("EndDate must be less than or equal to 30 days after StartDate.")


async def put_deliverability_dashboard_option(ctx: OperationContext, p: Params) -> None:
    """Turning the dashboard off succeeds (it is off); turning it on, which starts a paid
    subscription, is refused: the dashboard's data (inbox placement panels, blacklists) is
    nothing this engine can produce, and VDM is what SES offers for it now."""
    if p["DashboardEnabled"]:
        raise _unavailable()


async def create_deliverability_test_report(ctx: OperationContext, p: Params) -> Params:
    """A predictive inbox placement test needs the dashboard ("You also gain the ability to
    perform predictive inbox placement tests")."""
    raise _unavailable()


async def get_blacklist_reports(ctx: OperationContext, p: Params) -> Params:
    """ "You can only specify the dedicated IP addresses that you use to send email": the
    account has none, so the first one named does not exist."""
    names = p["BlacklistItemNames"]
    if not names:
        return {"BlacklistReport": {}}
    raise _no_ip(names[0])


async def get_domain_statistics_report(ctx: OperationContext, p: Params) -> Params:
    _report_span(p)
    raise _not_subscribed(p["Domain"])


async def list_domain_deliverability_campaigns(ctx: OperationContext, p: Params) -> Params:
    """ "This data is available for a domain only if you enabled the Deliverability dashboard
    for the domain"."""
    _report_span(p)
    raise _not_subscribed(p["SubscribedDomain"])
