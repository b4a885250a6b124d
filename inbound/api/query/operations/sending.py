"""Sending-side configuration: configuration sets and event destinations, tracking,
delivery and reputation options, templates, custom verification templates, account sending,
quotas and statistics (stored, validated and described; sending itself is `send.py`).

The state and its lock are the server's `SendingConfiguration` (`inbound/sending/service.py`);
validation and paging are in `inbound/sending/configuration.py`, the template engine in
`inbound/sending/templates.py`.

Error messages follow SES's `<name>` style ("Configuration set <x> does not exist."); those
AWS does not document are marked UNCONFIRMED there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.errors import (
    AlreadyExists,
    ConfigurationSetAlreadyExists,
    CustomVerificationEmailInvalidContent,
    CustomVerificationEmailTemplateAlreadyExists,
    EventDestinationAlreadyExists,
    EventDestinationDoesNotExist,
    FromEmailAddressNotVerified,
    InvalidConfigurationSet,
    InvalidParameterValue,
    InvalidRenderingParameter,
    InvalidTemplate,
    InvalidTrackingOptions,
    LimitExceeded,
    MissingRenderingAttribute,
    TrackingOptionsAlreadyExists,
    TrackingOptionsDoesNotExist,
)
from inbound.rules.validate import is_verified
from inbound.sending import configuration as state
from inbound.sending import templates, tenants
from inbound.timestamps import now_iso

Params = dict[str, Any]


# ── configuration sets ──────────────────────────────────────────────────────────────────────
def _editing_configuration_set(
    ctx: OperationContext, name: str
) -> contextlib.AbstractAsyncContextManager[dict[str, Any]]:
    return ctx.sending.editing(state.CONFIGURATION_SETS, ctx.region, name)


async def create_configuration_set(ctx: OperationContext, p: Params) -> Params:
    """ConfigurationSet.Name: "Contain only letters (a-z, A-Z), numbers (0-9), underscores (_),
    or dashes (-). Contain 64 characters or fewer." → `InvalidConfigurationSet` ("Indicates
    that the configuration set is invalid"). Limit: 10,000 per account and Region (SES quotas)."""
    name = p["ConfigurationSet"]["Name"]
    if not state.valid_name(name):
        raise InvalidConfigurationSet(
            f"Configuration set <{name}> is invalid: the name must contain only ASCII letters, "
            "numbers, underscores, or dashes, and 64 characters or fewer."
        )
    body = {
        "Name": name,
        "CreatedTimestamp": now_iso(),
        "EventDestinations": [],
        "TrackingOptions": None,
        "DeliveryOptions": None,
        "ReputationOptions": {
            "SendingEnabled": True,  # "The default value is true."
            "ReputationMetricsEnabled": False,  # "The default value is false."
            "LastFreshStart": None,
        },
    }
    await ctx.sending.create(
        state.CONFIGURATION_SETS,
        ctx.region,
        name,
        body,
        exists=ConfigurationSetAlreadyExists(
            f"Configuration set <{name}> already exists.", ConfigurationSetName=name
        ),
        limit=state.MAX_CONFIGURATION_SETS,
        what="configuration sets",
    )
    return {}


def _not_held_by_tenants(ctx: OperationContext, kind: str, name: str) -> None:
    """Tenants (SES API v2) hold resources; one they hold cannot be deleted."""
    tenants.refuse_deleting(ctx.sending.in_region(state.TENANTS, ctx.region).values(), kind, name)


async def delete_configuration_set(ctx: OperationContext, p: Params) -> Params:
    name = p["ConfigurationSetName"]
    _not_held_by_tenants(ctx, tenants.CONFIGURATION_SET, name)
    await ctx.sending.delete(state.CONFIGURATION_SETS, ctx.region, name, must_exist=True)
    return {}


