"""Signed mail authenticated in a child process (docs/authentication.md, "Cost and caches").

Checking a DKIM signature is about 100 µs of Python per message (its tags, the canonical
header fields, the body's line ends) around OpenSSL's 20 µs. Measured in the server, among all
else a message costs, it took 0.25-0.3 ms of the event loop's time, in a thread as on the loop:
the GIL is one, so a thread only moves the work. A child process has a GIL of its own; the
server's share is a message written to a pipe and its verdicts read back (~15 µs).

The child is `python -m inbound.receiving.authentication` (`__main__.py`), started with the first
message it is given. It gets the zone's records first (a zone's answers never change while the
server runs: `DnsSource.fixed`), then evaluates one message at a time with `DnsAuthenticator`,
as the server would. Frames both ways are a 4-byte big-endian length and a pickle: to the
child, (request id, `AuthInput`); back, (request id, `AuthResult`), or (request id, None) when
evaluating raised, which the child writes to its stderr (inbound/frames.py).

Whatever goes wrong with the child (it cannot start, it exits, a message takes longer than
`TIMEOUT`) costs no verdict: `evaluate` answers None and the caller evaluates in-process, as
before; the child is stopped and started again with a later message, at most once per
`RESTART_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import sys
import time
from collections.abc import Mapping

from inbound.frames import Unframer, frame
from inbound.receiving.verdicts import AuthInput, AuthResult

log = logging.getLogger("inbound.auth")

MAX_FRAME = 64 * 1024 * 1024  # a frame's bound: far over any message the child is given
READ_SIZE = 1 << 16  # what one read of the child's answers takes at most
TIMEOUT = 30.0  # seconds a message may wait for the child (queue included)
RESTART_SECONDS = 5.0  # the least time between two starts of the child
Records = Mapping[tuple[str, str], tuple[str, ...]]  # a zone's (name, type) → values


class AuthProcess:
    """The server's side: one child, its requests in flight, and their futures."""

    def __init__(self, records: Records) -> None:
        self._records = records  # copied (a dict, to pickle) only when a child starts
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._starting: asyncio.Lock | None = None
        self._pending: dict[int, asyncio.Future[AuthResult | None]] = {}
        self._next = 0
        self._started_at = -RESTART_SECONDS

    async def evaluate(self, message: AuthInput) -> AuthResult | None:
        """The child's verdicts for `message`; None when the child could not give them."""
        process = await self._running()
        if process is None or process.stdin is None:
            return None
        self._next += 1
        ident = self._next
        future: asyncio.Future[AuthResult | None] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        try:
            process.stdin.write(frame((ident, message)))
            await process.stdin.drain()
            return await asyncio.wait_for(future, TIMEOUT)
        except TimeoutError:  # before OSError, of which it is a kind
            log.warning(
                "authentication: no verdicts from the child process in %.0f s; it is stopped "
                "and the message is authenticated in the server",
                TIMEOUT,
            )
            await self._stop()
            return None
        except (OSError, ConnectionError) as exc:
            log.warning("authentication: the child process took no message: %s", exc)
            return None
        finally:
            self._pending.pop(ident, None)

    def _alive(self) -> asyncio.subprocess.Process | None:
        """The child, unless it is gone: its output ended (the reader is done) or it exited."""
        process, reader = self._process, self._reader
        if process is None or process.returncode is not None or reader is None or reader.done():
            return None
        return process

    async def _running(self) -> asyncio.subprocess.Process | None:
        if (process := self._alive()) is not None:
            return process
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:  # messages that come while it starts wait for it
            if (process := self._alive()) is not None:
                return process
            if time.monotonic() - self._started_at < RESTART_SECONDS:
                return None
            self._started_at = time.monotonic()
            await self._stop()
            try:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", __package__ or "",
                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                )  # fmt: skip
            except OSError as exc:
                log.warning("authentication: the child process did not start: %s", exc)
                return None
            assert process.stdin is not None and process.stdout is not None
            self._process = process
            self._reader = asyncio.create_task(self._read(process.stdout))
            try:
                process.stdin.write(frame(dict(self._records)))
                await process.stdin.drain()
            except (OSError, ConnectionError) as exc:  # it exited at once: stopped, not kept
                log.warning("authentication: the child process took no zone: %s", exc)
                await self._stop()
                return None
            return process

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        """Verdicts to the futures waiting for them, until the child's output ends."""
        frames = Unframer(MAX_FRAME, chunk=0)  # fed, never `read`: no buffer of its own
        try:
            while chunk := await stdout.read(READ_SIZE):  # empty: the child exited
                for ident, result in frames.feed(chunk):
                    future = self._pending.get(ident)
                    if future is not None and not future.done():
                        future.set_result(result)
        except (ValueError, pickle.UnpicklingError) as exc:
            log.warning("authentication: the child process's answer is unreadable: %s", exc)
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_result(None)

    async def _stop(self) -> None:
        process, reader = self._process, self._reader
        self._process = self._reader = None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if reader is not None:
            await reader

    async def close(self) -> None:
        """Stops the child: its input ends, so it exits; killed if it does not at once."""
        process = self._process
        if process is not None and process.stdin is not None and process.returncode is None:
            process.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 2.0)
        await self._stop()
