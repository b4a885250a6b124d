"""Real boto3 clients against a running server with SigV4 verified (query-api.md §10).

Each test registers a fake handler for the operation it drives, so what is checked is the
protocol: what the handler receives and what the client gets back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from inbound.errors import RuleSetDoesNotExist
from tests.api.conftest import Ses

RULE = {
    "Name": "r1",
    "Enabled": True,
    "TlsPolicy": "Require",
    "ScanEnabled": False,
    "Recipients": ["a@example.com", "example.org"],
    "Actions": [
        {"S3Action": {"BucketName": "b", "ObjectKeyPrefix": "p/", "TopicArn": "arn:t"}},
        {"BounceAction": {"SmtpReplyCode": "550", "Message": "m", "Sender": "s@example.com"}},
        {"WorkmailAction": {"OrganizationArn": "arn:o"}},
        {"LambdaAction": {"FunctionArn": "arn:f", "InvocationType": "RequestResponse"}},
        {"StopAction": {"Scope": "RuleSet"}},
        {"AddHeaderAction": {"HeaderName": "X-Foo", "HeaderValue": "bar baz"}},
        {"SNSAction": {"TopicArn": "arn:s", "Encoding": "Base64"}},
        {
            "ConnectAction": {
                "InstanceARN": "arn:aws:connect:us-east-1:123456789012:instance/i-1",
                "IAMRoleARN": "arn:aws:iam::123456789012:role/inbound",
            }
        },
    ],
}


def test_every_action_type_travels_both_ways_unchanged(ses: Ses) -> None:
    ses.handle("CreateReceiptRule")
    ses.handle("DescribeReceiptRule", lambda params: {"Rule": RULE})
    client = ses.client()
    assert set(client.create_receipt_rule(RuleSetName="s", After="r0", Rule=RULE)) == {
        "ResponseMetadata"
    }  # empty <CreateReceiptRuleResult/> parses
    assert ses.calls[0][2] == {"RuleSetName": "s", "After": "r0", "Rule": RULE}
    assert client.describe_receipt_rule(RuleSetName="s", RuleName="r1")["Rule"] == RULE


def test_empty_lists_arrive_as_empty_lists(ses: Ses) -> None:
    ses.handle("ReorderReceiptRuleSet")
    ses.handle("CreateReceiptRule")
    client = ses.client()
    client.reorder_receipt_rule_set(RuleSetName="s", RuleNames=[])
    client.create_receipt_rule(RuleSetName="s", Rule={"Name": "r", "Recipients": [], "Actions": []})
    assert ses.calls[0][2] == {"RuleSetName": "s", "RuleNames": []}
    assert ses.calls[1][2]["Rule"] == {"Name": "r", "Recipients": [], "Actions": []}


def test_booleans_are_lowercase_and_read_back(ses: Ses) -> None:
    ses.handle("SetIdentityDkimEnabled")
    ses.handle("GetAccountSendingEnabled", {"Enabled": False})
    ses.handle(
        "DescribeReceiptRule", {"Rule": {"Name": "r", "Enabled": True, "ScanEnabled": False}}
    )
    client = ses.client()
    client.set_identity_dkim_enabled(Identity="example.com", DkimEnabled=False)
    assert ses.calls[0][2]["DkimEnabled"] is False
    assert client.get_account_sending_enabled()["Enabled"] is False
    rule = client.describe_receipt_rule(RuleSetName="s", RuleName="r")["Rule"]
    assert rule["Enabled"] is True and rule["ScanEnabled"] is False


def test_top_level_lists_and_maps_are_always_there(ses: Ses) -> None:
    ses.handle("ListReceiptFilters", None)
    ses.handle("GetIdentityPolicies", {})
    ses.handle("ListReceiptRuleSets", {})
    client = ses.client()
    assert client.list_receipt_filters()["Filters"] == []
    assert client.get_identity_policies(Identity="i", PolicyNames=[])["Policies"] == {}
    assert client.list_receipt_rule_sets()["RuleSets"] == []


def test_maps_use_entry_key_value(ses: Ses) -> None:
    attributes = {
        "example.com": {
            "DkimEnabled": True,
            "DkimVerificationStatus": "Success",
            "DkimTokens": ["t1", "t2"],
        },
        "a&b<c>": {"DkimEnabled": False, "DkimVerificationStatus": "Pending", "DkimTokens": []},
    }
    ses.handle("GetIdentityDkimAttributes", {"DkimAttributes": attributes})
    got = ses.client().get_identity_dkim_attributes(Identities=list(attributes))
    assert got["DkimAttributes"] == attributes
    assert ses.calls[0][2] == {"Identities": ["example.com", "a&b<c>"]}


def test_timestamps_are_aware_and_millisecond(ses: Ses) -> None:
    created = datetime(2016, 3, 2, 1, 2, 3, 456789, tzinfo=UTC)
    ses.handle("DescribeReceiptRuleSet", {"Metadata": {"Name": "s", "CreatedTimestamp": created}})
    ses.handle("SendBounce", {"MessageId": "m"})
    client = ses.client()
    metadata = client.describe_receipt_rule_set(RuleSetName="s")["Metadata"]
    assert metadata["CreatedTimestamp"] == created.replace(microsecond=456000)
    assert metadata["CreatedTimestamp"].utcoffset().total_seconds() == 0
    arrival = datetime(2016, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    client.send_bounce(
        OriginalMessageId="o",
        BounceSender="b@example.com",
        MessageDsn={"ReportingMta": "dns; mta", "ArrivalDate": arrival},
        BouncedRecipientInfoList=[{"Recipient": "r@example.com", "BounceType": "DoesNotExist"}],
    )
    assert ses.calls[1][2]["MessageDsn"]["ArrivalDate"] == arrival


def test_hostile_strings_survive_including_cr(ses: Ses) -> None:
    hostile = "line1\r\nline2\r\rü & <b>\"q\"</b> 'x' +%= ]]> \t"
    ses.handle("TestRenderTemplate", lambda params: {"RenderedTemplate": params["TemplateData"]})
    got = ses.client().test_render_template(TemplateName="t", TemplateData=hostile)
    assert ses.calls[0][2]["TemplateData"] == hostile
    assert got["RenderedTemplate"] == hostile


def test_xml_illegal_characters_are_rejected_on_input(ses: Ses) -> None:
    ses.handle("CreateReceiptRuleSet")
    with pytest.raises(ClientError) as caught:
        ses.client().create_receipt_rule_set(RuleSetName="bad\x00name")
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidParameterValue"
    assert "RuleSetName" in error["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert ses.calls == []


def test_modeled_error_has_wire_code_class_and_members(ses: Ses) -> None:
    ses.handle(
        "DescribeReceiptRuleSet", RuleSetDoesNotExist("Rule set does not exist: nope", Name="nope")
    )
    client = ses.client()
    with pytest.raises(client.exceptions.RuleSetDoesNotExistException) as caught:
        client.describe_receipt_rule_set(RuleSetName="nope")
    response = caught.value.response
    assert response["Error"] == {
        "Type": "Sender",
        "Code": "RuleSetDoesNotExist",
        "Message": "Rule set does not exist: nope",
        "Name": "nope",
    }
    assert response["Name"] == "nope"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-requestid"] == response["ResponseMetadata"]["RequestId"]


def test_handler_crash_is_internal_failure_500_logged(
    ses: Ses, caplog: pytest.LogCaptureFixture
) -> None:
    ses.handle("GetSendQuota", RuntimeError("handler bug"))
    with caplog.at_level(logging.ERROR, logger="inbound.api"), pytest.raises(ClientError) as caught:
        ses.client().get_send_quota()
    response = caught.value.response
    assert response["Error"]["Code"] == "InternalFailure"
    assert response["Error"]["Type"] == "Receiver"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert response["ResponseMetadata"]["RequestId"] in caplog.text
    assert "handler bug" in caplog.text


def test_raw_message_bytes_stay_bytes(ses: Ses) -> None:
    raw = b"From: a@example.com\r\nSubject: \xe9t\xe9\r\n\r\n8bit \xff\xfe\x00 body\r\n.\r\n"
    ses.handle("SendRawEmail", {"MessageId": "0000-1"})
    assert ses.client().send_raw_email(RawMessage={"Data": raw})["MessageId"] == "0000-1"
    assert ses.calls[0][2]["RawMessage"]["Data"] == raw


def test_body_over_aiohttps_default_limit_fits(ses: Ses) -> None:
    """2 MiB: over aiohttp's 1 MiB default and decoded off the loop; the 64 MiB bound is
    tested in test_http.py (botocore's own urlencode takes ~0.5 s per MB client-side)."""
    raw = b"Subject: big\r\n\r\n" + bytes(range(256)) * (2 * 1024 * 1024 // 256)
    ses.handle("SendRawEmail", {"MessageId": "m"})
    ses.client().send_raw_email(RawMessage={"Data": raw}, Destinations=["b@example.com"])
    assert ses.calls[0][2]["RawMessage"]["Data"] == raw


def test_operation_without_output_shape(ses: Ses) -> None:
    ses.handle("VerifyEmailAddress", None)
    response = ses.client().verify_email_address(EmailAddress="a@example.com")
    assert set(response) == {"ResponseMetadata"}


def test_doubles_and_longs(ses: Ses) -> None:
    ses.handle("GetSendQuota", {"Max24HourSend": 200, "MaxSendRate": 1.5, "SentLast24Hours": 0.0})
    point = {"Timestamp": datetime(2026, 1, 1, tzinfo=UTC), "DeliveryAttempts": 2**40, "Bounces": 0}
    ses.handle("GetSendStatistics", {"SendDataPoints": [point]})
    client = ses.client()
    quota = client.get_send_quota()
    assert (quota["Max24HourSend"], quota["MaxSendRate"]) == (200.0, 1.5)
    assert client.get_send_statistics()["SendDataPoints"] == [point]


def test_region_comes_from_the_credential_scope(ses: Ses) -> None:
    ses.handle("GetSendQuota", {})
    ses.client(region="eu-west-1").get_send_quota()
    ses.client(region="ap-southeast-2").get_send_quota()
    assert [ctx.region for _, ctx, _ in ses.calls] == ["eu-west-1", "ap-southeast-2"]


def test_session_token_verifies(ses: Ses) -> None:
    ses.handle("GetSendQuota", {})
    ses.client(token="FQoGZXIvYXdzEXAMPLETOKEN").get_send_quota()
    assert len(ses.calls) == 1


@pytest.mark.parametrize(
    ("key", "secret", "code"),
    [
        ("AKIDINBOUNDTEST", "wrong-secret", "SignatureDoesNotMatch"),
        ("AKIDUNKNOWN", "whatever", "InvalidClientTokenId"),
    ],
)
def test_bad_credentials_are_403(ses: Ses, key: str, secret: str, code: str) -> None:
    ses.handle("GetSendQuota", {})
    with pytest.raises(ClientError) as caught:
        ses.client(key=key, secret=secret).get_send_quota()
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert ses.calls == []


def test_unimplemented_operation_is_501_not_retried(ses: Ses) -> None:
    client = ses.client(retries=3)
    ses.running.server.operations.pop("ListTemplates", None)  # type: ignore[attr-defined]
    with pytest.raises(ClientError) as caught:
        client.list_templates()
    response = caught.value.response
    assert response["Error"]["Code"] == "NotImplemented"
    assert "ListTemplates" in response["Error"]["Message"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert response["ResponseMetadata"]["RetryAttempts"] == 0


def test_paginator_follows_next_token(ses: Ses) -> None:
    pages = {
        None: {"RuleSets": [{"Name": "a"}], "NextToken": "t1"},
        "t1": {"RuleSets": [{"Name": "b"}]},
    }
    ses.handle("ListReceiptRuleSets", lambda params: pages[params.get("NextToken")])
    paginator = ses.client().get_paginator("list_receipt_rule_sets")
    names = [s["Name"] for page in paginator.paginate() for s in page["RuleSets"]]
    assert names == ["a", "b"]


def test_auth_off_accepts_any_signature_and_uses_scope_region(ses_open: Ses) -> None:
    ses_open.handle("GetSendQuota", {})
    ses_open.client(key="anything", secret="at-all", region="sa-east-1").get_send_quota()
    assert ses_open.calls[0][1].region == "sa-east-1"
    assert ses_open.calls[0][1].request_id
