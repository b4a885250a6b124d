"""A burst of SMTP connections at once: how many the engine answers (docs/reliability.md).

    python -m benchmarks.burst                         # 1,000 connections, backlogs 100 and default
    python -m benchmarks.burst --connections 2000 --backlog 128 --backlog 4096 --runs 5

For each listen backlog (`[limits] listen_backlog`; "default" leaves it unset) and each run, a
fresh `inbound serve` (connection limits raised above the burst, so that only the backlog
decides), then every connection opened at once; each waits up to `--wait` seconds for its first
reply line. Counted per run: greeted (220), refused (421), silent (no reply in time), failed
(reset or refused by the kernel). asyncio's own default backlog is 100.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from pathlib import Path

from benchmarks.servers import Server, rule, rule_set


async def _first_line(port: int, wait: float) -> str:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), wait)
    except TimeoutError:
        return "silent"
    except OSError:
        return "failed"
    try:
        line = await asyncio.wait_for(reader.readline(), wait)
    except TimeoutError:
        return "silent"
    except OSError:
        return "failed"
    finally:
        writer.close()
    return {b"220": "greeted", b"421": "refused"}.get(line[:3], "failed")


async def burst(backlog: int | None, connections: int, wait: float) -> Counter[str]:
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        server = Server.engine(workdir, rule_set([rule("all", [])]))
        limits = (
            f"max_connections = {2 * connections}\nmax_connections_per_ip = {2 * connections}\n"
        )
        if backlog is not None:
            limits += f"listen_backlog = {backlog}\n"
        with (workdir / "inbound.toml").open("a") as toml:
            toml.write(f"[limits]\n{limits}")
        await server.start()
        try:
            return Counter(
                await asyncio.gather(
                    *(_first_line(server.smtp_port, wait) for _ in range(connections))
                )
            )
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--backlog", action="append", help="a number or 'default' (repeatable)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--wait", type=float, default=10.0, help="seconds for the first reply")
    args = parser.parse_args(argv)
    print(f"{args.connections} connections at once, first reply within {args.wait:g} s")
    print("| backlog | greeted (220) | refused (421) | silent | failed |")
    print("|---|---|---|---|---|")
    for backlog in args.backlog or ["100", "default"]:
        for _ in range(args.runs):
            size = None if backlog == "default" else int(backlog)
            counts = asyncio.run(burst(size, args.connections, args.wait))
            cells = [counts[k] for k in ("greeted", "refused", "silent", "failed")]
            print(f"| {backlog} | " + " | ".join(map(str, cells)) + " |", flush=True)


if __name__ == "__main__":
    main()
