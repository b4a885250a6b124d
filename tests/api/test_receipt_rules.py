"""The 16 receipt rule/filter operations through a real boto3 client (spec receiving.md §9)."""

from __future__ import annotations

import json
import smtplib
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from inbound.errors import SesError
from tests.rulesets import (
    ACCOUNT,
    FUNCTION,
    TOPIC,
    add_header,
    bounce,
    lambda_,
    message,
    rule,
    s3,
    stop,
)

EMPTY = {"RuleSets": []}


def error(call, *args, **kwargs) -> dict:
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    return raised.value.response


@pytest.fixture
def ses(inbound_factory):
    server = inbound_factory(EMPTY, lambda_handlers={FUNCTION: lambda e, c: None})
    client = server.ses()
    client.server = server
    return client


def names(ses, set_name="s") -> list[str]:
    return [r["Name"] for r in ses.describe_receipt_rule_set(RuleSetName=set_name)["Rules"]]


def test_rule_set_lifecycle(ses) -> None:
    assert ses.list_receipt_rule_sets()["RuleSets"] == []
    ses.create_receipt_rule_set(RuleSetName="s")
    described = ses.describe_receipt_rule_set(RuleSetName="s")
    assert described["Metadata"]["Name"] == "s" and described["Rules"] == []
    assert described["Metadata"]["CreatedTimestamp"].tzinfo is not None
    err = error(ses.create_receipt_rule_set, RuleSetName="s")
    assert err["Error"]["Code"] == "AlreadyExists"
    assert err["Error"]["Message"] == "Rule set already exists: s"
    ses.create_receipt_rule(RuleSetName="s", Rule=rule("r1", recipients=["a@example.com"]))
    ses.clone_receipt_rule_set(RuleSetName="copy", OriginalRuleSetName="s")
    assert names(ses, "copy") == ["r1"]
    err = error(ses.clone_receipt_rule_set, RuleSetName="c2", OriginalRuleSetName="nope")
    assert (err["Error"]["Code"], err["Name"]) == ("RuleSetDoesNotExist", "nope")
    listed = [m["Name"] for m in ses.list_receipt_rule_sets()["RuleSets"]]
    assert listed == ["s", "copy"]
    ses.delete_receipt_rule_set(RuleSetName="copy")
    ses.delete_receipt_rule_set(RuleSetName="copy")  # idempotent
    err = error(ses.describe_receipt_rule_set, RuleSetName="copy")
    assert err["Error"]["Message"] == "Rule set does not exist: copy"


def test_active_rule_set(ses) -> None:
    assert "Metadata" not in ses.describe_active_receipt_rule_set()
    ses.create_receipt_rule_set(RuleSetName="s")
    ses.set_active_receipt_rule_set(RuleSetName="s")
    assert ses.describe_active_receipt_rule_set()["Metadata"]["Name"] == "s"
    err = error(ses.delete_receipt_rule_set, RuleSetName="s")
    assert (err["Error"]["Code"], err["Name"]) == ("CannotDelete", "s")
    assert err["Error"]["Message"] == "Cannot delete active rule set: s"
    assert error(ses.set_active_receipt_rule_set, RuleSetName="x")["Error"]["Code"] == (
        "RuleSetDoesNotExist"
    )
    ses.set_active_receipt_rule_set()  # no name: deactivate
    assert "Metadata" not in ses.describe_active_receipt_rule_set()
    ses.delete_receipt_rule_set(RuleSetName="s")


def test_list_receipt_rule_sets_pages_by_100(ses) -> None:
    for i in range(40):
        ses.create_receipt_rule_set(RuleSetName=f"set-{i:02d}")
    err = error(ses.create_receipt_rule_set, RuleSetName="one-too-many")
    assert err["Error"]["Code"] == "LimitExceeded"
    pages = list(ses.get_paginator("list_receipt_rule_sets").paginate())
    assert sum(len(p["RuleSets"]) for p in pages) == 40


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("has space", "ValidationError"),
        ("-leading", "InvalidParameterValue"),
        ("trailing_", "InvalidParameterValue"),
        ("x" * 65, "InvalidParameterValue"),
        ("dots.are.ok", None),
    ],
)
def test_rule_set_names(ses, name, code) -> None:
    if code is None:
        ses.create_receipt_rule_set(RuleSetName=name)
        return
    err = error(ses.create_receipt_rule_set, RuleSetName=name)
    assert err["Error"]["Code"] == code
    if code == "InvalidParameterValue":
        assert err["Error"]["Message"] == f"Not a valid ruleSetName: {name}"
    else:  # spec §9.2's probed text, which does not echo the name
        assert err["Error"]["Message"] == (
            "1 validation error detected: Value at 'ruleSetName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9_.-]+$"
        )


