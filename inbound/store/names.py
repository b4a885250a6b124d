"""Text that users name things with, or send, as a store's text columns can hold it: S3
bucket names and object keys, contacts' addresses, the web UI's digests of mail.

S3 takes any UTF-8 in a key, NUL included (S3 User Guide, "Naming Amazon S3 objects": "You
can use any UTF-8 character in an object key name"; ASCII 00-1F are among the characters
that "might require special handling"), and mail may hold one anywhere. SQLite's text holds
a NUL; PostgreSQL's cannot. So `PostgresStore` keeps such text escaped (`ESCAPED`): U+0001 as
U+0001 U+0002, then U+0000 as U+0001 U+0001. The escape keeps what listings and lookups need
of a key: equal keys stay equal and different ones different, the order stays UTF-8 binary
order (U+0001 U+0001 < U+0001 U+0002 < any other character), a prefix's escape is a prefix of
a key's escape exactly when the prefix is one of the key, and a substring's escape is found
in the escape of text that has it. SQLite keeps text as it is (`PLAIN`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Names:
    """How names go into the columns (`stored`) and come back out (`read`)."""

    stored: Callable[[str], str]
    read: Callable[[str], str]

    def __reduce__(self) -> str:
        """Pickled as the module's constant it is (a write sent to the store's writer process
        carries one): a reference, not its fields."""
        return "PLAIN" if self.stored is _same else "ESCAPED"


def _same(name: str) -> str:
    return name


def escape(name: str) -> str:
    return name.replace("\x01", "\x01\x02").replace("\0", "\x01\x01")


def unescape(stored: str) -> str:
    """The inverse of `escape`: its pairs do not overlap, so a U+0001 U+0001 found from the
    left is always one pair, and each U+0001 left then starts a U+0001 U+0002."""
    if "\x01" not in stored:
        return stored
    return stored.replace("\x01\x01", "\0").replace("\x01\x02", "\x01")


PLAIN = Names(_same, _same)
ESCAPED = Names(escape, unescape)
