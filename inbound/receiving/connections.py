"""How many connections one SMTP listener holds, overall and per client IP address.

The listener asks before it greets: past either limit the client gets `421 Too many concurrent
SMTP connections` and is disconnected (DG, "SMTP response codes returned by Amazon SES"). Pure
bookkeeping on the event loop's thread; `receiving/smtp.py` admits and releases.
"""

from __future__ import annotations

from collections import Counter


class Connections:
    """The open connections of one listener."""

    def __init__(self, most: int, most_per_ip: int) -> None:
        self.most = most
        self.most_per_ip = most_per_ip
        self.open = 0
        self._per_ip: Counter[str] = Counter()

    def admit(self, ip: str) -> bool:
        """Count one more connection from `ip`, unless that is one too many."""
        if self.open >= self.most or self._per_ip[ip] >= self.most_per_ip:
            return False
        self.open += 1
        self._per_ip[ip] += 1
        return True

    def release(self, ip: str) -> None:
        """An admitted connection from `ip` has closed."""
        self.open -= 1
        self._per_ip[ip] -= 1
        if not self._per_ip[ip]:
            del self._per_ip[ip]  # bounded by the open connections, not by every client seen
