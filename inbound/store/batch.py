"""One transaction for a batch of the store's writes, as either writer runs it: the thread
(store/writer.py) and the process (store/writer_process.py)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from inbound.store.engine import Engine, Job, Later
from inbound.store.errors import StorageError

if TYPE_CHECKING:  # the writer process runs `commit` without asyncio (store/writer_child.py)
    from asyncio import Future
    from collections.abc import Iterable

log = logging.getLogger("inbound.store")

BATCH = 512  # writes in one transaction at most


def commit(engine: Engine, jobs: Sequence[Job], durable: list[bool]) -> list[tuple[bool, Any]]:
    """One transaction for a batch of jobs, and each job's outcome: (True, its result) or
    (False, its error). It is made durable (fsynced) only when a job needs it: the spool
    before `250`, API changes before their response (the engine's `transaction`).

    Jobs run without a savepoint each: in the thread, every statement hands the GIL to the
    event loop and back, which cost more than the SQL (profiled). When a job fails, the batch is
    rolled back and replayed one transaction per job, so only that job fails."""
    fsync = any(durable)
    outcomes: list[tuple[bool, Any]]
    try:
        outcomes = [(True, v) for v in engine.transaction(jobs, fsync)]
    except Exception:
        outcomes = []
        for job in jobs:
            try:
                outcomes.append((True, engine.transaction([job], fsync)[0]))
            except Exception as exc:  # handed to the caller
                outcomes.append((False, engine.storage_error(exc)))
    return [_settled(outcome) for outcome in outcomes]


def log_unwaited(ok: bool, value: Any) -> None:
    """A failed job nobody waits for: said in the log, since nobody else will."""
    if isinstance(value, StorageError):  # a record that nobody waits for
        log.warning("a record was not stored: %s", value)
    elif not ok:
        log.error("store write failed: %s", value)


def _settled(outcome: tuple[bool, Any]) -> tuple[bool, Any]:
    """A job's outcome, its `Later` settled now that its transaction has committed."""
    ok, value = outcome
    if not ok or not isinstance(value, Later):
        return outcome
    try:
        return True, value.settle()
    except Exception as exc:  # handed to the caller
        return False, exc


def settle(future: Future[Any], ok: bool, value: Any) -> None:
    """A waited write's future, with its outcome (unless its caller stopped waiting)."""
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


def settle_durable_first(outcomes: Iterable[tuple[Future[Any], bool, Any, bool]]) -> None:
    """Settle the waited writes of one commit, each `(future, ok, value, durable)`, the durable
    ones first. A durable write is what a reply waits for (the spool before `250`, an API
    edit): its waiter then runs first in the event loop's next turn, ahead of the processing
    that the commit's other writes resume (docs/cpu.md, "Third round")."""
    for future, ok, value, _ in sorted(outcomes, key=_not_durable):
        settle(future, ok, value)


def _not_durable(outcome: tuple[Future[Any], bool, Any, bool]) -> bool:
    return not outcome[3]
