"""DKIM signing attributes of a domain identity (SES v2): Easy DKIM with a key length, or Bring
Your Own DKIM (BYODKIM) with the user's selector and private key
(PutEmailIdentityDkimSigningAttributes, and CreateEmailIdentity's `DkimSigningAttributes`).

"Used to configure or change the DKIM authentication settings for an email domain identity":
update BYODKIM's selector and key, the Easy DKIM key length, change from no DKIM or from
BYODKIM to Easy DKIM, or from no DKIM or Easy DKIM to BYODKIM (API reference). Here:

* `EXTERNAL` needs `DomainSigningSelector` and `DomainSigningPrivateKey` (the model's patterns:
  a DNS label, base64); the key must be RSA of 1024 to 2048 bits in PKCS #1 or #8 (DG, BYODKIM,
  step 1; `sending/easy_dkim.py` checks it). The selector becomes the identity's one DKIM token
  ("If you configured DKIM authentication for the domain by providing your own public-private
  key pair, then this object contains the selector for the public key", DkimAttributes.Tokens),
  and DNS verification looks for `<selector>._domainkey.<domain>` TXT `p=<public key>`.
* `AWS_SES` on a domain with Easy DKIM records `NextSigningKeyLength` ("The key length of the
  future DKIM key pair to be generated"); on one without (none, or BYODKIM) it sets Easy DKIM
  up again: new tokens and a new key of that length (2048 bits when not given).
* The Deterministic Easy DKIM origins (`AWS_SES_<REGION>`, replicating a parent identity of
  another Region) are refused by name: this engine has one Region's identities.
The error texts are UNCONFIRMED (docs/behaviour.md, "BYODKIM").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import BadRequest
from inbound.identities import rules as ident
from inbound.identities.book import utcnow
from inbound.identities.rules import AWS_SES, EXTERNAL, SUCCESS, Identity
from inbound.sending.easy_dkim import InvalidKey

Params = dict[str, Any]
BITS = {ident.RSA_1024: 1024, ident.RSA_2048: 2048}
# DkimSigningAttributes in the model: DomainSigningSelector and DomainSigningPrivateKey.
_SELECTOR = re.compile(r"^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9]))$")
_PRIVATE_KEY = re.compile(r"^[a-zA-Z0-9+\/]+={0,2}$")


def domain_only(kind: str, name: str) -> None:
    """ "You can only specify this object if the email identity is a domain, as opposed to an
    address." (CreateEmailIdentity)"""
    if kind != ident.DOMAIN:
        raise BadRequest(
            f"DKIM signing attributes can be specified only for a domain identity, not {name}."
        )


async def external_key(ctx: OperationContext, domain: str, attributes: Params) -> tuple[str, str]:
    """(selector, public key) of a BYODKIM request, its key checked and kept."""
    selector = attributes.get("DomainSigningSelector")
    key = attributes.get("DomainSigningPrivateKey")
    if not selector or not key:
        raise BadRequest(
            "DomainSigningSelector and DomainSigningPrivateKey are required for EXTERNAL "
            "signing attributes."
        )
    if len(selector) > 63 or not _SELECTOR.match(selector):
        raise BadRequest(f"Invalid DKIM selector: {selector}.")
    if len(key) > 20480 or not _PRIVATE_KEY.match(key):
        raise BadRequest("Invalid DKIM private key: it must be base64 without line breaks.")
    try:
        public = await ctx.sender.dkim.put_external(domain, key)
    except InvalidKey as error:
        raise BadRequest(f"Invalid DKIM private key: {error}.") from None
    return selector, public


def _restarted(ctx: OperationContext, domain: str) -> Callable[..., Identity]:
    """A change that starts DKIM verification again; a domain whose DKIM is verified is
    verified too ("The domain's verification status also changes to Success when it is DKIM
    verified")."""
    status = ctx.identities.initial_status(domain)
    started = utcnow().isoformat()

    def change(identity: Identity, **changes: Any) -> Identity:
        return identity.replace(
            dkim_status=status,
            dkim_started=started,
            status=SUCCESS if status == SUCCESS else identity.status,
            **changes,
        )

    return change


async def use_external(
    ctx: OperationContext, domain: str, selector: str, public_key: str
) -> Identity:
    """BYODKIM with a key `external_key` took."""
    restarted = _restarted(ctx, domain)
    return await ctx.identities.edit(
        domain,
        lambda i: restarted(
            i, dkim_origin=EXTERNAL, dkim_tokens=(selector,), dkim_public_key=public_key
        ),
    )


async def use_easy(ctx: OperationContext, domain: str, length: str | None) -> Identity:
    """Easy DKIM: the next key length only, when it is set up already; else new tokens and a
    new key."""
    current = ctx.identities.require(domain)
    if current.dkim_origin == AWS_SES and current.dkim_tokens:
        if length is None:
            return current
        return await ctx.identities.edit(domain, lambda i: i.replace(dkim_next_key_length=length))
    chosen = length or ident.RSA_2048
    await ctx.sender.dkim.ensure(domain, BITS[chosen], fresh=True)
    restarted = _restarted(ctx, domain)
    return await ctx.identities.edit(
        domain,
        lambda i: restarted(
            i,
            dkim_origin=AWS_SES,
            dkim_tokens=ident.dkim_tokens(),
            dkim_public_key=None,
            dkim_key_length=chosen,
            dkim_next_key_length=chosen,
        ),
    )


async def configure(
    ctx: OperationContext, domain: str, origin: str, attributes: Params
) -> Identity:
    """PutEmailIdentityDkimSigningAttributes on an existing domain identity."""
    if origin == EXTERNAL:
        selector, public_key = await external_key(ctx, domain, attributes)
        return await use_external(ctx, domain, selector, public_key)
    if origin != AWS_SES:
        raise BadRequest(f"inbound does not support SigningAttributesOrigin {origin}.")
    return await use_easy(ctx, domain, attributes.get("NextSigningKeyLength"))
