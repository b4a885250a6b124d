"""S/MIME certificates of email identities (SES v2): AssociateEmailIdentityCertificate,
DisassociateEmailIdentityCertificate, ListEmailIdentityCertificates.

"Associates an S/MIME certificate with an email identity. After the certificate is active,
Amazon SES API v2 can add an S/MIME signature to messages that you send from the associated
address when signing is enabled on the configuration set used to send the message. The
certificate is an X.509 certificate that you manage in Certificate Manager (ACM)" (API
reference). The associations are kept in the identity's record, checked as the reference says:

* a domain identity needs a `FromAddress` of the domain or a subdomain; an address identity
  takes none, or itself exactly;
* "Each email address can have only one certificate association" (`AlreadyExistsException`);
* Disassociate "is idempotent": only an unknown identity is `NotFoundException`;
* the ARN is the model's pattern of an ACM certificate (`arn:<partition>:acm:<region>:<account>:
  certificate/<id>`).
The certificate lives in ACM, which this engine does not reach: an association is ACTIVE at
once (as identities verify at once in `auto` mode), has no `CertificateExpiryTime`, and
messages are not S/MIME signed (the private key is ACM's). Texts are UNCONFIRMED.
"""

from __future__ import annotations

import re
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import AlreadyExists, BadRequest
from inbound.api.v2.operations.identities import existing
from inbound.identities import rules as ident
from inbound.identities.rules import Identity
from inbound.sending import configuration as state

Params = dict[str, Any]
ACTIVE = "ACTIVE"
MAX_PAGE = 1000
_ARN = re.compile(r"arn:[\w+=/,.@-]+:acm:[\w+=/,.@-]*:[0-9]+:certificate/[\w+=,.@-]+")


def _from_address(identity: Identity, given: str | None) -> str:
    """The address the association is for."""
    if identity.kind == ident.EMAIL:
        if given is not None and given != identity.name:
            raise BadRequest(
                f"FromAddress {given} must be the email identity {identity.name} itself."
            )
        return identity.name
    if not given:
        raise BadRequest(f"FromAddress is required for the domain identity {identity.name}.")
    domain = ident.domain_of(given)
    if domain != identity.name and not domain.endswith("." + identity.name):
        raise BadRequest(
            f"FromAddress {given} does not belong to the domain {identity.name} or a subdomain."
        )
    return given


async def associate_email_identity_certificate(ctx: OperationContext, p: Params) -> None:
    identity = existing(ctx, p["EmailIdentity"])
    address = _from_address(identity, p.get("FromAddress"))
    arn = p["CertificateArn"]
    if not 20 <= len(arn) <= 2048 or not _ARN.fullmatch(arn):
        raise BadRequest(f"Invalid certificate ARN: {arn}.")
    if address in identity.certificates:
        raise AlreadyExists(f"A certificate is already associated with {address}.")

    def associate(found: Identity) -> Identity:
        return found.replace(certificates={**found.certificates, address: arn})

    await ctx.identities.edit(identity.name, associate)


async def disassociate_email_identity_certificate(ctx: OperationContext, p: Params) -> None:
    identity = existing(ctx, p["EmailIdentity"])
    address = _from_address(identity, p.get("FromAddress"))
    if address in identity.certificates:
        await ctx.identities.edit(
            identity.name,
            lambda found: found.replace(
                certificates={k: v for k, v in found.certificates.items() if k != address}
            ),
        )


async def list_email_identity_certificates(ctx: OperationContext, p: Params) -> Params:
    """In address order, every association ACTIVE (above)."""
    identity = existing(ctx, p["EmailIdentity"])
    size = state.page_size(p.get("PageSize"), MAX_PAGE, MAX_PAGE, "PageSize")
    chosen, token = state.page(sorted(identity.certificates), p.get("NextToken"), size)
    listed = [
        {"FromAddress": a, "Status": ACTIVE, "CertificateArn": identity.certificates[a]}
        for a in chosen
    ]
    return {"Certificates": listed, "NextToken": token}
