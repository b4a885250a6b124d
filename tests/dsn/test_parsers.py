"""Independent parsers read our DSNs the way we meant them (spec dsn.md §3).

The stdlib and flufl.bounce run on every case; ``dsn_check.py --strict`` (its lint plus
bounced, mail-parser, Sisimai and BounceParser) runs over the committed ``fixtures/dsn/``
when the shared tools and Sisimai are installed.
"""

from __future__ import annotations

import email
import subprocess
import sys
from email import policy

import pytest
from dsn_cases import CASES, DSN_CHECK, FIXTURES, sisimai_missing

from inbound import dsn

NAMES = list(CASES)
DSN_CHECK_PARSERS = ("stdlib", "flufl", "bounced", "mailparser", "sisimai", "bounceparser", "lint")


@pytest.mark.parametrize("name", NAMES)
def test_fixture_is_up_to_date(name):
    path = FIXTURES / f"{name}.eml"
    assert path.read_bytes() == dsn.as_bytes(CASES[name].build()), (
        f"{path} is stale: run `PYTHONPATH=. python tests/dsn/dsn_cases.py`"
    )


@pytest.mark.parametrize("name", NAMES)
def test_stdlib_sees_exactly_the_intended_recipients(name):
    case = CASES[name]
    msg = email.message_from_bytes(dsn.as_bytes(case.build()), policy=policy.compat32)
    [status] = [p for p in msg.walk() if p.get_content_type() == "message/delivery-status"]
    seen: dict[str, set[str]] = {"failed": set(), "delayed": set()}
    for block in status.get_payload()[1:]:
        kind, address = block["Final-Recipient"].split(";", 1)
        decoded = dsn.decode_utf8_addr(address.strip()) if kind == "utf-8" else address.strip()
        seen[block["Action"]].add(decoded)
    assert seen == {"failed": set(case.failed), "delayed": set(case.delayed)}


@pytest.mark.parametrize("name", NAMES)
def test_flufl_bounce_sees_exactly_the_intended_recipients(name):
    """flufl.bounce prefers Original-Recipient, lower-cases nothing of ours, and skips RFC 6533
    utf-8 addresses (spec dsn.md §3), so compare with what it can know."""
    flufl = pytest.importorskip("flufl.bounce")
    case = CASES[name]
    report = dsn.parse_dsn(dsn.as_bytes(case.build()))

    def visible(action: dsn.Action) -> set[bytes]:
        return {
            (r.original_recipient or r.final_recipient).encode()
            for r in report.recipients
            if r.action is action and (r.original_recipient or r.final_recipient).isascii()
        }

    temporary, permanent = flufl.all_failures(email.message_from_bytes(dsn.as_bytes(case.build())))
    assert set(permanent) == visible(dsn.Action.FAILED)
    assert set(temporary) == visible(dsn.Action.DELAYED)
    assert {r.final_recipient for r in report.recipients} == case.failed | case.delayed


@pytest.mark.parametrize("name", NAMES)
def test_dsn_check_strict(name):
    missing = sisimai_missing()
    if missing:
        pytest.skip(missing)
    parsers = [p for p in DSN_CHECK_PARSERS if p not in CASES[name].skip_parsers]
    run = subprocess.run(
        [
            sys.executable,
            str(DSN_CHECK),
            "--strict",
            "--only",
            ",".join(parsers),
            str(FIXTURES / f"{name}.eml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 error(s)" in run.stdout
