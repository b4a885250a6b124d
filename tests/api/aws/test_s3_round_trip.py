"""Property: what PutObject stores, GetObject (and a listing) returns byte for byte, for keys
of any characters S3 takes (UTF-8, 1 to 1,024 bytes, NUL included), user metadata included,
through boto3 against a running server on each store (`store_url`: PostgreSQL's text cannot
hold a NUL, store/names.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from inbound.config import StoreSettings
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


@pytest.fixture
def server(store_url: str, inbound_factory: Callable[..., RunningInbound]) -> RunningInbound:
    return inbound_factory(store=StoreSettings(url=store_url))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=KEYS, body=BODIES, metadata=METADATA)
@example(key="\0", body=b"nul", metadata={})
@example(key="a\0b/\x01\0\x01\x02", body=b"nul and its escape", metadata={"m": "v"})
def test_get_object_returns_what_put_object_stored(
    server: RunningInbound, key: str, body: bytes, metadata: dict[str, str]
) -> None:
    s3: Any = server.client("s3")
    s3.create_bucket(Bucket="prop")
    s3.put_object(Bucket="prop", Key=key, Body=body, Metadata=metadata)
    got = s3.get_object(Bucket="prop", Key=key)
    assert got["Body"].read() == body
    assert got["Metadata"] == metadata
    listed = s3.list_objects_v2(Bucket="prop", Prefix=key, MaxKeys=1)
    assert [(o["Key"], o["Size"]) for o in listed["Contents"]] == [(key, len(body))]
    s3.delete_object(Bucket="prop", Key=key)


def test_keys_with_a_nul_are_listed_in_s3_order_by_prefix_and_page(server: RunningInbound) -> None:
    """UTF-8 binary order, a prefix with a NUL, a NUL as the delimiter, and each page's
    continuation token after a key with a NUL, the same on both stores."""
    s3: Any = server.client("s3")
    s3.create_bucket(Bucket="nul")
    keys = ["a", "a\0", "a\0\0", "a\0b", "a\x01", "a\x01\x01", "a\x01\x02", "a\x02", "b"]
    for key in reversed(keys):
        s3.put_object(Bucket="nul", Key=key, Body=key.encode())

    def listed(**args: Any) -> list[str]:
        return [o["Key"] for o in s3.list_objects_v2(Bucket="nul", **args).get("Contents", [])]

    assert listed() == keys
    assert listed(Prefix="a\0") == ["a\0", "a\0\0", "a\0b"]
    assert listed(Prefix="a\x01") == ["a\x01", "a\x01\x01", "a\x01\x02"]
    assert listed(StartAfter="a\0\0") == keys[3:]
    rolled = s3.list_objects_v2(Bucket="nul", Delimiter="\0")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["a\0"]
    pages = s3.get_paginator("list_objects_v2")
    paged = pages.paginate(Bucket="nul", PaginationConfig={"PageSize": 1})
    assert [o["Key"] for page in paged for o in page["Contents"]] == keys
    for key in keys:
        assert s3.get_object(Bucket="nul", Key=key)["Body"].read() == key.encode()
    s3.delete_objects(Bucket="nul", Delete={"Objects": [{"Key": "b"}]})
    s3.delete_object(Bucket="nul", Key="a\0")
    assert listed(Prefix="a\0") == ["a\0\0", "a\0b"]
