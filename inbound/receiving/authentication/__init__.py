"""SPF, DKIM and DMARC against the server's DNS source (docs/authentication.md): the
`Authenticator` app.py uses whenever `[dns]` gives a source.

Each check is a module: `spf.py` (pyspf), `dkim.py` (dkimpy, every signature),
`dmarc.py` (RFC 7489 with the Public Suffix List), which reads only DKIM's passing `d=`
domains. A message is evaluated in a thread (receiving/evaluation.py) when a lookup waits for
the network (a resolver source) or when it carries a DKIM signature: OpenSSL's RSA check and
hashlib's hash of the body let go of the GIL, so the event loop goes on serving SMTP while they
run on another core. An unsigned message with a zone source (every lookup a dict access) is
evaluated on the event loop: a thread would cost it more than it saves.
"""

from __future__ import annotations

import functools

from inbound.dns import DnsSource
from inbound.receiving.authentication import dmarc, spf
from inbound.receiving.authentication.dkim import DkimVerifier, signed
from inbound.receiving.verdicts import AuthInput, AuthResult, Status

SPF_CACHE = 4096  # (IP, MAIL FROM, HELO) results kept with a zone source


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

    def threaded(self, message: AuthInput) -> bool:
        return self._blocking or signed(message.message)

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
