"""Identities: verification (auto or through DNS), DKIM, MAIL FROM, notifications, policies.

The 21 identity operations of the 2010-12-01 model (query-api.md §2), and the JSON routes
under `/api/identities`. They work on the server's `IdentityBook` (`inbound/identities/book.py`:
the store documents, the verified set, the DNS checks); the pure rules are in
`inbound/identities/rules.py`.

Decisions, with the SES wording they rest on (more in docs/identities.md):

* Names. Domains are case-insensitive (DNS) and stored lower-cased; email addresses are kept
  exactly as given, because AWS says verified email identities are case-sensitive (spec
  receiving.md §1.4, [rePost-554]). An identity ARN is accepted wherever a name is ("You can
  specify an identity by using its name or by using its Amazon Resource Name (ARN)").
* Map keys of Get*Attributes are the names as the caller wrote them; identities that do not
  exist are left out of the map, and the map is always emitted, even empty.
* `[identities] verification = "auto"` (default): an identity is Success as soon as it is
  created. `"dns"`: a domain is Pending until `_amazonses.<domain>` has its token as a TXT
  record, or until its three DKIM CNAMEs are visible ("The domain's verification status also
  changes to Success when it is DKIM verified"), and Failed after 72 hours ("If Amazon SES is
  unable to detect the record within 72 hours ... Failed"). An email address is Pending until
  `POST /api/identities/<address>/confirm` (the click on the link of the verification email)
  and Failed after the link's 24 hours. DNS is asked on every Get*Attributes call for pending
  identities and by a background check every `check_interval` seconds. A lookup that times
  out reports TemporaryFailure.
* Identities in `[identities] verified` are always Success, are listed by ListIdentities, and
  survive DeleteIdentity (which then only drops what the API set on them).
* DeleteIdentity / DeleteVerifiedEmailAddress / DeleteIdentityPolicy of something unknown
  succeed (SES's deletes are idempotent). Set* on an unknown identity is InvalidParameterValue
  "Identity <x> does not exist." (query-api.md §5).
* The policy operations require a verified identity: "This API is for the identity owner
  only. If you have not verified the identity, this API will return an error."
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from inbound.api import pages
from inbound.api.query.operations.context import OperationContext
from inbound.errors import InvalidParameterValue
from inbound.identities import rules as ident
from inbound.identities.book import IdentityBook, utcnow
from inbound.identities.rules import DOMAIN, EMAIL, SUCCESS, Identity
from inbound.records import Listing
from inbound.sending import configuration as state
from inbound.sending import easy_dkim, tenants
from inbound.sending.easy_dkim import DkimKeys

Params = dict[str, Any]
MAX_ITEMS = 1000  # ListIdentities: "Possible values are 1-1000 inclusive."
MAX_LOOKUP = 100  # Get*Attributes: "for up to 100 identities at a time"
TOKEN_PREFIX = "after:"  # ListIdentities' NextToken: base64 of this + the last name returned
MAX_POLICIES = 20  # GetIdentityPolicies: "You can retrieve a maximum of 20 policies at a time."


# ── verification ────────────────────────────────────────────────────────────────────────────
async def verify_email_identity(ctx: OperationContext, p: Params) -> Params:
    await ctx.identities.verify(ident.check_email(p["EmailAddress"]))
    return {}


async def verify_email_address(ctx: OperationContext, p: Params) -> None:
    await ctx.identities.verify(ident.check_email(p["EmailAddress"]))


async def verify_domain_identity(ctx: OperationContext, p: Params) -> Params:
    identity = await ctx.identities.verify(ident.check_domain(p["Domain"]))
    if identity.token is None:  # a configured domain first seen through the API
        identity = await ctx.identities.edit(
            identity.name, lambda i: i.replace(token=ident.verification_token())
        )
    return {"VerificationToken": identity.token}


async def verify_domain_dkim(ctx: OperationContext, p: Params) -> Params:
    """Creates the domain identity too when it does not exist yet (its DKIM verification
    also verifies it); asking again returns the same three tokens."""
    name = ident.check_domain(p["Domain"])
    identities = ctx.identities
    await ctx.identities.verify(name)

    def set_up(identity: Identity) -> Identity:
        if identity.dkim_tokens:
            return identity
        now = utcnow()
        status = identities.initial_status(name)
        return identity.replace(
            token=identity.token or ident.verification_token(),
            dkim_tokens=ident.dkim_tokens(),
            dkim_status=status,
            dkim_started=now.isoformat(),
            status=SUCCESS if status == SUCCESS else identity.status,
        )

    identity = await identities.edit(name, set_up)
    await ctx.sender.dkim.ensure(name)  # the key its signatures use (sending/easy_dkim.py)
    return {"DkimTokens": list(identity.dkim_tokens)}


async def list_identities(ctx: OperationContext, p: Params) -> Params:
    """In name order; NextToken is the opaque last name returned, so pages stay right when
    identities are added or deleted between calls."""
    limit = p.get("MaxItems", MAX_ITEMS)
    if not 1 <= limit <= MAX_ITEMS:
        raise InvalidParameterValue(f"MaxItems must be between 1 and {MAX_ITEMS}.")
    after = _decode_token(p.get("NextToken"))
    kind = p.get("IdentityType")
    names = sorted(
        name
        for name, identity in ctx.identities.all().items()
        if (kind is None or identity.kind == kind) and (after is None or name > after)
    )
    result: Params = {"Identities": names[:limit]}
    if len(names) > limit:
        last = TOKEN_PREFIX + names[limit - 1]
        result["NextToken"] = base64.urlsafe_b64encode(last.encode()).decode()
    return result


def _decode_token(token: str | None) -> str | None:
    if not token:
        return None
    try:
        text = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        text = ""
    if not text.startswith(TOKEN_PREFIX):
        raise InvalidParameterValue(f"Invalid NextToken: {token}")
    return text[len(TOKEN_PREFIX) :]


async def list_verified_email_addresses(ctx: OperationContext, p: Params) -> Params:
    everything = ctx.identities.all()
    emails = sorted(n for n, i in everything.items() if i.kind == EMAIL and i.status == SUCCESS)
    return {"VerifiedEmailAddresses": emails}


async def delete_identity(ctx: OperationContext, p: Params) -> Params:
    """Not while a tenant (of any Region: identities here are the account's) holds it."""
    identities = ctx.identities
    name = ident.canonical(p["Identity"])
    tenants.refuse_deleting(ctx.store.documents(state.TENANTS).values(), tenants.IDENTITY, name)
    async with identities.lock:
        await identities.delete(name)
    return {}


async def delete_verified_email_address(ctx: OperationContext, p: Params) -> None:
    await delete_identity(ctx, {"Identity": p["EmailAddress"]})


async def _lookup(ctx: OperationContext, requested: list[str]) -> dict[str, Identity]:
    """Requested name → identity, for those that exist, after asking DNS about pending ones."""
    if len(requested) > MAX_LOOKUP:
        raise InvalidParameterValue(f"At most {MAX_LOOKUP} identities can be requested at a time.")
    identities = ctx.identities
    await identities.refresh({ident.canonical(n) for n in requested})
    everything = identities.all()
    found = {name: everything.get(ident.canonical(name)) for name in requested}
    return {name: identity for name, identity in found.items() if identity is not None}


async def get_identity_verification_attributes(ctx: OperationContext, p: Params) -> Params:
    attributes = {}
    for name, identity in (await _lookup(ctx, p["Identities"])).items():
        entry: Params = {"VerificationStatus": identity.status}
        if identity.kind == DOMAIN and identity.token:
            entry["VerificationToken"] = identity.token
        attributes[name] = entry
    return {"VerificationAttributes": attributes}


# ── DKIM ────────────────────────────────────────────────────────────────────────────────────
async def get_identity_dkim_attributes(ctx: OperationContext, p: Params) -> Params:
    found = await _lookup(ctx, p["Identities"])
    everything = ctx.identities.all()
    attributes = {}
    for name, identity in found.items():
        domain = ident.dkim_domain(everything, identity)
        tokens = domain.dkim_tokens if domain is not None else ()
        entry: Params = {
            "DkimEnabled": ident.dkim_enabled(identity, domain),
            "DkimVerificationStatus": domain.dkim_status if domain is not None else "NotStarted",
        }
        if tokens:
            entry["DkimTokens"] = list(tokens)
        attributes[name] = entry
    return {"DkimAttributes": attributes}


async def set_identity_dkim_enabled(ctx: OperationContext, p: Params) -> Params:
    """ "For email addresses ... you can only enable DKIM signing if the corresponding domain
    ... has been set up to use Easy DKIM" (SetIdentityDkimEnabled); likewise for a domain."""
    identities = ctx.identities
    enabled = p["DkimEnabled"]

    def change(identity: Identity) -> Identity:
        domain = ident.dkim_domain(identities.all(), identity)
        if enabled and (domain is None or not domain.dkim_tokens):
            raise InvalidParameterValue(
                f"Domain {identity.domain} has not been set up for Easy DKIM "
                "(call VerifyDomainDkim first)."
            )
        return identity.replace(dkim_enabled=enabled)

    await identities.edit(p["Identity"], change)
    return {}


# ── MAIL FROM ───────────────────────────────────────────────────────────────────────────────
async def set_identity_mail_from_domain(ctx: OperationContext, p: Params) -> Params:
    """No MailFromDomain: "A value of null disables the custom MAIL FROM setting"."""
    identities = ctx.identities
    active = ctx.keeper.current_in(ctx.region).active_rule_set
    receiving = frozenset(
        r.lower() for rule in (active.rules if active else ()) for r in rule.recipients
    )
    behavior = p.get("BehaviorOnMXFailure", ident.USE_DEFAULT)

    def change(identity: Identity) -> Identity:
        if not p.get("MailFromDomain"):
            return identity.replace(
                mail_from_domain=None,
                mail_from_status=None,
                mail_from_started=None,
                mail_from_behavior=behavior,
            )
        domain = ident.check_mail_from(identity, p["MailFromDomain"], receiving)
        if domain == identity.mail_from_domain:
            return identity.replace(mail_from_behavior=behavior)
        return identity.replace(
            mail_from_domain=domain,
            mail_from_status=identities.initial_status(domain),
            mail_from_started=utcnow().isoformat(),
            mail_from_behavior=behavior,
        )

    await identities.edit(p["Identity"], change)
    return {}


async def get_identity_mail_from_domain_attributes(ctx: OperationContext, p: Params) -> Params:
    """Without a custom MAIL FROM domain only BehaviorOnMXFailure is reported (what SES
    answers; UNCONFIRMED beyond AWS CLI transcripts)."""
    attributes = {}
    for name, identity in (await _lookup(ctx, p["Identities"])).items():
        entry: Params = {"BehaviorOnMXFailure": identity.mail_from_behavior}
        if identity.mail_from_domain:
            entry["MailFromDomain"] = identity.mail_from_domain
            entry["MailFromDomainStatus"] = identity.mail_from_status
        attributes[name] = entry
    return {"MailFromDomainAttributes": attributes}


# ── notifications ───────────────────────────────────────────────────────────────────────────
def _check_topic(ctx: OperationContext, topic: str) -> None:
    """An SNS topic ARN in the identity's Region (as receipt actions' topics, §8)."""
    if not (topic.startswith(f"arn:aws:sns:{ctx.region}:") and topic.count(":") == 5):
        raise InvalidParameterValue(f"Invalid SNS topic: {topic}")


def _check_forwarding(identity: Identity) -> Identity:
    """ "Unless feedback forwarding is enabled, you must specify Amazon SNS topics for bounce
    and complaint notifications." (SetIdentityNotificationTopic)"""
    if not identity.forwarding and not {"Bounce", "Complaint"} <= set(identity.topics):
        raise InvalidParameterValue(
            "Feedback forwarding must be enabled unless Bounce and Complaint notifications "
            f"are published to SNS topics for identity {identity.name}."
        )
    return identity


async def set_identity_notification_topic(ctx: OperationContext, p: Params) -> Params:
    kind, topic = p["NotificationType"], p.get("SnsTopic")
    if topic:
        _check_topic(ctx, topic)

    def change(identity: Identity) -> Identity:
        topics = {k: v for k, v in identity.topics.items() if k != kind}
        if topic:
            topics[kind] = topic
        return _check_forwarding(identity.replace(topics=topics))

    await ctx.identities.edit(p["Identity"], change)
    return {}


async def set_identity_feedback_forwarding_enabled(ctx: OperationContext, p: Params) -> Params:
    enabled = p["ForwardingEnabled"]
    await ctx.identities.edit(
        p["Identity"], lambda i: _check_forwarding(i.replace(forwarding=enabled))
    )
    return {}


async def set_identity_headers_in_notifications_enabled(ctx: OperationContext, p: Params) -> Params:
    kind, enabled = p["NotificationType"], p["Enabled"]

    def change(identity: Identity) -> Identity:
        headers = identity.headers | {kind} if enabled else identity.headers - {kind}
        return identity.replace(headers=headers)

    await ctx.identities.edit(p["Identity"], change)
    return {}


async def get_identity_notification_attributes(ctx: OperationContext, p: Params) -> Params:
    """Unset topics are left out (the shape marks them required; SES omits them)."""
    attributes = {}
    for name, identity in (await _lookup(ctx, p["Identities"])).items():
        entry: Params = {f"{kind}Topic": topic for kind, topic in identity.topics.items()}
        entry["ForwardingEnabled"] = identity.forwarding
        for kind in ident.NOTIFICATION_TYPES:
            entry[f"HeadersIn{kind}NotificationsEnabled"] = kind in identity.headers
        attributes[name] = entry
    return {"NotificationAttributes": attributes}


# ── sending-authorization policies ──────────────────────────────────────────────────────────
def _owned(identities: IdentityBook, identity: str) -> Identity:
    found = identities.require(identity)
    if found.status != SUCCESS:
        raise InvalidParameterValue(f"Identity {identity} is not verified.")
    return found


async def put_identity_policy(ctx: OperationContext, p: Params) -> Params:
    ident.check_policy_name(p["PolicyName"])
    ident.check_policy(p["Policy"])
    identities = ctx.identities
    _owned(identities, p["Identity"])

    def change(identity: Identity) -> Identity:
        return identity.replace(policies={**identity.policies, p["PolicyName"]: p["Policy"]})

    await identities.edit(p["Identity"], change)
    return {}


async def get_identity_policies(ctx: OperationContext, p: Params) -> Params:
    names = p["PolicyNames"]
    if len(names) > MAX_POLICIES:
        raise InvalidParameterValue(f"You can retrieve at most {MAX_POLICIES} policies at a time.")
    policies = _owned(ctx.identities, p["Identity"]).policies
    return {"Policies": {n: policies[n] for n in names if n in policies}}


async def list_identity_policies(ctx: OperationContext, p: Params) -> Params:
    return {"PolicyNames": sorted(_owned(ctx.identities, p["Identity"]).policies)}


async def delete_identity_policy(ctx: OperationContext, p: Params) -> Params:
    identities = ctx.identities
    _owned(identities, p["Identity"])

    def change(identity: Identity) -> Identity:
        return identity.replace(
            policies={k: v for k, v in identity.policies.items() if k != p["PolicyName"]}
        )

    await identities.edit(p["Identity"], change)
    return {}


# ── JSON routes: the verification link, and a look at the state ─────────────────────────────
def add_routes(app: web.Application, identities: IdentityBook, keys: DkimKeys) -> None:
    """POST /api/identities/{identity}/confirm  click the link of the verification email
    GET  /api/identities                      every identity, as stored
    GET  /api/identities/{identity}/dkim      the DNS record that publishes its DKIM key"""

    async def confirm(request: web.Request) -> web.Response:
        name = ident.canonical(request.match_info["identity"])
        async with identities.lock:
            identity = identities.all().get(name)
            if identity is None:
                return web.json_response({"error": f"no such identity: {name}"}, status=404)
            if identity.kind != EMAIL:
                return web.json_response(
                    {"error": "domains are verified through DNS, not by confirmation"},
                    status=400,
                )
            if identity.status != SUCCESS:
                identity = identity.replace(status=SUCCESS)
                await identities.save(identity)
        return web.json_response({"identity": name, "verificationStatus": identity.status})

    async def listing(request: web.Request) -> web.Response:
        at = pages.window(request)
        everything = identities.all()
        names = sorted(everything)[at.offset : at.offset + at.limit]
        page = Listing((everything[name] for name in names), len(everything))
        return pages.respond(request, at, page, lambda i: pages.camel(i.to_json()))

    async def dkim(request: web.Request) -> web.Response:
        """What a verifier needs: SES publishes the key behind the CNAME
        `<token>._domainkey.<domain>` → `<token>.dkim.amazonses.com`; here it is the TXT
        record to serve at `<token>._domainkey.<domain>` (docs/behaviour.md, "DKIM"). For
        BYODKIM it is the record the user must publish: `<selector>._domainkey.<domain>` with
        the public key of the key they gave."""
        everything = identities.all()
        identity = everything.get(ident.canonical(request.match_info["identity"]))
        domain = None if identity is None else ident.dkim_domain(everything, identity)
        if identity is None or domain is None or not domain.dkim_tokens:
            return web.json_response(
                {"error": "no such identity, or its domain is not set up for Easy DKIM"},
                status=404,
            )
        external = domain.dkim_origin == ident.EXTERNAL  # BYODKIM: the user's key
        if not external:
            await keys.ensure(domain.name)
        selector = domain.dkim_tokens[0]
        return web.json_response(
            {
                "identity": identity.name,
                "domain": domain.name,
                "dkimEnabled": ident.dkim_enabled(identity, domain),
                "dkimVerificationStatus": domain.dkim_status,
                "selector": selector,
                "recordName": easy_dkim.record_name(selector, domain.name),
                "recordType": "TXT",
                "recordValue": keys.txt_record(domain.name, external),
            }
        )

    app.router.add_post("/api/identities/{identity}/confirm", confirm)
    app.router.add_get("/api/identities/{identity}/dkim", dkim)
    app.router.add_get("/api/identities", listing)


Handler = Callable[[OperationContext, Params], Awaitable[Params | None]]

OPERATIONS: dict[str, Handler] = {
    "VerifyEmailIdentity": verify_email_identity,
    "VerifyEmailAddress": verify_email_address,
    "VerifyDomainIdentity": verify_domain_identity,
    "VerifyDomainDkim": verify_domain_dkim,
    "ListIdentities": list_identities,
    "ListVerifiedEmailAddresses": list_verified_email_addresses,
    "DeleteIdentity": delete_identity,
    "DeleteVerifiedEmailAddress": delete_verified_email_address,
    "GetIdentityVerificationAttributes": get_identity_verification_attributes,
    "GetIdentityDkimAttributes": get_identity_dkim_attributes,
    "SetIdentityDkimEnabled": set_identity_dkim_enabled,
    "SetIdentityMailFromDomain": set_identity_mail_from_domain,
    "GetIdentityMailFromDomainAttributes": get_identity_mail_from_domain_attributes,
    "SetIdentityNotificationTopic": set_identity_notification_topic,
    "SetIdentityFeedbackForwardingEnabled": set_identity_feedback_forwarding_enabled,
    "SetIdentityHeadersInNotificationsEnabled": set_identity_headers_in_notifications_enabled,
    "GetIdentityNotificationAttributes": get_identity_notification_attributes,
    "PutIdentityPolicy": put_identity_policy,
    "GetIdentityPolicies": get_identity_policies,
    "ListIdentityPolicies": list_identity_policies,
    "DeleteIdentityPolicy": delete_identity_policy,
}
