"""Forced verdicts: overrides that set any of the spam, virus, SPF, DKIM and DMARC verdicts
(and `dmarcPolicy`) of the messages of one rule set or one sender, so a test of "my Lambda
drops DMARC failures" needs no DNS (docs/authentication.md, "Forced verdicts").

An override comes from `[verdicts.<name>]` in inbound.toml, `PUT /api/verdicts/<name>`
(kept in the store) or the `inbound_verdicts` pytest marker. It selects by `ruleSet` (the
active rule set's name), `sender` (an address: the envelope MAIL FROM or the From header's
address; or a domain: either address's domain) or both, or every message when it names
neither. Where several select a message, each verdict comes from the most specific one
(sender address, then sender domain, then rule set), and among equals the API's over the
marker's over the configuration's. What is forced is marked in the message's trace and is
what its headers say: the verdict statuses and, for SPF, DKIM and DMARC, the RFC result words
of `Received-SPF` and `Authentication-Results` that map to them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any, Protocol, TypeVar

from inbound.headers import Header, unfolded
from inbound.receiving.verdicts import AuthResult, Status

R = TypeVar("R")

# Override field → the `receipt` field it forces (spec receiving.md §4.3).
RECEIPT_FIELDS = {
    "spam": "spamVerdict",
    "virus": "virusVerdict",
    "spf": "spfVerdict",
    "dkim": "dkimVerdict",
    "dmarc": "dmarcVerdict",
}
AUTH = ("spf", "dkim", "dmarc")
SOURCES = ("config", "marker", "api")  # lowest precedence first
DMARC_POLICIES = ("none", "quarantine", "reject")
_VERDICTS = tuple(s.value for s in Status if s is not Status.DISABLED)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_-]{1,63})*$")
_MAX_TEXT = 320  # an address: 64 + @ + 255

# What SPF, DKIM and DMARC results say in the headers when their verdict is forced: the RFC
# result word SES's verdict maps from (spec §6; GRAY is "no policy" / "not signed").
_SPF_WORDS = {Status.PASS: "pass", Status.FAIL: "fail", Status.GRAY: "none"}
_DKIM_WORDS = {Status.PASS: "pass", Status.FAIL: "fail"}
_DMARC_WORDS = {Status.PASS: "pass", Status.FAIL: "fail", Status.GRAY: "none"}


class OverrideError(ValueError):
    """An override that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Override:
    name: str
    source: str  # SOURCES
    rule_set: str | None = None
    sender: str | None = None  # lower-case address or domain
    verdicts: Mapping[str, Status] = dataclasses.field(default_factory=dict)  # RECEIPT_FIELDS
    dmarc_policy: str | None = None

    @classmethod
    def parse(cls, name: str, source: str, fields: Mapping[str, Any]) -> Override:
        """From the API's JSON fields (`ruleSet`, `sender`, `spam`..`dmarc`, `dmarcPolicy`);
        raises OverrideError."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise OverrideError("the name must be 1 to 64 letters, digits, '.', '_' or '-'")
        unknown = set(fields) - {"ruleSet", "sender", "dmarcPolicy", *RECEIPT_FIELDS}
        if unknown:
            raise OverrideError(f"unknown field {sorted(unknown)[0]!r}")
        verdicts = {}
        for key in RECEIPT_FIELDS:
            if key in fields:
                value = fields[key]
                if value not in _VERDICTS:
                    raise OverrideError(f"{key} must be one of {', '.join(_VERDICTS)}")
                verdicts[key] = Status(value)
        policy = fields.get("dmarcPolicy")
        if policy is not None and policy not in DMARC_POLICIES:
            raise OverrideError(f"dmarcPolicy must be one of {', '.join(DMARC_POLICIES)}")
        if not verdicts and policy is None:
            raise OverrideError("an override forces at least one verdict or dmarcPolicy")
        return cls(
            name,
            source,
            rule_set=_text(fields, "ruleSet"),
            sender=_sender(fields),
            verdicts=verdicts,
            dmarc_policy=policy,
        )

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "source": self.source}
        if self.rule_set is not None:
            body["ruleSet"] = self.rule_set
        if self.sender is not None:
            body["sender"] = self.sender
        body |= {key: status.value for key, status in self.verdicts.items()}
        if self.dmarc_policy is not None:
            body["dmarcPolicy"] = self.dmarc_policy
        return body

    @property
    def fields(self) -> dict[str, Any]:
        """The fields `parse` takes back (what the store keeps)."""
        return {k: v for k, v in self.to_json().items() if k not in ("name", "source")}

    def selects(self, rule_set: str, senders: Sequence[str]) -> bool:
        if self.rule_set is not None and self.rule_set != rule_set:
            return False
        if self.sender is None:
            return True
        if "@" in self.sender:
            return self.sender in senders
        return any(s.rpartition("@")[2] == self.sender for s in senders)

    @property
    def rank(self) -> tuple[int, int]:
        """Precedence: specificity (module docstring), then the source."""
        specific = 0 if self.sender is None else 4 if "@" in self.sender else 2
        return (specific + (self.rule_set is not None), SOURCES.index(self.source))


def _text(fields: Mapping[str, Any], key: str) -> str | None:
    value = fields.get(key)
    if value is not None and (not isinstance(value, str) or not 0 < len(value) <= _MAX_TEXT):
        raise OverrideError(f"{key} must be a non-empty string of at most {_MAX_TEXT} characters")
    return value


def _sender(fields: Mapping[str, Any]) -> str | None:
    text = _text(fields, "sender")
    if text is None:
        return None
    text = text.strip().lower()
    local, at, domain = text.rpartition("@")
    if (at and not local) or not _DOMAIN.match(domain) or any(c.isspace() for c in text):
        raise OverrideError("sender must be an email address or a domain")
    return text


def senders(mail_from: str, headers: Sequence[Header]) -> tuple[str, ...]:
    """The addresses a `sender` selects on: MAIL FROM and the From header's, lower-case."""
    found = [mail_from.lower()] if mail_from else []
    for name, value in headers:
        if name.lower() == "from":
            address = parseaddr(unfolded(value))[1].lower()
            if address:
                found.append(address)
            break
    return tuple(found)


