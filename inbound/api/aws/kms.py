"""The embedded KMS's API: what the S3 Encryption Client calls (`Decrypt`, `GenerateDataKey`)
and `DescribeKey`, in KMS's JSON 1.1 protocol (`POST /`, `X-Amz-Target: TrentService.<Op>`,
errors as `{"__type", "message"}`; AWS KMS API Reference).

Keys are the local KMS's (backends/local_kms.py): a key id has material once something
generated a data key under it, the S3 action included; `GenerateDataKey` makes it on first
use, as the action does. Key ids are taken as given (a key ARN, an alias ARN, `alias/x`, a
bare id): there are no aliases to resolve, so each form names its own key.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from inbound.api import faults
from inbound.api.aws.routing import KMS_TARGET_PREFIX
from inbound.api.endpoint import caller, read_body
from inbound.backends.local_kms import InvalidCiphertext, KeyNotFound, LocalKms
from inbound.errors import SesClientError, SesError

if TYPE_CHECKING:
    from inbound.api.services import Services

log = logging.getLogger("inbound.api")

CONTENT_TYPE = "application/x-amz-json-1.1"
ALGORITHM = "SYMMETRIC_DEFAULT"
KEY_SPECS = {"AES_256": 32, "AES_128": 16}
MAX_DATA_KEY = 1024  # NumberOfBytes: 1 to 1,024


class KmsError(SesClientError):
    def __init__(self, code: str, message: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.code, self.status = code, status


Params = dict[str, Any]


def handler(services: Services) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        request_id = str(uuid.uuid4())
        try:
            result = await _serve(request, services)
            response = web.Response(body=json.dumps(result), content_type=CONTENT_TYPE)
        except SesError as error:
            response = error_response(_as_kms(error))
        except Exception:
            log.exception("KMS request %s failed", request_id)
            response = error_response(KmsError("KMSInternalException", "", 500))
        response.headers["x-amzn-RequestId"] = request_id
        return response

    return handle


def error_response(error: SesError) -> web.Response:
    body: Params = {"__type": error.code}
    if error.message:
        body["message"] = error.message
    return web.Response(status=error.status, body=json.dumps(body), content_type=CONTENT_TYPE)


async def _serve(request: web.Request, services: Services) -> Params:
    if not services.ready or services.kms is None:
        raise KmsError("ServiceUnavailableException", "", 503)
    body = await read_body(request)  # over the port's 64 MiB: 413 RequestEntityTooLarge
    who = caller(services, request, body, ("kms",))
    target = request.headers.get("X-Amz-Target", "")
    operation = OPERATIONS.get(target.removeprefix(KMS_TARGET_PREFIX))
    if request.method != "POST" or not target.startswith(KMS_TARGET_PREFIX) or operation is None:
        raise KmsError("UnknownOperationException")
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        raise KmsError(
            "SerializationException", "Start of structure or map found where not expected."
        ) from None
    if not isinstance(params, dict):
        raise KmsError(
            "SerializationException", "Start of structure or map found where not expected."
        )
    key = _Keys(services.kms, who.region or services.region, services.account_id)
    return await operation(key, params)


class _Keys:
    """The local KMS as the API sees it: in a Region of an account."""

    def __init__(self, kms: LocalKms, region: str, account_id: str) -> None:
        self.kms, self.region, self.account_id = kms, region, account_id

    def arn(self, key_id: str) -> str:
        if key_id.startswith("arn:"):
            return key_id
        resource = key_id if key_id.startswith("alias/") else f"key/{key_id}"
        return f"arn:aws:kms:{self.region}:{self.account_id}:{resource}"

    def not_found(self, key_id: str) -> KmsError:
        if key_id.startswith("alias/") or ":alias/" in key_id:
            return KmsError("NotFoundException", f"Alias {self.arn(key_id)} is not found.")
        return KmsError("NotFoundException", f"Key '{self.arn(key_id)}' does not exist")


def _required(params: Params, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise KmsError(
            "ValidationException",
            f"1 validation error detected: Value null at '{name[0].lower()}{name[1:]}' failed "
            "to satisfy constraint: Member must not be null",
        )
    return value


def _context(params: Params) -> dict[str, str]:
    context = params.get("EncryptionContext") or {}
    if not isinstance(context, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in context.items()
    ):
        raise KmsError("SerializationException", "EncryptionContext must be a map of strings")
    return context


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def generate_data_key(keys: _Keys, params: Params) -> Params:
    key_id = _required(params, "KeyId")
    spec, size = params.get("KeySpec"), params.get("NumberOfBytes")
    if (spec is None) == (size is None):
        raise KmsError("ValidationException", "Please specify either number of bytes or key spec.")
    if spec is not None and spec not in KEY_SPECS:
        raise KmsError(
            "ValidationException",
            f"1 validation error detected: Value '{spec}' at 'keySpec' failed to satisfy "
            "constraint: Member must satisfy enum value set: [AES_256, AES_128]",
        )
    if spec is None and not (isinstance(size, int) and 1 <= size <= MAX_DATA_KEY):
        raise KmsError(
            "ValidationException",
            f"1 validation error detected: Value '{size}' at 'numberOfBytes' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_DATA_KEY}",
        )
    length = KEY_SPECS[spec] if spec is not None else int(size or 0)
    plaintext, blob = await keys.kms.generate_data_key(key_id, _context(params), length)
    return {"CiphertextBlob": _b64(blob), "Plaintext": _b64(plaintext), "KeyId": keys.arn(key_id)}


async def decrypt(keys: _Keys, params: Params) -> Params:
    try:
        blob = base64.b64decode(_required(params, "CiphertextBlob"), validate=True)
    except binascii.Error:
        raise KmsError("SerializationException", "Invalid base64 in CiphertextBlob") from None
    algorithm = params.get("EncryptionAlgorithm", ALGORITHM)
    if algorithm != ALGORITHM:
        raise KmsError("InvalidCiphertextException")
    try:
        key_id = keys.kms.key_of(blob)
        asked = params.get("KeyId")
        if asked is not None and asked not in (key_id, keys.arn(key_id)):
            raise KmsError(
                "IncorrectKeyException",
                "The key ID in the request does not identify a CMK that can perform this "
                "operation.",
            )
        plaintext = await keys.kms.decrypt(blob, _context(params))
    except KeyNotFound:
        raise KmsError("InvalidCiphertextException") from None
    except InvalidCiphertext:
        raise KmsError("InvalidCiphertextException") from None
    return {
        "KeyId": keys.arn(key_id),
        "Plaintext": _b64(plaintext),
        "EncryptionAlgorithm": ALGORITHM,
    }


async def describe_key(keys: _Keys, params: Params) -> Params:
    key_id = _required(params, "KeyId")
    created = keys.kms.created(key_id)
    if created is None:
        raise keys.not_found(key_id)
    arn = keys.arn(key_id)
    return {
        "KeyMetadata": {
            "AWSAccountId": keys.account_id,
            "KeyId": arn.rsplit("/", 1)[-1],
            "Arn": arn,
            "CreationDate": created,
            "Enabled": True,
            "Description": "",
            "KeyUsage": "ENCRYPT_DECRYPT",
            "KeyState": "Enabled",
            "Origin": "AWS_KMS",
            "KeyManager": "AWS" if arn.endswith("alias/aws/ses") else "CUSTOMER",
            "CustomerMasterKeySpec": ALGORITHM,
            "KeySpec": ALGORITHM,
            "EncryptionAlgorithms": [ALGORITHM],
            "MultiRegion": False,
        }
    }


OPERATIONS: dict[str, Callable[[_Keys, Params], Awaitable[Params]]] = {
    "Decrypt": decrypt,
    "DescribeKey": describe_key,
    "GenerateDataKey": generate_data_key,
}


def _as_kms(error: SesError) -> SesError:
    """The SigV4 checks' SES errors (api/auth.py) as KMS words them (400s, JSON names)."""
    if isinstance(error, KmsError):
        return error
    if isinstance(error, faults.InvalidClientTokenId):
        return KmsError("UnrecognizedClientException", error.message)
    if isinstance(error, faults.SignatureDoesNotMatch):
        return KmsError("InvalidSignatureException", error.message)
    if isinstance(error, faults.MissingAuthenticationToken):
        return KmsError("MissingAuthenticationTokenException", error.message)
    return error
