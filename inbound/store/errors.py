"""The store's one failure that callers answer rather than crash on."""


class StorageError(Exception):
    """The data dir could not take a write: the disk is full, the file system is read-only or
    failing (or the PostgreSQL server cannot be reached). Nothing of the write was kept; the
    same write can succeed once the cause is gone, so callers answer it with a temporary
    failure (SMTP `451`) or try again later."""
