"""The one way to a path inside the data dir (or inside a folder of it).

Some parts come from clients: bucket names and object keys (rules, the inspection API,
`inbound s3 get`), WorkMail organization ids. `under()` refuses any that would leave the root,
so no request can read or write outside the data dir.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath


class UnsafePath(ValueError):
    """A path part that would leave its root: `..`, an absolute path, a NUL."""


def under(root: Path, *parts: str) -> Path:
    relative = PurePosixPath(*parts)
    if relative.is_absolute() or ".." in relative.parts or any("\0" in p for p in parts):
        raise UnsafePath(f"refusing unsafe path: {'/'.join(parts)!r}")
    return root / relative
