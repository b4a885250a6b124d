"""`[backends.<service>]` in inbound.toml: errors name `backends.<service>.<key>` (docs/aws.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inbound import config
from inbound.backends.aws import AwsFunctions, AwsObjectStore
from inbound.backends.factory import make_backends
from inbound.backends.local_kms import LocalKms
from inbound.backends.local_s3 import LocalObjectStore
from inbound.errors import ConfigError
from inbound.store import Store

LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:remote-only"
RULES = json.dumps(
    {
        "ActiveRuleSet": "s",
        "RuleSets": [
            {
                "Metadata": {"Name": "s"},
                "Rules": [
                    {
                        "Name": "r",
                        "Enabled": True,
                        "Actions": [{"LambdaAction": {"FunctionArn": LAMBDA_ARN}}],
                    }
                ],
            }
        ],
    }
)


def load(tmp_path: Path, toml: str, rules: str = '{"RuleSets": []}') -> config.Settings:
    (tmp_path / "rules.json").write_text(rules)
    path = tmp_path / "inbound.toml"
    path.write_text(toml)
    return config.load(path)


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ('[backends.s3]\nkind = "gcp"\n', "backends.s3.kind", "'local' or 'aws'"),
        ('[backends.sns]\nbucket = "x"\n', "backends.sns.bucket", "unknown key"),
        ('[backends.sqs]\nkind = "aws"\n', "backends.sqs", "unknown key"),
        ("[backends.lambda]\nregion = 3\n", "backends.lambda.region", "wrong type"),
        ('[backends.kms]\nregion = "mars"\n', "backends.kms.region", "not an AWS Region"),
        ('[backends.cloudwatch]\nkind = "x"\n', "backends.cloudwatch.kind", "'local' or 'aws'"),
        ('[backends.firehose]\nstream = "x"\n', "backends.firehose.stream", "unknown key"),
        ('[backends.s3]\nendpoint_url = "moto:5000"\n', "backends.s3.endpoint_url", "URL"),
        ('[backends.s3]\naccess_key_id = "AK"\n', "backends.s3.secret_access_key", "pairs"),
        ('[backends.s3]\nsession_token = "t"\n', "backends.s3.session_token", "access_key_id"),
        (
            '[backends.s3]\nprofile = "p"\naccess_key_id = "a"\nsecret_access_key = "s"\n',
            "backends.s3.profile",
            "not both",
        ),
        ("[backends.sns]\nread_timeout = 0\n", "backends.sns.read_timeout", "positive"),
        ("[backends.sns]\nmax_attempts = true\n", "backends.sns.max_attempts", "wrong type"),
        ('[backends]\ns3 = "aws"\n', "backends.s3", "wrong type"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith("backends") else None,
)
def test_bad_backend_settings_name_the_key(tmp_path, toml, key, words) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, toml)
    assert error.value.key == key
    assert words in error.value.message
    assert error.value.file == str(tmp_path / "inbound.toml")


def test_aws_backends_are_made_once_per_service(tmp_path) -> None:
    settings = load(
        tmp_path,
        '[server]\ndata_dir = "data"\n[account]\nregion = "eu-west-1"\n'
        '[backends.s3]\nkind = "aws"\nendpoint_url = "http://127.0.0.1:9"\n'
        'access_key_id = "a"\nsecret_access_key = "s"\nconnect_timeout = 2\n'
        '[backends.lambda]\nkind = "aws"\nregion = "us-west-2"\n'
        'access_key_id = "a"\nsecret_access_key = "s"\n',
        RULES,  # a Lambda ARN without a local handler is fine when Lambda is remote
    )
    assert settings.backend("s3").connect_timeout == 2.0
    assert settings.backend("sns") == config.BackendSettings()  # local by default
    store = Store(tmp_path / "data")
    backends = make_backends(store, settings.clone(data_dir=tmp_path / "data"), "http://x")
    assert isinstance(backends.objects, AwsObjectStore)
    assert isinstance(backends.functions, AwsFunctions)
    assert isinstance(backends.kms, LocalKms)
    s3_client, lambda_client = backends.objects.client, backends.functions.client
    assert s3_client.meta.region_name == "eu-west-1"  # [account] region
    assert s3_client.meta.endpoint_url == "http://127.0.0.1:9"
    assert lambda_client.meta.region_name == "us-west-2"
    # botocore's max_attempts counts retries: 3 ⇒ 4 attempts in all
    assert s3_client.meta.config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert lambda_client.meta.config.read_timeout >= 35
    assert backends.objects.services is backends.functions.services  # one pool, one session
    backends.objects.services.close()


def test_local_is_the_default_and_still_needs_local_handlers(tmp_path) -> None:
    with pytest.raises(ConfigError, match="no local handler"):
        load(tmp_path, "", RULES)
    settings = load(tmp_path, '[server]\ndata_dir = "data"\n')
    store = Store(tmp_path / "data")
    backends = make_backends(store, settings.clone(data_dir=tmp_path / "data"), "http://x")
    assert isinstance(backends.objects, LocalObjectStore)
