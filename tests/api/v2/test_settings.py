"""v2's Put* operations on identities and configuration sets, and identity policies, through
boto3 `sesv2`: each change read back through v2 and through v1 (the same records)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.v2.conftest import error

POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": ["ses:SendEmail"],
                "Resource": "*",
            }
        ],
    }
)


# ── identity attributes ─────────────────────────────────────────────────────────────────────
def test_dkim_signing_attribute(v2: Any, v1: Any) -> None:
    v2.create_email_identity(EmailIdentity="signed.test")
    v2.put_email_identity_dkim_attributes(EmailIdentity="signed.test", SigningEnabled=False)
    assert (
        v2.get_email_identity(EmailIdentity="signed.test")["DkimAttributes"]["SigningEnabled"]
        is False
    )
    dkim = v1.get_identity_dkim_attributes(Identities=["signed.test"])["DkimAttributes"]
    assert dkim["signed.test"]["DkimEnabled"] is False
    v2.put_email_identity_dkim_attributes(EmailIdentity="signed.test", SigningEnabled=True)
    assert (
        v2.get_email_identity(EmailIdentity="signed.test")["DkimAttributes"]["SigningEnabled"]
        is True
    )
    # an address of the domain follows it, and may be switched on its own
    v2.create_email_identity(EmailIdentity="me@signed.test")
    v2.put_email_identity_dkim_attributes(EmailIdentity="me@signed.test", SigningEnabled=False)
    assert (
        v2.get_email_identity(EmailIdentity="me@signed.test")["DkimAttributes"]["SigningEnabled"]
        is False
    )


def test_dkim_signing_needs_easy_dkim(v2: Any, v1: Any) -> None:
    v1.verify_domain_identity(Domain="plain.test")  # v1: no DKIM set up
    assert error(
        v2.put_email_identity_dkim_attributes, EmailIdentity="plain.test", SigningEnabled=True
    ) == ("BadRequestException", 400, "Domain plain.test is not verified for DKIM signing.")
    assert error(
        v2.put_email_identity_dkim_attributes, EmailIdentity="x@ghost.test", SigningEnabled=True
    ) == ("BadRequestException", 400, "Domain ghost.test is not verified for DKIM signing.")


def test_feedback_attributes(v2: Any, v1: Any) -> None:
    v2.create_email_identity(EmailIdentity="fb@example.com")
    assert error(
        v2.put_email_identity_feedback_attributes,
        EmailIdentity="fb@example.com",
        EmailForwardingEnabled=False,
    )[:2] == ("BadRequestException", 400)  # without Bounce and Complaint topics (v1's rule)
    topic = "arn:aws:sns:us-east-1:123456789012:feedback"
    for kind in ("Bounce", "Complaint"):
        v1.set_identity_notification_topic(
            Identity="fb@example.com", NotificationType=kind, SnsTopic=topic
        )
    v2.put_email_identity_feedback_attributes(
        EmailIdentity="fb@example.com", EmailForwardingEnabled=False
    )
    assert v2.get_email_identity(EmailIdentity="fb@example.com")["FeedbackForwardingStatus"] is (
        False
    )
    attributes = v1.get_identity_notification_attributes(Identities=["fb@example.com"])
    assert attributes["NotificationAttributes"]["fb@example.com"]["ForwardingEnabled"] is False
    assert error(
        v2.put_email_identity_feedback_attributes,
        EmailIdentity="nope.test",
        EmailForwardingEnabled=True,
    ) == ("NotFoundException", 404, "Email identity <nope.test> does not exist.")


def test_mail_from_attributes(v2: Any, v1: Any) -> None:
    v2.create_email_identity(EmailIdentity="mf.test")
    v2.put_email_identity_mail_from_attributes(
        EmailIdentity="mf.test",
        MailFromDomain="bounce.mf.test",
        BehaviorOnMxFailure="REJECT_MESSAGE",
    )
    assert v2.get_email_identity(EmailIdentity="mf.test")["MailFromAttributes"] == {
        "MailFromDomain": "bounce.mf.test",
        "MailFromDomainStatus": "SUCCESS",
        "BehaviorOnMxFailure": "REJECT_MESSAGE",
    }
    v1_view = v1.get_identity_mail_from_domain_attributes(Identities=["mf.test"])
    assert v1_view["MailFromDomainAttributes"]["mf.test"]["BehaviorOnMXFailure"] == (
        "RejectMessage"
    )
    v2.put_email_identity_mail_from_attributes(EmailIdentity="mf.test")
    assert v2.get_email_identity(EmailIdentity="mf.test")["MailFromAttributes"] == {
        "BehaviorOnMxFailure": "USE_DEFAULT_VALUE"
    }
    assert error(
        v2.put_email_identity_mail_from_attributes,
        EmailIdentity="mf.test",
        MailFromDomain="elsewhere.test",
    )[:2] == ("BadRequestException", 400)
    assert error(v2.put_email_identity_mail_from_attributes, EmailIdentity="nope.test")[:2] == (
        "NotFoundException",
        404,
    )


# ── policies ────────────────────────────────────────────────────────────────────────────────
def test_policy_lifecycle(v2: Any, v1: Any) -> None:
    v2.create_email_identity(EmailIdentity="pol.test")
    v2.create_email_identity_policy(EmailIdentity="pol.test", PolicyName="p1", Policy=POLICY)
    assert v2.get_email_identity_policies(EmailIdentity="pol.test")["Policies"] == {"p1": POLICY}
    assert v1.list_identity_policies(Identity="pol.test")["PolicyNames"] == ["p1"]
    assert v2.get_email_identity(EmailIdentity="pol.test")["Policies"] == {"p1": POLICY}
    changed = POLICY.replace("SendEmail", "SendRawEmail")
    v2.update_email_identity_policy(EmailIdentity="pol.test", PolicyName="p1", Policy=changed)
    assert v2.get_email_identity_policies(EmailIdentity="pol.test")["Policies"] == {"p1": changed}
    v2.delete_email_identity_policy(EmailIdentity="pol.test", PolicyName="p1")
    assert v2.get_email_identity_policies(EmailIdentity="pol.test")["Policies"] == {}


def test_policy_errors(v2: Any) -> None:
    v2.create_email_identity(EmailIdentity="pol.test")
    v2.create_email_identity_policy(EmailIdentity="pol.test", PolicyName="p1", Policy=POLICY)
    assert error(
        v2.create_email_identity_policy, EmailIdentity="pol.test", PolicyName="p1", Policy=POLICY
    ) == (
        "AlreadyExistsException",
        400,
        "Policy <p1> already exists for identity <pol.test>.",
    )
    missing = ("NotFoundException", 404, "Policy <p2> does not exist for identity <pol.test>.")
    assert (
        error(
            v2.update_email_identity_policy,
            EmailIdentity="pol.test",
            PolicyName="p2",
            Policy=POLICY,
        )
        == missing
    )
    assert (
        error(v2.delete_email_identity_policy, EmailIdentity="pol.test", PolicyName="p2") == missing
    )
    assert error(v2.get_email_identity_policies, EmailIdentity="nope.test")[:2] == (
        "NotFoundException",
        404,
    )
    assert error(
        v2.create_email_identity_policy, EmailIdentity="pol.test", PolicyName="p3", Policy="{"
    ) == ("BadRequestException", 400, "Policy is not valid JSON.")


# ── configuration set options ───────────────────────────────────────────────────────────────
def test_configuration_set_options(v2: Any, v1: Any) -> None:
    v2.create_configuration_set(ConfigurationSetName="opts")
    v2.put_configuration_set_delivery_options(
        ConfigurationSetName="opts", TlsPolicy="REQUIRE", MaxDeliverySeconds=600
    )
    v2.put_configuration_set_reputation_options(
        ConfigurationSetName="opts", ReputationMetricsEnabled=True
    )
    v2.put_configuration_set_sending_options(ConfigurationSetName="opts", SendingEnabled=False)
    got = v2.get_configuration_set(ConfigurationSetName="opts")
    assert got["DeliveryOptions"] == {"TlsPolicy": "REQUIRE", "MaxDeliverySeconds": 600}
    assert got["ReputationOptions"] == {"ReputationMetricsEnabled": True}
    assert got["SendingOptions"] == {"SendingEnabled": False}
    described = v1.describe_configuration_set(
        ConfigurationSetName="opts",
        ConfigurationSetAttributeNames=["deliveryOptions", "reputationOptions"],
    )
    assert described["DeliveryOptions"] == {"TlsPolicy": "Require"}
    assert described["ReputationOptions"]["ReputationMetricsEnabled"] is True
    assert described["ReputationOptions"]["SendingEnabled"] is False
    v2.put_configuration_set_sending_options(ConfigurationSetName="opts", SendingEnabled=True)
    reputation = v2.get_configuration_set(ConfigurationSetName="opts")["ReputationOptions"]
    assert reputation["LastFreshStart"].year >= 2024  # re-enabled: a fresh start


def test_recorded_option_groups(v2: Any) -> None:
    v2.create_configuration_set(ConfigurationSetName="rec")
    archive = "arn:aws:ses:us-east-1:123456789012:mailmanager-archive/a-1"
    v2.put_configuration_set_archiving_options(ConfigurationSetName="rec", ArchiveArn=archive)
    v2.put_configuration_set_vdm_options(
        ConfigurationSetName="rec",
        VdmOptions={"DashboardOptions": {"EngagementMetrics": "ENABLED"}},
    )
    v2.put_configuration_set_suppression_options(
        ConfigurationSetName="rec", SuppressedReasons=["BOUNCE", "COMPLAINT"]
    )
    got = v2.get_configuration_set(ConfigurationSetName="rec")
    assert got["ArchivingOptions"] == {"ArchiveArn": archive}
    assert got["VdmOptions"] == {"DashboardOptions": {"EngagementMetrics": "ENABLED"}}
    assert got["SuppressionOptions"] == {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]}
    v2.put_configuration_set_archiving_options(ConfigurationSetName="rec")
    assert "ArchivingOptions" not in v2.get_configuration_set(ConfigurationSetName="rec")
    assert error(v2.put_configuration_set_vdm_options, ConfigurationSetName="nope", VdmOptions={})[
        :2
    ] == ("NotFoundException", 404)


def test_tracking_options(v2: Any) -> None:
    v2.create_configuration_set(ConfigurationSetName="trk")
    v2.create_email_identity(EmailIdentity="links.test")
    v2.put_configuration_set_tracking_options(
        ConfigurationSetName="trk", CustomRedirectDomain="links.test", HttpsPolicy="REQUIRE"
    )
    assert v2.get_configuration_set(ConfigurationSetName="trk")["TrackingOptions"] == {
        "CustomRedirectDomain": "links.test",
        "HttpsPolicy": "REQUIRE",
    }
    v2.put_configuration_set_tracking_options(ConfigurationSetName="trk")
    assert "TrackingOptions" not in v2.get_configuration_set(ConfigurationSetName="trk")
    assert error(
        v2.put_configuration_set_tracking_options,
        ConfigurationSetName="trk",
        CustomRedirectDomain="unverified.test",
    ) == (
        "BadRequestException",
        400,
        "Custom redirect domain <unverified.test> is not verified in Amazon SES.",
    )


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("put_configuration_set_delivery_options", {"TlsPolicy": "REQUIRE"}),
        ("put_configuration_set_reputation_options", {"ReputationMetricsEnabled": True}),
        ("put_configuration_set_reputation_options", {}),
        ("put_configuration_set_sending_options", {"SendingEnabled": True}),
        ("put_configuration_set_sending_options", {}),
        ("put_configuration_set_tracking_options", {}),
    ],
)
def test_options_of_a_missing_set(v2: Any, operation: str, params: dict[str, Any]) -> None:
    assert error(getattr(v2, operation), ConfigurationSetName="nope", **params) == (
        "NotFoundException",
        404,
        "Configuration set <nope> does not exist.",
    )


def test_a_sending_pool_does_not_exist(v2: Any) -> None:
    v2.create_configuration_set(ConfigurationSetName="pool")
    assert error(
        v2.put_configuration_set_delivery_options,
        ConfigurationSetName="pool",
        SendingPoolName="dedicated",
    ) == ("NotFoundException", 404, "Dedicated IP pool <dedicated> does not exist.")
