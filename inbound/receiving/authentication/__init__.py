"""SPF, DKIM and DMARC against the server's DNS source (docs/authentication.md): the
`Authenticator` app.py uses whenever `[dns]` gives a source.

Each check is a module: `spf.py` (pyspf), `dkim.py` (dkimpy, every signature),
`dmarc.py` (RFC 7489 with the Public Suffix List), which reads only DKIM's passing `d=`
domains. Where a message is evaluated depends on what it costs (`Route`):

* unsigned mail against a zone, on the event loop: every lookup is a dict access, and SPF's
  result is kept per sender, so a thread or a process would cost it more than it saves;
* signed mail up to `OFFLOAD_MAX` against a zone, in a child process (offload.py): DKIM's
  Python work is what it costs, and only another process runs Python beside the event loop;
* the rest in a thread: lookups that wait for the network (a resolver source), and larger
  signed mail, whose cost is the body hash, which lets go of the GIL.
"""

from __future__ import annotations

import asyncio
import enum
import functools

from inbound.dns import DnsSource
from inbound.dns.zone import ZoneSource
from inbound.receiving.authentication import dmarc, spf
from inbound.receiving.authentication.dkim import DkimVerifier, signed
from inbound.receiving.authentication.offload import AuthProcess
from inbound.receiving.verdicts import AuthInput, AuthResult, Status

SPF_CACHE = 4096  # (IP, MAIL FROM, HELO) results kept with a zone source
# Signed mail up to this size goes to the child process: above it, hashing the body (in C,
# without the GIL) outweighs the Python, and one large message would hold the child's queue.
OFFLOAD_MAX = 256 * 1024


class Route(enum.Enum):
    LOOP = "loop"
    THREAD = "thread"
    PROCESS = "process"


class DnsAuthenticator:
    def __init__(self, source: DnsSource) -> None:
        self.source = source
        self.dkim = DkimVerifier(source)
        self._blocking = source.blocking
        dmarc.suffix_list()  # parsed now, not while the first message waits
        # With fixed answers (a zone) SPF's result depends on (IP, MAIL FROM, HELO) alone: a
        # sender's repeated mail costs one evaluation (pyspf: ~100 µs each).
        check = functools.partial(spf.evaluate, source)
        self._spf = functools.lru_cache(maxsize=SPF_CACHE)(check) if source.fixed else check
        # only a zone can be copied to a child; started with the first message it is given
        self._process = AuthProcess(source.zone.records) if isinstance(source, ZoneSource) else None

    def route(self, message: AuthInput) -> Route:
        if self._blocking:
            return Route.THREAD
        if not signed(message.message):
            return Route.LOOP
        if self._process is not None and len(message.message) <= OFFLOAD_MAX:
            return Route.PROCESS
        return Route.THREAD

    async def authenticate(self, message: AuthInput) -> AuthResult:
        route = self.route(message)
        if route is Route.LOOP:
            return self.evaluate(message)
        if route is Route.PROCESS:
            assert self._process is not None
            result = await self._process.evaluate(message)
            if result is not None:
                return result  # else the child failed (offload.py logged why): a thread does it
        return await asyncio.to_thread(self.evaluate, message)

    async def close(self) -> None:
        if self._process is not None:
            await self._process.close()

    def evaluate(self, message: AuthInput) -> AuthResult:
        checked = self._spf(message.client_ip, message.mail_from, message.helo)
        signatures = self.dkim.evaluate(message)
        policy = dmarc.evaluate(
            self.source,
            message.headers,
            spf_pass=checked.status is Status.PASS,
            # RFC 7489 §3.1.2: the MAIL FROM domain, or the HELO name for a null MAIL FROM
            spf_domain=message.mail_from.rpartition("@")[2] or message.helo,
            dkim_domains=[d for result, d in signatures.results if result == "pass"],
        )
        return AuthResult(
            spf=checked.status,
            spf_result=checked.result,
            spf_explanation=checked.explanation,
            dkim=signatures.status,
            dkim_results=signatures.results,
            dmarc=policy.status,
            dmarc_result=policy.result,
            dmarc_policy=policy.policy,
        )
