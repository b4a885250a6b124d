"""A receipt-rule edit is answered once it is committed, with what SES writes when the rule is
saved: the setup object in the rule's bucket and the setup notification to its topic are
queued in the store's writer ahead of the rule's own commit, which is the one write the reply
waits for (issue 15 item 8)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import boto3

from tests.receiving.test_restart import _get, _start
from tests.rulesets import TOPIC, rule, rules, s3, sns


def _ses(http_url: str) -> Any:
    return boto3.client(
        "ses",
        endpoint_url=http_url,
        region_name="us-east-1",
        aws_access_key_id="AKIAEDITCOMMIT000000",
        aws_secret_access_key="secret",
    )


def test_an_answered_edit_and_its_setup_writes_survive_a_kill(tmp_path: Path) -> None:
    """Killed -9 right after the replies, a restarted server has the updated rule, both
    setup objects and both setup notifications: each was committed before its reply."""
    (tmp_path / "rules.json").write_text(json.dumps(rules()))
    config = tmp_path / "inbound.toml"
    config.write_text('[identities]\nverified = ["example.com"]\n')
    data = tmp_path / "data"
    process, _, http_url = _start(config, data)
    try:
        ses = _ses(http_url)
        ses.create_receipt_rule_set(RuleSetName="set")
        ses.create_receipt_rule(RuleSetName="set", Rule=rule("r", s3("b", "in/"), sns()))
        updated = rule("r", s3("b", "up/"), sns(), recipients=["user@example.com"])
        ses.update_receipt_rule(RuleSetName="set", Rule=updated)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

    process, _, http_url = _start(config, data)
    try:
        kept = _ses(http_url).describe_receipt_rule(RuleSetName="set", RuleName="r")["Rule"]
        assert kept["Recipients"] == ["user@example.com"]
        assert kept["Actions"][0]["S3Action"]["ObjectKeyPrefix"] == "up/"
        objects = sorted(o["key"] for o in _get(f"{http_url}/api/s3") if o["bucket"] == "b")
        assert objects == ["in/AMAZON_SES_SETUP_NOTIFICATION", "up/AMAZON_SES_SETUP_NOTIFICATION"]
        notices = [n for n in _get(f"{http_url}/api/notifications") if n["topicArn"] == TOPIC]
        kinds = [json.loads(n["message"])["notificationType"] for n in notices]
        assert kinds == ["AmazonSnsSubscriptionSucceeded"] * 2
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
