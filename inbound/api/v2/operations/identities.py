"""Email identities: CreateEmailIdentity, GetEmailIdentity, ListEmailIdentities,
DeleteEmailIdentity, on the server's `IdentityBook`, the one v1's identity operations use: an
identity made through either API is the other's too.

Differences from v1, as SES v2 behaves (docs/api.md, "SES API v2"):
* CreateEmailIdentity of an identity that exists is `AlreadyExistsException` ("Email identity
  <x> already exist.", SES's wording, sic), where v1's Verify* restart verification.
* A domain is created with Easy DKIM set up (v1's VerifyDomainIdentity + VerifyDomainDkim in
  one call): "By default, when you create a domain identity, Amazon SES uses Easy DKIM".
* Get, Delete and the Put*Attributes of an unknown identity are `NotFoundException` (v1's
  DeleteIdentity succeeds, its Set* answer InvalidParameterValue); DKIM signing of an identity
  whose domain has no Easy DKIM is `BadRequestException` "Domain <x> is not verified for DKIM
  signing." (SES v2's text, as probed by floci: github.com/floci-io/floci/pull/723).
* The Put*Attributes members are optional; one left out changes nothing.
* Statuses are v2's upper-case enums (`SUCCESS`, `PENDING`, `NOT_STARTED`, ...).
"""

from __future__ import annotations

from typing import Any

from inbound.api.query.operations import identities as v1
from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import AlreadyExists, BadRequest, NotFound
from inbound.api.v2.operations import dkim
from inbound.identities import rules as ident
from inbound.identities.rules import AWS_SES, DOMAIN, EXTERNAL, SUCCESS, Identity
from inbound.sending import configuration as state

Params = dict[str, Any]
_KINDS = {DOMAIN: "DOMAIN", ident.EMAIL: "EMAIL_ADDRESS"}
_STATUSES = {
    ident.PENDING: "PENDING",
    ident.SUCCESS: "SUCCESS",
    ident.FAILED: "FAILED",
    ident.TEMPORARY_FAILURE: "TEMPORARY_FAILURE",
    ident.NOT_STARTED: "NOT_STARTED",
}
_BEHAVIORS = {ident.USE_DEFAULT: "USE_DEFAULT_VALUE", "RejectMessage": "REJECT_MESSAGE"}
MAX_PAGE = 1000  # PageSize: "at least 0, and can be no more than 1000"


def _missing(name: str) -> NotFound:
    return NotFound(f"Email identity <{name}> does not exist.")


async def create_email_identity(ctx: OperationContext, p: Params) -> Params:
    """A domain gets Easy DKIM, or what `DkimSigningAttributes` asks: BYODKIM when it has a
    selector and a private key (the DG's example gives just those two) or says `EXTERNAL`, else
    Easy DKIM with its `NextSigningKeyLength`; a `DomainSigningAttributesOrigin` naming a Region
    to replicate from (Deterministic Easy DKIM) is refused by name. The BYODKIM key is checked
    before anything is created, and so is the default configuration set: "The
    configuration set must be created first before associating it with an identity" (DG,
    "Understanding default configuration sets")."""
    given = p["EmailIdentity"]
    default_set = p.get("ConfigurationSetName")
    if default_set:
        ctx.sending.get(state.CONFIGURATION_SETS, ctx.region, default_set)
    kind = ident.kind_of(ident.canonical(given))
    name = ident.check_email(given) if kind == ident.EMAIL else ident.check_domain(given)
    if name in ctx.identities.all():
        raise AlreadyExists(f"Email identity {given} already exist.")
    attributes = p.get("DkimSigningAttributes")
    if attributes is not None:
        dkim.domain_only(kind, given)
    tags = {t["Key"]: t["Value"] for t in p.get("Tags") or ()}
    if kind == ident.EMAIL:
        await v1.verify_email_identity(ctx, {"EmailAddress": name})
    elif attributes is None:
        await v1.verify_domain_dkim(ctx, {"Domain": name})
    else:
        await _create_with_dkim(ctx, name, attributes)
    if tags or default_set:
        await ctx.identities.edit(
            name, lambda i: i.replace(tags=tags or i.tags, configuration_set=default_set or None)
        )
    everything = ctx.identities.all()
    identity = everything[name]
    return {
        "IdentityType": _KINDS[identity.kind],
        "VerifiedForSendingStatus": identity.status == SUCCESS,
        "DkimAttributes": _dkim(everything, identity),
    }


