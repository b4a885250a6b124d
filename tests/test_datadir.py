"""Every path into the data dir goes through `under()`, which never leaves its root."""

from __future__ import annotations

from pathlib import Path

import pytest

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
