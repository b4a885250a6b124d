"""Three engines on one PostgreSQL database under load, one killed with `kill -9` in the middle
of it (issue 17 item 5, docs/cluster.md "A kill under load"): every message a client got `250`
for is processed exactly once, by whichever engine, the killed engine's unfinished ones by the
others once its lease runs out, without a restart.

The load and the check are the soak's (benchmarks/soak.py, soak_traffic.py): clients that
note what became of each message (its `X-Soak-Id`), and every message stored compared with
what the clients were told, one S3 object and one SNS publication each, through the JSON API
of a surviving engine (every engine sees the whole database).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from benchmarks import servers, soak
from benchmarks.soak_traffic import SOAK, Ledger, Lost, Session, message, send
from tests.receiving.test_restart import _get
from tests.serving import Serve

ENGINES = 3
CLIENTS = 6
MESSAGES = 150  # sessions of one message each, spread over the engines
KILL_AFTER = 15  # messages the doomed engine has accepted when it is killed
SLOW = "slow@example.com"  # its rule's Lambda function waits while `block` exists
LEASE = 2.0
HANDLER = """
import pathlib, time
BLOCK = pathlib.Path(__file__).with_name("block")

def handle(event, context):
    while BLOCK.exists():  # the doomed engine is killed with these in flight
        time.sleep(0.05)
    return {"disposition": "CONTINUE"}
"""
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:slow"


def _configure(folder: Path, url: str) -> Path:
    s3, sns = servers.ACTIONS[1], servers.ACTIONS[2]
    lambda_ = {"LambdaAction": {"FunctionArn": FUNCTION, "InvocationType": "RequestResponse"}}
    rules = servers.rule_set(
        [servers.rule("soak", [SOAK]), servers.rule("slow", [SLOW], [s3, sns, lambda_])]
    )
    (folder / "rules.json").write_text(json.dumps(rules))
    (folder / "handler.py").write_text(HANDLER)
    (folder / "block").touch()
    config = folder / "inbound.toml"
    config.write_text(
        '[identities]\nverified = ["example.com"]\n'
        f'[lambda.functions]\n"{FUNCTION}" = "handler.py:handle"\n'
        f"[store]\nurl = {json.dumps(url)}\nlease_seconds = {LEASE}\n"
    )
    return config


class Cluster:
    def __init__(self, config: Path, folder: Path) -> None:
        self.engines: list[Serve] = []
        for n in range(ENGINES):
            (folder / f"engine-{n}").mkdir()
            self.engines.append(Serve(folder / f"engine-{n}", config=config))
        self.alive = [True] * ENGINES
        self.accepted = [0] * ENGINES
        self.killed_at = 0.0

    def kill(self, n: int) -> None:
        os.kill(self.engines[n].process.pid, signal.SIGKILL)
        self.engines[n].process.wait()
        self.alive[n] = False
        self.killed_at = time.monotonic()

    def stop(self) -> None:
        for engine in self.engines:
            if engine.process.poll() is None:
                engine.process.send_signal(signal.SIGTERM)
        for engine in self.engines:
            try:
                engine.process.wait(20)
            except subprocess.TimeoutExpired:
                engine.process.kill()


async def _one(cluster: Cluster, ledger: Ledger, n: int, to: str, soak_id: str) -> None:
    """One session with engine `n`, or the next one alive if `n` is down, or goes down before
    the end of DATA (after it, the message is in doubt: the ledger says so)."""
    while not cluster.alive[n]:
        n = (n + 1) % ENGINES
    try:
        session = await Session.open(ledger, cluster.engines[n].smtp_port)
        try:
            await send(session, [to], message(soak_id, to, 2000), soak_id)
            await session.close()
        finally:
            session.abort()
    except (Lost, OSError):
        if soak_id not in ledger.in_doubt:
            await _one(cluster, ledger, (n + 1) % ENGINES, to, soak_id)
        return
    if soak_id in ledger.accepted:
        cluster.accepted[n] += 1


async def _load(cluster: Cluster, ledger: Ledger, doomed: int) -> None:
    for k in range(3):  # held in the Lambda function until the kill
        await _one(cluster, ledger, doomed, SLOW, f"slow{k}")
    sessions = iter(range(MESSAGES))

    async def client() -> None:
        for k in sessions:
            await _one(cluster, ledger, k % ENGINES, SOAK, f"m{k:04d}")
            if cluster.alive[doomed] and cluster.accepted[doomed] >= KILL_AFTER:
                cluster.kill(doomed)

    await asyncio.gather(*(client() for _ in range(CLIENTS)))


def _actions(http_url: str, message_id: str) -> Counter[str]:
    """How many times its trace records each action of the message."""
    trace = _get(f"{http_url}/api/messages/{message_id}")["trace"]
    return Counter(f"{t['rule']}/{t['action']}" for t in trace if t["kind"] == "action")


def test_a_kill_under_load_loses_nothing_and_repeats_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    config = _configure(tmp_path, postgres_url)
    cluster = Cluster(config, tmp_path)
    ledger = Ledger()
    doomed = 0
    try:
        asyncio.run(_load(cluster, ledger, doomed))
        assert not cluster.alive[doomed], "the load ended before the kill"
        (tmp_path / "block").unlink()  # the killed engine's slow messages may finish now
        survivor = cluster.engines[1].http_url
        while (stats := _get(f"{survivor}/api/stats"))["pending"]:
            assert time.monotonic() - cluster.killed_at < LEASE * 1.5 + 20, stats
            time.sleep(0.05)
        took_over = time.monotonic() - cluster.killed_at
        verdict = soak.check_exactly_once(ledger, survivor)
        repeated = {  # each action of each message recorded once in its trace
            engine_id: steps
            for engine_id in ledger.accepted.values()
            if max((steps := _actions(survivor, engine_id)).values()) != 1
        }
    finally:
        cluster.stop()
    assert verdict.problems == [] and repeated == {}
    assert {f"slow{k}" for k in range(3)} <= set(ledger.accepted)  # done by the survivors
    assert len(ledger.accepted) + len(ledger.in_doubt) == MESSAGES + 3  # each given, or cut off
    print(
        f"{ENGINES} engines, {len(ledger.accepted)} messages accepted ("
        f"{cluster.accepted}), {len(ledger.in_doubt)} in doubt ({verdict.in_doubt_stored}"
        f" stored), killed engine's work done {took_over:.1f} s after the kill (lease {LEASE} s)"
    )
