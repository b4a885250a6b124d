"""The one way to a path inside the data dir (or inside a folder of it).

Some parts come from clients: bucket names and object keys (rules, the inspection API,
`inbound s3 get`), WorkMail organization ids. `under()` refuses any that would leave the root,
so no request can read or write outside the data dir. Rule validation asks `unsafe_reason()`
first, so that a rule that could not be written is refused when it is saved, naming why.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath


class UnsafePath(ValueError):
    """A path part that would leave its root: `..`, an absolute path, a NUL."""


def unsafe_reason(*parts: str) -> str | None:
    """Why `parts` joined would not stay under a root, or None when they would."""
    if any("\0" in p for p in parts):
        return "contains a NUL character"
    relative = PurePosixPath(*parts)
    if relative.is_absolute():
        return "is an absolute path"
    if ".." in relative.parts:
        return "has a '..' path segment"
    return None


def under(root: Path, *parts: str) -> Path:
    reason = unsafe_reason(*parts)
    if reason is not None:
        raise UnsafePath(f"refusing unsafe path: {'/'.join(parts)!r} {reason}")
    return root / PurePosixPath(*parts)
