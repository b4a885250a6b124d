"""The inspection API reads files under the data dir only."""

from __future__ import annotations

import urllib.error
import urllib.parse

import pytest

from inbound.records import StoredObject
from inbound.testing import RunningInbound


@pytest.mark.parametrize(
    "key", ["..%2F..%2Fsecret", "a%2F..%2F..%2F..%2Fsecret", "%2Fetc%2Fpasswd"]
)
def test_an_s3_key_that_leaves_the_data_dir_is_refused(
    inbound_server: RunningInbound, key: str
) -> None:
    data_dir = inbound_server.settings.data_dir
    (data_dir / "secret").write_bytes(b"not for the API")
    (data_dir / "s3" / "b" / "a").mkdir(parents=True)  # so that an unguarded path resolves
    # Even with a record claiming it (the embedded S3 never writes one), the path is refused.
    record = StoredObject(
        bucket="b",
        key=urllib.parse.unquote(key),
        size=0,
        metadata={},
        message_id=None,
        created="2026-01-01T00:00:00.000Z",
    )
    inbound_server.call(inbound_server.server.store.add_object(record, lambda: None))
    with pytest.raises(urllib.error.HTTPError) as refused:
        inbound_server.get(f"/api/s3/b/{key}")
    assert refused.value.code == 400
    assert b"refusing unsafe path" in refused.value.read()