def test_rule_order_create_update_position_reorder_delete(ses) -> None:
    ses.create_receipt_rule_set(RuleSetName="s")
    ses.create_receipt_rule(RuleSetName="s", Rule=rule("a"))
    ses.create_receipt_rule(RuleSetName="s", Rule=rule("b"))  # no After: first
    ses.create_receipt_rule(RuleSetName="s", Rule=rule("c"), After="b")
    assert names(ses) == ["b", "c", "a"]
    err = error(ses.create_receipt_rule, RuleSetName="s", Rule=rule("d"), After="zz")
    assert (err["Error"]["Code"], err["Name"]) == ("RuleDoesNotExist", "zz")
    assert error(ses.create_receipt_rule, RuleSetName="s", Rule=rule("a"))["Error"]["Code"] == (
        "AlreadyExists"
    )
    ses.update_receipt_rule(RuleSetName="s", Rule={"Name": "c", "Recipients": ["x@example.com"]})
    updated = ses.describe_receipt_rule(RuleSetName="s", RuleName="c")["Rule"]
    assert updated == {
        "Name": "c",
        "Enabled": False,  # omitted members take their defaults
        "TlsPolicy": "Optional",
        "Recipients": ["x@example.com"],
        "Actions": [],
        "ScanEnabled": False,
    }
    assert names(ses) == ["b", "c", "a"]  # position kept
    ses.set_receipt_rule_position(RuleSetName="s", RuleName="b", After="a")
    assert names(ses) == ["c", "a", "b"]
    ses.set_receipt_rule_position(RuleSetName="s", RuleName="a")
    assert names(ses) == ["a", "c", "b"]
    ses.set_receipt_rule_position(RuleSetName="s", RuleName="c", After="c")  # no-op
    assert names(ses) == ["a", "c", "b"]
    ses.reorder_receipt_rule_set(RuleSetName="s", RuleNames=["b", "a", "c"])
    assert names(ses) == ["b", "a", "c"]
    # SES's checks and texts, in its order (query-api.md §9.3): repeats, omissions, strangers
    err = error(ses.reorder_receipt_rule_set, RuleSetName="s", RuleNames=["b", "q", "b"])
    assert err["Error"] == {
        "Type": "Sender",
        "Code": "InvalidParameterValue",
        "Message": "Multiple positions found for rule: b",
    }
    err = error(ses.reorder_receipt_rule_set, RuleSetName="s", RuleNames=["b", "q"])
    assert err["Error"]["Message"] == "Positions for rules not found: a, c"
    err = error(ses.reorder_receipt_rule_set, RuleSetName="s", RuleNames=["b", "a", "c", "q"])
    assert (err["Error"]["Code"], err["Name"]) == ("RuleDoesNotExist", "q")
    ses.delete_receipt_rule(RuleSetName="s", RuleName="a")
    ses.delete_receipt_rule(RuleSetName="s", RuleName="a")  # idempotent
    assert names(ses) == ["b", "c"]
    err = error(ses.delete_receipt_rule, RuleSetName="nope", RuleName="a")
    assert err["Error"]["Code"] == "RuleSetDoesNotExist"
    err = error(ses.describe_receipt_rule, RuleSetName="s", RuleName="a")
    assert err["Error"]["Message"] == "Rule does not exist: a"