async def _create_with_dkim(ctx: OperationContext, name: str, attributes: Params) -> None:
    """BYODKIM when the attributes have a selector or a key, else Easy DKIM of their
    `NextSigningKeyLength`; a BYODKIM key is checked before the identity exists."""
    origin = attributes.get("DomainSigningAttributesOrigin")
    if origin not in (None, AWS_SES, EXTERNAL):
        raise BadRequest(f"inbound does not support DomainSigningAttributesOrigin {origin}.")
    given = attributes.get("DomainSigningSelector") or attributes.get("DomainSigningPrivateKey")
    if origin == EXTERNAL or (origin is None and given):
        selector, public_key = await dkim.external_key(ctx, name, attributes)
        await v1.verify_domain_identity(ctx, {"Domain": name})
        await dkim.use_external(ctx, name, selector, public_key)
    else:
        await v1.verify_domain_identity(ctx, {"Domain": name})
        await dkim.use_easy(ctx, name, attributes.get("NextSigningKeyLength"))


def _dkim(everything: dict[str, Identity], identity: Identity) -> Params:
    """An address reports its domain's DKIM setup, as v1's GetIdentityDkimAttributes. The key
    lengths are Easy DKIM's ("[Easy DKIM] The key length of the DKIM key pair in use"); BYODKIM
    reports its selector as the one token."""
    domain = ident.dkim_domain(everything, identity)
    origin = domain.dkim_origin if domain is not None else AWS_SES
    attributes: Params = {
        "SigningEnabled": ident.dkim_enabled(identity, domain),
        "Status": "NOT_STARTED",
        "SigningAttributesOrigin": origin,
    }
    if origin == AWS_SES:
        attributes["NextSigningKeyLength"] = (
            domain.dkim_next_key_length if domain is not None else ident.RSA_2048
        )
    if domain is not None and domain.dkim_tokens:
        attributes["Status"] = _STATUSES[domain.dkim_status]
        attributes["Tokens"] = list(domain.dkim_tokens)
        if origin == AWS_SES:
            attributes["CurrentSigningKeyLength"] = domain.dkim_key_length
            if domain.dkim_started:
                attributes["LastKeyGenerationTimestamp"] = domain.dkim_started
    return attributes


async def get_email_identity(ctx: OperationContext, p: Params) -> Params:
    """Pending identities are checked against DNS first, as v1's Get*Attributes do."""
    name = ident.canonical(p["EmailIdentity"])
    await ctx.identities.refresh({name})
    everything = ctx.identities.all()
    identity = everything.get(name)
    if identity is None:
        raise _missing(p["EmailIdentity"])
    mail_from: Params = {"BehaviorOnMxFailure": _BEHAVIORS[identity.mail_from_behavior]}
    if identity.mail_from_domain:
        mail_from["MailFromDomain"] = identity.mail_from_domain
        mail_from["MailFromDomainStatus"] = _STATUSES[identity.mail_from_status or ident.PENDING]
    return {
        "IdentityType": _KINDS[identity.kind],
        "FeedbackForwardingStatus": identity.forwarding,
        "VerifiedForSendingStatus": identity.status == SUCCESS,
        "DkimAttributes": _dkim(everything, identity),
        "MailFromAttributes": mail_from,
        "Policies": dict(identity.policies),
        "Tags": [{"Key": k, "Value": v} for k, v in identity.tags.items()],
        "ConfigurationSetName": identity.configuration_set,
        "VerificationStatus": _STATUSES[identity.status],
    }


