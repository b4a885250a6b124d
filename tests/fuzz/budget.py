"""How many cases each fuzz target runs, and what the run found.

`make test` (no `INBOUND_FUZZ`): each target's `ci` count, a few seconds per target.
`make fuzz` (`INBOUND_FUZZ=1`): each target's `deep` count, at least 100,000 cases in all;
`INBOUND_FUZZ=N` runs N times as many, deeper on demand. The counts are hypothesis'
`max_examples`, so a target whose inputs run out stops earlier; `CASES` counts what ran.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, settings

SCALE = float(os.environ.get("INBOUND_FUZZ") or 0)

CASES: Counter[str] = Counter()  # target -> cases run
SERVER_ERRORS: Counter[str] = Counter()  # target -> 5xx answers and tracebacks seen
STORED: Counter[str] = Counter()  # target -> messages answered 250 and then found stored


def examples(ci: int, deep: int) -> settings:
    """One server serves every case of a target, so the function-scoped fixture is wanted."""
    return settings(
        max_examples=round(deep * SCALE) if SCALE else ci,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


def case(target: str) -> None:
    CASES[target] += 1


def server_error(target: str, what: str) -> AssertionError:
    """Count a 5xx or a traceback, and the AssertionError that fails the case with `what`."""
    SERVER_ERRORS[target] += 1
    return AssertionError(what)


class Tracebacks(logging.Handler):
    """Every log record that carries an exception, from any thread (the server's loop)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)

    def take(self) -> list[str]:
        found = [self.format(r) for r in self.records]
        self.records.clear()
        return found


@contextmanager
def tracebacks() -> Iterator[Tracebacks]:
    handler = Tracebacks()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
