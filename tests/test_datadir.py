"""Every path into the data dir goes through `under()`, which never leaves its root."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from inbound.backends import BackendError
from inbound.backends.local import LocalMailbox
from inbound.backends.local_s3 import LocalObjectStore
from inbound.datadir import UnsafePath, under


def test_parts_join_under_the_root(tmp_path: Path) -> None:
    assert under(tmp_path, "s3", "bucket", "a/b/c.eml") == tmp_path / "s3" / "bucket" / "a/b/c.eml"


@pytest.mark.parametrize(
    "parts",
    [("s3", "b", "../../x"), ("s3", "..", "x"), ("s3", "b", "/etc/passwd"), ("s3", "b", "k\0")],
    ids=["dotdot-in-key", "dotdot-part", "absolute", "nul"],
)
def test_a_path_that_would_leave_the_root_is_refused(
    tmp_path: Path, parts: tuple[str, ...]
) -> None:
    with pytest.raises(UnsafePath, match="refusing unsafe path"):
        under(tmp_path, *parts)


# ── no input can make the engine write outside its data dir (issue 18 item 7) ─────────────
SEGMENTS = st.sampled_from(["..", ".", "", "a", "b.c", "~", "%2e%2e", "..a", "\\..", "\0", " "])
PATHS = st.lists(SEGMENTS, max_size=5).map("/".join) | st.text("./\\\0a~", max_size=12)


class _Recorder:
    """The store's part of a write: run the file write, keep the record."""

    def __init__(self) -> None:
        self.records: list[object] = []

    async def add_object(
        self,
        write_file: Callable[[], object],
        remove_file: Callable[[object], None],
        *,
        durable: bool = False,
    ) -> object:
        record = write_file()
        self.records.append(record)
        return record

    def bucket(self, name: str) -> str:
        return name  # every bucket exists

    def add_mailbox_delivery(self, record: object) -> None:
        self.records.append(record)


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bucket=PATHS, key=PATHS, organization=PATHS)
@example(bucket="..", key="../x", organization="..")
@example(bucket="b", key="../../../x", organization="../..")
@example(bucket="/tmp", key="/x", organization="a/../..")
def test_the_embedded_stores_never_write_outside_their_folder(
    tmp_path_factory: pytest.TempPathFactory, bucket: str, key: str, organization: str
) -> None:
    """The real write paths of the embedded S3 store and WorkMail mailbox, given path-like
    bucket names, keys and organization ids: each write lands under its folder or fails
    with BackendError, and nothing appears beside the data dir."""
    outer = tmp_path_factory.mktemp("outer")
    data = outer / "data"
    store = _Recorder()
    objects = LocalObjectStore(under(data, "s3"), store, under(data, "s3-partial"))  # type: ignore[arg-type]
    mailboxes = LocalMailbox(under(data, "workmail"), store)  # type: ignore[arg-type]
    for write in (
        lambda: objects.put_object(bucket, key, b"body", {}, "id"),
        lambda: mailboxes.deliver(
            f"arn:aws:workmail:us-east-1:1:organization/{organization}", ["a@b.c"], b"body", "id"
        ),
    ):
        with contextlib.suppress(BackendError, OSError):  # refused, or the file system's no
            asyncio.run(write())
    assert {p.relative_to(outer).parts[0] for p in outer.rglob("*")} <= {"data"}
    assert {p.relative_to(data).parts[0] for p in data.rglob("*")} <= {
        "s3",
        "s3-keyed",
        "s3-partial",
        "workmail",
    }
    for path in _files(data):
        assert path.resolve().is_relative_to(data.resolve())
