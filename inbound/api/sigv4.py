"""botocore's SigV4 signer adapted to check a received request (see auth.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials
from botocore.utils import normalize_url_path

from inbound.api.faults import SignatureDoesNotMatch

if TYPE_CHECKING:
    from multidict import CIMultiDictProxy

MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


def received_request(
    method: str, host: str, raw_path: str, payload_hash: str, timestamp: str
) -> AWSRequest:
    # The body is represented by its hash: botocore's canonical_request() takes
    # X-Amz-Content-SHA256 as the payload hash, which spares it a copy of a 64 MiB body.
    request = AWSRequest(
        method=method,
        url=f"http://{host}{raw_path}",
        headers={"X-Amz-Content-SHA256": payload_hash},
    )
    request.context["timestamp"] = timestamp
    return request


class ServerSigV4(SigV4Auth):
    """botocore's SigV4Auth, fed with what arrived instead of what it would send.

    * `headers_to_sign`: exactly the SignedHeaders, with their received values (the stock
      method signs every header present, which server-side includes Content-Length…).
    * `_normalize_url_path`: for S3 (`raw_path`), the path as it arrived.
    * `canonical_query_string`: decoded pairs re-encoded per RFC 3986 and sorted (the stock
      one reuses the client's raw encoding, which only works for botocore's own output).
    """

    def __init__(
        self,
        access_key: str,
        secret: str,
        service: str,
        region: str,
        received: CIMultiDictProxy[str],
        signed: list[str],
        raw_path: bool = False,
    ) -> None:
        super().__init__(Credentials(access_key, secret), service, region)
        self._received = received
        self._signed = signed
        self._raw_path = raw_path

    def _normalize_url_path(self, path: str) -> str:
        """S3 signs the path as sent (botocore's S3SigV4Auth does not normalize it)."""
        return path if self._raw_path else quote(normalize_url_path(path), safe="/~")

    def headers_to_sign(self, request: Any) -> Any:
        headers = HTTPHeaders()
        for name in self._signed:
            values = self._received.getall(name, [])
            if not values:
                raise SignatureDoesNotMatch(MISMATCH)
            for value in values:
                headers.add_header(name, value)
        return headers

    def canonical_query_string(self, request: Any) -> str:
        query = urlsplit(request.url).query
        pairs = sorted(
            (quote(key, safe="-_.~"), quote(value, safe="-_.~"))
            for key, value in parse_qsl(query, keep_blank_values=True)
        )
        return "&".join(f"{key}={value}" for key, value in pairs)