def test_every_action_round_trips(ses) -> None:
    ses.create_receipt_rule_set(RuleSetName="s")
    everything = rule(
        "all",
        add_header("X-A", "b"),
        s3("bucket", "p/", TopicArn=TOPIC),
        {"SNSAction": {"TopicArn": TOPIC, "Encoding": "Base64"}},
        lambda_("RequestResponse"),
        bounce(sender="postmaster@example.com"),
        {"WorkmailAction": {"OrganizationArn": "arn:aws:workmail:us-east-1:1:organization/m-1"}},
        stop(TOPIC),
        recipients=["example.com", ".example.com", "a@example.com"],
        TlsPolicy="Require",
        ScanEnabled=True,
    )
    ses.create_receipt_rule(RuleSetName="s", Rule=everything)
    assert ses.describe_receipt_rule(RuleSetName="s", RuleName="all")["Rule"] == everything


def test_limits(ses) -> None:
    ses.create_receipt_rule_set(RuleSetName="s")
    too_many_actions = rule("r", *[add_header("X-A", "b")] * 11)
    assert error(ses.create_receipt_rule, RuleSetName="s", Rule=too_many_actions)["Error"] == {
        "Type": "Sender",
        "Code": "LimitExceeded",
        "Message": "Too many actions",
    }
    too_many_recipients = rule("r", recipients=[f"u{i}@example.com" for i in range(101)])
    err = error(ses.create_receipt_rule, RuleSetName="s", Rule=too_many_recipients)
    assert err["Error"]["Code"] == "LimitExceeded"


def test_rule_limit_is_200(ses) -> None:
    ses.create_receipt_rule_set(RuleSetName="s")
    previous = None
    for i in range(200):
        ses.create_receipt_rule(
            RuleSetName="s", Rule=rule(f"r{i}"), **({"After": previous} if previous else {})
        )
        previous = f"r{i}"
    err = error(ses.create_receipt_rule, RuleSetName="s", Rule=rule("r200"))
    assert err["Error"] == {"Type": "Sender", "Code": "LimitExceeded", "Message": "Too many rules"}
    assert names(ses)[:3] == ["r0", "r1", "r2"]


@pytest.mark.parametrize(
    ("action", "code", "member"),
    [
        (s3("../escape"), "InvalidS3Configuration", ("Bucket", "../escape")),
        (
            {"SNSAction": {"TopicArn": "arn:aws:sns:eu-west-1:123456789012:t"}},
            "InvalidSnsTopic",
            None,
        ),
        (
            lambda_(function="arn:aws:lambda:us-east-1:123456789012:function:nope"),
            "InvalidLambdaFunction",
            None,
        ),
        (bounce(sender="someone@unverified.test"), "InvalidParameterValue", None),
        (add_header("Bad Name", "x"), "InvalidParameterValue", None),
        (stop("arn:aws:sns:us-east-1:123456789012"), "InvalidSnsTopic", None),
    ],
    ids=[
        "s3-unwritable",
        "sns-other-region",
        "lambda-missing",
        "bounce-unverified",
        "header",
        "alert-topic",
    ],
)
def test_action_targets_are_checked(ses, action, code, member) -> None:
    ses.create_receipt_rule_set(RuleSetName="s")
    err = error(ses.create_receipt_rule, RuleSetName="s", Rule=rule("r", action))
    assert err["Error"]["Code"] == code
    if member:
        assert err[member[0]] == member[1]
        assert err["Error"]["Message"] == f"Could not write to bucket: {member[1]}"
    assert names(ses) == []  # nothing was saved


