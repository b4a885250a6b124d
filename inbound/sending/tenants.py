"""Tenants (SES API v2): named containers of identities, configuration sets and templates that
send on behalf of one customer, with their own sending status and suppression preferences.
Pure rules over the stored tenant documents; `api/v2/operations/tenants.py` reads and writes
them through `SendingConfiguration` (kind `TENANTS`, key `<region>/<name>`: "Tenants are
region-specific").

A tenant document keeps its resource associations (`Resources`), so deleting a tenant removes
them with it ("When you delete a tenant, its associations with resources are removed, but the
resources themselves are not deleted"), and its reputation entity (`Reputation`: the policy and
the two status records of `GetReputationEntity`).

Sources: the SES Developer Guide, "Tenants" (docs.aws.amazon.com/ses/latest/dg/tenants.html)
and "Using tenant-level suppression lists"; the `sesv2` model's member docs; wording and
formats AWS returns as probed by floci (github.com/floci-io/floci/pull/2644, /pull/2710,
/pull/2743, /pull/2815).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inbound.errors import (
    InvalidParameterValue,
    ResourceNotFound,
    SendingPaused,
    TenantAccessDenied,
)
from inbound.identities.rules import Identity
from inbound.sending import checks
from inbound.sending.configuration import CONFIGURATION_SETS, TEMPLATES, TENANTS
from inbound.timestamps import now_iso

__all__ = ["TENANTS"]

# Limitations: "By default, accounts can create up to 10,000 tenants."
MAX_TENANTS = 10_000
MAX_NAME = 64
_NAME = re.compile(r"[A-Za-z0-9_-]+")

# Resource types a tenant can be associated with, as AWS spells them in ResourceType and in the
# RESOURCE_TYPE filter: the ARN's resource segment (probed, floci pull/2710), not the model's
# EMAIL_IDENTITY-style enum, which AWS refuses as a filter value.
IDENTITY, CONFIGURATION_SET, TEMPLATE = "identity", "configuration-set", "template"
RESOURCE_TYPES = (IDENTITY, CONFIGURATION_SET, TEMPLATE)
DOCUMENT_KINDS = {CONFIGURATION_SET: CONFIGURATION_SETS, TEMPLATE: TEMPLATES}

# Sending status of a reputation entity and of the tenant it is.
ENABLED, DISABLED, REINSTATED = "ENABLED", "DISABLED", "REINSTATED"
SENDING_STATUSES = (ENABLED, DISABLED, REINSTATED)
# "Reputation management policies are Amazon SES-managed (predefined policies). You can select
# from none, standard, and strict policies"; "When you create a tenant, SES automatically
# assigns the Standard reputation policy." The ARN's form is CloudFormation's pattern for
# AWS::SES::Tenant ReputationEntityPolicy.
_POLICY = re.compile(r"arn:[a-z0-9-]+:ses:[a-z0-9-]+:aws:reputation-policy/(none|standard|strict)")
# The cause AWS records for a status set through the API (the guide's EventBridge example).
MANUAL_CAUSE = "Status manually updated."


def check_name(name: str) -> None:
    """TenantName: "up to 64 alphanumeric characters, including letters, numbers, hyphens (-)
    and underscores (_) only" (AWS's texts, floci pull/2644)."""
    if not name.strip():
        raise InvalidParameterValue("TenantName cannot be empty")
    if len(name) > MAX_NAME:
        raise InvalidParameterValue(f"TenantName cannot exceed {MAX_NAME} characters.")
    if _NAME.fullmatch(name) is None:
        raise InvalidParameterValue(
            f"Invalid tenant name <{name}>: only alphanumeric ASCII characters, '_', and '-' "
            "are allowed."
        )