async def describe_configuration_set(ctx: OperationContext, p: Params) -> Params:
    """Only the attributes named in ConfigurationSetAttributeNames ("A list of configuration set
    attributes to return"). Never-set delivery options are described as SES's default
    (`TlsPolicy: Optional`, UNCONFIRMED); absent tracking options are omitted."""
    found = ctx.sending.get(state.CONFIGURATION_SETS, ctx.region, p["ConfigurationSetName"])
    wanted = set(p.get("ConfigurationSetAttributeNames") or ())
    result: Params = {"ConfigurationSet": {"Name": found["Name"]}}
    if "eventDestinations" in wanted:
        result["EventDestinations"] = found["EventDestinations"]
    if "trackingOptions" in wanted and found["TrackingOptions"] is not None:
        result["TrackingOptions"] = found["TrackingOptions"]
    if "deliveryOptions" in wanted:
        result["DeliveryOptions"] = found["DeliveryOptions"] or {"TlsPolicy": "Optional"}
    if "reputationOptions" in wanted:
        reputation = found["ReputationOptions"]
        result["ReputationOptions"] = {k: v for k, v in reputation.items() if v is not None}
    return result


async def list_configuration_sets(ctx: OperationContext, p: Params) -> Params:
    """By name. "This operation returns up to 1,000 configuration sets each time it is run";
    MaxItems ("The number of configuration sets to return") narrows that."""
    names = sorted(ctx.sending.in_region(state.CONFIGURATION_SETS, ctx.region))
    size = state.page_size(
        p.get("MaxItems"),
        state.LIST_CONFIGURATION_SETS_PAGE,
        state.LIST_CONFIGURATION_SETS_PAGE,
        "MaxItems",
    )
    chosen, token = state.page(names, p.get("NextToken"), size)
    result: Params = {"ConfigurationSets": [{"Name": n} for n in chosen]}
    if token:
        result["NextToken"] = token
    return result


# ── event destinations ──────────────────────────────────────────────────────────────────────
def _destination_fields(set_name: str, name: str) -> dict[str, str]:
    return {"ConfigurationSetName": set_name, "EventDestinationName": name}


async def create_configuration_set_event_destination(ctx: OperationContext, p: Params) -> Params:
    """Up to 10 event destinations per configuration set (SES quotas) → `LimitExceeded`."""
    set_name = p["ConfigurationSetName"]
    async with _editing_configuration_set(ctx, set_name) as found:
        dest = state.check_event_destination(set_name, ctx.region, p["EventDestination"])
        name = dest["Name"]
        if any(d["Name"] == name for d in found["EventDestinations"]):
            raise EventDestinationAlreadyExists(
                f"Event destination <{name}> already exists in configuration set <{set_name}>.",
                **_destination_fields(set_name, name),
            )
        if len(found["EventDestinations"]) >= state.MAX_EVENT_DESTINATIONS:
            raise LimitExceeded(
                f"Maximum number of event destinations ({state.MAX_EVENT_DESTINATIONS}) for "
                f"configuration set <{set_name}> reached."
            )
        found["EventDestinations"].append(dest)
    return {}


def _destination_index(found: Params, set_name: str, name: str) -> int:
    for index, dest in enumerate(found["EventDestinations"]):
        if dest["Name"] == name:
            return index
    raise EventDestinationDoesNotExist(
        f"Event destination <{name}> does not exist in configuration set <{set_name}>.",
        **_destination_fields(set_name, name),
    )


async def update_configuration_set_event_destination(ctx: OperationContext, p: Params) -> Params:
    """Replaces the whole destination (a new destination type replaces the old one)."""
    set_name = p["ConfigurationSetName"]
    async with _editing_configuration_set(ctx, set_name) as found:
        index = _destination_index(found, set_name, p["EventDestination"]["Name"])
        found["EventDestinations"][index] = state.check_event_destination(
            set_name, ctx.region, p["EventDestination"]
        )
    return {}


async def delete_configuration_set_event_destination(ctx: OperationContext, p: Params) -> Params:
    set_name = p["ConfigurationSetName"]
    async with _editing_configuration_set(ctx, set_name) as found:
        del found["EventDestinations"][
            _destination_index(found, set_name, p["EventDestinationName"])
        ]
    return {}