@pytest.mark.parametrize(
    ("bad_rule", "code", "text"),
    [
        (
            rule("bad name"),
            "ValidationError",
            "1 validation error detected: Value at 'rule.name' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9_.-]+$",
        ),
        (rule("_r"), "InvalidParameterValue", "Not a valid ruleName: _r"),
        (
            rule("r", recipients=["not an address"]),
            "InvalidParameterValue",
            "Invalid recipient: not an address",
        ),
        (
            rule("r", recipients=["a@b@example.com"]),
            "InvalidParameterValue",
            "Invalid recipient: a@b@example.com",
        ),
        (rule("r", recipients=["user@"]), "InvalidParameterValue", "Invalid recipient: user@"),
        (
            rule("r", recipients=["-bad.example"]),
            "InvalidParameterValue",
            "Invalid recipient: -bad.example",
        ),
        (
            rule("r", bounce(sender="someone@unverified.test")),
            "InvalidParameterValue",
            "Identity is not verified: someone@unverified.test",
        ),
        (rule("r", bounce(code="abc")), "InvalidParameterValue", "Invalid SMTP reply code: abc"),
        (
            rule("r", bounce(message="d\u00e9j\u00e0 vu")),
            "InvalidParameterValue",
            "Invalid SMTP response message: d\u00e9j\u00e0 vu",
        ),
        (
            rule("r", add_header("Bad Name", "x")),
            "InvalidParameterValue",
            "Invalid header name: Bad Name",
        ),
        (rule("r", add_header("X:Y", "x")), "InvalidParameterValue", "Invalid header name: X:Y"),
        (
            rule("r", {"SNSAction": {"TopicArn": "topic"}}),
            "InvalidSnsTopic",
            "Invalid SNS topic: topic",
        ),
        (
            rule("r", lambda_(function="handler")),
            "InvalidLambdaFunction",
            "Invalid Lambda function: handler",
        ),
    ],
    ids=[
        "rule-name-pattern",
        "rule-name-edge",
        "recipient-text",
        "recipient-two-ats",
        "recipient-no-domain",
        "recipient-bad-label",
        "bounce-sender",
        "bounce-code",
        "bounce-message",
        "header-space",
        "header-colon",
        "sns-not-an-arn",
        "lambda-not-an-arn",
    ],
)
def test_rule_validation_texts_are_ses_s(ses, bad_rule, code, text) -> None:
    ses.create_receipt_rule_set(RuleSetName="s")
    err = error(ses.create_receipt_rule, RuleSetName="s", Rule=bad_rule)
    assert (err["Error"]["Code"], err["Error"]["Message"]) == (code, text)
    assert names(ses) == []


def test_rule_recipients_take_every_form_ses_matches(ses) -> None:
    """Addresses (quoted local parts, +labels, IDN), domains, .domains, a root dot; and the
    header names SES accepts beyond the documented letters, digits and dashes (RFC 5322 ftext)."""
    ses.create_receipt_rule_set(RuleSetName="s")
    recipients = [
        "user@example.com",
        "user+tag@example.com",
        '"a b"@example.com',
        "gr\u00fc\u00dfe@b\u00fccher.example",
        "example.com",
        ".example.com",
        "example.com.",
    ]
    ses.create_receipt_rule(
        RuleSetName="s", Rule=rule("r", add_header("X_Custom.Tag", "v"), recipients=recipients)
    )
    assert ses.describe_receipt_rule(RuleSetName="s", RuleName="r")["Rule"]["Recipients"] == (
        recipients
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("bad name", "Not a valid filterName: bad name"),
        ("bad/name", "Not a valid filterName: bad/name"),
        ("-abc", "Not a valid filterName: -abc"),
        ("a" * 65, f"Not a valid filterName: {'a' * 65}"),
        ("", "filterName must not be empty"),
    ],
    ids=["space", "slash", "leading-dash", "too-long", "empty"],
)
def test_filter_names_have_one_message(ses, name, text) -> None:
    """No ValidationError layer for filter names, unlike rule-set and rule names (§9.2)."""
    bad = {"Name": name, "IpFilter": {"Policy": "Block", "Cidr": "10.0.0.1"}}
    err = error(ses.create_receipt_filter, Filter=bad)["Error"]
    assert (err["Code"], err["Message"]) == ("InvalidParameterValue", text)


def test_s3_rule_writes_the_setup_notification(ses) -> None:
    ses.create_receipt_rule_set(RuleSetName="s")
    ses.create_receipt_rule(RuleSetName="s", Rule=rule("r", s3("mail", "emails")))
    keys = [(o["bucket"], o["key"]) for o in ses.server.get("/api/s3")]
    assert keys == [("mail", "emails/AMAZON_SES_SETUP_NOTIFICATION")]


