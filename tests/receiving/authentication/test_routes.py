"""Where each message is authenticated (docs/authentication.md, "Cost and caches"): unsigned
mail against a zone on the event loop, signed mail up to `OFFLOAD_MAX` in the child process
(offload.py), larger signed mail and all mail when lookups wait for the network in a thread;
and the child's verdicts are the server's own, whatever happens to the child."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from inbound.config import Address
from inbound.dns.resolver import ResolverSource
from inbound.headers import SplitMessage
from inbound.receiving.authentication import OFFLOAD_MAX, DnsAuthenticator, Route, offload
from inbound.receiving.verdicts import AuthInput, Status
from tests.api.test_identities import FakeDns
from tests.receiving.authentication.signing import DOMAIN, Keys, message
from tests.receiving.authentication.test_caches import REJECT, SPF_FAIL, SPF_PASS, zone


def auth_input(raw: bytes) -> AuthInput:
    split = SplitMessage.parse(raw)
    return AuthInput("127.0.0.1", "client.test", f"bob@{DOMAIN}", split.headers, split.raw)


def corpus(keys: Keys) -> list[bytes]:
    """Signed mail whose checks end every way: pass, fail, permerror (no key, no b=)."""
    signed = keys.sign(message(sender=f"bob@{DOMAIN}", subject="a"))
    return [
        signed,
        keys.sign(message(sender=f"bob@{DOMAIN}", subject="ed"), "ed"),
        signed.replace(b"Hello.", b"Hullo."),
        keys.sign(message(sender=f"bob@{DOMAIN}", subject="gone"), "gone"),
        signed.replace(b" b=", b" x-b=", 1),
    ]


CHILD = f"\0-m\0{offload.__package__}\0".encode()  # the end of the child's command line


def children(parent: int) -> list[int]:
    """The live offload children of `parent` (from /proc: no process library needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == parent and fields[0] != "Z" and command.endswith(CHILD):
            found.append(int(entry.name))
    return found


def test_with_a_zone_signed_mail_goes_to_the_child_and_unsigned_stays_on_the_loop(
    keys: Keys,
) -> None:
    authenticator = DnsAuthenticator(zone(keys.records["rsa"], SPF_PASS, REJECT))
    unsigned = message(sender=f"bob@{DOMAIN}")
    assert authenticator.route(auth_input(keys.sign(unsigned))) is Route.PROCESS
    assert authenticator.route(auth_input(unsigned)) is Route.LOOP
    # a body that only mentions the header is not signed
    assert authenticator.route(auth_input(unsigned + b"DKIM-Signature: v=1\r\n")) is Route.LOOP
    large = keys.sign(message(sender=f"bob@{DOMAIN}", body="x" * OFFLOAD_MAX))
    assert authenticator.route(auth_input(large)) is Route.THREAD


def test_with_a_resolver_all_mail_goes_to_a_thread(fake_dns: FakeDns) -> None:
    source = ResolverSource.configured(Address("127.0.0.1", fake_dns.port), timeout=2)
    authenticator = DnsAuthenticator(source)
    assert authenticator.route(auth_input(message(sender=f"bob@{DOMAIN}"))) is Route.THREAD


def test_the_childs_verdicts_are_the_servers_own(keys: Keys) -> None:
    authenticator = DnsAuthenticator(zone(keys.records["rsa"], SPF_FAIL, REJECT))

    async def check() -> None:
        try:
            assert children(os.getpid()) == []  # started by the first signed message
            for raw in corpus(keys):
                given = auth_input(raw)
                assert await authenticator.authenticate(given) == authenticator.evaluate(given)
            assert len(children(os.getpid())) == 1
        finally:
            await authenticator.close()

    asyncio.run(check())
    assert children(os.getpid()) == []


def test_a_killed_child_costs_no_verdict_and_is_started_again(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(offload, "RESTART_SECONDS", 0.0)
    asyncio.run(_killed(keys))
    assert children(os.getpid()) == []


async def _killed(keys: Keys) -> None:
    authenticator = DnsAuthenticator(zone(keys.records["rsa"], SPF_PASS, REJECT))
    given = auth_input(keys.sign(message(sender=f"bob@{DOMAIN}")))
    try:
        assert (await authenticator.authenticate(given)).dkim is Status.PASS
        [first] = children(os.getpid())
        # killed with many messages in flight: each gets its verdicts from the server itself
        waiting = [asyncio.create_task(authenticator.authenticate(given)) for _ in range(50)]
        await asyncio.sleep(0)
        os.kill(first, signal.SIGKILL)
        results = await asyncio.gather(*waiting)
        assert {(r.spf, r.dkim, r.dmarc) for r in results} == {(Status.PASS,) * 3}
        assert (await authenticator.authenticate(given)).dkim is Status.PASS
        assert [pid for pid in children(os.getpid()) if pid != first] != []
    finally:
        await authenticator.close()


def test_a_child_that_does_not_answer_in_time_is_replaced(
    keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(offload, "RESTART_SECONDS", 0.0)
    asyncio.run(_silent(keys, monkeypatch))
    assert children(os.getpid()) == []


async def _silent(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    authenticator = DnsAuthenticator(zone(keys.records["rsa"], SPF_PASS, REJECT))
    given = auth_input(keys.sign(message(sender=f"bob@{DOMAIN}")))
    try:
        assert (await authenticator.authenticate(given)).dkim is Status.PASS
        [first] = children(os.getpid())
        os.kill(first, signal.SIGSTOP)  # alive, and silent
        with monkeypatch.context() as patch:  # only here: a new child may start slowly
            patch.setattr(offload, "TIMEOUT", 0.5)
            assert (await authenticator.authenticate(given)).dkim is Status.PASS  # a thread's
        assert first not in children(os.getpid())
        assert (await authenticator.authenticate(given)).dkim is Status.PASS
        assert len(children(os.getpid())) == 1
    finally:
        await authenticator.close()


@pytest.mark.parametrize("executable", ["/nonexistent/python", "/bin/false"])
def test_a_child_that_cannot_start_or_exits_at_once_costs_no_verdict(
    keys: Keys, monkeypatch: pytest.MonkeyPatch, executable: str
) -> None:
    monkeypatch.setattr(offload.sys, "executable", executable)  # no such file; exits with 1
    monkeypatch.setattr(offload, "RESTART_SECONDS", 0.0)
    authenticator = DnsAuthenticator(zone(keys.records["rsa"], SPF_PASS, REJECT))
    given = auth_input(keys.sign(message(sender=f"bob@{DOMAIN}")))

    async def check() -> None:
        try:
            for _ in range(3):  # each a new attempt at a child, each answered in a thread
                assert await authenticator.authenticate(given) == authenticator.evaluate(given)
        finally:
            await authenticator.close()

    asyncio.run(check())
    assert children(os.getpid()) == []