@dataclass(frozen=True)
class Forced:
    """What the overrides selecting one message force: each verdict with the override that
    forced it, and `dmarcPolicy`."""

    verdicts: Mapping[str, tuple[Status, Override]] = dataclasses.field(default_factory=dict)
    dmarc_policy: tuple[str, Override] | None = None

    @classmethod
    def of(cls, overrides: Iterable[Override], rule_set: str, senders: Sequence[str]) -> Forced:
        verdicts: dict[str, tuple[Status, Override]] = {}
        policy = None
        chosen = sorted((o for o in overrides if o.selects(rule_set, senders)), key=_rank)
        for override in chosen:  # the more specific later, over what is already there
            verdicts |= {key: (status, override) for key, status in override.verdicts.items()}
            if override.dmarc_policy is not None:
                policy = (override.dmarc_policy, override)
        return cls(verdicts, policy)

    def status(self, key: str) -> Status | None:
        found = self.verdicts.get(key)
        return None if found is None else found[0]

    @property
    def all_auth(self) -> bool:
        """SPF, DKIM and DMARC all forced: the authenticator (and DNS) is not asked."""
        return all(key in self.verdicts for key in AUTH)

    def marks(self) -> dict[str, str]:
        """`receipt` field → `source:name` of the override that forced it."""
        marks = {RECEIPT_FIELDS[k]: _label(o) for k, (_, o) in self.verdicts.items()}
        if self.dmarc_policy is not None:
            marks["dmarcPolicy"] = _label(self.dmarc_policy[1])
        return marks

    def apply(self, auth: AuthResult, from_domain: str) -> AuthResult:
        """`auth` with the forced SPF, DKIM and DMARC verdicts and the words that go with them."""
        changes: dict[str, Any] = {}
        if (spf := self.verdicts.get("spf")) is not None:
            changes |= {
                "spf": spf[0],
                "spf_result": _SPF_WORDS.get(spf[0], "temperror"),
                "spf_explanation": f"verdict forced by inbound override {_label(spf[1])}",
            }
        if (dkim := self.status("dkim")) is not None:
            # GRAY is "not signed": no dkim= clause; else one per signature (the From domain's
            # when the message has none, as a forced signature would be)
            domains = [d for _, d in auth.dkim_results] or [from_domain]
            word = _DKIM_WORDS.get(dkim, "temperror")
            results = () if dkim is Status.GRAY else tuple((word, d) for d in domains)
            changes |= {"dkim": dkim, "dkim_results": results}
        if (dmarc := self.status("dmarc")) is not None:
            changes |= {"dmarc": dmarc, "dmarc_result": _DMARC_WORDS.get(dmarc, "temperror")}
        if self.dmarc_policy is not None:
            changes["dmarc_policy"] = self.dmarc_policy[0]
        return dataclasses.replace(auth, **changes)


# Every verdict GRAY: what an authenticator that was not asked stands on before `apply`.
UNASKED = AuthResult(
    spf=Status.GRAY,
    spf_result="none",
    spf_explanation="",
    dkim=Status.GRAY,
    dkim_results=(),
    dmarc=Status.GRAY,
    dmarc_result="none",
)


def _rank(override: Override) -> tuple[int, int]:
    return override.rank


def _label(override: Override) -> str:
    return f"{override.source}:{override.name}"


class OverrideStore(Protocol):
    """The store's documents, where the API's overrides are kept."""

    def put_document(self, kind: str, key: str, body: Any) -> Awaitable[None]: ...

    def delete_document(self, kind: str, key: str) -> Awaitable[None]: ...

    def documents(self, kind: str) -> dict[str, Any]: ...

    def records(self, kind: str, decode: Callable[[str, Any], R]) -> Mapping[str, R]: ...


def _api_override(name: str, fields: Mapping[str, Any]) -> Override:
    return Override.parse(name, "api", fields)


class OverrideBook:
    """The overrides in force: the configured ones (inbound.toml, markers) and the API's, which
    live in the store, so every process serving one data dir sees the same."""

    KIND = "verdict-override"

    def __init__(self, store: OverrideStore, configured: Sequence[Override] = ()) -> None:
        self._store = store
        self.configured = tuple(configured)

    def api(self) -> list[Override]:
        return list(self._store.records(self.KIND, _api_override).values())

    def current(self) -> list[Override]:
        return [*self.configured, *self.api()]

    async def put(self, override: Override) -> None:
        await self._store.put_document(self.KIND, override.name, override.fields)

    async def delete(self, name: str) -> bool:
        if name not in self._store.documents(self.KIND):
            return False
        await self._store.delete_document(self.KIND, name)
        return True

    async def clear(self) -> int:
        names = list(self._store.documents(self.KIND))
        for name in names:
            await self._store.delete_document(self.KIND, name)
        return len(names)