def test_receipt_filters(ses) -> None:
    assert ses.list_receipt_filters()["Filters"] == []
    for name, cidr in (("zeta", "10.0.0.1/24"), ("alpha", "2001:db8::/32")):
        ses.create_receipt_filter(
            Filter={"Name": name, "IpFilter": {"Policy": "Block", "Cidr": cidr}}
        )
    listed = ses.list_receipt_filters()["Filters"]
    assert [f["Name"] for f in listed] == ["alpha", "zeta"]  # sorted by name
    assert listed[1]["IpFilter"] == {"Policy": "Block", "Cidr": "10.0.0.1/24"}
    dup = {"Name": "zeta", "IpFilter": {"Policy": "Allow", "Cidr": "10.0.0.1"}}
    assert error(ses.create_receipt_filter, Filter=dup)["Error"]["Code"] == "AlreadyExists"
    bad = {"Name": "bad", "IpFilter": {"Policy": "Allow", "Cidr": "10.0.0.1/33"}}
    err = error(ses.create_receipt_filter, Filter=bad)["Error"]
    assert err["Message"] == "Invalid CIDR block: 10.0.0.1/33"
    ses.delete_receipt_filter(FilterName="zeta")
    ses.delete_receipt_filter(FilterName="zeta")  # idempotent
    assert [f["Name"] for f in ses.list_receipt_filters()["Filters"]] == ["alpha"]


def test_filter_limit_is_100(ses) -> None:
    for i in range(100):
        ses.create_receipt_filter(
            Filter={"Name": f"f{i}", "IpFilter": {"Policy": "Block", "Cidr": f"10.0.{i}.0/24"}}
        )
    extra = {"Name": "f100", "IpFilter": {"Policy": "Block", "Cidr": "10.1.0.0/24"}}
    assert error(ses.create_receipt_filter, Filter=extra)["Error"] == {
        "Type": "Sender",
        "Code": "LimitExceeded",
        "Message": "Too many filters",
    }


def test_api_changes_drive_smtp_at_once_and_survive_a_restart(inbound_factory, tmp_path) -> None:
    data = tmp_path / "shared-data"
    server = inbound_factory(EMPTY, data_dir=data)
    ses = server.ses()
    ses.create_receipt_rule_set(RuleSetName="live")
    ses.create_receipt_rule(RuleSetName="live", Rule=rule("r", s3("b", "one/")))
    with pytest.raises(smtplib.SMTPRecipientsRefused):  # not active yet: rejected at RCPT
        server.send("s@sender.test", ["user@example.com"], message())
    ses.set_active_receipt_rule_set(RuleSetName="live")
    server.send("s@sender.test", ["user@example.com"], message())
    ses.update_receipt_rule(RuleSetName="live", Rule=rule("r", s3("b", "two/")))
    server.send("s@sender.test", ["user@example.com"], message())
    server.wait_idle()
    keys = sorted(o["key"].split("/")[0] for o in server.get("/api/s3"))
    assert keys == ["one", "one", "two", "two"]  # with each rule's setup notification
    ses.create_receipt_filter(
        Filter={"Name": "me", "IpFilter": {"Policy": "Block", "Cidr": "127.0.0.1"}}
    )
    with server.smtp() as client:
        client.ehlo()
        client.mail("s@sender.test")
        assert client.rcpt("user@example.com")[0] == 550
    server.stop()
    again = inbound_factory(EMPTY, data_dir=data)
    ses = again.ses()
    assert ses.describe_active_receipt_rule_set()["Rules"][0]["Actions"] == [s3("b", "two/")]
    assert [f["Name"] for f in ses.list_receipt_filters()["Filters"]] == ["me"]


