"""A moto server (S3, SNS, SQS, KMS, Lambda, CloudWatch, Firehose) in-process on 127.0.0.1, one per
test process.

Under pytest-xdist every worker starts its own (session scope is per process); tests within a
worker run one at a time, and each test makes its own uniquely named resources, so nothing is
shared between tests but the server. Fake credentials are set for the duration of each test
only, with the AWS config files pointed at paths that do not exist: no test can reach real AWS.
"""

from __future__ import annotations

import base64
import io
import json
import os
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from inbound.config import BackendSettings

REGION = "us-east-1"
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    # A path that does not exist: botocore then reads no profile (it cannot parse /dev/null).
    "AWS_CONFIG_FILE": f"/nonexistent-{uuid.uuid4().hex}/config",
    "AWS_SHARED_CREDENTIALS_FILE": f"/nonexistent-{uuid.uuid4().hex}/credentials",
}


@dataclass
class Moto:
    url: str

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def backend(self, **changes: Any) -> BackendSettings:
        """`[backends.<service>] kind = "aws"` pointed at this server."""
        return BackendSettings(
            kind="aws",
            endpoint_url=self.url,
            region=REGION,
            access_key_id="testing",
            secret_access_key="testing",
            **changes,
        )

    def backends(self, *services: str) -> dict[str, BackendSettings]:
        return {s: self.backend() for s in services or ("s3", "sns", "lambda", "kms")}

    def post(self, path: str, body: Any = None) -> bytes:
        data = json.dumps(body).encode() if body is not None else b""
        request = urllib.request.Request(self.url + path, data=data, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()  # type: ignore[no-any-return]

    # ── resources ───────────────────────────────────────────────────────────────────────────
    def bucket(self) -> str:
        name = f"mail-{uuid.uuid4().hex[:12]}"
        self.client("s3").create_bucket(Bucket=name)
        return name

    def topic_with_queue(self) -> tuple[str, str]:
        """A topic and an SQS queue subscribed to it with raw delivery (body = the message)."""
        name = f"t-{uuid.uuid4().hex[:12]}"
        sns, sqs = self.client("sns"), self.client("sqs")
        topic = sns.create_topic(Name=name)["TopicArn"]
        queue = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        return topic, queue

    def received(self, queue: str, count: int) -> list[str]:
        sqs, bodies = self.client("sqs"), []
        for _ in range(20):
            reply = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            bodies += [m["Body"] for m in reply.get("Messages", [])]
            if len(bodies) >= count:
                break
        return bodies

    def function(self) -> str:
        role = self.client("iam").create_role(
            RoleName=f"r-{uuid.uuid4().hex[:12]}",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("handler.py", "def handler(event, context):\n    return None\n")
        return self.client(
            "lambda"
        ).create_function(  # type: ignore[no-any-return]
            FunctionName=f"f-{uuid.uuid4().hex[:12]}",
            Runtime="python3.12",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": archive.getvalue()},
        )["FunctionArn"]

    def kms_key(self) -> str:
        return self.client("kms").create_key()["KeyMetadata"]["Arn"]  # type: ignore[no-any-return]

    # ── what Lambda was asked (moto's request recorder) ─────────────────────────────────────
    def start_recording(self) -> None:
        self.post("/moto-api/recorder/reset-recording")
        self.post("/moto-api/recorder/start-recording")

    def invocations(self) -> list[tuple[str, bytes]]:
        """(X-Amz-Invocation-Type, body) of every Invoke since start_recording()."""
        self.post("/moto-api/recorder/stop-recording")
        with urllib.request.urlopen(self.url + "/moto-api/recorder/download-recording") as r:
            lines = r.read().decode().splitlines()
        result = []
        for line in filter(None, lines):
            entry = json.loads(line)
            if not entry["url"].endswith("/invocations"):
                continue
            body = entry["body"]
            raw = base64.b64decode(body) if entry.get("body_encoded") else body.encode()
            headers = {k.lower(): v for k, v in entry["headers"].items()}
            result.append((headers.get("x-amz-invocation-type", "RequestResponse"), raw))
        return result

    def queue_lambda_result(self, result: Any) -> None:
        """The next RequestResponse returns `result` (LambdaSimpleBackend's canned answers)."""
        self.post("/moto-api/static/lambda-simple/response", {"results": [json.dumps(result)]})


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    recording = tmp_path_factory.mktemp("moto") / "recording"
    saved = {k: os.environ.get(k) for k in (*FAKE_ENV, "MOTO_RECORDER_FILEPATH")}
    os.environ.update(FAKE_ENV, MOTO_RECORDER_FILEPATH=str(recording))
    try:
        from moto.moto_api import recorder
        from moto.server import ThreadedMotoServer

        recorder._location = str(recording)  # in case moto was imported before the env was set
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
    finally:
        _restore(saved)
    host, port = server.get_host_and_port()
    moto = Moto(f"http://{host}:{port}")
    moto.post("/moto-api/config", {"lambda": {"use_docker": False}})  # LambdaSimpleBackend
    try:
        yield moto
    finally:
        server.stop()
        _remove(Path(recording))


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in FAKE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _restore(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _remove(path: Path) -> None:
    if path.exists():
        path.unlink()
