"""Sending-authorization policies of an identity: v1's PutIdentityPolicy,
GetIdentityPolicies and DeleteIdentityPolicy on the same identity records, with v2's split of
Put into Create (the name must be new: `AlreadyExistsException`) and Update (it must exist:
`NotFoundException`), and a Delete of a policy that is not there `NotFoundException` too (v2
lists it for the operation; v1's delete succeeds). Policies need a verified identity, as v1's:
"This API is for the identity owner only. If you have not verified the identity, this API will
return an error."
"""

from __future__ import annotations

from typing import Any

from inbound.api.query.operations import identities as v1
from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import AlreadyExists, NotFound
from inbound.api.v2.operations.identities import existing

Params = dict[str, Any]


def _policy_missing(identity: str, name: str) -> NotFound:
    return NotFound(f"Policy <{name}> does not exist for identity <{identity}>.")


def _v1(p: Params) -> Params:
    return {"Identity": p["EmailIdentity"], "PolicyName": p["PolicyName"], "Policy": p["Policy"]}


async def create_email_identity_policy(ctx: OperationContext, p: Params) -> None:
    if p["PolicyName"] in existing(ctx, p["EmailIdentity"]).policies:
        raise AlreadyExists(
            f"Policy <{p['PolicyName']}> already exists for identity <{p['EmailIdentity']}>."
        )
    await v1.put_identity_policy(ctx, _v1(p))


async def update_email_identity_policy(ctx: OperationContext, p: Params) -> None:
    if p["PolicyName"] not in existing(ctx, p["EmailIdentity"]).policies:
        raise _policy_missing(p["EmailIdentity"], p["PolicyName"])
    await v1.put_identity_policy(ctx, _v1(p))


async def delete_email_identity_policy(ctx: OperationContext, p: Params) -> None:
    if p["PolicyName"] not in existing(ctx, p["EmailIdentity"]).policies:
        raise _policy_missing(p["EmailIdentity"], p["PolicyName"])
    await v1.delete_identity_policy(
        ctx, {"Identity": p["EmailIdentity"], "PolicyName": p["PolicyName"]}
    )


async def get_email_identity_policies(ctx: OperationContext, p: Params) -> Params:
    """All of them (v1's Get names at most 20; v2 takes no names)."""
    identity = existing(ctx, p["EmailIdentity"])
    await v1.list_identity_policies(ctx, {"Identity": p["EmailIdentity"]})  # the owner check
    return {"Policies": dict(identity.policies)}
