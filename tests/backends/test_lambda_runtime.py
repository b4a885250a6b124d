"""The embedded Lambda runs a handler named in `[lambda.functions]` as Lambda does: in an
execution environment (a worker process) of its own, with Lambda's context object and
environment variables, plus an endpoint and credentials that point boto3 at the engine. The
context is also read through aws-lambda-powertools' Logger, an independent consumer of it."""

from __future__ import annotations

import hashlib
import os
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from inbound.config import HandlerSource, load_handler
from inbound.errors import ConfigError
from inbound.testing import RunningInbound
from tests.rulesets import ACCOUNT, FUNCTION, lambda_, message, rule, rules, s3

OTHER = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:other:7"
SES_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/aws/ses"

HANDLERS = """
import io, json, logging, os, sys, time

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import SESEvent, event_source

import helper  # a sibling module: the folder is LAMBDA_TASK_ROOT, on sys.path

LOG = io.StringIO()
logger = Logger(service="mail", logger_handler=logging.StreamHandler(LOG))
NAMED = ("_HANDLER", "AWS_", "LAMBDA_", "TZ")


@logger.inject_lambda_context
@event_source(data_class=SESEvent)
def handle(event, context):
    logger.info("received")
    return {
        "env": {k: v for k, v in os.environ.items() if k.startswith(NAMED)},
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "identity": [context.identity.cognito_identity_id,
                         context.identity.cognito_identity_pool_id],
            "client_context": context.client_context,
            "remaining": context.get_remaining_time_in_millis(),
        },
        "powertools": json.loads(LOG.getvalue().splitlines()[-1]),
        "messageId": event.record.ses.mail.message_id,
        "helper": helper.VALUE,
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "engineImported": "inbound" in sys.modules,
    }


def sleepy(event, context):
    with open("sleepy.pid", "w") as f:  # the working directory is the task root
        f.write(str(os.getpid()))
    time.sleep(float(os.environ.get("SLEEP", "5")))
    return {"pid": os.getpid()}


def crash(event, context):
    os._exit(3)


def fails(event, context):
    raise ValueError("no such mailbox")
"""


def handlers(folder: Path) -> Path:
    (folder / "handlers.py").write_text(HANDLERS)
    (folder / "helper.py").write_text("VALUE = 'from the task root'\n")
    return folder / "handlers.py"


def source(file: Path, function: str) -> HandlerSource:
    return load_handler(f"{file.name}:{function}", file.parent, file.parent / "x.toml", "k")


def invocations(server: RunningInbound) -> list[dict[str, Any]]:
    """Oldest first."""
    server.wait_idle()
    return server.get("/api/lambda")


