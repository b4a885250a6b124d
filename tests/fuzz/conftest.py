"""The fuzz run's figures at the end of the session: cases and server errors per target, and
the time each target's tests took (the table docs/reliability.md quotes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from inbound.testing import RunningInbound
from tests.fuzz import budget
from tests.fuzz.http import Http

_SECONDS: Counter[str] = Counter()


@pytest.fixture
def fuzzed(inbound_factory: Any) -> RunningInbound:
    """The server every case of one fuzz test talks to (hypothesis runs the test body once per
    case with the same fixtures): example.com verified, its mail stored in bucket `b`."""
    from tests.rulesets import rule, rules, s3

    return inbound_factory(rules(rule("store", s3("b"))), verified=["example.com"])  # type: ignore[no-any-return]


@pytest.fixture
def api(fuzzed: RunningInbound) -> Iterator[Http]:
    client = Http(fuzzed.api_url)
    yield client
    client.close()


def _target(nodeid: str) -> str:
    return nodeid.split("::")[0].rsplit("/", 1)[-1].removeprefix("test_").removesuffix(".py")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/fuzz/" in report.nodeid:
        _SECONDS[_target(report.nodeid)] += report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not budget.CASES:  # nothing ran here (e.g. the xdist controller)
        return
    mode = f"INBOUND_FUZZ={budget.SCALE:g}" if budget.SCALE else "ci"
    write = terminalreporter.write_line
    write(f"inbound fuzz ({mode}): target, cases, server errors, seconds")
    for target in sorted(_SECONDS):
        cases, errors = budget.CASES[target], budget.SERVER_ERRORS[target]
        write(f"  {target:<10} {cases:>8} {errors:>4} {_SECONDS[target]:>8.1f}")
    total = sum(budget.CASES.values()), sum(budget.SERVER_ERRORS.values()), sum(_SECONDS.values())
    for target, stored in sorted(budget.STORED.items()):
        write(f"  {target}: {stored} messages answered 250 Ok <id>, all found stored and processed")
    write(f"  {'total':<10} {total[0]:>8} {total[1]:>4} {total[2]:>8.1f}")
