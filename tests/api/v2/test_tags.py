"""TagResource, UntagResource and ListTagsForResource through boto3 `sesv2` on each kind of
taggable resource, and the tags their Create operations set."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.v2.conftest import error

PREFIX = "arn:aws:ses:us-east-1:123456789012"


def _make(v2: Any, kind: str) -> str:
    if kind == "identity":
        v2.create_email_identity(EmailIdentity="tagged.test", Tags=[{"Key": "a", "Value": "1"}])
        return "tagged.test"
    if kind == "configuration-set":
        v2.create_configuration_set(
            ConfigurationSetName="tagged", Tags=[{"Key": "a", "Value": "1"}]
        )
    elif kind == "contact-list":
        v2.create_contact_list(ContactListName="tagged", Tags=[{"Key": "a", "Value": "1"}])
    elif kind == "template":
        v2.create_email_template(
            TemplateName="tagged",
            TemplateContent={"Subject": "s", "Text": "t"},
            Tags=[{"Key": "a", "Value": "1"}],
        )
    else:
        v2.create_custom_verification_email_template(
            TemplateName="tagged",
            FromEmailAddress="noreply@example.com",
            TemplateSubject="s",
            TemplateContent="<p>c</p>",
            SuccessRedirectionURL="https://x.example/ok",
            FailureRedirectionURL="https://x.example/no",
            Tags=[{"Key": "a", "Value": "1"}],
        )
    return "tagged"


@pytest.mark.parametrize(
    "kind",
    [
        "identity",
        "configuration-set",
        "template",
        "custom-verification-email-template",
        "contact-list",
    ],
)
def test_tags_of_each_resource(v2: Any, kind: str) -> None:
    arn = f"{PREFIX}:{kind}/{_make(v2, kind)}"
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "a", "Value": "1"}]
    v2.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "2"}, {"Key": "b", "Value": "3"}])
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "a", "Value": "2"},
        {"Key": "b", "Value": "3"},
    ]
    v2.untag_resource(ResourceArn=arn, TagKeys=["a", "missing"])
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "3"}]


def test_identity_tags_show_in_get_email_identity(v2: Any) -> None:
    v2.create_email_identity(EmailIdentity="shown.test")
    v2.tag_resource(ResourceArn=f"{PREFIX}:identity/shown.test", Tags=[{"Key": "k", "Value": "v"}])
    assert v2.get_email_identity(EmailIdentity="shown.test")["Tags"] == [{"Key": "k", "Value": "v"}]


def test_tag_errors(v2: Any) -> None:
    missing = f"{PREFIX}:configuration-set/nope"
    assert error(v2.list_tags_for_resource, ResourceArn=missing) == (
        "NotFoundException",
        404,
        f"Resource not found: {missing}",
    )
    assert error(v2.list_tags_for_resource, ResourceArn="arn:aws:sns:us-east-1:1:topic") == (
        "BadRequestException",
        400,
        "Invalid resource ARN: arn:aws:sns:us-east-1:1:topic",
    )
    v2.create_configuration_set(ConfigurationSetName="full")
    arn = f"{PREFIX}:configuration-set/full"
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert error(v2.tag_resource, ResourceArn=arn, Tags=many) == (
        "BadRequestException",
        400,
        "A resource can have no more than 50 tags.",
    )
    assert v2.list_tags_for_resource(ResourceArn=arn)["Tags"] == []