# ── tracking, delivery and reputation options ───────────────────────────────────────────────
def check_tracking(ctx: OperationContext, options: Params) -> Params:
    """InvalidTrackingOptions "appears most often in the following situations: When the
    tracking domain you specified is not verified in Amazon SES. When the tracking domain you
    specified is not a valid domain or subdomain." Verified means the domain or a parent
    domain is a verified identity."""
    domain = options.get("CustomRedirectDomain")
    if domain is not None:
        if state.DOMAIN.fullmatch(domain) is None:
            raise InvalidTrackingOptions(f"Invalid custom redirect domain: {domain}")
        if not is_verified(domain, ctx.keeper.current.verified):
            raise InvalidTrackingOptions(
                f"Custom redirect domain <{domain}> is not verified in Amazon SES."
            )
    return dict(options)


async def create_configuration_set_tracking_options(ctx: OperationContext, p: Params) -> Params:
    set_name = p["ConfigurationSetName"]
    async with _editing_configuration_set(ctx, set_name) as found:
        if found["TrackingOptions"] is not None:
            raise TrackingOptionsAlreadyExists(
                f"Tracking options already exist for configuration set <{set_name}>.",
                ConfigurationSetName=set_name,
            )
        found["TrackingOptions"] = check_tracking(ctx, p["TrackingOptions"])
    return {}


def _tracking_missing(set_name: str) -> TrackingOptionsDoesNotExist:
    return TrackingOptionsDoesNotExist(
        f"Tracking options do not exist for configuration set <{set_name}>.",
        ConfigurationSetName=set_name,
    )


async def update_configuration_set_tracking_options(ctx: OperationContext, p: Params) -> Params:
    set_name = p["ConfigurationSetName"]
    async with _editing_configuration_set(ctx, set_name) as found:
        if found["TrackingOptions"] is None:
            raise _tracking_missing(set_name)
        found["TrackingOptions"] = check_tracking(ctx, p["TrackingOptions"])
    return {}


async def delete_configuration_set_tracking_options(ctx: OperationContext, p: Params) -> Params:
    set_name = p["ConfigurationSetName"]
    async with _editing_configuration_set(ctx, set_name) as found:
        if found["TrackingOptions"] is None:
            raise _tracking_missing(set_name)
        found["TrackingOptions"] = None
    return {}


async def put_configuration_set_delivery_options(ctx: OperationContext, p: Params) -> Params:
    """ "Adds or updates the delivery options": TlsPolicy Require/Optional (the enum is checked
    by the codec as a ValidationError, so `InvalidDeliveryOptions` has nothing left to catch
    in the v1 shape). Omitted DeliveryOptions or TlsPolicy mean Optional."""
    set_name = p["ConfigurationSetName"]
    async with _editing_configuration_set(ctx, set_name) as found:
        policy = (p.get("DeliveryOptions") or {}).get("TlsPolicy", "Optional")
        found["DeliveryOptions"] = {"TlsPolicy": policy}
    return {}


async def update_configuration_set_reputation_metrics_enabled(
    ctx: OperationContext, p: Params
) -> None:
    set_name = p["ConfigurationSetName"]
    async with _editing_configuration_set(ctx, set_name) as found:
        found["ReputationOptions"]["ReputationMetricsEnabled"] = p["Enabled"]


async def update_configuration_set_sending_enabled(ctx: OperationContext, p: Params) -> None:
    """ReputationOptions.LastFreshStart: "When you disable email sending for a configuration
    set using UpdateConfigurationSetSendingEnabled and later re-enable it, the reputation
    metrics for the configuration set … are reset." That moment is recorded."""
    set_name = p["ConfigurationSetName"]
    async with _editing_configuration_set(ctx, set_name) as found:
        reputation = found["ReputationOptions"]
        if p["Enabled"] and not reputation["SendingEnabled"]:
            reputation["LastFreshStart"] = now_iso()
        reputation["SendingEnabled"] = p["Enabled"]


