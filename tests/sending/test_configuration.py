"""The sending-side state of SES v1 through a real boto3 client: configuration sets, event
destinations, tracking/delivery/reputation options, templates (TestRenderTemplate), custom
verification templates, account sending, quota and statistics; persistence across a restart."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from inbound.api.query import service
from inbound.api.query.operations import OPERATIONS, sending
from inbound.sending import configuration as sending_state

REGION = "us-east-1"
SNS = f"arn:aws:sns:{REGION}:123456789012:events"
STREAM = f"arn:aws:firehose:{REGION}:123456789012:deliverystream/events"
ROLE = "arn:aws:iam::123456789012:role/ses-firehose"
VERIFIED = ["example.com", "sender@other.test"]

# The model's operations this module covers: everything about configuration sets, templates,
# custom verification templates, account sending, quota and statistics, except sending itself.
COVERED = sorted(
    name
    for name in service.operation_names()
    if re.search(r"ConfigurationSet|Template|AccountSending|SendQuota|SendStatistics", name)
    and not name.startswith("Send")
)


def error(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response  # type: ignore[no-any-return]


def code(call: Any, **kwargs: Any) -> str:
    return error(call, **kwargs)["Error"]["Code"]  # type: ignore[no-any-return]


@pytest.fixture
def server(inbound_factory: Any) -> Any:
    return inbound_factory(verified=VERIFIED, region=REGION)


@pytest.fixture
def ses(server: Any) -> Any:
    return server.ses()


def sns_destination(name: str = "sns", **changes: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "Enabled": True,
        "MatchingEventTypes": ["send", "bounce"],
        "SNSDestination": {"TopicARN": SNS},
        **changes,
    }


def firehose_destination(name: str = "firehose", **changes: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "MatchingEventTypes": ["delivery"],
        "KinesisFirehoseDestination": {"IAMRoleARN": ROLE, "DeliveryStreamARN": STREAM},
        **changes,
    }


def cloudwatch_destination(name: str = "cw", dimensions: Any = None) -> dict[str, Any]:
    default = [
        {
            "DimensionName": "ses:configuration-set",
            "DimensionValueSource": "messageTag",
            "DefaultDimensionValue": "none@example.com",
        }
    ]
    return {
        "Name": name,
        "Enabled": False,
        "MatchingEventTypes": ["open", "click", "renderingFailure"],
        "CloudWatchDestination": {
            "DimensionConfigurations": default if dimensions is None else dimensions
        },
    }


def describe(ses: Any, name: str = "cs", *attributes: str) -> dict[str, Any]:
    result = ses.describe_configuration_set(
        ConfigurationSetName=name, ConfigurationSetAttributeNames=list(attributes)
    )
    result.pop("ResponseMetadata")
    return result  # type: ignore[no-any-return]


# ── registry ────────────────────────────────────────────────────────────────────────────────
def test_every_covered_operation_is_registered() -> None:
    assert len(COVERED) == 28
    for name in COVERED:
        assert name in sending.OPERATIONS, name
        assert OPERATIONS[name] is sending.OPERATIONS[name], name
    assert set(sending.OPERATIONS) == set(COVERED)


# ── configuration sets ──────────────────────────────────────────────────────────────────────
def test_configuration_set_lifecycle(ses: Any) -> None:
    ses.create_configuration_set(ConfigurationSet={"Name": "cs"})
    with pytest.raises(ses.exceptions.ConfigurationSetAlreadyExistsException) as raised:
        ses.create_configuration_set(ConfigurationSet={"Name": "cs"})
    response = raised.value.response
    assert response["Error"]["Code"] == "ConfigurationSetAlreadyExists"
    assert response["ConfigurationSetName"] == "cs"
    assert response["Error"]["Message"] == "Configuration set <cs> already exists."
    assert describe(ses) == {"ConfigurationSet": {"Name": "cs"}, "EventDestinations": []}
    ses.delete_configuration_set(ConfigurationSetName="cs")
    for call, kwargs in [
        (ses.delete_configuration_set, {"ConfigurationSetName": "cs"}),
        (ses.describe_configuration_set, {"ConfigurationSetName": "cs"}),
    ]:
        with pytest.raises(ses.exceptions.ConfigurationSetDoesNotExistException) as raised:
            call(**kwargs)
        response = raised.value.response
        assert response["Error"]["Code"] == "ConfigurationSetDoesNotExist"
        assert response["Error"]["Message"] == "Configuration set <cs> does not exist."
        assert response["ConfigurationSetName"] == "cs"


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("A_b-9", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("has space", False),
        ("dot.name", False),
        ("ünï", False),
        ("colon:name", False),
    ],
    ids=["mixed", "64", "65", "space", "dot", "non-ascii", "colon"],
)
def test_configuration_set_names(ses: Any, name: str, valid: bool) -> None:
    if valid:
        ses.create_configuration_set(ConfigurationSet={"Name": name})
        assert describe(ses, name)["ConfigurationSet"] == {"Name": name}
    else:
        err = error(ses.create_configuration_set, ConfigurationSet={"Name": name})
        assert err["Error"]["Code"] == "InvalidConfigurationSet"


def test_configuration_set_limit(ses: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sending_state, "MAX_CONFIGURATION_SETS", 2)
    ses.create_configuration_set(ConfigurationSet={"Name": "a"})
    ses.create_configuration_set(ConfigurationSet={"Name": "b"})
    assert code(ses.create_configuration_set, ConfigurationSet={"Name": "c"}) == "LimitExceeded"
    ses.delete_configuration_set(ConfigurationSetName="a")
    ses.create_configuration_set(ConfigurationSet={"Name": "c"})


def test_list_configuration_sets_pages(ses: Any) -> None:
    assert ses.list_configuration_sets()["ConfigurationSets"] == []
    names = [f"set-{i}" for i in (5, 3, 0, 6, 1, 4, 2)]
    for name in names:
        ses.create_configuration_set(ConfigurationSet={"Name": name})
    first = ses.list_configuration_sets(MaxItems=3)
    assert [s["Name"] for s in first["ConfigurationSets"]] == ["set-0", "set-1", "set-2"]
    ses.delete_configuration_set(ConfigurationSetName="set-3")  # the next page's first item
    second = ses.list_configuration_sets(MaxItems=3, NextToken=first["NextToken"])
    assert [s["Name"] for s in second["ConfigurationSets"]] == ["set-4", "set-5", "set-6"]
    assert "NextToken" not in second
    pages = ses.get_paginator("list_configuration_sets").paginate(PaginationConfig={"PageSize": 2})
    listed = [s["Name"] for page in pages for s in page["ConfigurationSets"]]
    assert listed == sorted(set(names) - {"set-3"})
    assert "NextToken" not in ses.list_configuration_sets()
    assert code(ses.list_configuration_sets, NextToken="garbage") == "InvalidParameterValue"
    assert code(ses.list_configuration_sets, MaxItems=0) == "InvalidParameterValue"


# ── event destinations ──────────────────────────────────────────────────────────────────────
def test_event_destination_lifecycle(ses: Any) -> None:
    ses.create_configuration_set(ConfigurationSet={"Name": "cs"})
    for dest in (sns_destination(), firehose_destination(), cloudwatch_destination()):
        ses.create_configuration_set_event_destination(
            ConfigurationSetName="cs", EventDestination=dest
        )
    described = describe(ses, "cs", "eventDestinations")["EventDestinations"]
    assert described == [
        sns_destination(),
        {**firehose_destination(), "Enabled": False},  # "The default value is false."
        cloudwatch_destination(),
    ]
    with pytest.raises(ses.exceptions.EventDestinationAlreadyExistsException) as raised:
        ses.create_configuration_set_event_destination(
            ConfigurationSetName="cs", EventDestination=sns_destination(Enabled=False)
        )
    response = raised.value.response
    assert (response["ConfigurationSetName"], response["EventDestinationName"]) == ("cs", "sns")

    replacement = cloudwatch_destination("sns")  # same name, another destination type
    ses.update_configuration_set_event_destination(
        ConfigurationSetName="cs", EventDestination=replacement
    )
    assert describe(ses, "cs", "eventDestinations")["EventDestinations"][0] == replacement
    with pytest.raises(ses.exceptions.EventDestinationDoesNotExistException) as raised:
        ses.update_configuration_set_event_destination(
            ConfigurationSetName="cs", EventDestination=sns_destination("nope")
        )
    assert raised.value.response["EventDestinationName"] == "nope"

    ses.delete_configuration_set_event_destination(
        ConfigurationSetName="cs", EventDestinationName="firehose"
    )
    names = [d["Name"] for d in describe(ses, "cs", "eventDestinations")["EventDestinations"]]
    assert names == ["sns", "cw"]
    err = error(
        ses.delete_configuration_set_event_destination,
        ConfigurationSetName="cs",
        EventDestinationName="firehose",
    )
    assert (err["Error"]["Code"], err["ConfigurationSetName"]) == (
        "EventDestinationDoesNotExist",
        "cs",
    )
    for call in (
        ses.create_configuration_set_event_destination,
        ses.update_configuration_set_event_destination,
    ):
        err = error(call, ConfigurationSetName="other", EventDestination=sns_destination())
        assert (err["Error"]["Code"], err["ConfigurationSetName"]) == (
            "ConfigurationSetDoesNotExist",
            "other",
        )
    assert (
        code(
            ses.delete_configuration_set_event_destination,
            ConfigurationSetName="other",
            EventDestinationName="sns",
        )
        == "ConfigurationSetDoesNotExist"
    )


def _dimension(name: str = "d", default: str = "v") -> dict[str, str]:
    return {
        "DimensionName": name,
        "DimensionValueSource": "emailHeader",
        "DefaultDimensionValue": default,
    }


INVALID_DESTINATIONS = [
    (
        "sns-not-arn",
        sns_destination(SNSDestination={"TopicARN": "events"}),
        "InvalidSNSDestination",
    ),
    (
        "sns-other-region",
        sns_destination(SNSDestination={"TopicARN": SNS.replace(REGION, "eu-west-1")}),
        "InvalidSNSDestination",
    ),
    (
        "sns-queue-arn",
        sns_destination(SNSDestination={"TopicARN": SNS.replace(":sns:", ":sqs:")}),
        "InvalidSNSDestination",
    ),
    (
        "firehose-stream",
        firehose_destination(
            KinesisFirehoseDestination={"IAMRoleARN": ROLE, "DeliveryStreamARN": "stream"}
        ),
        "InvalidFirehoseDestination",
    ),
    (
        "firehose-role",
        firehose_destination(
            KinesisFirehoseDestination={"IAMRoleARN": "role", "DeliveryStreamARN": STREAM}
        ),
        "InvalidFirehoseDestination",
    ),
    ("cw-empty", cloudwatch_destination(dimensions=[]), "InvalidCloudWatchDestination"),
    (
        "cw-name",
        cloudwatch_destination(dimensions=[_dimension("a b")]),
        "InvalidCloudWatchDestination",
    ),
    (
        "cw-name-long",
        cloudwatch_destination(dimensions=[_dimension("d" * 257)]),
        "InvalidCloudWatchDestination",
    ),
    (
        "cw-value",
        cloudwatch_destination(dimensions=[_dimension(default="a/b")]),
        "InvalidCloudWatchDestination",
    ),
    (
        "cw-duplicate",
        cloudwatch_destination(dimensions=[_dimension(), _dimension(default="w")]),
        "InvalidCloudWatchDestination",
    ),
    (
        "two-destinations",
        {**sns_destination(), **firehose_destination("sns")},
        "InvalidParameterValue",
    ),
    ("no-destination", {"Name": "n", "MatchingEventTypes": ["send"]}, "InvalidParameterValue"),
    ("bad-name", sns_destination("bad name"), "InvalidParameterValue"),
    ("no-event-types", sns_destination(MatchingEventTypes=[]), "InvalidParameterValue"),
    ("unknown-event-type", sns_destination(MatchingEventTypes=["sent"]), "ValidationError"),
]


@pytest.mark.parametrize(
    ("destination", "expected"),
    [(d, c) for _, d, c in INVALID_DESTINATIONS],
    ids=[i for i, _, _ in INVALID_DESTINATIONS],
)
def test_event_destination_validation(ses: Any, destination: dict[str, Any], expected: str) -> None:
    ses.create_configuration_set(ConfigurationSet={"Name": "cs"})
    err = error(
        ses.create_configuration_set_event_destination,
        ConfigurationSetName="cs",
        EventDestination=destination,
    )
    assert err["Error"]["Code"] == expected
    if expected.startswith("Invalid") and expected.endswith("Destination"):
        assert (err["ConfigurationSetName"], err["EventDestinationName"]) == (
            "cs",
            destination["Name"],
        )
    assert describe(ses, "cs", "eventDestinations")["EventDestinations"] == []


def test_event_destination_limit(ses: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sending_state, "MAX_EVENT_DESTINATIONS", 2)
    ses.create_configuration_set(ConfigurationSet={"Name": "cs"})
    for name in ("a", "b"):
        ses.create_configuration_set_event_destination(
            ConfigurationSetName="cs", EventDestination=sns_destination(name)
        )
    err = error(
        ses.create_configuration_set_event_destination,
        ConfigurationSetName="cs",
        EventDestination=sns_destination("c"),
    )
    assert err["Error"]["Code"] == "LimitExceeded"


# ── tracking, delivery and reputation options ───────────────────────────────────────────────
def test_tracking_options(ses: Any) -> None:
    ses.create_configuration_set(ConfigurationSet={"Name": "cs"})
    assert "TrackingOptions" not in describe(ses, "cs", "trackingOptions")
    with pytest.raises(ses.exceptions.TrackingOptionsDoesNotExistException) as raised:
        ses.update_configuration_set_tracking_options(
            ConfigurationSetName="cs", TrackingOptions={"CustomRedirectDomain": "t.example.com"}
        )
    assert raised.value.response["Error"]["Code"] == "TrackingOptionsDoesNotExistException"
    assert raised.value.response["ConfigurationSetName"] == "cs"

    ses.create_configuration_set_tracking_options(
        ConfigurationSetName="cs", TrackingOptions={"CustomRedirectDomain": "t.example.com"}
    )
    assert describe(ses, "cs", "trackingOptions")["TrackingOptions"] == {
        "CustomRedirectDomain": "t.example.com"
    }
    with pytest.raises(ses.exceptions.TrackingOptionsAlreadyExistsException) as raised:
        ses.create_configuration_set_tracking_options(
            ConfigurationSetName="cs", TrackingOptions={"CustomRedirectDomain": "t.example.com"}
        )
    assert raised.value.response["Error"]["Code"] == "TrackingOptionsAlreadyExistsException"
    assert raised.value.response["ConfigurationSetName"] == "cs"

    for bad in ("click.unverified.test", "not a domain", "-x.example.com"):
        err = error(
            ses.update_configuration_set_tracking_options,
            ConfigurationSetName="cs",
            TrackingOptions={"CustomRedirectDomain": bad},
        )
        assert err["Error"]["Code"] == "InvalidTrackingOptions", bad
    ses.update_configuration_set_tracking_options(
        ConfigurationSetName="cs", TrackingOptions={"CustomRedirectDomain": "example.com"}
    )
    assert describe(ses, "cs", "trackingOptions")["TrackingOptions"] == {
        "CustomRedirectDomain": "example.com"
    }
    ses.delete_configuration_set_tracking_options(ConfigurationSetName="cs")
    assert "TrackingOptions" not in describe(ses, "cs", "trackingOptions")
    err = error(ses.delete_configuration_set_tracking_options, ConfigurationSetName="cs")
    assert err["Error"]["Code"] == "TrackingOptionsDoesNotExistException"
    for call in (
        ses.create_configuration_set_tracking_options,
        ses.update_configuration_set_tracking_options,
    ):
        options = {"CustomRedirectDomain": "t.example.com"}
        assert code(call, ConfigurationSetName="x", TrackingOptions=options) == (
            "ConfigurationSetDoesNotExist"
        )
    assert code(ses.delete_configuration_set_tracking_options, ConfigurationSetName="x") == (
        "ConfigurationSetDoesNotExist"
    )


def test_delivery_and_reputation_options(ses: Any) -> None:
    ses.create_configuration_set(ConfigurationSet={"Name": "cs"})
    assert describe(ses, "cs", "deliveryOptions", "reputationOptions") == {
        "ConfigurationSet": {"Name": "cs"},
        "EventDestinations": [],
        "DeliveryOptions": {"TlsPolicy": "Optional"},
        "ReputationOptions": {"SendingEnabled": True, "ReputationMetricsEnabled": False},
    }
    ses.put_configuration_set_delivery_options(
        ConfigurationSetName="cs", DeliveryOptions={"TlsPolicy": "Require"}
    )
    ses.update_configuration_set_reputation_metrics_enabled(ConfigurationSetName="cs", Enabled=True)
    ses.update_configuration_set_sending_enabled(ConfigurationSetName="cs", Enabled=False)
    described = describe(ses, "cs", "deliveryOptions", "reputationOptions")
    assert described["DeliveryOptions"] == {"TlsPolicy": "Require"}
    assert described["ReputationOptions"] == {
        "SendingEnabled": False,
        "ReputationMetricsEnabled": True,
    }
    # Re-enabling sending is a "fresh start": LastFreshStart stops being null.
    ses.update_configuration_set_sending_enabled(ConfigurationSetName="cs", Enabled=True)
    reputation = describe(ses, "cs", "reputationOptions")["ReputationOptions"]
    assert reputation["SendingEnabled"] is True
    assert isinstance(reputation["LastFreshStart"], datetime)
    assert reputation["LastFreshStart"].tzinfo is not None
    ses.put_configuration_set_delivery_options(ConfigurationSetName="cs")
    assert describe(ses, "cs", "deliveryOptions")["DeliveryOptions"] == {"TlsPolicy": "Optional"}

    err = error(
        ses.put_configuration_set_delivery_options,
        ConfigurationSetName="cs",
        DeliveryOptions={"TlsPolicy": "Sometimes"},
    )
    assert err["Error"]["Code"] == "ValidationError"
    for call, kwargs in [
        (ses.put_configuration_set_delivery_options, {}),
        (ses.update_configuration_set_reputation_metrics_enabled, {"Enabled": True}),
        (ses.update_configuration_set_sending_enabled, {"Enabled": True}),
    ]:
        err = error(call, ConfigurationSetName="x", **kwargs)
        assert (err["Error"]["Code"], err["ConfigurationSetName"]) == (
            "ConfigurationSetDoesNotExist",
            "x",
        )


# ── email templates ─────────────────────────────────────────────────────────────────────────
TEMPLATE = {
    "TemplateName": "welcome",
    "SubjectPart": "Hello {{name}}",
    "TextPart": "Dear {{name}}, your plan is {{plan.tier}}.",
    "HtmlPart": "<h1>Hello {{name}}</h1><p>{{{plan.html}}}</p>",
}


def test_template_lifecycle(ses: Any) -> None:
    ses.create_template(Template=TEMPLATE)
    assert ses.get_template(TemplateName="welcome")["Template"] == TEMPLATE
    with pytest.raises(ses.exceptions.AlreadyExistsException) as raised:
        ses.create_template(Template=TEMPLATE)
    assert (raised.value.response["Error"]["Code"], raised.value.response["Name"]) == (
        "AlreadyExists",
        "welcome",
    )
    text_only = {"TemplateName": "welcome", "SubjectPart": "Hi", "TextPart": "plain"}
    ses.update_template(Template=text_only)
    assert ses.get_template(TemplateName="welcome")["Template"] == text_only
    for call, kwargs in [
        (ses.update_template, {"Template": {**text_only, "TemplateName": "nope"}}),
        (ses.get_template, {"TemplateName": "nope"}),
        (ses.test_render_template, {"TemplateName": "nope", "TemplateData": "{}"}),
    ]:
        with pytest.raises(ses.exceptions.TemplateDoesNotExistException) as raised:
            call(**kwargs)
        response = raised.value.response
        assert (response["Error"]["Code"], response["TemplateName"]) == (
            "TemplateDoesNotExist",
            "nope",
        )
    [metadata] = ses.list_templates()["TemplatesMetadata"]
    assert metadata["Name"] == "welcome" and metadata["CreatedTimestamp"].tzinfo is not None
    ses.delete_template(TemplateName="welcome")
    ses.delete_template(TemplateName="welcome")  # no modeled error: idempotent
    assert ses.list_templates()["TemplatesMetadata"] == []


INVALID_TEMPLATES = [
    ("no-subject", {"TextPart": "x"}, "InvalidParameterValue"),
    ("empty-subject", {"SubjectPart": "", "TextPart": "x"}, "InvalidParameterValue"),
    ("no-body", {"SubjectPart": "s"}, "InvalidParameterValue"),
    (
        "too-large",
        {"SubjectPart": "s", "TextPart": "x" * 300_000, "HtmlPart": "y" * 300_000},
        "InvalidParameterValue",
    ),
    ("unclosed-block", {"SubjectPart": "s", "TextPart": "{{#if a}}x"}, "InvalidTemplate"),
    ("stray-close", {"SubjectPart": "s", "HtmlPart": "x{{/each}}"}, "InvalidTemplate"),
    ("unknown-partial", {"SubjectPart": "s", "TextPart": "{{> footer}}"}, "InvalidTemplate"),
    ("unclosed-tag", {"SubjectPart": "Hi {{name", "TextPart": "x"}, "InvalidTemplate"),
    (
        "unknown-helper",
        {"SubjectPart": "s", "TextPart": "{{#loop items}}{{/loop}}"},
        "InvalidTemplate",
    ),
]


@pytest.mark.parametrize(
    ("parts", "expected"),
    [(p, c) for _, p, c in INVALID_TEMPLATES],
    ids=[i for i, _, _ in INVALID_TEMPLATES],
)
def test_template_validation(ses: Any, parts: dict[str, str], expected: str) -> None:
    template = {"TemplateName": "t", **parts}
    err = error(ses.create_template, Template=template)
    assert err["Error"]["Code"] == expected
    if expected == "InvalidTemplate":
        assert err["TemplateName"] == "t"
    ses.create_template(Template={"TemplateName": "t", "SubjectPart": "s", "TextPart": "ok"})
    assert code(ses.update_template, Template=template) == expected
    assert ses.get_template(TemplateName="t")["Template"]["TextPart"] == "ok"


@pytest.mark.parametrize("name", ["has space", "x" * 65, "dot.name"])
def test_template_names(ses: Any, name: str) -> None:
    template = {"TemplateName": name, "SubjectPart": "s", "TextPart": "x"}
    assert code(ses.create_template, Template=template) == "InvalidParameterValue"


def test_template_limit(ses: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sending_state, "MAX_TEMPLATES", 1)
    ses.create_template(Template={"TemplateName": "a", "SubjectPart": "s", "TextPart": "x"})
    template = {"TemplateName": "b", "SubjectPart": "s", "TextPart": "x"}
    assert code(ses.create_template, Template=template) == "LimitExceeded"


def test_list_templates_pages(ses: Any) -> None:
    for i in range(12):
        ses.create_template(
            Template={"TemplateName": f"t{i:02d}", "SubjectPart": "s", "TextPart": "x"}
        )
    first = ses.list_templates()  # "If you do not specify a value, 10 is the default page size."
    assert [t["Name"] for t in first["TemplatesMetadata"]] == [f"t{i:02d}" for i in range(10)]
    second = ses.list_templates(NextToken=first["NextToken"])
    assert [t["Name"] for t in second["TemplatesMetadata"]] == ["t10", "t11"]
    assert "NextToken" not in second
    assert len(ses.list_templates(MaxItems=500)["TemplatesMetadata"]) == 12  # capped at 100
    pages = list(ses.get_paginator("list_templates").paginate(PaginationConfig={"PageSize": 5}))
    assert [len(p["TemplatesMetadata"]) for p in pages] == [5, 5, 2]
    assert code(ses.list_templates, MaxItems=0) == "InvalidParameterValue"


def rendered(ses: Any, name: str, data: Any) -> email.message.EmailMessage:
    text = ses.test_render_template(TemplateName=name, TemplateData=json.dumps(data))
    message = email.message_from_string(text["RenderedTemplate"], policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def bodies(message: email.message.EmailMessage) -> dict[str, str]:
    parts = message.iter_parts() if message.is_multipart() else [message]
    return {p.get_content_subtype(): p.get_content().replace("\r\n", "\n") for p in parts}


def test_render_template_substitutes(ses: Any) -> None:
    ses.create_template(Template=TEMPLATE)
    message = rendered(ses, "welcome", {"name": "Zoë <&>", "plan": {"tier": 2, "html": "<b>x</b>"}})
    assert message["Subject"] == "Hello Zoë &lt;&amp;&gt;"  # {{x}} is HTML-escaped everywhere
    assert message.get_content_type() == "multipart/alternative"
    assert bodies(message) == {
        "plain": "Dear Zoë &lt;&amp;&gt;, your plan is 2.",
        "html": "<h1>Hello Zoë &lt;&amp;&gt;</h1><p><b>x</b></p>",  # {{{x}}} is not
    }
    assert message["Date"] is not None and message["MIME-Version"] == "1.0"


def test_render_template_blocks_and_partials(ses: Any) -> None:
    text = (
        '{{#* inline "sig"}}\n-- {{team}}\n{{/inline}}\n'
        "{{#each items}}\n"
        "{{@index}}. {{name}}{{#if ../vip}} (vip){{/if}}\n"
        "{{else}}\n"
        "nothing\n"
        "{{/each}}\n"
        "{{#with address}}{{city}}{{/with}}{{#unless missing}}!{{/unless}}\n"
        "  {{! a comment alone on its line }}\n"
        "{{> sig}}\n"
    )
    ses.create_template(
        Template={
            "TemplateName": "t",
            "SubjectPart": "{{#if items}}{{items.0.name}}{{else}}none{{/if}}",
            "TextPart": text,
        }
    )
    data = {
        "items": [{"name": "a"}, {"name": "b"}],
        "vip": True,
        "address": {"city": "Oslo"},
        "team": "T",
    }
    message = rendered(ses, "t", data)
    assert message["Subject"] == "a"
    assert bodies(message) == {"plain": "0. a (vip)\n1. b (vip)\nOslo!\n-- T\n"}
    empty = rendered(ses, "t", {**data, "items": []})
    assert empty["Subject"] == "none"
    assert bodies(empty)["plain"].startswith("nothing\n")


def test_render_template_errors(ses: Any) -> None:
    ses.create_template(Template=TEMPLATE)
    with pytest.raises(ses.exceptions.MissingRenderingAttributeException) as raised:
        ses.test_render_template(TemplateName="welcome", TemplateData='{"name": "x", "plan": {}}')
    response = raised.value.response
    assert response["Error"]["Code"] == "MissingRenderingAttribute"
    assert response["TemplateName"] == "welcome"
    assert response["Error"]["Message"] == (
        "Attribute 'plan.tier' is not present in the rendering data."
    )
    err = error(ses.test_render_template, TemplateName="welcome", TemplateData='{"plan": null}')
    assert err["Error"]["Message"] == "Attribute 'name' is not present in the rendering data."
    for bad in ('{"name": ', "[1, 2]", "not json"):
        with pytest.raises(ses.exceptions.InvalidRenderingParameterException) as raised:
            ses.test_render_template(TemplateName="welcome", TemplateData=bad)
        response = raised.value.response
        assert (response["Error"]["Code"], response["TemplateName"]) == (
            "InvalidRenderingParameter",
            "welcome",
        )


# ── custom verification email templates ─────────────────────────────────────────────────────
def verification(name: str = "verify", **changes: str) -> dict[str, str]:
    return {
        "TemplateName": name,
        "FromEmailAddress": "noreply@example.com",
        "TemplateSubject": "Please verify",
        "TemplateContent": "<html><body>Click the link</body></html>",
        "SuccessRedirectionURL": "https://example.com/ok",
        "FailureRedirectionURL": "https://example.com/failed",
        **changes,
    }


def test_custom_verification_templates(ses: Any) -> None:
    ses.create_custom_verification_email_template(**verification())
    got = ses.get_custom_verification_email_template(TemplateName="verify")
    got.pop("ResponseMetadata")
    assert got == verification()
    with pytest.raises(
        ses.exceptions.CustomVerificationEmailTemplateAlreadyExistsException
    ) as raised:
        ses.create_custom_verification_email_template(**verification())
    response = raised.value.response
    assert response["Error"]["Code"] == "CustomVerificationEmailTemplateAlreadyExists"
    assert response["CustomVerificationEmailTemplateName"] == "verify"

    ses.update_custom_verification_email_template(
        TemplateName="verify", FromEmailAddress="sender@other.test", TemplateSubject="New"
    )
    got = ses.get_custom_verification_email_template(TemplateName="verify")
    assert (got["FromEmailAddress"], got["TemplateSubject"]) == ("sender@other.test", "New")
    assert got["TemplateContent"] == verification()["TemplateContent"]

    for call, kwargs in [
        (ses.get_custom_verification_email_template, {}),
        (ses.update_custom_verification_email_template, {"TemplateSubject": "x"}),
    ]:
        with pytest.raises(
            ses.exceptions.CustomVerificationEmailTemplateDoesNotExistException
        ) as raised:
            call(TemplateName="nope", **kwargs)
        assert raised.value.response["CustomVerificationEmailTemplateName"] == "nope"
    ses.delete_custom_verification_email_template(TemplateName="verify")
    ses.delete_custom_verification_email_template(TemplateName="verify")  # idempotent
    assert ses.list_custom_verification_email_templates()["CustomVerificationEmailTemplates"] == []


def test_custom_verification_template_validation(ses: Any) -> None:
    for sender in ("someone@unverified.test", "other@other.test", "example.com"):
        with pytest.raises(ses.exceptions.FromEmailAddressNotVerifiedException) as raised:
            ses.create_custom_verification_email_template(**verification(FromEmailAddress=sender))
        response = raised.value.response
        assert (response["Error"]["Code"], response["FromEmailAddress"]) == (
            "FromEmailAddressNotVerified",
            sender,
        )
    ses.create_custom_verification_email_template(
        **verification(FromEmailAddress="a@mail.example.com")  # a subdomain of a verified domain
    )
    err = error(
        ses.create_custom_verification_email_template, **verification("v2", TemplateContent=" ")
    )
    assert err["Error"]["Code"] == "CustomVerificationEmailInvalidContent"
    err = error(ses.create_custom_verification_email_template, **verification("bad name"))
    assert err["Error"]["Code"] == "InvalidParameterValue"
    err = error(
        ses.update_custom_verification_email_template,
        TemplateName="verify",
        FromEmailAddress="x@unverified.test",
    )
    assert err["Error"]["Code"] == "FromEmailAddressNotVerified"


def test_custom_verification_templates_pages_and_limit(
    ses: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sending_state, "MAX_VERIFICATION_TEMPLATES", 5)
    for i in range(5):
        ses.create_custom_verification_email_template(**verification(f"v{i}"))
    assert (
        code(ses.create_custom_verification_email_template, **verification("v5")) == "LimitExceeded"
    )
    first = ses.list_custom_verification_email_templates(MaxResults=2)
    listed = first["CustomVerificationEmailTemplates"]
    assert [t["TemplateName"] for t in listed] == ["v0", "v1"]
    assert "TemplateContent" not in listed[0]
    assert listed[0]["SuccessRedirectionURL"] == "https://example.com/ok"
    pages = ses.get_paginator("list_custom_verification_email_templates").paginate(
        PaginationConfig={"PageSize": 2}
    )
    assert [len(p["CustomVerificationEmailTemplates"]) for p in pages] == [2, 2, 1]
    everything = ses.list_custom_verification_email_templates()  # up to 50
    assert (
        len(everything["CustomVerificationEmailTemplates"]) == 5 and "NextToken" not in everything
    )
    assert code(ses.list_custom_verification_email_templates, MaxResults=51) == "ValidationError"


# ── account, quota and statistics ───────────────────────────────────────────────────────────
def test_account_sending_enabled(ses: Any) -> None:
    assert ses.get_account_sending_enabled()["Enabled"] is True
    ses.update_account_sending_enabled(Enabled=False)
    assert ses.get_account_sending_enabled()["Enabled"] is False
    ses.update_account_sending_enabled(Enabled=True)
    assert ses.get_account_sending_enabled()["Enabled"] is True


def test_send_quota_and_statistics_from_counters(server: Any, ses: Any) -> None:
    quota = ses.get_send_quota()
    assert {k: quota[k] for k in ("Max24HourSend", "MaxSendRate", "SentLast24Hours")} == {
        "Max24HourSend": 200.0,
        "MaxSendRate": 1.0,
        "SentLast24Hours": 0.0,
    }
    assert all(
        isinstance(quota[k], float) for k in ("Max24HourSend", "MaxSendRate", "SentLast24Hours")
    )
    assert ses.get_send_statistics()["SendDataPoints"] == []  # nothing sends yet

    server.call(server.server.sending.record_sending(REGION, {"DeliveryAttempts": 3, "Rejects": 1}))
    server.call(server.server.sending.record_sending(REGION, {"DeliveryAttempts": 1, "Bounces": 1}))
    assert ses.get_send_quota()["SentLast24Hours"] == 4.0
    [point] = ses.get_send_statistics()["SendDataPoints"]
    assert point["Timestamp"].tzinfo is not None and point["Timestamp"].minute % 15 == 0
    assert {k: point[k] for k in ("DeliveryAttempts", "Bounces", "Complaints", "Rejects")} == {
        "DeliveryAttempts": 4,
        "Bounces": 1,
        "Complaints": 0,
        "Rejects": 1,
    }
    assert server.ses(region="eu-west-1").get_send_quota()["SentLast24Hours"] == 0.0


# ── Regions and restarts ────────────────────────────────────────────────────────────────────
def test_state_is_per_region(server: Any, ses: Any) -> None:
    other = server.ses(region="eu-west-1")
    ses.create_configuration_set(ConfigurationSet={"Name": "cs"})
    ses.create_template(Template=TEMPLATE)
    ses.update_account_sending_enabled(Enabled=False)
    assert other.list_configuration_sets()["ConfigurationSets"] == []
    assert other.list_templates()["TemplatesMetadata"] == []
    assert other.get_account_sending_enabled()["Enabled"] is True
    other.create_configuration_set(ConfigurationSet={"Name": "cs"})  # no conflict


def test_state_survives_restart(inbound_factory: Any, tmp_path: Any) -> None:
    data_dir = tmp_path / "restart"
    first = inbound_factory(verified=VERIFIED, region=REGION, data_dir=data_dir)
    ses = first.ses()
    ses.create_configuration_set(ConfigurationSet={"Name": "cs"})
    ses.create_configuration_set_event_destination(
        ConfigurationSetName="cs", EventDestination=sns_destination()
    )
    ses.create_configuration_set_tracking_options(
        ConfigurationSetName="cs", TrackingOptions={"CustomRedirectDomain": "t.example.com"}
    )
    ses.put_configuration_set_delivery_options(
        ConfigurationSetName="cs", DeliveryOptions={"TlsPolicy": "Require"}
    )
    ses.update_configuration_set_sending_enabled(ConfigurationSetName="cs", Enabled=False)
    ses.create_template(Template=TEMPLATE)
    ses.create_custom_verification_email_template(**verification())
    ses.update_account_sending_enabled(Enabled=False)
    first.call(first.server.sending.record_sending(REGION, {"DeliveryAttempts": 2}))
    everything = ("eventDestinations", "trackingOptions", "deliveryOptions", "reputationOptions")
    before = describe(ses, "cs", *everything)
    templates = ses.list_templates()["TemplatesMetadata"]
    first.stop()

    ses = inbound_factory(verified=VERIFIED, region=REGION, data_dir=data_dir).ses()
    assert describe(ses, "cs", *everything) == before
    assert ses.list_templates()["TemplatesMetadata"] == templates
    assert ses.get_template(TemplateName="welcome")["Template"] == TEMPLATE
    got = ses.get_custom_verification_email_template(TemplateName="verify")
    assert got["TemplateContent"] == verification()["TemplateContent"]
    assert ses.get_account_sending_enabled()["Enabled"] is False
    assert ses.get_send_quota()["SentLast24Hours"] == 2.0


def test_concurrent_creates_conflict_once(server: Any) -> None:
    """Read-modify-write runs under one lock: of eight racing creates exactly one wins."""
    from concurrent.futures import ThreadPoolExecutor

    clients = [server.ses() for _ in range(8)]

    def create(client: Any) -> str:
        try:
            client.create_configuration_set(ConfigurationSet={"Name": "race"})
        except ClientError as raised:
            return str(raised.response["Error"]["Code"])
        return "ok"

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(create, clients))
    assert outcomes == ["ConfigurationSetAlreadyExists"] * 7 + ["ok"]
