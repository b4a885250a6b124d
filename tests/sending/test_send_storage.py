"""A send the data dir cannot take (a full disk, tests/disks.py): refused, not stored and not
counted, while the sends queued beside it in the same group commit keep their counts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from inbound.testing import RunningInbound
from tests import disks
from tests.sending.conftest import FAST, client
from tests.sending.test_send import simple

BIG = "y" * 70 + "\r\n"


def test_a_send_the_disk_cannot_take_is_refused_and_not_counted(
    inbound_factory: Callable[..., RunningInbound], tmp_path: Path
) -> None:
    with disks.tmpfs(tmp_path / "disk", "8m") as disk:
        server = inbound_factory(verified=["example.com"], sending=FAST, data_dir=disk / "data")
        ses = client(server)
        ses.send_email(**simple(to=["one@example.com"]))

        ballast = disks.fill(disk)
        raw = f"From: sender@example.com\r\nTo: two@example.com\r\n\r\n{BIG * 3000}"
        with pytest.raises(ClientError) as refused:
            ses.send_raw_email(RawMessage={"Data": raw})
        assert refused.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        ballast.unlink()

        ses.send_email(**simple(to=["three@example.com"]))
        assert ses.get_send_quota()["SentLast24Hours"] == 2.0
        [point] = ses.get_send_statistics()["SendDataPoints"]
        assert point["DeliveryAttempts"] == 2
        assert [m["recipients"] for m in server.sent()] == [
            ["one@example.com"],
            ["three@example.com"],
        ]
