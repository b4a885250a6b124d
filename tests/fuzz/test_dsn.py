"""Fuzz the DSN parser (`inbound.dsn.parse_dsn`), which reads the bounces that come back to
sent mail (sending/delivery.py): whatever the bytes, it returns a `DeliveryReport` or raises
`DsnError`, which the caller handles; anything else would stop that delivery's processing.

Inputs: the committed DSN fixtures mutated (tests/fuzz/mutations.py), random bytes, and a
`multipart/report` whose delivery-status part is random field lines.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inbound import dsn
from tests.api.strategies import HOSTILE
from tests.fuzz import budget
from tests.fuzz.mutations import mutated

TARGET = "dsn"
_FIELDS = st.sampled_from(
    [
        "Reporting-MTA",
        "Arrival-Date",
        "Final-Recipient",
        "Original-Recipient",
        "Action",
        "Status",
        "Diagnostic-Code",
        "Remote-MTA",
        "Last-Attempt-Date",
        "Will-Retry-Until",
        "X-Extension",
    ]
)
_VALUE = st.sampled_from(
    [*HOSTILE, "rfc822; a@b", "utf-8; a\\x{40}b", "failed", "5.1.1"]
) | st.text(max_size=40)


@st.composite
def reports(draw: st.DrawFn) -> bytes:
    """A report whose delivery-status blocks are random fields, possibly global (UTF-8)."""
    kind = draw(st.sampled_from(["delivery-status", "global-delivery-status"]))
    blocks = draw(
        st.lists(st.lists(st.tuples(_FIELDS, _VALUE), max_size=6), min_size=0, max_size=4)
    )
    status = "\r\n\r\n".join("\r\n".join(f"{n}: {v}" for n, v in block) for block in blocks)
    cte = draw(st.sampled_from(["", "Content-Transfer-Encoding: base64\r\n"]))
    return (
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;"
        ' boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhuman\r\n'
        f"--b\r\nContent-Type: message/{kind}\r\n{cte}\r\n{status}\r\n--b--\r\n"
    ).encode("utf-8", "surrogatepass")


@budget.examples(ci=150, deep=30_000)
@given(raw=mutated() | reports() | st.binary(max_size=500))
def test_parse_dsn_returns_a_report_or_raises_dsn_error(raw: bytes) -> None:
    budget.case(TARGET)
    try:
        report = dsn.parse_dsn(raw)
    except dsn.DsnError:
        return
    assert report.recipients  # a report always names at least one recipient