# ── email templates ─────────────────────────────────────────────────────────────────────────
def _check_template(template: Params) -> None:
    """Names as configuration sets (alphanumerics, `_`, `-`, ≤ 64: UNCONFIRMED for templates,
    `InvalidParameterValue`); content rules in `sending_templates.check_template`; a template that
    cannot be compiled is `InvalidTemplate` ("the template that you specified could not be
    rendered. This issue may occur when a template refers to a partial that does not exist")."""
    name = template["TemplateName"]
    if not state.valid_name(name):
        raise InvalidParameterValue(
            f"Invalid template name: {name}. The name must contain only ASCII letters, "
            "numbers, underscores, or dashes, and 64 characters or fewer."
        )
    try:
        templates.check_template(template)
    except templates.TemplateSyntaxError as error:
        raise InvalidTemplate(f"Template {name} is invalid: {error}", TemplateName=name) from None


def _template_body(template: Params) -> Params:
    parts = ("TemplateName", "SubjectPart", "TextPart", "HtmlPart")
    return {k: template[k] for k in parts if template.get(k) is not None}


async def create_template(ctx: OperationContext, p: Params) -> Params:
    """Up to 10,000 templates per Region (SES quotas) → `LimitExceeded`."""
    template = p["Template"]
    name = template["TemplateName"]
    _check_template(template)
    body = {"Template": _template_body(template), "CreatedTimestamp": now_iso()}
    await ctx.sending.create(
        state.TEMPLATES,
        ctx.region,
        name,
        body,
        exists=AlreadyExists(f"Template {name} already exists.", Name=name),
        limit=state.MAX_TEMPLATES,
        what="templates",
    )
    return {}


async def update_template(ctx: OperationContext, p: Params) -> Params:
    template = p["Template"]
    name = template["TemplateName"]
    async with ctx.sending.editing(state.TEMPLATES, ctx.region, name) as found:
        _check_template(template)
        found["Template"] = _template_body(template)
    return {}


async def delete_template(ctx: OperationContext, p: Params) -> Params:
    """No modeled errors: deleting a missing template succeeds."""
    _not_held_by_tenants(ctx, tenants.TEMPLATE, p["TemplateName"])
    await ctx.sending.delete(state.TEMPLATES, ctx.region, p["TemplateName"], must_exist=False)
    return {}


async def get_template(ctx: OperationContext, p: Params) -> Params:
    return {"Template": ctx.sending.get(state.TEMPLATES, ctx.region, p["TemplateName"])["Template"]}


async def list_templates(ctx: OperationContext, p: Params) -> Params:
    """By name. MaxItems: "This value must be at least 1 and less than or equal to 100. If more
    than 100 items are requested, the page size will automatically set to 100. If you do not
    specify a value, 10 is the default page size." """
    found = ctx.sending.in_region(state.TEMPLATES, ctx.region)
    size = state.page_size(
        p.get("MaxItems"), state.LIST_TEMPLATES_DEFAULT, state.LIST_TEMPLATES_MAX, "MaxItems"
    )
    chosen, token = state.page(sorted(found), p.get("NextToken"), size)
    metadata = [{"Name": n, "CreatedTimestamp": found[n]["CreatedTimestamp"]} for n in chosen]
    result: Params = {"TemplatesMetadata": metadata}
    if token:
        result["NextToken"] = token
    return result


async def test_render_template(ctx: OperationContext, p: Params) -> Params:
    """TemplateData "is a JSON object" (`InvalidRenderingParameter` "when the TemplateData
    object contains invalid JSON"); every `{{tag}}` needs a value (`MissingRenderingAttribute`,
    with the message SES puts in Rendering Failure events: "Attribute 'x' is not present in the
    rendering data.")."""
    name = p["TemplateName"]
    stored = ctx.sending.get(state.TEMPLATES, ctx.region, name)["Template"]
    try:
        data = templates.parse_template_data(p["TemplateData"])
    except ValueError as error:
        raise InvalidRenderingParameter(
            f"Invalid rendering parameter for template {name}: TemplateData must be a JSON "
            f"object ({error}).",
            TemplateName=name,
        ) from None
    parts = templates.check_template(stored)
    try:
        rendered = templates.render_mime(parts, data, state.now())
    except templates.MissingAttribute as missing:
        raise MissingRenderingAttribute(
            f"Attribute '{missing.path}' is not present in the rendering data.",
            TemplateName=name,
        ) from None
    return {"RenderedTemplate": rendered}


