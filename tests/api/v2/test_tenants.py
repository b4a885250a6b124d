"""Tenants through boto3 `sesv2` against a running server: create, get, list (filters and
pages), delete; resource associations both ways and the deletes they block (v1 and v2); tags
and suppression attributes of a tenant."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from inbound.testing import RunningInbound
from tests.api.v2.conftest import client, error


def arn(server: RunningInbound, kind: str, name: str) -> str:
    return f"arn:aws:ses:{server.settings.region}:{server.settings.account_id}:{kind}/{name}"


def test_create_get_list_delete(v2: Any, server: RunningInbound) -> None:
    created = v2.create_tenant(TenantName="acme", Tags=[{"Key": "team", "Value": "a"}])
    tenant_id = created["TenantId"]
    assert re.fullmatch(r"tn-[0-9a-f]{30}", tenant_id)
    region, account = server.settings.region, server.settings.account_id
    assert created["TenantArn"] == f"arn:aws:ses:{region}:{account}:tenant/acme/{tenant_id}"
    assert created["SendingStatus"] == "ENABLED"
    assert created["Tags"] == [{"Key": "team", "Value": "a"}]
    assert "SuppressionAttributes" not in created

    got = v2.get_tenant(TenantName="acme")["Tenant"]
    assert {k: got[k] for k in ("TenantName", "TenantId", "TenantArn", "SendingStatus")} == {
        k: created[k] for k in ("TenantName", "TenantId", "TenantArn", "SendingStatus")
    }
    assert got["CreatedTimestamp"] == created["CreatedTimestamp"]

    listed = v2.list_tenants()["Tenants"]
    assert [t["TenantName"] for t in listed] == ["acme"]
    assert listed[0]["TenantId"] == tenant_id and "Tags" not in listed[0]

    v2.delete_tenant(TenantName="acme")
    assert v2.list_tenants()["Tenants"] == []
    assert error(v2.get_tenant, TenantName="acme") == (
        "NotFoundException",
        404,
        "The requested tenant <acme> does not exist.",
    )


def test_creation_errors(v2: Any, server: RunningInbound) -> None:
    v2.create_tenant(TenantName="acme")
    assert error(v2.create_tenant, TenantName="acme") == (
        "AlreadyExistsException",
        400,
        f"Tenant with name acme already exists in account {server.settings.account_id}",
    )
    assert error(v2.create_tenant, TenantName="x" * 65) == (
        "BadRequestException",
        400,
        "TenantName cannot exceed 64 characters.",
    )
    assert error(v2.create_tenant, TenantName="a b") == (
        "BadRequestException",
        400,
        "Invalid tenant name <a b>: only alphanumeric ASCII characters, '_', and '-' are allowed.",
    )
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert error(v2.create_tenant, TenantName="many", Tags=tags)[0] == "BadRequestException"
    for missing in (v2.get_tenant, v2.delete_tenant):
        assert error(missing, TenantName="nobody")[:2] == ("NotFoundException", 404)


def test_list_filters_and_pages(v2: Any) -> None:
    names = [f"t{i:02}" for i in range(7)] + ["other"]
    for name in names:
        v2.create_tenant(TenantName=name)
    seen, token = [], None
    while True:
        page = v2.list_tenants(PageSize=3, **({"NextToken": token} if token else {}))
        assert len(page["Tenants"]) <= 3
        seen += [t["TenantName"] for t in page["Tenants"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == sorted(names)
    contains = v2.list_tenants(Filter={"TENANT_NAME_CONTAINS": "t0"})["Tenants"]
    assert [t["TenantName"] for t in contains] == [f"t{i:02}" for i in range(7)]
    disabled = v2.list_tenants(Filter={"SENDING_STATUS": "DISABLED"})["Tenants"]
    assert disabled == []
    enabled = v2.list_tenants(Filter={"SENDING_STATUS": "ENABLED"})["Tenants"]
    assert len(enabled) == len(names)
    assert error(v2.list_tenants, NextToken="not-a-token")[0] == "BadRequestException"


def test_suppression_attributes(v2: Any) -> None:
    created = v2.create_tenant(
        TenantName="acme",
        SuppressionAttributes={"SuppressedReasons": ["BOUNCE"], "SuppressionScope": "TENANT"},
    )
    wanted = {"SuppressedReasons": ["BOUNCE"], "SuppressionScope": "TENANT"}
    assert created["SuppressionAttributes"] == wanted
    v2.put_tenant_suppression_attributes(
        TenantName="acme", SuppressedReasons=[], SuppressionScope="ACCOUNT"
    )
    assert v2.get_tenant(TenantName="acme")["Tenant"]["SuppressionAttributes"] == {
        "SuppressedReasons": [],
        "SuppressionScope": "ACCOUNT",
    }
    v2.put_tenant_suppression_attributes(TenantName="acme")  # neither: cleared
    assert "SuppressionAttributes" not in v2.get_tenant(TenantName="acme")["Tenant"]

    put = v2.put_tenant_suppression_attributes
    assert error(put, TenantName="acme", SuppressedReasons=["BOUNCE"]) == (
        "BadRequestException",
        400,
        "SuppressedReasons cannot be specified without SuppressionScope.",
    )
    assert error(put, TenantName="acme", SuppressionScope="TENANT") == (
        "BadRequestException",
        400,
        "SuppressionScope cannot be specified without SuppressedReasons.",
    )
    assert error(
        put, TenantName="acme", SuppressedReasons=["BOUNCE", "BOUNCE"], SuppressionScope="TENANT"
    )[2] == ("Each suppressed reason can only be specified at most once")
    assert error(put, TenantName="nobody")[:2] == ("NotFoundException", 404)


def test_tags_of_a_tenant(v2: Any, server: RunningInbound) -> None:
    tenant_arn = v2.create_tenant(TenantName="acme")["TenantArn"]
    v2.tag_resource(ResourceArn=tenant_arn, Tags=[{"Key": "a", "Value": "1"}])
    assert v2.get_tenant(TenantName="acme")["Tenant"]["Tags"] == [{"Key": "a", "Value": "1"}]
    assert v2.list_tags_for_resource(ResourceArn=tenant_arn)["Tags"] == [{"Key": "a", "Value": "1"}]
    # AWS finds the tenant by the ARN's id alone.
    tenant_id = tenant_arn.rpartition("/")[2]
    other_name = arn(server, "tenant", f"renamed/{tenant_id}")
    v2.untag_resource(ResourceArn=other_name, TagKeys=["a"])
    assert v2.list_tags_for_resource(ResourceArn=tenant_arn)["Tags"] == []
    unknown = arn(server, "tenant", "acme/tn-000")
    assert error(v2.list_tags_for_resource, ResourceArn=unknown) == (
        "NotFoundException",
        404,
        "No Tenant present with name: acmewith tenantId: tn-000",
    )


# ── resource associations ───────────────────────────────────────────────────────────────────
@pytest.fixture
def resources(v2: Any, server: RunningInbound) -> dict[str, str]:
    """A tenant and three resources it may hold, by kind → ARN."""
    v2.create_tenant(TenantName="acme")
    v2.create_configuration_set(ConfigurationSetName="cs")
    v2.create_email_template(
        TemplateName="tpl", TemplateContent={"Subject": "s", "Text": "t {{name}}"}
    )
    return {
        "identity": arn(server, "identity", "example.com"),
        "configuration-set": arn(server, "configuration-set", "cs"),
        "template": arn(server, "template", "tpl"),
    }


def test_associations_both_ways(v2: Any, resources: dict[str, str]) -> None:
    for resource in resources.values():
        v2.create_tenant_resource_association(TenantName="acme", ResourceArn=resource)
    v2.create_tenant(TenantName="beta")
    v2.create_tenant_resource_association(TenantName="beta", ResourceArn=resources["identity"])

    held = v2.list_tenant_resources(TenantName="acme")["TenantResources"]
    assert held == sorted(
        ({"ResourceType": kind, "ResourceArn": a} for kind, a in resources.items()),
        key=lambda r: r["ResourceArn"],
    )
    only = v2.list_tenant_resources(TenantName="acme", Filter={"RESOURCE_TYPE": "template"})
    assert only["TenantResources"] == [
        {"ResourceType": "template", "ResourceArn": resources["template"]}
    ]
    first = v2.list_tenant_resources(TenantName="acme", PageSize=2)
    rest = v2.list_tenant_resources(TenantName="acme", NextToken=first["NextToken"])
    assert first["TenantResources"] + rest["TenantResources"] == held
    assert "NextToken" not in rest

    holders = v2.list_resource_tenants(ResourceArn=resources["identity"])["ResourceTenants"]
    assert [t["TenantName"] for t in holders] == ["acme", "beta"]  # oldest association first
    assert holders[0]["ResourceArn"] == resources["identity"]
    assert holders[0]["TenantId"] == v2.get_tenant(TenantName="acme")["Tenant"]["TenantId"]
    assert holders[0]["AssociatedTimestamp"] <= holders[1]["AssociatedTimestamp"]
    paged = v2.list_resource_tenants(ResourceArn=resources["identity"], PageSize=1)
    assert [t["TenantName"] for t in paged["ResourceTenants"]] == ["acme"]

    v2.delete_tenant_resource_association(TenantName="acme", ResourceArn=resources["template"])
    v2.delete_tenant_resource_association(TenantName="acme", ResourceArn=resources["template"])
    assert len(v2.list_tenant_resources(TenantName="acme")["TenantResources"]) == 2

    v2.delete_tenant(TenantName="acme")  # its associations go with it
    holders = v2.list_resource_tenants(ResourceArn=resources["identity"])["ResourceTenants"]
    assert [t["TenantName"] for t in holders] == ["beta"]
    unheld = v2.list_resource_tenants(ResourceArn=resources["configuration-set"])
    assert unheld["ResourceTenants"] == []


def test_association_errors(v2: Any, server: RunningInbound, resources: dict[str, str]) -> None:
    create = v2.create_tenant_resource_association
    create(TenantName="acme", ResourceArn=resources["configuration-set"])
    assert error(create, TenantName="acme", ResourceArn=resources["configuration-set"]) == (
        "AlreadyExistsException",
        400,
        f"Resources {resources['configuration-set']} has already been associated with tenant acme",
    )
    assert error(create, TenantName="nobody", ResourceArn=resources["template"])[:2] == (
        "NotFoundException",
        404,
    )
    region, account = server.settings.region, server.settings.account_id
    for bad, message in [
        ("not-an-arn", "Provided resource identifier is not an SES resource"),
        (f"arn:aws:sns:{region}:{account}:topic", "Provided ARN is not in SES resource ARN format"),
        (f"arn:aws:ses:{region}:{account}:dedicated-ip-pool/p", "Unsupported resource type: "
         "dedicated-ip-pool"),
        (f"arn:aws:ses:eu-west-3:{account}:template/tpl",
         f"Resource <arn:aws:ses:eu-west-3:{account}:template/tpl> must be in the same region"),
        (f"arn:aws:ses:{region}:999999999999:template/tpl",
         f"Resource <arn:aws:ses:{region}:999999999999:template/tpl> must be in the same "
         "account"),
    ]:  # fmt: skip
        assert error(create, TenantName="acme", ResourceArn=bad) == (
            "BadRequestException",
            400,
            message,
        )
    missing = [("identity", "nobody.example"), ("template", "no"), ("configuration-set", "no")]
    for kind, name in missing:
        assert error(create, TenantName="acme", ResourceArn=arn(server, kind, name))[:2] == (
            "NotFoundException",
            404,
        )
    assert error(
        v2.list_tenant_resources, TenantName="acme", Filter={"RESOURCE_TYPE": "EMAIL_IDENTITY"}
    ) == ("BadRequestException", 400, "Invalid resource type EMAIL_IDENTITY specified.")
    assert error(v2.list_tenant_resources, TenantName="nobody")[:2] == ("NotFoundException", 404)


def test_a_held_resource_cannot_be_deleted(
    v2: Any, server: RunningInbound, resources: dict[str, str]
) -> None:
    v1 = client(server, "ses")
    v2.create_email_identity(EmailIdentity="held.example")
    held = arn(server, "identity", "held.example")
    for resource in [*resources.values(), held]:
        v2.create_tenant_resource_association(TenantName="acme", ResourceArn=resource)

    def refused(resource: str) -> str:
        return (
            f"Cannot delete <{resource}> because it has tenant associations. Remove all "
            "tenant associations and try again."
        )

    assert error(v2.delete_email_identity, EmailIdentity="held.example") == (
        "BadRequestException",
        400,
        refused(held),
    )
    assert error(v1.delete_identity, Identity="held.example") == (
        "InvalidParameterValue",
        400,
        refused(held),
    )
    assert error(v2.delete_configuration_set, ConfigurationSetName="cs")[2] == refused(
        resources["configuration-set"]
    )
    assert error(v1.delete_template, TemplateName="tpl")[2] == refused(resources["template"])

    v2.delete_tenant(TenantName="acme")
    v2.delete_email_identity(EmailIdentity="held.example")
    v1.delete_configuration_set(ConfigurationSetName="cs")
    v2.delete_email_template(TemplateName="tpl")


# ── sending through a tenant ────────────────────────────────────────────────────────────────
SIMPLE = {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}}
TO = {"ToAddresses": ["success@simulator.amazonses.com"]}
SNS = {
    "Enabled": True,
    "MatchingEventTypes": ["SEND"],
    "SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events"},
}


def test_a_send_needs_every_resource_it_uses_held(
    v2: Any, server: RunningInbound, resources: dict[str, str]
) -> None:
    def send(**more: Any) -> Any:
        return v2.send_email(
            FromEmailAddress="a@example.com", Destination=TO, TenantName="acme", **more
        )

    def refused(*missing: str) -> tuple[str, int, str]:
        return ("AccessDeniedException", 403, f"Tenant not associated with resources "
                f"[{', '.join(missing)}].")  # fmt: skip

    assert error(send, Content=SIMPLE) == refused(resources["identity"])
    assert error(send, Content=SIMPLE, ConfigurationSetName="cs") == refused(
        resources["identity"], resources["configuration-set"]
    )
    v2.create_tenant_resource_association(TenantName="acme", ResourceArn=resources["identity"])
    assert send(Content=SIMPLE)["MessageId"]
    assert error(send, Content=SIMPLE, ConfigurationSetName="cs") == refused(
        resources["configuration-set"]
    )
    templated = {"Template": {"TemplateName": "tpl", "TemplateData": '{"name": "x"}'}}
    assert error(send, Content=templated) == refused(resources["template"])
    inline = {"Template": {"TemplateContent": {"Subject": "s", "Text": "t"}, "TemplateData": "{}"}}
    assert send(Content=inline)["MessageId"]  # no stored template is used

    # An address identity of its own is the one used, not its domain's.
    v2.create_email_identity(EmailIdentity="a@example.com")
    assert error(send, Content=SIMPLE) == refused(arn(server, "identity", "a@example.com"))

    # A send naming no configuration set uses its identity's default one, which must be held.
    v2.put_email_identity_configuration_set_attributes(
        EmailIdentity="a@example.com", ConfigurationSetName="cs"
    )
    v2.create_tenant_resource_association(
        TenantName="acme", ResourceArn=arn(server, "identity", "a@example.com")
    )
    assert error(send, Content=SIMPLE) == refused(resources["configuration-set"])
    v2.create_tenant_resource_association(
        TenantName="acme", ResourceArn=resources["configuration-set"]
    )
    assert send(Content=SIMPLE)["MessageId"]

    raw = b"From: b@example.com\r\nTo: success@simulator.amazonses.com\r\nSubject: s\r\n\r\nb"
    assert v2.send_email(Destination=TO, TenantName="acme", Content={"Raw": {"Data": raw}})

    assert error(v2.send_email, FromEmailAddress="a@example.com", Destination=TO,
                 TenantName="nobody", Content=SIMPLE) == (
        "NotFoundException", 404,
        f"Tenant nobody for AwsAccountId {server.settings.account_id} not found.",
    )  # fmt: skip


def test_bulk_sends_through_a_tenant(v2: Any, resources: dict[str, str]) -> None:
    def bulk() -> Any:
        return v2.send_bulk_email(
            FromEmailAddress="a@example.com",
            TenantName="acme",
            DefaultContent={"Template": {"TemplateName": "tpl", "TemplateData": '{"name": "x"}'}},
            BulkEmailEntries=[{"Destination": TO}],
        )

    v2.create_tenant_resource_association(TenantName="acme", ResourceArn=resources["identity"])
    assert error(bulk) == (
        "AccessDeniedException",
        403,
        f"Tenant not associated with resources [{resources['template']}].",
    )
    v2.create_tenant_resource_association(TenantName="acme", ResourceArn=resources["template"])
    assert [r["Status"] for r in bulk()["BulkEmailEntryResults"]] == ["SUCCESS"]


def test_events_of_a_tenant_send_carry_its_name(
    v2: Any, server: RunningInbound, resources: dict[str, str]
) -> None:
    v2.create_configuration_set_event_destination(
        ConfigurationSetName="cs", EventDestinationName="sns", EventDestination=SNS
    )
    for kind in ("identity", "configuration-set", "template"):
        v2.create_tenant_resource_association(TenantName="acme", ResourceArn=resources[kind])
    sent = v2.send_email(
        FromEmailAddress="a@example.com",
        Destination=TO,
        Content=SIMPLE,
        ConfigurationSetName="cs",
        TenantName="acme",
    )["MessageId"]
    bulk = v2.send_bulk_email(
        FromEmailAddress="a@example.com",
        TenantName="acme",
        ConfigurationSetName="cs",
        DefaultContent={"Template": {"TemplateName": "tpl", "TemplateData": '{"name": "x"}'}},
        BulkEmailEntries=[{"Destination": TO}],
    )["BulkEmailEntryResults"][0]["MessageId"]
    untenanted = v2.send_email(
        FromEmailAddress="a@example.com", Destination=TO, Content=SIMPLE, ConfigurationSetName="cs"
    )["MessageId"]
    server.wait_idle()
    tags = {}
    for notification in server.notifications():
        message = notification["message"]
        body = json.loads(message) if isinstance(message, str) else message
        tags[body["mail"]["messageId"]] = body["mail"]["tags"]
    assert tags[sent]["ses:tenant-name"] == ["acme"]
    assert tags[bulk]["ses:tenant-name"] == ["acme"]
    assert "ses:tenant-name" not in tags[untenanted]