def new_tenant(
    name: str,
    *,
    region: str,
    account_id: str,
    tags: Sequence[Mapping[str, str]],
    suppression: dict[str, Any] | None,
) -> dict[str, Any]:
    """The stored document of a new tenant. TenantId is "tn-" and 30 hex digits, the ARN
    `arn:aws:ses:<region>:<account>:tenant/<name>/<id>` (the guide's examples)."""
    tenant_id = "tn-" + secrets.token_hex(15)
    created = now_iso()
    tenant: dict[str, Any] = {
        "TenantName": name,
        "TenantId": tenant_id,
        "TenantArn": f"arn:aws:ses:{region}:{account_id}:tenant/{name}/{tenant_id}",
        "CreatedTimestamp": created,
        "Tags": [dict(tag) for tag in tags],
        "Resources": [],
        "Reputation": {
            "Policy": f"arn:aws:ses:{region}:aws:reputation-policy/standard",
            "CustomerManagedStatus": {"Status": ENABLED, "LastUpdatedTimestamp": created},
            "AwsSesManagedStatus": {"Status": ENABLED, "LastUpdatedTimestamp": created},
        },
    }
    if suppression is not None:
        tenant["SuppressionAttributes"] = suppression
    return tenant


def sending_status(tenant: Mapping[str, Any]) -> str:
    """SendingStatusAggregate: "If either the customer-managed status or the Amazon SES-managed
    status is DISABLED, the aggregate status will be DISABLED"; a REINSTATED customer status
    lets it send "even if there are active reputation findings"."""
    reputation = tenant["Reputation"]
    statuses = (
        reputation["CustomerManagedStatus"]["Status"],
        reputation["AwsSesManagedStatus"]["Status"],
    )
    if DISABLED in statuses:
        return DISABLED
    return REINSTATED if REINSTATED in statuses else ENABLED


def check_suppression(reasons: list[str] | None, scope: str | None) -> dict[str, Any] | None:
    """SuppressionAttributes as stored, None when neither member is given (the ACCOUNT
    default). "You must provide SuppressionScope and SuppressedReasons together, or set both to
    null"; an empty reason list is a valid setting ("Don't check or record to any suppression
    list"). Texts as AWS answers (floci pull/2743)."""
    if reasons is not None and len(set(reasons)) != len(reasons):
        raise InvalidParameterValue("Each suppressed reason can only be specified at most once")
    if reasons is not None and scope is None:
        raise InvalidParameterValue(
            "SuppressedReasons cannot be specified without SuppressionScope."
            if reasons
            else "SuppressionScope is required when SuppressedReasons are provided. "
            "Valid values are: TENANT, ACCOUNT"
        )
    if reasons is None and scope is not None:
        raise InvalidParameterValue(
            "SuppressionScope cannot be specified without SuppressedReasons."
        )
    return None if reasons is None else {"SuppressedReasons": reasons, "SuppressionScope": scope}


# ── resources ───────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Resource:
    """An identity, configuration set or template named by its ARN."""

    kind: str  # one of RESOURCE_TYPES
    name: str
    arn: str


def resource_arn(region: str, account_id: str, kind: str, name: str) -> str:
    return f"arn:aws:ses:{region}:{account_id}:{kind}/{name}"


def parse_resource(arn: str, *, region: str, account_id: str) -> Resource:
    """A resource ARN of the association operations, checked in the order AWS checks it (not
    an ARN, not SES's, a type tenants cannot hold, another Region, another account)."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        raise InvalidParameterValue("Provided resource identifier is not an SES resource")
    if parts[2] != "ses":
        raise InvalidParameterValue("Provided ARN is not in SES resource ARN format")
    kind, _, name = parts[5].partition("/")
    if kind not in RESOURCE_TYPES:
        raise InvalidParameterValue(f"Unsupported resource type: {kind}")
    if not name:
        raise InvalidParameterValue("Provided resource identifier is not an SES resource")
    if parts[3] != region:
        raise InvalidParameterValue(f"Resource <{arn}> must be in the same region")
    if parts[4] != account_id:
        raise InvalidParameterValue(f"Resource <{arn}> must be in the same account")
    return Resource(kind, name, arn)


def check_resource_type(value: str | None) -> None:
    """The RESOURCE_TYPE filter of ListTenantResources."""
    if value is not None and value not in RESOURCE_TYPES:
        raise InvalidParameterValue(f"Invalid resource type {value} specified.")


def association(tenant: Mapping[str, Any], resource: Resource) -> Mapping[str, Any] | None:
    return next((r for r in tenant["Resources"] if r["ResourceArn"] == resource.arn), None)


def associate(tenant: dict[str, Any], resource: Resource) -> dict[str, Any]:
    """Record the association (the caller checked it is new); returns it."""
    entry = {
        "ResourceArn": resource.arn,
        "ResourceType": resource.kind,
        "ResourceName": resource.name,
        "AssociatedTimestamp": now_iso(),
    }
    tenant["Resources"].append(entry)
    return entry


def bare(address: str) -> str:
    """The address of a source that may have a display name (`Name <a@example.com>`)."""
    return address.rpartition("<")[2].rstrip(">").strip()


def identity_of(address: str, identities: Mapping[str, Any]) -> str | None:
    """The identity a tenant's send uses: the address's own when it has one, else the nearest
    domain's (AWS names the address identity when both exist, floci pull/2815)."""
    labels = address.rpartition("@")[2].lower().split(".")
    candidates = [address, *(".".join(labels[i:]) for i in range(len(labels) - 1))]
    return next((name for name in candidates if name in identities), None)


