"""The inspection API reads files under the data dir only."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from functools import partial

import pytest

from inbound.records import MetricPoint, StoredObject
from inbound.testing import RunningInbound
from tests.rulesets import message
from tests.store.conftest import Removed, made


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
    inbound_server.call(inbound_server.server.store.add_object(partial(made, record), Removed()))
    with pytest.raises(urllib.error.HTTPError) as refused:
        inbound_server.get(f"/api/s3/b/{key}")
    assert refused.value.code == 400
    assert b"refusing unsafe path" in refused.value.read()


# ── listings page (issue 18 item 6) ────────────────────────────────────────────────────────
def _page(server: RunningInbound, path: str) -> tuple[list, dict[str, str]]:
    with urllib.request.urlopen(server.api_url + path, timeout=30) as response:
        return json.loads(response.read()), dict(response.headers)


def _next(headers: dict[str, str]) -> str | None:
    found = re.fullmatch(r'<([^>]*)>; rel="next"', headers.get("Link", ""))
    return None if found is None else found[1]


def test_a_listing_pages_with_limit_next_and_a_total(inbound_server: RunningInbound) -> None:
    for i in range(5):
        inbound_server.send("s@sender.test", ["user@example.com"], message(f"m{i}"))
    everything = inbound_server.messages()
    assert len(everything) == 5
    seen: list[dict] = []
    path: str | None = "/api/messages?limit=2"
    sizes = []
    while path is not None:
        entries, headers = _page(inbound_server, path)
        assert headers["X-Total-Count"] == "5"
        seen += entries
        sizes.append(len(entries))
        path = _next(headers)
    assert sizes == [2, 2, 1]
    assert seen == everything  # same order, nothing twice, nothing left out


def test_more_than_the_largest_page_is_said_not_cut_off(inbound_server: RunningInbound) -> None:
    """Before, every listing stopped at 1,000 rows without a word."""
    points = [
        MetricPoint(
            id=f"p{i:04d}",
            namespace="n",
            metric_name="Send",
            dimensions={},
            value=1.0,
            unit="Count",
            timestamp="2026-01-01T00:00:00.000Z",
            message_id=None,
            created=f"2026-01-01T00:00:{i // 100:02d}.{i % 100:03d}Z",
        )
        for i in range(1001)
    ]
    store = inbound_server.server.store
    store.add_metric_points(points)
    inbound_server.call(store.flush())
    first, headers = _page(inbound_server, "/api/metrics")
    assert (len(first), headers["X-Total-Count"]) == (1000, "1001")
    rest, last = _page(inbound_server, _next(headers) or "")
    assert [p["id"] for p in rest] == ["p1000"] and _next(last) is None
    assert len(inbound_server.listing("/api/metrics")) == 1001


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=1001", "limit=x", "limit=-1", "next=bm90IGEgbnVtYmVy", "next=%%%"],
    ids=["zero", "over-1000", "not-a-number", "negative", "not-an-offset", "not-base64"],
)
def test_a_bad_limit_or_token_is_a_400_naming_it(inbound_server: RunningInbound, query) -> None:
    for path in ("/api/messages", "/api/s3", "/api/retries", "/api/sent"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            inbound_server.get(f"{path}?{query}")
        assert refused.value.code == 400
        assert json.loads(refused.value.read())["error"].startswith(query.split("=")[0])