# ── custom verification email templates ─────────────────────────────────────────────────────
VERIFICATION_FIELDS = (
    "TemplateName",
    "FromEmailAddress",
    "TemplateSubject",
    "TemplateContent",
    "SuccessRedirectionURL",
    "FailureRedirectionURL",
)


def _check_verification(ctx: OperationContext, p: Params) -> None:
    """FromEmailAddressNotVerified: "the sender address specified for a custom verification
    email is not verified" (the address or its domain is a verified identity).
    TemplateContent: "The total size of the email must be less than 10 MB" →
    `CustomVerificationEmailInvalidContent` ("provided content is invalid"), as is empty
    content (UNCONFIRMED)."""
    sender = p.get("FromEmailAddress")
    if sender is not None and not (
        "@" in sender and is_verified(sender, ctx.keeper.current.verified)
    ):
        raise FromEmailAddressNotVerified(
            f"From email address <{sender}> is not verified.", FromEmailAddress=sender
        )
    content = p.get("TemplateContent")
    if content is not None:
        if not content.strip():
            raise CustomVerificationEmailInvalidContent("The template content is empty.")
        if len(content.encode()) >= state.MAX_VERIFICATION_CONTENT:
            raise CustomVerificationEmailInvalidContent(
                "The total size of the custom verification email must be less than 10 MB."
            )


async def create_custom_verification_email_template(ctx: OperationContext, p: Params) -> None:
    """Up to 50 custom verification email templates per account (SES quotas)."""
    name = p["TemplateName"]
    if not state.valid_name(name):
        raise InvalidParameterValue(
            f"Invalid template name: {name}. The name must contain only ASCII letters, "
            "numbers, underscores, or dashes, and 64 characters or fewer."
        )
    await ctx.sending.create(
        state.VERIFICATION_TEMPLATES,
        ctx.region,
        name,
        {k: p[k] for k in VERIFICATION_FIELDS},
        exists=CustomVerificationEmailTemplateAlreadyExists(
            f"Custom verification email template <{name}> already exists.",
            CustomVerificationEmailTemplateName=name,
        ),
        check=lambda: _check_verification(ctx, p),
        limit=state.MAX_VERIFICATION_TEMPLATES,
        what="custom verification email templates",
    )


async def update_custom_verification_email_template(ctx: OperationContext, p: Params) -> None:
    """Only the members given change."""
    name = p["TemplateName"]
    async with ctx.sending.editing(state.VERIFICATION_TEMPLATES, ctx.region, name) as found:
        _check_verification(ctx, p)
        found |= {k: p[k] for k in VERIFICATION_FIELDS if p.get(k) is not None}


async def delete_custom_verification_email_template(ctx: OperationContext, p: Params) -> None:
    """No modeled errors: deleting a missing template succeeds."""
    await ctx.sending.delete(
        state.VERIFICATION_TEMPLATES, ctx.region, p["TemplateName"], must_exist=False
    )


async def get_custom_verification_email_template(ctx: OperationContext, p: Params) -> Params:
    found = ctx.sending.get(state.VERIFICATION_TEMPLATES, ctx.region, p["TemplateName"])
    return {k: found[k] for k in VERIFICATION_FIELDS}


