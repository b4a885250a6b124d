"""The seam between the store and its database: what `Database` (writer.py) asks of SQLite
(store/sqlite.py) or PostgreSQL (store/postgresql/), and the connection the query modules'
writes are handed.

An engine owns its connections, its schema and its migrations, and knows its own failures.
The group-commit writer thread, the documents' copy and the typed methods are the same for
both: one writer thread commits whatever is queued in one transaction, reads run on the
event loop's thread. The query modules' SQL is SQLite's; the PostgreSQL engine's connection
translates the few forms that differ (store/postgresql/dialect.py), and what cannot be
translated is overridden method by method in `PostgresStore`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

# A row by column name (`row["id"]`, `dict(row)`, `row.keys()`): an `sqlite3.Row`, or a dict
# from PostgreSQL.
Row: TypeAlias = Any
T = TypeVar("T")

LEASE = 30.0  # seconds a shared store's engine keeps its claims after its last heartbeat


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """The writer's connection inside a transaction, as a write's function uses it:
    `sqlite3.Connection` itself (no wrapper on SQLite's hot path), or the PostgreSQL engine's.
    """

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Any, /) -> Any: ...


Job: TypeAlias = Callable[[Connection], Any]
Statement: TypeAlias = tuple[str, Sequence[Any]]  # SQL and its parameters


def execute_together(c: Connection, statements: Sequence[Statement]) -> None:
    """Run `statements`: parts of one write whose results nobody reads, each changing rows
    that no other one reads or changes. PostgreSQL's connection sends them as one statement
    (`Translating.execute_together`): its writer thread and its server pay one statement's
    fixed cost instead of one each (about 20 us of the writer's and 5 us of the server's per
    statement saved, benchmarks/pgscale.py). SQLite's connection runs them in turn."""
    together = getattr(c, "execute_together", None)
    if together is not None and statements:
        together(statements)
        return
    for sql, params in statements:
        c.execute(sql, params)


def execute(c: Connection, sql: str, params: Sequence[Any] = ()) -> int:
    """The write of one statement: how many rows it changed."""
    rowcount: int = c.execute(sql, params).rowcount
    return rowcount


def execute_unread(c: Connection, sql: str, params: Sequence[Any] = ()) -> None:
    """The write of one statement whose count nobody reads: a record submitted without waiting
    (`Database._submit`). On PostgreSQL `execute`'s count waits for the server in the middle
    of the writer's transaction (store/postgresql/engine.py, `Result.rowcount`): one round
    trip per SNS notification, 12-16% of the writer thread's time under benchmarks/pgscale.py's
    load (py-spy), and every message committed with it waited for those too."""
    execute_together(c, [(sql, params)])


def execute_each(c: Connection, sql: str, rows: Iterable[Sequence[Any]]) -> int:
    """The write of one statement for each of `rows`: how many rows they changed in all."""
    return sum(c.execute(sql, row).rowcount for row in rows)


def nothing(c: Connection) -> None:
    """The write `Database.flush` waits for: committed after everything queued before it."""


class Write(Generic[T]):
    """A write as the writer runs it, `fn(connection, *args)`: a module-level function and its
    arguments, never a closure, so that it pickles. SQLite's writer is a process of its own
    (store/writer_process.py): a thread's Python made the event loop wait for the GIL.
    Functions among the arguments are module-level too (or `Write`s), checked here: a
    closure would fail only when the write is sent, far from where it was made."""

    __slots__ = ("args", "fn")

    def __init__(self, fn: Callable[..., T], *args: Any) -> None:
        for part in (fn, *args):
            if callable(part) and not _portable(part):
                raise TypeError(f"a store write cannot carry {part!r}: not module-level")
        self.fn, self.args = fn, args

    def __call__(self, c: Connection) -> T:
        return self.fn(c, *self.args)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Write, (self.fn, *self.args))

    def __repr__(self) -> str:
        return f"Write({self.fn.__qualname__})"


def _portable(part: Callable[..., Any]) -> bool:
    """Whether a callable pickles as a reference: a module-level function or class, an object
    of a module-level class, or a `partial` of these; not a lambda, a nested function or a
    bound method (which drags its object along)."""
    if isinstance(part, partial):
        return all(_portable(p) for p in (part.func, *part.args) if callable(p))
    if isinstance(part, MethodType):
        return False
    if isinstance(part, FunctionType | BuiltinFunctionType | type):
        owner = getattr(part, "__self__", None)  # a builtin method's object
        return "<" not in part.__qualname__ and (owner is None or isinstance(owner, ModuleType))
    return "<" not in type(part).__qualname__


@dataclass(frozen=True, slots=True)
class Later:
    """What a write returns when its result needs what its statements found, without waiting
    for it in the middle of the transaction: `settle()` runs in the writer thread once the
    transaction has committed, and what it returns (or raises: the write's records are
    committed all the same) is the write's. PostgreSQL's writer sends a transaction's
    statements in one pipeline and reads their results at the commit: a result read before
    is a round trip that holds the writer (store/postgresql/engine.py)."""

    settle: Callable[[], Any]


class Reader(Protocol):
    def __call__(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]: ...


class Engine(Protocol):
    def exists(self) -> bool:
        """Whether there is a database yet (`open()` creates one)."""
        ...

    def open(self, *, read_only: bool) -> None:
        """Connect; unless `read_only`, create and migrate the schema and connect the writer.
        Failures are `StorageError`."""
        ...

    def read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        """Rows of a query, on the event loop's thread."""
        ...

    def transaction(self, jobs: Sequence[Job], durable: bool) -> list[Any]:
        """Run `jobs` in one transaction of the writer (its thread only) and commit it: made
        durable (fsynced) when `durable`; rolled back and raised if one fails."""
        ...

    def storage_error(self, exc: Exception) -> Exception:
        """`exc` as a `StorageError` when the database could not take the write (disk full,
        read-only, connection lost); other failures (a constraint, a bug) as they are."""
        ...

    def close_writer(self) -> None:
        """From the writer thread, when it stops."""
        ...

    def close(self) -> None: ...