def test_rule_sets_are_per_region_and_mail_is_received_with_the_configured_ones(
    inbound_factory, tmp_path
) -> None:
    """SES keeps receipt rule sets and filters per Region (docs/json-api.md "Regions"): a
    client signing for eu-west-1 sees and edits eu-west-1's, the configured Region's
    (us-east-1) are the ones SMTP receives with, and both survive a restart."""
    data = tmp_path / "regions"
    server = inbound_factory(EMPTY, data_dir=data)
    home, away = server.ses(), server.ses("eu-west-1")
    away.create_receipt_rule_set(RuleSetName="away")
    away.create_receipt_rule(
        RuleSetName="away",
        Rule=rule("r", {"SNSAction": {"TopicArn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:t"}}),
    )
    away.set_active_receipt_rule_set(RuleSetName="away")
    away.create_receipt_filter(
        Filter={"Name": "f", "IpFilter": {"Policy": "Block", "Cidr": "10.0.0.1"}}
    )
    assert home.list_receipt_rule_sets()["RuleSets"] == []
    assert home.list_receipt_filters()["Filters"] == []
    assert "Metadata" not in home.describe_active_receipt_rule_set()
    assert error(home.describe_receipt_rule_set, RuleSetName="away")["Error"]["Code"] == (
        "RuleSetDoesNotExist"
    )
    with pytest.raises(smtplib.SMTPRecipientsRefused):  # eu-west-1's active set receives nothing
        server.send("s@sender.test", ["user@example.com"], message())
    home.create_receipt_rule_set(RuleSetName="away")  # the same name in another Region
    home.create_receipt_rule(RuleSetName="away", Rule=rule("home-rule"))
    home.set_active_receipt_rule_set(RuleSetName="away")
    assert server.send("s@sender.test", ["user@example.com"], message()) == {}
    # a topic of the other Region is refused, as SES refuses it (spec receiving.md §8)
    err = error(
        away.create_receipt_rule,
        RuleSetName="away",
        Rule=rule("r2", {"SNSAction": {"TopicArn": TOPIC}}),
    )
    assert err["Error"]["Code"] == "InvalidSnsTopic"
    assert server.get("/api/rules")["RuleSets"][0]["Rules"][0]["Name"] == "home-rule"
    server.stop()
    again = inbound_factory(EMPTY, data_dir=data)
    assert [
        r["Name"] for r in again.ses("eu-west-1").describe_active_receipt_rule_set()["Rules"]
    ] == ["r"]
    assert [f["Name"] for f in again.ses("eu-west-1").list_receipt_filters()["Filters"]] == ["f"]
    assert [r["Name"] for r in again.ses().describe_active_receipt_rule_set()["Rules"]] == [
        "home-rule"
    ]


def test_rules_export_and_apply_commands(tmp_path) -> None:
    config = tmp_path / "inbound.toml"
    config.write_text('[identities]\nverified = ["example.com"]\n')
    (tmp_path / "rules.json").write_text(json.dumps(EMPTY))
    data = tmp_path / "data"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return inbound_command("rules", *args, "--config", str(config), "--data", str(data))

    new = {
        "ActiveRuleSet": "s",
        "RuleSets": [{"Metadata": {"Name": "s"}, "Rules": [rule("r", s3("b"))]}],
    }
    (tmp_path / "new.json").write_text(json.dumps(new))
    applied = run("apply", str(tmp_path / "new.json"))
    assert applied.returncode == 0, applied.stderr
    assert "saved in" in applied.stdout
    exported = json.loads(run("export").stdout)
    assert exported["ActiveRuleSet"] == "s"
    [exported_rule] = exported["RuleSets"][0]["Rules"]
    assert exported_rule == {**rule("r", s3("b")), "TlsPolicy": "Optional", "ScanEnabled": False}
    bad = dict(new, RuleSets=[{"Metadata": {"Name": "s"}, "Rules": [rule("bad name")]}])
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    refused = run("apply", str(tmp_path / "bad.json"))
    assert refused.returncode == 2
    assert "bad.json" in refused.stderr and "bad name" in refused.stderr
    assert json.loads(run("export").stdout) == exported  # all-or-nothing


