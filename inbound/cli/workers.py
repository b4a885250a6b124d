"""`inbound serve` with `[server] workers = N` (N > 1): a supervisor and N worker processes
(docs/workers.md).

The supervisor is the process `inbound serve` started. It holds the data dir
(`server.lock`), prepares once what every worker would otherwise make on its first start
(the schema and its migrations, the TLS and SNS signing certificates, the cleaning of what a
killed run left half-written), reserves the ports, then starts the workers and waits: a
worker that dies is logged and started again in its slot (whose engine id it keeps, so it
takes its unfinished work back at once: store/claims.py); SIGTERM or SIGINT stops them all,
each as one server stops (its sessions finish, its accepted mail is processed).

Each worker is an `InboundServer` of its own (`worker=` its slot) in a process started by
`multiprocessing` (spawn: a fresh interpreter, no state copied from the supervisor), with
listeners that join the supervisor's reserved ports through SO_REUSEPORT: the kernel spreads
the connections over the workers, and each worker accepts only its own.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from inbound import config, eventloop, logs
from inbound.app import InboundServer, discard_unfinished, seed_keys
from inbound.cli.startup import Bound, announce, freeze_start_up, overrides
from inbound.config import Address, Settings
from inbound.store import StorageError, make_store
from inbound.store.claim import Claim

log = logging.getLogger("inbound.workers")
START_TIMEOUT = 120.0  # seconds a worker may take to listen, on a busy machine
RESTART_DELAY = 1.0  # seconds before starting again a worker that died just after its start


@dataclass(frozen=True)
class Ports:
    """The addresses the supervisor reserved, with their ports chosen, for the workers."""

    smtp: Address
    http: Address
    submission: Address | None
    submission_tls: Address | None

    def apply(self, settings: Settings) -> Settings:
        sending = replace(settings.sending, smtp=self.submission, smtps=self.submission_tls)
        return settings.clone(smtp=self.smtp, http=self.http, sending=sending)


@dataclass
class _Worker:
    slot: int
    process: BaseProcess
    conn: Connection  # what it says once it listens: None, or why it could not
    started: float


def supervise(settings: Settings, args: argparse.Namespace) -> int:
    """Serve with `settings.workers` worker processes until SIGINT or SIGTERM."""
    try:
        claim = Claim.take(settings.data_dir)
    except StorageError as exc:
        return _cannot(f"cannot write to the data dir {settings.data_dir}: {exc}")
    held: list[socket.socket] = []
    try:
        try:
            prepare(settings)
        except StorageError as exc:
            return _cannot(f"cannot write to the data dir {settings.data_dir}: {exc}")
        try:
            ports = _reserve_all(settings, held)
        except OSError as exc:
            return _cannot(
                f"cannot listen on SMTP {settings.smtp} / HTTP {settings.http} / "
                f"the SMTP interface: {exc}"
            )
        return _Supervisor(settings, args, ports).run(claim)
    finally:
        for sock in held:
            sock.close()
        claim.release()


def prepare(settings: Settings) -> None:
    """What every worker needs before it starts, made once: the store's schema (migrated),
    the certificates, and what a killed run left half-written cleaned away."""
    store = make_store(settings.data_dir, settings.store.url)
    store.open()
    try:
        discard_unfinished(store, settings)
    finally:
        store.close()
    seed_keys(settings.data_dir, settings.smtp_hostname)


def _reserve_all(settings: Settings, held: list[socket.socket]) -> Ports:
    def reserve(address: Address | None) -> Address | None:
        if address is None:
            return None
        sock = _reserve(address)
        held.append(sock)
        return replace(address, port=sock.getsockname()[1])

    smtp, http = reserve(settings.smtp), reserve(settings.http)
    assert smtp is not None and http is not None
    return Ports(smtp, http, reserve(settings.sending.smtp), reserve(settings.sending.smtps))


def _reserve(address: Address) -> socket.socket:
    """A socket bound to `address` with SO_REUSEPORT and not listening: it keeps the port
    (port 0: the one chosen) for the workers' listeners, which join it, while a worker is
    started again, and takes no connection itself. A port another program uses is refused
    first, by a bind without SO_REUSEPORT (which would otherwise share it silently)."""
    family, kind, proto, _, where = socket.getaddrinfo(
        address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(where)
        chosen = (where[0], probe.getsockname()[1], *where[2:])
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(chosen)
    except OSError:
        sock.close()
        raise
    return sock


def _cannot(message: str) -> int:
    print(f"inbound: {message}", file=sys.stderr)
    return 2


class _Supervisor:
    def __init__(self, settings: Settings, args: argparse.Namespace, ports: Ports) -> None:
        self.settings = settings
        self.args = args
        self.ports = ports
        self.context = multiprocessing.get_context("spawn")
        self.workers: dict[int, _Worker] = {}
        self.stopping = False

    def run(self, claim: Claim) -> int:
        wakeup, wakeup_writer = socket.socketpair()
        wakeup_writer.setblocking(False)
        previous = signal.set_wakeup_fd(wakeup_writer.fileno())
        handlers = {s: signal.signal(s, self._stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for slot in range(1, self.settings.workers + 1):
                self._start(slot)
            bound = self._wait_ready()
            if bound is None:
                self._stop_all()
                return 2
            claim.announce(bound.http_url)
            announce(self.settings, self.args.config, bound)
            print(f"inbound: {len(self.workers)} workers: {self._pids()}", flush=True)
            while not self.stopping:
                self._watch(wakeup)
            print("inbound: stopping", flush=True)
            self._stop_all()
            return 0
        finally:
            signal.set_wakeup_fd(previous)
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            wakeup.close()
            wakeup_writer.close()

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _pids(self) -> str:
        return ", ".join(f"{w.slot} (pid {w.process.pid})" for w in self.workers.values())

    def _start(self, slot: int) -> None:
        mine, theirs = self.context.Pipe()
        process = self.context.Process(
            target=work,
            args=(self.args, self.ports, slot, theirs),
            name=f"inbound-worker-{slot}",
        )
        process.start()
        theirs.close()
        self.workers[slot] = _Worker(slot, process, mine, time.monotonic())

    def _wait_ready(self) -> Bound | None:
        """What the first worker bound, once every worker listens; None when one could not
        (it said why on stderr) or the supervisor was stopped meanwhile."""
        bound: Bound | None = None
        deadline = time.monotonic() + START_TIMEOUT
        for worker in self.workers.values():
            while not self.stopping and not worker.conn.poll(0.1):
                if not worker.process.is_alive() or time.monotonic() > deadline:
                    print(f"inbound: worker {worker.slot} did not start", file=sys.stderr)
                    return None
            if self.stopping:
                return None
            said = worker.conn.recv()
            if isinstance(said, str):
                print(f"inbound: {said}", file=sys.stderr)
                return None
            bound = bound or said
        return bound

    def _watch(self, wakeup: socket.socket) -> None:
        """Wait for a worker to end or a signal; start again the workers that ended."""
        sentinels = {w.process.sentinel: w for w in self.workers.values()}
        ready: Sequence[object] = wait([*sentinels, wakeup])
        if wakeup in ready:
            wakeup.recv(512)
        if self.stopping:
            return
        for sentinel in ready:
            worker = sentinels.get(sentinel)  # type: ignore[call-overload]
            if worker is None:
                continue
            worker.process.join()
            worker.conn.close()
            log.warning(
                "worker %d (pid %d) %s: starting it again",
                worker.slot,
                worker.process.pid,
                _ending(worker.process.exitcode),
            )
            if time.monotonic() - worker.started < RESTART_DELAY:  # not in a tight loop
                time.sleep(RESTART_DELAY)
            self._start(worker.slot)

    def _stop_all(self) -> None:
        """SIGTERM to every worker, then wait for each to finish as one server does."""
        for worker in self.workers.values():
            if worker.process.is_alive() and worker.process.pid is not None:
                os.kill(worker.process.pid, signal.SIGTERM)
        for worker in self.workers.values():
            worker.process.join()
            worker.conn.close()
            if worker.process.exitcode not in (0, 2):
                log.warning("worker %d %s", worker.slot, _ending(worker.process.exitcode))


def _ending(code: int | None) -> str:
    if code is not None and code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


# ── the worker process ─────────────────────────────────────────────────────────────────
def work(args: argparse.Namespace, ports: Ports, slot: int, conn: Connection) -> None:
    """A worker's process: the settings read as the supervisor read them (the same file,
    environment and options), on the reserved ports; one server until SIGTERM, or until the
    supervisor is gone (its end of `conn` closes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the supervisor, which stops us
    settings = ports.apply(overrides(config.load(args.config, os.environ), args))
    logs.setup(verbose=args.verbose, form=args.log_format or settings.log_format, worker=slot)
    sys.exit(eventloop.run(_serve(settings, slot, conn)))


async def _serve(settings: Settings, slot: int, conn: Connection) -> int:
    server = InboundServer(settings, worker=slot)
    try:
        await server.start()
    except (StorageError, OSError) as exc:
        conn.send(f"worker {slot} could not start: {exc}")
        await server.stop()
        return 2
    conn.send(Bound.of(server))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(conn.fileno(), stop.set)  # readable only at EOF: the supervisor is gone
    freeze_start_up()
    await stop.wait()
    loop.remove_reader(conn.fileno())
    await server.stop()
    return 0
