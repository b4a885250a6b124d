"""The store's writer process holds no more than its work needs (issue 15 item 4; store/
writer_child.py): a server's child, once it has written everything a received message makes
(the spool, the trace, an S3 object small and large, an SNS notification), has loaded
neither asyncio nor the store's query modules, nor anything of the server; and an S3 object
over `IN_BAND` reaches it as a file the server staged, never through its pipe, keeping the
S3 semantics (ETag, the bytes, nothing left in s3-partial, a replayed transaction)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from inbound.backends.s3_files import IN_BAND, ObjectFile, stage
from inbound.config import StoreSettings
from inbound.frames import frame
from inbound.records import StoredObject
from inbound.store.engine import Write, nothing
from tests import rulesets

# Run by every Python process the test's server starts: the writer child (`python -m
# inbound.store`) writes the modules it has loaded when it exits.
SITECUSTOMIZE = """
import atexit, json, os, sys

def _written():
    if sys.argv and sys.argv[0].endswith(os.path.join("inbound", "store", "__main__.py")):
        with open(os.environ["WRITER_MODULES"], "w") as out:
            json.dump(sorted(sys.modules), out)

atexit.register(_written)
"""

# Every module of `inbound` the child may load for a received message's writes; a write whose
# function lives in a module importing asyncio or the store's query modules breaks this.
CHILD_MODULES = {
    "inbound",
    "inbound.backends",
    "inbound.backends.errors",
    "inbound.backends.s3_files",
    "inbound.datadir",
    "inbound.frames",
    "inbound.ids",
    "inbound.records",
    "inbound.store",
    "inbound.store.batch",
    "inbound.store.checkpoints",
    "inbound.store.document_writes",
    "inbound.store.engine",
    "inbound.store.errors",
    "inbound.store.names",
    "inbound.store.packing",
    "inbound.store.rows",
    "inbound.store.s3_objects",
    "inbound.store.schema",
    "inbound.store.sqlite",
    "inbound.store.writer_child",
    "inbound.timestamps",
}
LARGE = b"Subject: large\r\n\r\n" + (b"z" * 998 + b"\r\n") * (2 * IN_BAND // 1000)


def test_the_writer_process_loads_only_what_its_writes_need(
    inbound_factory: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]))
    written = tmp_path / "modules.json"
    monkeypatch.setenv("WRITER_MODULES", str(written))
    actions = (rulesets.add_header("X-A", "1"), rulesets.s3("b"), rulesets.sns())
    server = inbound_factory(rulesets.rules(rulesets.rule("all", *actions)), store=StoreSettings())
    server.send("sender@sender.test", ["user@example.com"], rulesets.message())
    server.send("sender@sender.test", ["user@example.com"], LARGE)
    server.wait_idle()
    assert [m["status"] for m in server.listing("/api/messages")] == ["done", "done"]
    server.stop()  # the child exits when its input ends

    loaded = set(json.loads(written.read_text()))
    ran = {"inbound.store.s3_objects", "inbound.store.rows", "inbound.store.packing"}
    assert ran <= loaded  # it ran the writes, and packed the body and the notification
    assert {m for m in loaded if m.split(".")[0] == "inbound"} - CHILD_MODULES == set()
    assert {"asyncio", "ssl", "subprocess"} & loaded == set()


def test_a_large_object_is_staged_by_the_server_and_keeps_s3_s_semantics(
    inbound_factory: Any,
) -> None:
    server = inbound_factory(
        rulesets.rules(rulesets.rule("all", rulesets.add_header("X-A", "1"), rulesets.s3("b"))),
        store=StoreSettings(),
    )
    server.send("sender@sender.test", ["user@example.com"], LARGE)
    server.wait_idle()
    [stored] = server.listing("/api/s3")
    body = server.s3_object("b", stored["key"])
    assert body.startswith(b"X-A: 1\r\n") and body.endswith(LARGE)
    assert stored["etag"] == hashlib.md5(body).hexdigest()
    data = Path(server.settings.data_dir)
    assert list((data / "s3-partial").iterdir()) == []  # the staged file went with the write


def test_a_staged_object_file_is_put_in_place_again_when_its_transaction_is_replayed(
    tmp_path: Path,
) -> None:
    """A batch that fails is replayed one write per transaction (store/batch.py): a staged
    object's file must be put in place again, with the same record."""
    partial, folder = tmp_path / "s3-partial", tmp_path / "s3" / "b"
    body = b"x" * (IN_BAND + 1)
    staged, etag = stage(str(partial), body)
    record = StoredObject("b", "k/1", len(body), {}, None, "2026-01-01T00:00:00Z", etag=etag)
    write = ObjectFile(str(folder), str(tmp_path / "s3-keyed"), str(partial), record, b"", staged)
    first, second = write(), write()
    assert first == second and first.etag == hashlib.md5(body).hexdigest() and not first.hashed
    assert (folder / "k" / "1").read_bytes() == body
    assert sorted(partial.iterdir()) == [Path(staged)]  # the server removes it (local_s3)


def test_a_staged_object_file_whose_key_is_no_path_goes_under_its_hash(tmp_path: Path) -> None:
    partial = tmp_path / "s3-partial"
    body = b"y" * (IN_BAND + 1)
    staged, etag = stage(str(partial), body)
    record = StoredObject("b", "a//b", len(body), {}, None, "2026-01-01T00:00:00Z", etag=etag)
    keyed = tmp_path / "s3-keyed"
    folder = str(tmp_path / "s3" / "b")
    stored = ObjectFile(folder, str(keyed), str(partial), record, b"", staged)()
    assert stored.hashed
    assert (keyed / "b" / hashlib.sha256(b"a//b").hexdigest()).read_bytes() == body


def test_the_writer_stops_quietly_when_its_server_is_gone(tmp_path: Path) -> None:
    """A server killed with -9 leaves its child answers nobody reads: the child stops with a
    line in the log, not a traceback (which the soak run counts as a failure)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "inbound.store", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    assert child.stdout.read(1) == b"+"
    child.stdout.close()
    child.stdin.write(frame([(1, Write(nothing), True)]))
    child.stdin.close()
    assert child.wait(timeout=30) == 0
    log = child.stderr.read().decode()
    assert "Traceback" not in log
    assert "the server is gone; the store's writer stops" in log
