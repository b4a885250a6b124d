"""The account-level suppression list: which reasons are in force for a message, which of its
recipients the list holds back, and what feedback puts on the list.

SES Developer Guide, "Using the Amazon SES account-level suppression list"
(docs.aws.amazon.com/ses/latest/dg/sending-email-suppression-list.html): an account uses the list
"by default for both bounces and complaints"; a configuration set's `SuppressionOptions`
override the account's reasons for mail sent with it ("Use configuration set-level
suppression"), an override without reasons cancels all suppression ("Do not use any
suppression"); a message to an address on the list is accepted "but doesn't send it". The
reasons in force decide both what is added and what is held back: an address listed for
COMPLAINT is not held back by a set that suppresses only bounces. docs/behaviour.md
"Account-level suppression list" has the decisions.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from inbound.records import SuppressedDestination, SuppressionReason
from inbound.sending import configuration, simulator
from inbound.sending.events import Bounce, Complaint, NotificationOutcome
from inbound.store import Store
from inbound.timestamps import to_wire

ACCOUNT = "suppression.account"  # document kind; key: Region → {"SuppressedReasons": [...]}
DEFAULT_REASONS = (SuppressionReason.BOUNCE, SuppressionReason.COMPLAINT)
Reasons = frozenset[SuppressionReason]


def canonical(address: str) -> str:
    """The address as the list keys it: surrounding blanks dropped and the domain lower-cased,
    the local part as written (observed of SES by floci's tests, 2026-06-15: `MixedCase@Example
    .COM` is kept and found as `MixedCase@example.com`, `mixedcase@...` is another entry)."""
    address = address.strip()
    local, at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}" if at else address


def account_reasons(store: Store, region: str) -> tuple[SuppressionReason, ...]:
    """PutAccountSuppressionAttributes' reasons; both until it is called."""
    found = store.document(ACCOUNT, region)
    if found is None:
        return DEFAULT_REASONS
    return tuple(SuppressionReason(r) for r in found["SuppressedReasons"])


async def set_account_reasons(
    store: Store, region: str, reasons: Iterable[SuppressionReason]
) -> None:
    chosen = sorted(set(reasons))
    await store.put_document(ACCOUNT, region, {"SuppressedReasons": chosen})


class SuppressionList:
    """The list as delivery uses it, for one Region's messages at a time."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def reasons(self, region: str, configuration_set: str | None) -> Reasons:
        """The reasons in force for a message sent in `region` with `configuration_set`: the
        set's own when it has SuppressionOptions, else the account's. A set deleted since the
        send overrides nothing."""
        found: Mapping[str, Any] | None = None
        if configuration_set is not None:
            key = configuration.key(region, configuration_set)
            stored = self._store.document(configuration.CONFIGURATION_SETS, key)
            found = (stored or {}).get("SuppressionOptions")
        if found is None:
            return frozenset(account_reasons(self._store, region))
        given = found.get("SuppressedReasons") or ()
        return frozenset(SuppressionReason(r) for r in given if r in SuppressionReason.__members__)

    def held_back(
        self, region: str, recipients: Collection[str], reasons: Reasons
    ) -> dict[str, SuppressionReason]:
        """The recipients the list holds back, with the reason each is listed for."""
        if not reasons:
            return {}
        keys = {r: canonical(r) for r in recipients}
        listed = self._store.suppressed(region, set(keys.values()))
        return {
            recipient: listed[key].reason
            for recipient, key in keys.items()
            if key in listed and listed[key].reason in reasons
        }

    async def add_feedback(
        self, region: str, outcome: NotificationOutcome, message_id: str, reasons: Reasons
    ) -> list[str]:
        """Put on the list the recipients a hard bounce or a complaint names, when its reason
        is in force; returns the addresses added. Not added: soft bounces, what the list itself
        caused (`OnAccountSuppressionList`), and simulator addresses that bounce (SES: "The
        mailbox simulator email address isn't placed on the Amazon SES suppression list")."""
        found = _listed_for(outcome)
        if found is None or found[0] not in reasons:
            return []
        reason, addresses, listing = found
        entries = {
            canonical(a): SuppressedDestination(
                canonical(a), reason, to_wire(listing.timestamp), message_id, listing.feedback_id
            )
            for a in addresses
        }
        if not entries:
            return []
        await self._store.put_suppressed(region, entries.values())
        return list(entries)


def _listed_for(
    outcome: NotificationOutcome,
) -> tuple[SuppressionReason, list[str], Bounce | Complaint] | None:
    """The reason `outcome` lists its recipients for, those it lists, and the outcome; None
    when it lists none."""
    if isinstance(outcome, Bounce):
        if outcome.bounce_type != "Permanent":
            return None
        if outcome.bounce_sub_type == simulator.ON_ACCOUNT_SUPPRESSION_LIST:
            return None
        found = [
            r.email_address
            for r in outcome.recipients
            if simulator.outcome_of(r.email_address) is None
        ]
        return SuppressionReason.BOUNCE, found, outcome
    if isinstance(outcome, Complaint) and outcome.sub_type is None:
        return SuppressionReason.COMPLAINT, list(outcome.recipients), outcome
    return None