def tenants_of(tenants: Iterable[Mapping[str, Any]], kind: str, name: str) -> list[Any]:
    """The tenants a resource is associated with, by the time of association (oldest first)."""
    found = [
        (entry["AssociatedTimestamp"], tenant["TenantName"], tenant, entry)
        for tenant in tenants
        for entry in tenant["Resources"]
        if entry["ResourceType"] == kind and entry["ResourceName"] == name
    ]
    return [(tenant, entry) for _, _, tenant, entry in sorted(found, key=lambda f: f[:2])]


def refuse_deleting(tenants: Iterable[Mapping[str, Any]], kind: str, name: str) -> None:
    """ "Any attempt to delete an identity or configuration set that is associated with a tenant
    will fail. You must first remove these associations" (the guide); templates alike. The text
    is AWS's v1 answer (github.com/ekristen/aws-nuke/issues/962); v2 gives it as
    BadRequestException (floci pull/2710)."""
    found = tenants_of(tenants, kind, name)
    if found:
        arn = found[0][1]["ResourceArn"]
        raise InvalidParameterValue(
            f"Cannot delete <{arn}> because it has tenant associations. "
            "Remove all tenant associations and try again."
        )


def check_policy(arn: str) -> None:
    if _POLICY.fullmatch(arn) is None:
        raise InvalidParameterValue(f"Invalid reputation entity policy: {arn}")


# ── sending through a tenant ────────────────────────────────────────────────────────────────
def gate(
    found: Mapping[str, Any] | None,
    name: str,
    *,
    region: str,
    account_id: str,
    identities: Mapping[str, Identity],
    source: str | None,
    configuration_set: str | None,
    template: str | None,
) -> dict[str, str]:
    """A send through tenant `name` (`found`, its document, None when there is none): "The
    email sending operation will only succeed if all referenced resources (identities,
    configuration sets, and templates) are associated with this tenant", and not while the
    tenant's sending is paused ("any attempt to send email using that tenant will fail"). The
    identity is the one the source sends as (the address's own identity when there is one, else
    its domain's), the configuration set the send names or else that identity's default one.
    Returns what the send records of the tenant: its `ses:tenant-name` tag comes from it."""
    if found is None:
        raise ResourceNotFound(f"Tenant {name} for AwsAccountId {account_id} not found.")
    if sending_status(found) == DISABLED:
        raise SendingPaused(f"Email sending is disabled for tenant <{name}>.")
    address = None if source is None else bare(source)
    identity = None if address is None else identity_of(address, identities)
    if configuration_set is None and address is not None:  # the identity's default, if any
        verified = checks.sending_identity(address, identities)
        configuration_set = None if verified is None else verified.configuration_set
    used = {IDENTITY: identity, CONFIGURATION_SET: configuration_set, TEMPLATE: template}
    held = {(r["ResourceType"], r["ResourceName"]) for r in found["Resources"]}
    missing = [
        resource_arn(region, account_id, kind, used_name)
        for kind, used_name in used.items()
        if used_name is not None and (kind, used_name) not in held
    ]
    if missing:
        raise TenantAccessDenied(f"Tenant not associated with resources [{', '.join(missing)}].")
    return {"TenantName": name}