def inbound_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inbound", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("action", "text"),
    [
        ({"SNSAction": {"TopicArn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:t"}}, "Could not publish"),
        ({"SNSAction": {"TopicArn": "topic"}}, "Invalid SNS topic: topic"),
        ({"LambdaAction": {"FunctionArn": "f"}}, "Invalid Lambda function: f"),
        ({"S3Action": {"BucketName": "a/b"}}, "Could not write to bucket: a/b"),
    ],
    ids=["topic-of-another-region", "topic-not-an-arn", "function-not-an-arn", "bad-bucket"],
)
def test_rule_files_are_validated_as_the_api_validates_them(
    inbound_factory, tmp_path, action, text
) -> None:
    """The one validation (`codec.parse_rules`) for the API, `rules validate FILE`,
    `rules apply` and the pytest marker: each refuses the same rule with SES's text."""
    bad = {"RuleSets": [{"Metadata": {"Name": "s"}, "Rules": [rule("r", action)]}]}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    config = tmp_path / "inbound.toml"
    config.write_text('[identities]\nverified = ["example.com"]\n')
    (tmp_path / "rules.json").write_text(json.dumps(EMPTY))
    server = inbound_factory(EMPTY)
    server.ses().create_receipt_rule_set(RuleSetName="s")
    api = error(server.ses().create_receipt_rule, RuleSetName="s", Rule=rule("r", action))
    assert text in api["Error"]["Message"]
    for command in ("validate", "apply"):
        refused = inbound_command(
            "rules", command, str(tmp_path / "bad.json"), "--config", str(config)
        )
        assert refused.returncode == 2, refused.stdout
        assert text in refused.stderr and "bad.json" in refused.stderr
    with pytest.raises(SesError) as raised:
        inbound_factory(bad)  # the marker's rules go through the same function
    assert text in raised.value.message


def test_rules_apply_refuses_a_running_servers_data_dir_and_applies_over_http(
    inbound_factory, tmp_path
) -> None:
    data = tmp_path / "busy"
    server = inbound_factory(EMPTY, data_dir=data)
    config = tmp_path / "inbound.toml"
    config.write_text('[identities]\nverified = ["example.com"]\n')
    (tmp_path / "rules.json").write_text(json.dumps(EMPTY))
    new = {"ActiveRuleSet": "s", "RuleSets": [{"Metadata": {"Name": "s"}, "Rules": [rule("r")]}]}
    (tmp_path / "new.json").write_text(json.dumps(new))
    common = ("--config", str(config), "--data", str(data))
    refused = inbound_command("rules", "apply", str(tmp_path / "new.json"), *common)
    assert refused.returncode == 2
    assert f"a server is running on this data dir; apply through it: --http {server.api_url}" in (
        refused.stderr
    )
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        server.send("s@sender.test", ["user@example.com"], message())  # nothing changed
    applied = inbound_command(
        "rules", "apply", str(tmp_path / "new.json"), *common, "--http", server.api_url
    )
    assert applied.returncode == 0, applied.stderr
    assert server.send("s@sender.test", ["user@example.com"], message()) == {}
    exported = inbound_command("rules", "export", *common, "--http", server.api_url)
    assert json.loads(exported.stdout)["ActiveRuleSet"] == "s"
    second = inbound_command(
        "serve", *common, "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0"
    )  # one server per data dir
    assert second.returncode == 2
    assert f"the data dir is in use by the server at {server.api_url}" in second.stderr
    server.stop()  # the claim goes with the server
    assert inbound_command("rules", "apply", str(tmp_path / "new.json"), *common).returncode == 0


def test_put_api_rules_applies_to_a_running_server(inbound_factory) -> None:
    import urllib.request

    server = inbound_factory(EMPTY)
    new = {"ActiveRuleSet": "s", "RuleSets": [{"Metadata": {"Name": "s"}, "Rules": [rule("r")]}]}
    request = urllib.request.Request(
        server.api_url + "/api/rules", data=json.dumps(new).encode(), method="PUT"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["ActiveRuleSet"] == "s"
    assert server.send("s@sender.test", ["user@example.com"], message()) == {}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (json.dumps({"ActiveRuleSet": ["s"]}).encode(), "Member must be a string"),
        (b'{"\xff": 1}', "invalid JSON"),
    ],
    ids=["active-rule-set-not-a-string", "not-utf-8"],
)
def test_put_api_rules_refuses_what_it_cannot_read_with_a_400(inbound_factory, body, error):
    """Found by fuzzing (tests/fuzz/test_json_api.py): both answered 500 with a traceback."""
    import urllib.error
    import urllib.request

    server = inbound_factory(EMPTY)
    request = urllib.request.Request(server.api_url + "/api/rules", data=body, method="PUT")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert error in json.loads(refused.value.read())["error"]