async def list_custom_verification_email_templates(ctx: OperationContext, p: Params) -> Params:
    """By name, without TemplateContent. MaxResults: "If you do not specify a value … the
    operation returns up to 50 results" (1 to 50 is enforced by the codec from the model)."""
    found = ctx.sending.in_region(state.VERIFICATION_TEMPLATES, ctx.region)
    size = state.page_size(
        p.get("MaxResults"),
        state.LIST_VERIFICATION_TEMPLATES_MAX,
        state.LIST_VERIFICATION_TEMPLATES_MAX,
        "MaxResults",
    )
    chosen, token = state.page(sorted(found), p.get("NextToken"), size)
    listed = [
        {k: found[n][k] for k in VERIFICATION_FIELDS if k != "TemplateContent"} for n in chosen
    ]
    result: Params = {"CustomVerificationEmailTemplates": listed}
    if token:
        result["NextToken"] = token
    return result


# ── account, quota and statistics ───────────────────────────────────────────────────────────
async def get_account_sending_enabled(ctx: OperationContext, p: Params) -> Params:
    return {"Enabled": ctx.sending.account_sending_enabled(ctx.region)}


async def update_account_sending_enabled(ctx: OperationContext, p: Params) -> None:
    """`Enabled` is optional in the model; omitted reads as false (UNCONFIRMED)."""
    await ctx.sending.set_account_sending_enabled(ctx.region, bool(p.get("Enabled", False)))


async def get_send_quota(ctx: OperationContext, p: Params) -> Params:
    """`[sending] max_24_hour_send` and `max_send_rate` (the sandbox's "maximum of 200 messages
    per 24-hour period" and "maximum of 1 message per second" by default); SentLast24Hours
    counts the recipients sent to in the last 24 hours (DeliveryAttempts)."""
    return ctx.sender.send_quota(ctx.region)


async def get_send_statistics(ctx: OperationContext, p: Params) -> Params:
    """ "The result is a list of data points, representing the last two weeks of sending
    activity. Each data point in the list contains statistics for a 15-minute period": one per
    bucket with activity: DeliveryAttempts counts the recipients of the sent messages (not
    the mailbox simulator's)."""
    found = ctx.sending.statistics(ctx.region)
    return {"SendDataPoints": state.data_points(found, state.now())}


OPERATIONS: dict[str, Callable[[OperationContext, Params], Awaitable[Params | None]]] = {
    "CreateConfigurationSet": create_configuration_set,
    "DeleteConfigurationSet": delete_configuration_set,
    "DescribeConfigurationSet": describe_configuration_set,
    "ListConfigurationSets": list_configuration_sets,
    "CreateConfigurationSetEventDestination": create_configuration_set_event_destination,
    "UpdateConfigurationSetEventDestination": update_configuration_set_event_destination,
    "DeleteConfigurationSetEventDestination": delete_configuration_set_event_destination,
    "CreateConfigurationSetTrackingOptions": create_configuration_set_tracking_options,
    "UpdateConfigurationSetTrackingOptions": update_configuration_set_tracking_options,
    "DeleteConfigurationSetTrackingOptions": delete_configuration_set_tracking_options,
    "PutConfigurationSetDeliveryOptions": put_configuration_set_delivery_options,
    "UpdateConfigurationSetReputationMetricsEnabled": (
        update_configuration_set_reputation_metrics_enabled
    ),
    "UpdateConfigurationSetSendingEnabled": update_configuration_set_sending_enabled,
    "CreateTemplate": create_template,
    "UpdateTemplate": update_template,
    "DeleteTemplate": delete_template,
    "GetTemplate": get_template,
    "ListTemplates": list_templates,
    "TestRenderTemplate": test_render_template,
    "CreateCustomVerificationEmailTemplate": create_custom_verification_email_template,
    "UpdateCustomVerificationEmailTemplate": update_custom_verification_email_template,
    "DeleteCustomVerificationEmailTemplate": delete_custom_verification_email_template,
    "GetCustomVerificationEmailTemplate": get_custom_verification_email_template,
    "ListCustomVerificationEmailTemplates": list_custom_verification_email_templates,
    "GetAccountSendingEnabled": get_account_sending_enabled,
    "UpdateAccountSendingEnabled": update_account_sending_enabled,
    "GetSendQuota": get_send_quota,
    "GetSendStatistics": get_send_statistics,
}
