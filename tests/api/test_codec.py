"""The Query codec without a server: decoding rules (§3) and XML writing rules (§4), as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from xml.etree import ElementTree

import pytest

from inbound import errors
from inbound.api import faults
from inbound.api.query import codec as query
from inbound.api.query import service, xml
from inbound.errors import SesError


def decode(action: str, **params: str) -> dict[str, Any]:
    form = {"Action": action, "Version": "2010-12-01", **params}
    return query.decode(query.operation_for(form), form)


def form(text: str) -> dict[str, str]:
    return query.form_params("", text.encode(), body_is_form=True)


DECODED = (
    (
        "blank value is an empty list",
        "ReorderReceiptRuleSet",
        {"RuleSetName": "s", "RuleNames": ""},
        {"RuleSetName": "s", "RuleNames": []},
    ),
    (
        "indices sorted numerically, gaps allowed",
        "ReorderReceiptRuleSet",
        {
            "RuleSetName": "s",
            "RuleNames.member.10": "c",
            "RuleNames.member.2": "b",
            "RuleNames.member.1": "a",
        },
        {"RuleSetName": "s", "RuleNames": ["a", "b", "c"]},
    ),
    (
        "unknown parameters ignored",
        "DeleteReceiptRuleSet",
        {
            "RuleSetName": "s",
            "AWSAccessKeyId": "k",
            "SignatureVersion": "2",
            "RuleSetName.x": "y",
            "Bogus": "1",
        },
        {"RuleSetName": "s"},
    ),
    (
        "whole dot components: Rule does not match RuleSetName",
        "CreateReceiptRule",
        {"RuleSetName": "s", "Rule.Name": "r", "RuleX.Name": "no"},
        {"RuleSetName": "s", "Rule": {"Name": "r"}},
    ),
    (
        "booleans any case",
        "SetIdentityDkimEnabled",
        {"Identity": "i", "DkimEnabled": "TRUE"},
        {"Identity": "i", "DkimEnabled": True},
    ),
    ("integers", "ListIdentities", {"MaxItems": "-3"}, {"MaxItems": -3}),
    (
        "blob with an unencoded plus",
        "SendRawEmail",
        {"RawMessage.Data": "+/8A"},
        {"RawMessage": {"Data": b"\xfb\xff\x00"}},
    ),
    (
        "blob with a plus sent as space",
        "SendRawEmail",
        {"RawMessage.Data": " /8A"},
        {"RawMessage": {"Data": b"\xfb\xff\x00"}},
    ),
    ("empty blob", "SendRawEmail", {"RawMessage.Data": ""}, {"RawMessage": {"Data": b""}}),
    ("no-input operation ignores everything", "GetSendQuota", {"Foo": "bar"}, {}),
)


@pytest.mark.parametrize(
    ("action", "params", "expected"), [d[1:] for d in DECODED], ids=[d[0] for d in DECODED]
)
def test_decode(action: str, params: dict[str, str], expected: dict[str, Any]) -> None:
    assert decode(action, **params) == expected


TIMESTAMPS = (
    ("2016-01-02T03:04:05Z", datetime(2016, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2016-01-02T03:04:05.123000Z", datetime(2016, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)),
    ("2016-01-02T03:04:05", datetime(2016, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("2016-01-02T05:04:05+02:00", datetime(2016, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ("1451703845", datetime(2016, 1, 2, 3, 4, 5, tzinfo=UTC)),
)


@pytest.mark.parametrize(("text", "expected"), TIMESTAMPS, ids=[t[0] for t in TIMESTAMPS])
def test_timestamps_decode_to_aware_utc(text: str, expected: datetime) -> None:
    got = decode(
        "SendBounce",
        OriginalMessageId="o",
        BounceSender="b",
        **{
            "BouncedRecipientInfoList.member.1.Recipient": "r",
            "MessageDsn.ReportingMta": "m",
            "MessageDsn.ArrivalDate": text,
        },
    )
    arrival = got["MessageDsn"]["ArrivalDate"]
    assert arrival == expected and arrival.tzinfo is UTC


VIOLATIONS = (
    (
        "required",
        "DeleteReceiptRuleSet",
        {},
        "1 validation error detected: Value null at 'ruleSetName' failed to satisfy constraint: "
        "Member must not be null",
    ),
    (
        "nested path",
        "CreateReceiptRule",
        {
            "RuleSetName": "s",
            "Rule.Name": "r",
            "Rule.Actions.member.1.StopAction.Scope": "RuleSet",
            "Rule.Actions.member.2.S3Action.ObjectKeyPrefix": "p",
        },
        "Value null at 'rule.actions.2.member.s3Action.bucketName' failed to satisfy constraint: "
        "Member must not be null",
    ),
    (
        "lowerCamel keeps the rest",
        "CreateReceiptRule",
        {"RuleSetName": "s", "Rule.Name": "r", "Rule.Actions.member.1.SNSAction.Encoding": "UTF-8"},
        "Value null at 'rule.actions.1.member.sNSAction.topicArn'",
    ),
    (
        "enum",
        "CreateReceiptFilter",
        {"Filter.Name": "f", "Filter.IpFilter.Policy": "Deny", "Filter.IpFilter.Cidr": "1.2.3.4"},
        "Value 'Deny' at 'filter.ipFilter.policy' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Block, Allow]",
    ),
    (
        "min length",
        "PutIdentityPolicy",
        {"Identity": "i", "PolicyName": "", "Policy": "p"},
        "Value '' at 'policyName' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1",
    ),
    (
        "max length",
        "PutIdentityPolicy",
        {"Identity": "i", "PolicyName": "x" * 65, "Policy": "p"},
        "Member must have length less than or equal to 64",
    ),
    (
        "integer range",
        "ListCustomVerificationEmailTemplates",
        {"MaxResults": "51"},
        "Value '51' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 50",
    ),
)


@pytest.mark.parametrize(
    ("action", "params", "needle"), [v[1:] for v in VIOLATIONS], ids=[v[0] for v in VIOLATIONS]
)
def test_validation_errors_in_coral_form(action: str, params: dict[str, str], needle: str) -> None:
    with pytest.raises(faults.ValidationErrors) as caught:
        decode(action, **params)
    assert isinstance(caught.value, errors.ValidationError)
    assert caught.value.code == "ValidationError" and caught.value.status == 400
    assert needle in caught.value.message


INVALID = (
    ("boolean", "SetIdentityDkimEnabled", {"Identity": "i", "DkimEnabled": "yes"}, "DkimEnabled"),
    ("integer", "ListIdentities", {"MaxItems": "1.5"}, "MaxItems"),
    ("base64", "SendRawEmail", {"RawMessage.Data": "!!!"}, "RawMessage.Data"),
    (
        "timestamp",
        "SendBounce",
        {
            "OriginalMessageId": "o",
            "BounceSender": "b",
            "MessageDsn.ReportingMta": "m",
            "MessageDsn.ArrivalDate": "yesterday",
        },
        "MessageDsn.ArrivalDate",
    ),
    ("NUL", "DeleteReceiptRuleSet", {"RuleSetName": "a\x00b"}, "RuleSetName"),
    (
        "form feed in a list",
        "ReorderReceiptRuleSet",
        {"RuleSetName": "s", "RuleNames.member.1": "\x0c"},
        "RuleNames.member.1",
    ),
    ("U+FFFE", "DeleteReceiptRuleSet", {"RuleSetName": "\ufffe"}, "RuleSetName"),
)


@pytest.mark.parametrize(
    ("action", "params", "key"), [i[1:] for i in INVALID], ids=[i[0] for i in INVALID]
)
def test_unconvertible_values_are_invalid_parameter_value(
    action: str, params: dict[str, str], key: str
) -> None:
    with pytest.raises(errors.InvalidParameterValue) as caught:
        decode(action, **params)
    assert key in caught.value.message
    ElementTree.fromstring(xml.error_document(caught.value, "r")[1])  # still valid XML


def test_invalid_utf8_is_rejected_not_mangled() -> None:
    params = form("Action=DeleteReceiptRuleSet&RuleSetName=%FF%FE")
    with pytest.raises(errors.InvalidParameterValue):
        query.decode(query.operation_for(params), params)


def test_form_keeps_blank_values_and_decodes_plus() -> None:
    assert form("A=&B=x+y%2B%3D&C") == {"A": "", "B": "x y+=", "C": ""}


def test_body_wins_over_query_string() -> None:
    assert query.form_params("A=1&B=2", b"B=3", body_is_form=True) == {"A": "1", "B": "3"}
    assert query.form_params("A=1", b"B=3", body_is_form=False) == {"A": "1"}


@pytest.mark.parametrize(
    ("params", "error", "needle"),
    [
        ({}, faults.MissingAction, "Missing Action"),
        ({"Action": ""}, faults.MissingAction, "Missing Action"),
        ({"Action": "Nope"}, faults.InvalidAction, "Nope"),
        (
            {"Action": "GetSendQuota", "Version": "2011-01-01"},
            faults.InvalidAction,
            "Could not find operation GetSendQuota for version 2011-01-01",
        ),
    ],
)
def test_action_and_version(params: dict[str, str], error: type[SesError], needle: str) -> None:
    with pytest.raises(error) as caught:
        query.operation_for(params)
    assert needle in caught.value.message


def test_missing_or_empty_version_is_accepted() -> None:
    assert query.operation_for({"Action": "GetSendQuota"}).name == "GetSendQuota"
    assert query.operation_for({"Action": "GetSendQuota", "Version": ""}).name == "GetSendQuota"


# ── XML side ─────────────────────────────────────────────────────────────────────────────


def document(action: str, result: dict[str, Any] | None) -> str:
    return xml.result_document(service.operation_model(action), result, "rid").decode()


def test_empty_result_still_has_its_wrapper() -> None:
    body = document("CreateReceiptRuleSet", None)
    assert "<CreateReceiptRuleSetResult></CreateReceiptRuleSetResult>" in body
    assert body.index("</CreateReceiptRuleSetResult>") < body.index("<ResponseMetadata>")


def test_no_output_shape_has_no_result_element() -> None:
    body = document("VerifyEmailAddress", {"ignored": 1})
    assert "Result" not in body
    assert body.endswith(
        "<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></VerifyEmailAddressResponse>"
    )


def test_booleans_lists_maps_and_empty_collections() -> None:
    body = document(
        "DescribeReceiptRule",
        {
            "Rule": {
                "Name": "r",
                "Enabled": True,
                "ScanEnabled": 0,
                "Recipients": [],
                "Actions": [{"StopAction": {"Scope": "RuleSet"}}],
            }
        },
    )
    assert "<Enabled>true</Enabled>" in body and "<ScanEnabled>false</ScanEnabled>" in body
    assert "<Recipients/>" in body
    assert (
        "<Actions><member><StopAction><Scope>RuleSet</Scope></StopAction></member></Actions>"
        in body
    )
    body = document("GetIdentityPolicies", {"Policies": {"p": "{}"}})
    assert "<Policies><entry><key>p</key><value>{}</value></entry></Policies>" in body
    assert "<Policies/>" in document("GetIdentityPolicies", {})


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2016, 3, 2, 1, 2, 3, 456789, tzinfo=UTC), "2016-03-02T01:02:03.456Z"),
        (datetime(2016, 3, 2, 1, 2, 3), "2016-03-02T01:02:03.000Z"),
        (
            datetime(2016, 3, 2, 3, 2, 3, tzinfo=timezone(timedelta(hours=2))),
            "2016-03-02T01:02:03.000Z",
        ),
    ],
)
def test_timestamps_are_utc_milliseconds_with_z(moment: datetime, text: str) -> None:
    assert xml.timestamp(moment) == text


def test_text_escaping_keeps_cr_and_drops_illegal_characters() -> None:
    body = document("TestRenderTemplate", {"RenderedTemplate": "a\r\nb & <c> ]]> \x00"})
    assert "<RenderedTemplate>a&#13;\nb &amp; &lt;c&gt; ]]&gt; \ufffd</RenderedTemplate>" in body
    ElementTree.fromstring(body.encode())


def test_modeled_error_code_status_and_members() -> None:
    error = SesError("Rule set does not exist: x", Name="x")
    error.code = "RuleSetDoesNotExistException"  # the shape name is accepted too
    status, body = xml.error_document(error, "rid")
    assert status == 400
    assert body.decode().endswith(
        '<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type>'
        "<Code>RuleSetDoesNotExist</Code><Message>Rule set does not exist: x</Message>"
        "<Name>x</Name>"
        "</Error><RequestId>rid</RequestId></ErrorResponse>"
    )