async def list_email_identities(ctx: OperationContext, p: Params) -> Params:
    """In name order, 1000 a page unless PageSize says fewer; the `Filter` map of the newest
    model (by tenant) filters nothing here, as an account without tenants."""
    size = state.page_size(p.get("PageSize"), MAX_PAGE, MAX_PAGE, "PageSize")
    everything = ctx.identities.all()
    chosen, token = state.page(sorted(everything), p.get("NextToken"), size)
    listed = [
        {
            "IdentityType": _KINDS[everything[name].kind],
            "IdentityName": name,
            "SendingEnabled": everything[name].status == SUCCESS,
            "VerificationStatus": _STATUSES[everything[name].status],
        }
        for name in chosen
    ]
    return {"EmailIdentities": listed, "NextToken": token}


def existing(ctx: OperationContext, given: str) -> Identity:
    """The identity, or v2's NotFoundException."""
    identity = ctx.identities.get(given)
    if identity is None:
        raise _missing(given)
    return identity


async def delete_email_identity(ctx: OperationContext, p: Params) -> None:
    existing(ctx, p["EmailIdentity"])
    await v1.delete_identity(ctx, {"Identity": p["EmailIdentity"]})


# ── attributes: v1's Set* operations ────────────────────────────────────────────────────────
async def put_email_identity_dkim_attributes(ctx: OperationContext, p: Params) -> None:
    given = p["EmailIdentity"]
    identity = ctx.identities.get(given)
    domain = None if identity is None else ident.dkim_domain(ctx.identities.all(), identity)
    if domain is None or not domain.dkim_tokens:
        name = ident.domain_of(ident.canonical(given))
        raise BadRequest(f"Domain {name} is not verified for DKIM signing.")
    if "SigningEnabled" in p:
        await v1.set_identity_dkim_enabled(
            ctx, {"Identity": given, "DkimEnabled": p["SigningEnabled"]}
        )


async def put_email_identity_dkim_signing_attributes(ctx: OperationContext, p: Params) -> Params:
    """BYODKIM or Easy DKIM for a domain (`dkim.py`); the answer is the DKIM status and tokens
    (BYODKIM: the selector) it has now."""
    identity = existing(ctx, p["EmailIdentity"])
    dkim.domain_only(identity.kind, p["EmailIdentity"])
    configured = await dkim.configure(
        ctx, identity.name, p["SigningAttributesOrigin"], p.get("SigningAttributes") or {}
    )
    return {
        "DkimStatus": _STATUSES[configured.dkim_status],
        "DkimTokens": list(configured.dkim_tokens),
    }


async def put_email_identity_configuration_set_attributes(ctx: OperationContext, p: Params) -> None:
    """The identity's default configuration set; without `ConfigurationSetName` it has none
    ("To remove a default configuration set": the same command without the member, DG, "Edit
    an identity to use a default configuration set using the SES API"). The set must exist."""
    existing(ctx, p["EmailIdentity"])
    name = p.get("ConfigurationSetName") or None
    if name is not None:
        ctx.sending.get(state.CONFIGURATION_SETS, ctx.region, name)
    await ctx.identities.edit(p["EmailIdentity"], lambda i: i.replace(configuration_set=name))


async def put_email_identity_feedback_attributes(ctx: OperationContext, p: Params) -> None:
    existing(ctx, p["EmailIdentity"])
    if "EmailForwardingEnabled" in p:
        await v1.set_identity_feedback_forwarding_enabled(
            ctx, {"Identity": p["EmailIdentity"], "ForwardingEnabled": p["EmailForwardingEnabled"]}
        )


async def put_email_identity_mail_from_attributes(ctx: OperationContext, p: Params) -> None:
    """No MailFromDomain turns the custom MAIL FROM domain off, as v1's."""
    existing(ctx, p["EmailIdentity"])
    behavior = {v: k for k, v in _BEHAVIORS.items()}[
        p.get("BehaviorOnMxFailure", "USE_DEFAULT_VALUE")
    ]
    await v1.set_identity_mail_from_domain(
        ctx,
        {
            "Identity": p["EmailIdentity"],
            "MailFromDomain": p.get("MailFromDomain"),
            "BehaviorOnMXFailure": behavior,
        },
    )
