"""Property: what PutObject stores, GetObject (and a listing) returns byte for byte, for keys
of any characters S3 takes (UTF-8, 1 to 1,024 bytes), user metadata included, through boto3
against a running server."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbound.testing import RunningInbound

# Any Unicode scalar value (no lone surrogates: they have no UTF-8), with the characters that
# make file paths awkward (`/`, `.`, NUL, control characters) drawn often.
_CHARS = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(["/", ".", "..", "\0", "\r\n", " ", "%", "+", "?", "#", "\\", "~"]),
)
KEYS = st.lists(_CHARS, min_size=1, max_size=40).map("".join).filter(
    lambda key: 1 <= len(key.encode()) <= 1024
) | st.integers(250, 1024).map(lambda n: "k" * n)
BODIES = st.binary(max_size=4096)
METADATA = st.dictionaries(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789 -_=+/", max_size=20).map(str.strip),
    max_size=3,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=KEYS, body=BODIES, metadata=METADATA)
def test_get_object_returns_what_put_object_stored(
    inbound_server: RunningInbound, key: str, body: bytes, metadata: dict[str, str]
) -> None:
    s3: Any = inbound_server.client("s3")
    s3.create_bucket(Bucket="prop")
    s3.put_object(Bucket="prop", Key=key, Body=body, Metadata=metadata)
    got = s3.get_object(Bucket="prop", Key=key)
    assert got["Body"].read() == body
    assert got["Metadata"] == metadata
    listed = s3.list_objects_v2(Bucket="prop", Prefix=key, MaxKeys=1)
    assert [(o["Key"], o["Size"]) for o in listed["Contents"]] == [(key, len(body))]
    s3.delete_object(Bucket="prop", Key=key)
