"""The store's writer process (`[store] writer = "process"`, `python -m inbound.store`) killed
with kill -9 while clients send: no accepted message loses an action's records.

An action's records written without waiting (the S3 object's row, the SNS notification) may
be in the pipe when the child dies; the next write starts another child. A message whose run
spans the loss records no further step (receiving/engine.py, `_Steps`): it goes on from the
steps recorded before, so those actions run again. Without that check, its later steps
committed in the new child and it ended `done` with an S3 object or a notification missing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import smtplib
import threading
import time
from collections.abc import Callable
from pathlib import Path

from inbound.config import StoreSettings
from tests.rulesets import message, rule, rules, s3, sns

# Under the 64 KB above which an S3 object is staged by the server (backends/s3_files.py):
# the object goes through the pipe in its record, which stays in flight longer.
BODY = message(body=("z" * 70 + "\r\n") * 700)


def _writers() -> list[int]:
    """The store's writer processes among this test process's children (a dead one's command
    line reads empty)."""
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread or child ended
            for child in (task / "children").read_text().split():
                if b"\0inbound.store\0" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
    return found


def _until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not done():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_a_killed_writer_process_loses_no_action_of_an_accepted_message(inbound_factory) -> None:
    server = inbound_factory(rules(rule("r", s3("b"), sns())), store=StoreSettings())
    accepted: list[bool] = []

    def send() -> bool:
        try:
            server.send("sender@sender.test", ["user@example.com"], BODY)
            return True
        except (smtplib.SMTPException, OSError):  # 451: its spool write was in flight
            return False

    def load() -> None:
        accepted.extend(send() for _ in range(40))

    senders = [threading.Thread(target=load) for _ in range(6)]
    for sender in senders:
        sender.start()
    for sent in range(30, 200, 40):  # five kills, each a chance to catch records in the pipe
        _until(lambda n=sent: len(accepted) >= n and bool(_writers()), "mail before a kill")
        (writer,) = _writers()
        os.kill(writer, signal.SIGKILL)
        _until(lambda w=writer: w not in _writers(), "the child dead")
    for sender in senders:
        sender.join()
    assert len(_writers()) == 1  # another child writes now
    assert accepted.count(True) >= 180  # only those in flight at a kill may have failed
    received = server.messages()  # every accepted message processed
    done = [m for m in received if m["status"] == "done"]
    assert len(done) >= accepted.count(True)
    # a spool committed as the child died, its 451 sent all the same: left for the next start
    assert len(received) - len(done) <= accepted.count(False)
    ids = {m["messageId"] for m in done}
    # every action done: those whose records were in flight at the kill ran again
    assert {o["key"] for o in server.listing("/api/s3")} == ids
    assert {n["messageId"] for n in server.listing("/api/notifications")} == ids
