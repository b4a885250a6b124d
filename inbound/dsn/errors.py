"""Errors raised by :mod:`inbound.dsn`; all are ``ValueError`` subclasses that name the field."""

from __future__ import annotations


class DsnError(ValueError):
    """A value that cannot be written into (or read from) a DSN; ``field`` names the culprit."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class NullReversePath(DsnError):
    """The original's envelope sender was null, so no DSN may be sent.

    RFC 5321 §6.1 and §3.6.3: a message with ``MAIL FROM:<>`` is itself a notification, and
    "SMTP servers MUST NOT send notification messages about problems transporting notification
    messages" - this is what stops bounce loops.
    """

    def __init__(self) -> None:
        super().__init__("envelope_sender", "null reverse-path <>: never bounce a bounce")


class DsnParseError(DsnError):
    """A message that is not a DSN, or a DSN field that cannot be read."""
