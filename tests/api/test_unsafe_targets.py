"""Rules whose targets would take the engine out of its data dir are refused, naming why, and
no input through the API, a rule file or SMTP writes outside it (issue 18 item 7)."""

from __future__ import annotations

import contextlib
import json
import smtplib

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from inbound.errors import InvalidParameterValue
from inbound.rules import codec
from tests.rulesets import message, rule, rules, s3

ORG = "arn:aws:workmail:us-east-1:123456789012:organization/"
PREFIX_TEXT = (
    "Object key prefix {}, which the embedded S3 store cannot write inside its data dir: {}"
)
ORG_TEXT = (
    "Organization id {}, which the embedded WorkMail store cannot write inside its data dir: {}"
)


def workmail(arn: str) -> dict:
    return {"WorkmailAction": {"OrganizationArn": arn}}


@pytest.mark.parametrize(
    ("action", "code", "text"),
    [
        (
            s3("b", "../"),
            "InvalidParameterValue",
            PREFIX_TEXT.format("has a '..' path segment", "../"),
        ),
        (
            s3("b", "a/../../x/"),
            "InvalidParameterValue",
            PREFIX_TEXT.format("has a '..' path segment", "a/../../x/"),
        ),
        (
            s3("b", "/etc/"),
            "InvalidParameterValue",
            PREFIX_TEXT.format("is an absolute path", "/etc/"),
        ),
        (s3("../escape"), "InvalidS3Configuration", "Could not write to bucket: ../escape"),
        (s3("a/b"), "InvalidS3Configuration", "Could not write to bucket: a/b"),
        (s3(".."), "InvalidS3Configuration", "Could not write to bucket: .."),
        (s3(""), "InvalidParameterValue", "Bucket name must not be empty"),
        (
            workmail(ORG + ".."),
            "InvalidParameterValue",
            ORG_TEXT.format("has a '..' path segment", ORG + ".."),
        ),
        (workmail(ORG), "InvalidParameterValue", ORG_TEXT.format("is empty", ORG)),
    ],
    ids=[
        "prefix-dotdot",
        "prefix-dotdot-inside",
        "prefix-absolute",
        "bucket-dotdot",
        "bucket-slash",
        "bucket-is-dotdot",
        "bucket-empty",
        "organization-dotdot",
        "organization-empty",
    ],
)
def test_unsafe_targets_are_refused_naming_the_problem(inbound_factory, action, code, text) -> None:
    server = inbound_factory({"RuleSets": []})
    ses = server.ses()
    ses.create_receipt_rule_set(RuleSetName="s")
    with pytest.raises(ClientError) as raised:
        ses.create_receipt_rule(RuleSetName="s", Rule=rule("r", action))
    assert (raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]) == (
        code,
        text,
    )
    assert server.get("/api/s3") == []  # not even the setup notification was written


def test_a_rule_file_with_an_unsafe_prefix_is_refused_where_it_is() -> None:
    bad = rules(rule("r", s3("b", "../../")))
    with pytest.raises(InvalidParameterValue) as raised:
        codec.parse_rules(json.loads(json.dumps(bad)), frozenset({"example.com"}), "us-east-1")
    assert raised.value.message == PREFIX_TEXT.format("has a '..' path segment", "../../")
    assert raised.value.location == "RuleSets.1 (test).Rules.1 (r)"  # type: ignore[attr-defined]


SEGMENTS = st.sampled_from(["..", ".", "", "a", "b.c", "~", "%2e%2e", "..a", "\\..", " ", "-"])
PATHS = st.lists(SEGMENTS, max_size=5).map("/".join)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bucket=PATHS, prefix=PATHS, organization=PATHS, local=PATHS)
@example(bucket="b", prefix="../../../", organization="../..", local="../x")
@example(bucket="..", prefix="/", organization="", local="a")
def test_no_api_rule_or_smtp_input_writes_outside_the_data_dir(
    inbound_factory, tmp_path_factory, bucket: str, prefix: str, organization: str, local: str
) -> None:
    """Path-like buckets, prefixes, organization ids and recipient local parts through boto3
    and SMTP: a rule is saved or refused, mail is received or refused, and every file the
    engine writes is inside its data dir."""
    outer = tmp_path_factory.mktemp("outer")
    data = outer / "data"
    server = inbound_factory({"RuleSets": []}, data_dir=data)
    ses = server.ses()
    ses.create_receipt_rule_set(RuleSetName="s")
    ses.set_active_receipt_rule_set(RuleSetName="s")
    for name, action in (
        ("s3", s3(bucket, prefix or None)),
        ("mail", workmail(ORG + organization)),
    ):
        with contextlib.suppress(ClientError):  # refused: nothing saved
            ses.create_receipt_rule(RuleSetName="s", Rule=rule(name, action))
    with contextlib.suppress(smtplib.SMTPException):  # refused: nothing accepted or written
        server.send("s@sender.test", [f'"{local}"@example.com', "user@example.com"], message())
    server.wait_idle()
    server.stop()
    assert {p.relative_to(outer).parts[0] for p in outer.rglob("*")} == {"data"}
    for path in data.rglob("*"):
        assert path.resolve().is_relative_to(data.resolve())