def test_a_handler_gets_lambdas_context_and_environment_and_boto3_points_at_the_engine(
    inbound_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "the-engine-s-own")  # not the function's
    file = handlers(tmp_path)
    server = inbound_factory(
        rules(rule("r", lambda_("RequestResponse"), lambda_("RequestResponse", OTHER))),
        lambda_handlers={FUNCTION: source(file, "handle"), OTHER: source(file, "handle")},
        lambda_timeout=20,
    )
    server.send("sender@sender.test", ["user@example.com"], message())
    server.wait_idle()  # (at the same time, the second would need an environment of its own)
    server.send("sender@sender.test", ["user@example.com"], message())
    first, second = (i for i in invocations(server) if i["functionArn"] == FUNCTION)
    other = next(i for i in invocations(server) if i["functionArn"] == OTHER)
    seen = first["response"]

    env, context = seen["env"], seen["context"]
    stream = env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", stream)
    assert {k: v for k, v in env.items() if k != "AWS_LAMBDA_LOG_STREAM_NAME"} == {
        "_HANDLER": "handlers.handle",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": env["AWS_EXECUTION_ENV"],
        "AWS_LAMBDA_FUNCTION_NAME": "handler",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/handler",
        "LAMBDA_TASK_ROOT": str(tmp_path),
        "LAMBDA_RUNTIME_DIR": env["LAMBDA_RUNTIME_DIR"],
        "TZ": ":UTC",
        "AWS_ENDPOINT_URL": server.api_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    assert re.fullmatch(r"AWS_Lambda_python3\.\d+", env["AWS_EXECUTION_ENV"])
    assert context.pop("remaining") in range(1, 20_001)
    assert context == {
        "function_name": "handler",
        "function_version": "$LATEST",
        "invoked_function_arn": FUNCTION,
        "memory_limit_in_mb": "128",  # a string, as in Lambda's runtime
        "aws_request_id": first["id"],
        "log_group_name": "/aws/lambda/handler",
        "log_stream_name": stream,
        "identity": [None, None],
        "client_context": None,
    }
    logged = seen["powertools"]
    assert (logged["function_name"], logged["function_arn"]) == ("handler", FUNCTION)
    assert (logged["function_request_id"], logged["cold_start"]) == (first["id"], True)
    assert seen["messageId"] == first["payload"]["Records"][0]["ses"]["mail"]["messageId"]
    assert (seen["helper"], seen["cwd"], seen["engineImported"]) == (
        "from the task root",
        str(tmp_path),
        False,
    )

    # a qualified ARN: the version that runs; each function its own variables
    assert other["response"]["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "other"
    assert other["response"]["context"]["function_version"] == "7"
    assert other["response"]["env"]["AWS_LAMBDA_FUNCTION_VERSION"] == "7"
    # the second message is served by the same warm environment
    assert second["response"]["pid"] == seen["pid"] != other["response"]["pid"]
    assert second["response"]["powertools"]["cold_start"] is False
    assert second["response"]["env"]["AWS_LAMBDA_LOG_STREAM_NAME"] == stream
    # and nothing of it reached the engine's own environment
    assert "AWS_ENDPOINT_URL" not in os.environ and "_HANDLER" not in os.environ


def test_api_credentials_are_the_functions_credentials(inbound_factory, tmp_path: Path) -> None:
    file = handlers(tmp_path)
    server = inbound_factory(
        rules(rule("r", lambda_("RequestResponse"))),
        lambda_handlers={FUNCTION: source(file, "handle")},
        api_auth="verify",
        api_credentials={"AKIDLOCAL": "local-secret"},
    )
    server.send("sender@sender.test", ["user@example.com"], message())
    [invocation] = invocations(server)
    env = invocation["response"]["env"]
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("AKIDLOCAL", "local-secret")


def test_a_timed_out_environment_is_killed_and_the_next_invocation_starts_a_new_one(
    inbound_factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = handlers(tmp_path)
    monkeypatch.setenv("SLEEP", "60")
    server = inbound_factory(
        rules(rule("r", lambda_("RequestResponse"))),
        lambda_handlers={FUNCTION: source(file, "sleepy")},
        lambda_timeout=1,
    )
    server.send("sender@sender.test", ["user@example.com"], message())
    [timed_out] = invocations(server)
    assert timed_out["error"] == "Task timed out after 1.00 seconds"
    killed = int((tmp_path / "sleepy.pid").read_text())
    with pytest.raises(ProcessLookupError):  # killed, and reaped
        os.kill(killed, 0)

    monkeypatch.setenv("SLEEP", "0.1")  # read by the new environment only
    server.send("sender@sender.test", ["user@example.com"], message())
    fresh = invocations(server)[-1]["response"]["pid"]
    monkeypatch.setenv("SLEEP", "60")
    server.send("sender@sender.test", ["user@example.com"], message())
    assert invocations(server)[-1]["response"] == {"pid": fresh} != {"pid": killed}  # warm


@pytest.mark.parametrize(
    ("function", "error"),
    [
        ("fails", "Unhandled: ValueError: no such mailbox"),
        ("crash", "Runtime.ExitError: Runtime exited with error: exit status 3"),
    ],
    ids=["raises", "exits"],
)
def test_function_errors_are_failures_with_lambdas_error(
    inbound_factory, tmp_path: Path, function: str, error: str
) -> None:
    file = handlers(tmp_path)
    server = inbound_factory(
        rules(rule("r", lambda_("RequestResponse"))),
        lambda_handlers={FUNCTION: source(file, function)},
    )
    server.send("sender@sender.test", ["user@example.com"], message())
    [invocation] = invocations(server)
    assert invocation["error"] == error


def test_an_import_error_is_the_invocations_error(inbound_factory, tmp_path: Path) -> None:
    file = tmp_path / "broken.py"
    file.write_text("import no_such_module_here\n\ndef handle(event, context):\n    pass\n")
    server = inbound_factory(
        rules(rule("r", lambda_("RequestResponse"))),
        lambda_handlers={FUNCTION: source(file, "handle")},
    )
    server.send("sender@sender.test", ["user@example.com"], message())
    [invocation] = invocations(server)
    assert invocation["error"] == (
        "Unhandled: Runtime.ImportModuleError: Unable to import module 'broken': "
        "No module named 'no_such_module_here'"
    )


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("handlers.py:hadnle", "handlers.py defines no 'hadnle'"),
        ("nothere.py:handle", "no such file"),
        ("no_such_package_x.mod:handle", "No module named 'no_such_package_x'"),
    ],
    ids=["misspelt-function", "missing-file", "missing-module"],
)
def test_a_handler_that_is_not_there_stops_start_up(tmp_path: Path, spec: str, reason: str) -> None:
    handlers(tmp_path)
    with pytest.raises(ConfigError, match=re.escape(reason)):
        load_handler(spec, tmp_path, tmp_path / "inbound.toml", "lambda.functions.x")


def test_names_bound_any_way_at_top_level_are_found(tmp_path: Path) -> None:
    (tmp_path / "bound.py").write_text(
        textwrap.dedent("""
            from os import getcwd as imported
            assigned = lambda event, context: None
            annotated: object = None
            class Handler: ...
            async def coroutine(event, context): ...
        """)
    )
    for name in ("imported", "assigned", "annotated", "Handler", "coroutine"):
        assert source(tmp_path / "bound.py", name).handler == f"bound.{name}"


READER = '''
import hashlib, json

import boto3
from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
from s3_encryption.materials.kms_keyring import KmsKeyring
from s3_encryption.materials.materials import CommitmentPolicy

s3 = boto3.client("s3")  # at init, as Lambda code does: no endpoint_url, no keys


def plain(event, context):
    mail = event["Records"][0]["ses"]["mail"]
    body = s3.get_object(Bucket="inbound-mail", Key="in/" + mail["messageId"])["Body"].read()
    return {"sha256": hashlib.sha256(body).hexdigest()}


def encrypted(event, context):
    """SES's KMS objects, opened as aws-testing.md says the official client opens them."""
    key = "in/" + event["Records"][0]["ses"]["mail"]["messageId"]
    metadata = s3.head_object(Bucket="inbound-mail", Key=key)["Metadata"]
    matdesc = json.loads(metadata["x-amz-matdesc"])
    keyring = KmsKeyring(kms_client=boto3.client("kms"), kms_key_id=matdesc["kms_cmk_id"],
                         enable_legacy_wrapping_algorithms=True)
    config = S3EncryptionClientConfig(
        keyring=keyring, commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
    client = S3EncryptionClient(wrapped_s3_client=s3, config=config)
    body = client.get_object(Bucket="inbound-mail", Key=key)["Body"].read()
    return {"sha256": hashlib.sha256(body).hexdigest()}
'''


@pytest.mark.parametrize(
    ("function", "action"),
    [
        ("plain", s3("inbound-mail", "in/")),
        ("encrypted", s3("inbound-mail", "in/", KmsKeyArn=SES_KEY)),
    ],
    ids=["plain", "kms-encrypted"],
)
def test_s3_action_then_lambda_reads_the_object_with_boto3(
    inbound_factory, tmp_path: Path, function: str, action: dict[str, Any]
) -> None:
    """The common "S3 action, then Lambda" pattern, unchanged: the handler reads the object
    the S3 action wrote with `boto3.client("s3").get_object` (and, encrypted with a KMS key,
    the official S3 Encryption Client with `boto3.client("kms")`), through the engine's S3 and
    KMS APIs, found by AWS_ENDPOINT_URL alone."""
    (tmp_path / "reader.py").write_text(READER)
    server = inbound_factory(
        rules(rule("r", s3("inbound-mail", "plain/"), action, lambda_("RequestResponse"))),
        lambda_handlers={FUNCTION: source(tmp_path / "reader.py", function)},
    )
    server.send("sender@sender.test", ["user@example.com"], message())
    [invocation] = invocations(server)
    assert invocation["error"] is None
    message_id = invocation["payload"]["Records"][0]["ses"]["mail"]["messageId"]
    stored = server.get(f"/api/s3/inbound-mail/plain/{message_id}")
    assert invocation["response"] == {"sha256": hashlib.sha256(stored).hexdigest()}
