"""Delivery of sent mail: everything that happens after a Send* operation stored a message.

One worker (`scheduling.DueWorker`) takes the messages in the order they were stored: those a
killed process left pending (`Store.sent_pending_ids`, read at start), then those the Sender
hands it as it stores them, with their bytes, so that nothing is read back (profiled: the
reads were a tenth of a send's CPU on the event loop). Per message, in this order:

1. the Send event (a rendering failure publishes its Rendering Failure event, and that is all;
   a message with a virus, Send and Reject, and is not delivered);
2. the recipients that an enabled rule of the active receipt rule set matches are received
   here, through the receiving engine, as from SES's outbound host (one spooled message for
   all of them, as one SMTP transaction to one host);
3. the recipients that are neither that nor the mailbox simulator's go to the outbox (one
   entry), which the relay sends on when `[relay]` is set;
4. per recipient, its events and identity notifications: a simulator address's outcomes
   (simulator.py), otherwise a Delivery (for the outbox, only without a relay); then the
   message SES forwards by email for a simulator bounce, complaint or auto-reply, to the
   feedback address (ReturnPath, else Source), which takes route 2 or 3 in turn.

With a relay, the outbox recipients' events come from the relay's recorded attempts
(`Store.relay_outcomes_due`, sending/relayed.py): a DeliveryDelay at the first deferral, then a
Delivery, or a Bounce with its DSN forwarded as a simulator bounce's is.

Exactly once: each step with an effect outside the message (an event published, a notification,
a message spooled or queued) is recorded in the message's trace under a key as soon as it is
made, and a resumed message skips the keys on record, as receiving's journal does
(receiving/journal.py). A kill between an effect and its record makes that one effect again when
the message resumes (at least once for the step in flight, as for receipt actions).
docs/behaviour.md "Delivery of sent mail" has the choices and the SES pages they rest on.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

from inbound import activity, dsn
from inbound.backends import Mailer
from inbound.config import RelaySettings
from inbound.identities.book import IdentityBook
from inbound.identities.rules import Identity
from inbound.ids import message_id_for
from inbound.receiving.engine import Engine
from inbound.receiving.replies import S250_OK
from inbound.receiving.verdicts import ContentScanner, Status
from inbound.records import (
    OutboxStatus,
    RelayOutcome,
    ReturnedMail,
    SentMessage,
    SentStatus,
    SuppressionReason,
)
from inbound.scheduling import PAGE_SIZE, DueWorker
from inbound.sending import checks, list_management, mime, relayed, simulator
from inbound.sending.events import (
    Bounce,
    BouncedRecipient,
    Complaint,
    NotificationOutcome,
    Outcome,
    Reject,
    RenderingFailure,
    Send,
    SentMail,
)
from inbound.sending.feedback import Feedback
from inbound.sending.sent_mail import region_of, sent_mail
from inbound.sending.service import SendingConfiguration
from inbound.sending.suppression import SuppressionList
from inbound.store import Store
from inbound.timestamps import from_wire

log = logging.getLogger("inbound.delivery")

# The address the engine's sending side delivers from, and that receives what it sends to
# itself: the engine talks to itself (docs/behaviour.md).
OUTBOUND_IP = "127.0.0.1"
RETRY_SECONDS = 5.0  # after a pass that failed as a whole (the store)
# The queued messages' bytes kept in memory, in all and each; beyond, read back when due.
HELD_BYTES, HELD_MESSAGE_BYTES = 16 * 1024 * 1024, 1024 * 1024

Step = dict[str, Any]
T = TypeVar("T")


class Deliveries:
    """The delivery worker. `wake()` is the Sender's hand-off once a message is stored."""

    def __init__(
        self,
        store: Store,
        feedback: Feedback,
        sending: SendingConfiguration,
        identities: IdentityBook,
        engine: Engine,
        mailer: Mailer,
        virus: ContentScanner,
        *,
        region: str,
        account_id: str,
        relay: RelaySettings | None = None,
    ) -> None:
        self._store = store
        self._feedback = feedback
        self._sending = sending
        self._suppression = SuppressionList(store)
        self._identities = identities
        self._engine = engine
        self._mailer = mailer
        self._virus = virus  # SES scans what it sends: a virus is a Reject, not a delivery
        self._region = region
        self._account_id = account_id
        self._relay = relay  # set: the outbox recipients' events wait for the relay's outcome
        self._worker = DueWorker(
            self._run_due,
            lambda: None,  # nothing waits for a time: every pending message is due now
            name="inbound-delivery",
            log=log,
            what="delivery of sent mail",
            retry_seconds=RETRY_SECONDS,
        )
        self._page_full = False  # the last pass had as many as it could take: run another
        self._due: collections.deque[_Due] = collections.deque()  # oldest first
        self._failed: list[_Due] = []  # tried again at the next pass, as they were pending
        self._known: set[str] = set()  # queued, failed or in progress: never taken twice
        self._held_bytes = 0  # the bytes of the queued messages (HELD_BYTES)

    def start(self) -> None:
        """Queue what a previous process left pending, then run: before the Send* operations
        are served (app.py), so no message is both read here and handed over."""
        self._queue_pending(self._store.sent_pending_ids())
        self._worker.start()

    def take_over(self) -> None:
        """Deliver the sent messages that engines sharing the store left unfinished when
        their lease ran out (inbound/takeover.py), a page at a time; the pass this wakes
        claims their returned mail and relay outcomes too."""
        self._queue_pending(self._store.sent_abandoned_ids(PAGE_SIZE))
        self._worker.wake()

    def _queue_pending(self, message_ids: list[str]) -> None:
        for message_id in message_ids:
            if message_id not in self._known:
                self._queue_due(_Due(message_id, self._store.generation))

    def hand(self, record: SentMessage, raw: bytes | None) -> None:
        """The Sender's hand-off of a message it stored: queued with its bytes within
        HELD_MESSAGE_BYTES and HELD_BYTES, else by id, read from the store when its turn
        comes."""
        if record.id in self._known:
            return
        size = len(raw or b"")
        if size > HELD_MESSAGE_BYTES or self._held_bytes + size > HELD_BYTES:
            self._queue_due(_Due(record.id, self._store.generation))
        else:
            self._queue_due(_Due(record.id, self._store.generation, record, raw, size))
        self._worker.wake()

    def _queue_due(self, due: _Due) -> None:
        self._due.append(due)
        self._known.add(due.id)
        self._held_bytes += due.size

    def wake(self) -> None:
        self._worker.wake()

    async def settle(self) -> None:
        """Wait until every message stored before this call has been dealt with, and its trace
        committed: passes until one that was not a full page (a full one means more were
        pending)."""
        await self._worker.settle()
        while self._page_full:
            await self._worker.settle()
        await self._store.flush(durable=False)

    async def stop(self) -> None:
        await self._worker.stop()

    async def _run_due(self, limit: int) -> int:
        """Deliver up to `limit` pending messages; returns how many finished. One that fails
        (a bug, a backend raising where it should not) stays pending and is tried again at the
        next wake-up, without holding up the others."""
        self._due.extendleft(reversed(self._failed))
        self._failed = []
        taken = [self._due.popleft() for _ in range(min(limit, len(self._due)))]
        finished = await self._each(taken, self._deliver_due, lambda d: f"sent message {d.id}")
        finished += await self._each(
            self._store.sent_returns_due(limit),
            lambda due: self._returned(*due),
            lambda due: f"mail returned to sent message {due[0].sent_id}",
        )
        finished += await self._each(
            self._store.relay_outcomes_due(limit),
            self._relayed,
            lambda o: f"relay outcome {o.attempt} of sent message {o.sent_id}",
        )
        self._page_full = finished >= limit and not self._worker.closing
        return min(finished, limit)  # `limit`: the worker runs the next page at once

    async def _each(
        self, due: Sequence[T], handle: Callable[[T], Awaitable[None]], name: Callable[[T], str]
    ) -> int:
        """`handle` each item until the worker closes; returns how many finished."""
        finished = 0
        for item in due:
            if self._worker.closing:
                break
            try:
                await handle(item)
            except Exception:
                log.exception("delivering %s failed", name(item))
            else:
                finished += 1
        return finished

    # ── one message ─────────────────────────────────────────────────────────────────────────
    async def _deliver_due(self, due: _Due) -> None:
        """A queued message, unless the store was reset since it was queued; one that fails
        is queued again for the next pass."""
        self._held_bytes -= due.size
        try:
            if due.generation == self._store.generation:
                await self._deliver_stored(due)
        except Exception:
            self._failed.append(dataclasses.replace(due, record=None, raw=None, size=0))
            raise
        self._known.discard(due.id)

    async def _deliver_stored(self, due: _Due) -> None:
        record, raw = due.record, due.raw
        if record is None:
            record, raw = self._store.sent_message(due.id), self._store.sent_raw(due.id)
            if record is None:
                return
        if raw is None and record.status is not SentStatus.RENDERING_FAILURE:
            return  # reset through the API since it was stored
        await self._deliver(record, raw)

    async def _deliver(self, record: SentMessage, raw: bytes | None) -> None:
        message = self._message(record, raw)
        journal = _Journal(self._store, record)
        if raw is None:
            failure = _rendering_failure(record)
            await journal.once("event:Rendering Failure", lambda: self._publish(message, failure))
            journal.finish(SentStatus.RENDERING_FAILURE, {"step": "done"})
            return
        await journal.once("event:Send", lambda: self._publish(message, Send()))
        if await self._virus.scan(raw) is Status.FAIL:
            await journal.once("event:Reject", lambda: self._publish(message, Reject()))
            await journal.once("statistics", lambda: self._count(message, Rejects=1))
            journal.finish(SentStatus.REJECTED, {"step": "done", "rejected": "virus"})
            return
        recipients = list(dict.fromkeys(record.recipients))  # one delivery per address
        held = await journal.once("suppressed", lambda: self._held_back(message, recipients))
        held_back: dict[str, str] = (held or {}).get("recipients", {})
        unsubscribed = list_management.unsubscribed_recipients(record)
        routes = {
            r: SUPPRESSED
            if r in held_back
            else UNSUBSCRIBED
            if r in unsubscribed
            else self._route(r)
            for r in recipients
        }
        for key, route in (("received", RECEIVING), ("queued", OUTBOX)):
            for recipient in journal.recorded(key).get("recipients", ()):
                routes[recipient] = route  # as routed before a restart, whatever the rules now
        local = [r for r in recipients if routes[r] == RECEIVING]
        remote = [r for r in recipients if routes[r] == OUTBOX]
        received = await journal.once(
            "received", lambda: self._receive(message, record.mail_from, local, raw, "received")
        )
        queued = await journal.once(
            "queued", lambda: self._queue(record.mail_from, remote, raw, record.id)
        )
        summary = []
        for position, recipient in enumerate(recipients):
            route, key = routes[recipient], f"{position}:{recipient}"
            if route == SIMULATOR:
                found = await self._simulated(journal, key, message, recipient, raw)
            elif route == SUPPRESSED:
                reason = SuppressionReason(held_back[recipient])
                found = await self._held(journal, key, message, recipient, raw, reason)
            elif route == OUTBOX and self._relay is not None:
                found = ()  # published from the relay's outcome (_relayed)
            else:
                if route == UNSUBSCRIBED:
                    found = self._outcomes(message, _unsubscribed(recipient))
                else:
                    done = received if route == RECEIVING else queued
                    assert done is not None
                    found = self._delivered(message, recipient, done["smtpResponse"], route)
                for outcome in found:
                    await self._feedback_of(
                        journal, key, message, recipient, outcome, suppress=route != UNSUBSCRIBED
                    )
            events = [str(outcome.TYPE) for outcome in found]
            summary.append({"recipient": recipient, "route": route, "events": events})
        journal.finish(SentStatus.DONE, {"step": "done", "recipients": summary})

    def _message(self, record: SentMessage, raw: bytes | None) -> _Message:
        region = region_of(record, self._region)
        identities = self._identities.all()
        mail = sent_mail(record, raw, identities, account_id=self._account_id, region=region)
        identity = checks.sending_identity(record.source, identities)
        return _Message(record, region, mail, identity)

    async def _held_back(self, message: _Message, recipients: Sequence[str]) -> Step | None:
        """The recipients the account-level suppression list holds back, decided once per
        message: accepted, never attempted (sending/suppression.py)."""
        region = message.region
        reasons = self._suppression.reasons(region, message.record.configuration_set)
        found = self._suppression.held_back(region, recipients, reasons)
        if not found:
            return None
        return {"step": "suppressed", "recipients": {r: str(v) for r, v in found.items()}}

    def _route(self, recipient: str) -> str:
        if simulator.outcome_of(recipient) is not None:
            return SIMULATOR
        return RECEIVING if self._engine.receives_for(recipient) else OUTBOX

    # ── routes ──────────────────────────────────────────────────────────────────────────────
    async def _receive(
        self, message: _Message, mail_from: str, recipients: Sequence[str], raw: bytes, key: str
    ) -> Step | None:
        """Received here as SES's outbound host delivers it: the envelope sender, the message
        as built, over TLS from the host SES's events name (`reportingMTA`). The received
        message's id comes from the step's `key`, so a step redone after a restart finds the
        message it spooled before instead of receiving it twice."""
        if not recipients:
            return None
        received = await self._engine.accept(
            mail_from=mail_from,
            recipients=recipients,
            raw=raw,
            client_ip=OUTBOUND_IP,
            helo=simulator.outbound_host(message.region),
            tls=True,
            message_id=message_id_for(message.record.id, key),
        )
        return {
            "step": "received",
            "recipients": list(recipients),
            "receivedMessageId": received,
            "smtpResponse": f"{S250_OK} {received}",
        }

    async def _queue(
        self, mail_from: str, recipients: Sequence[str], raw: bytes, message_id: str
    ) -> Step | None:
        if not recipients:
            return None
        outbox_id = await self._mailer.send(mail_from, recipients, raw, message_id)
        return {
            "step": "queued",
            "recipients": list(recipients),
            "outboxId": outbox_id,
            "smtpResponse": f"{S250_OK} {outbox_id}",
        }

    def _delivered(
        self, message: _Message, recipient: str, smtp_response: str, route: str
    ) -> tuple[simulator.SimulatedOutcome, ...]:
        """A Delivery reported by the host SES's events name (`reportingMTA`); the remote MTA
        is this engine when it received the message, none for the outbox."""
        facts = simulator.DeliveryFacts(
            recipient,
            smtp_response,
            simulator.outbound_host(message.region),
            OUTBOUND_IP if route == RECEIVING else None,
        )
        return self._outcomes(message, simulator.RecipientFacts(delivery=facts))

    def _outcomes(
        self, message: _Message, facts: simulator.RecipientFacts
    ) -> tuple[simulator.SimulatedOutcome, ...]:
        now = datetime.now(UTC)
        return simulator.outcomes(
            facts,
            accepted=message.mail.timestamp,
            now=now,
            feedback_id=mime.new_message_id(now),
            outgoing_ip=OUTBOUND_IP,
        )

    # ── the mailbox simulator ───────────────────────────────────────────────────────────────
    async def _simulated(
        self, journal: _Journal, key: str, message: _Message, recipient: str, raw: bytes
    ) -> tuple[simulator.SimulatedOutcome, ...]:
        outcome = simulator.outcome_of(recipient)
        assert outcome is not None
        facts = simulator.feedback_of(outcome, recipient, message.region)
        return await self._answered(
            journal,
            key,
            message,
            recipient,
            facts,
            lambda: self._forward(message, outcome, recipient, raw),
        )

    async def _held(
        self,
        journal: _Journal,
        key: str,
        message: _Message,
        recipient: str,
        raw: bytes,
        reason: SuppressionReason,
    ) -> tuple[simulator.SimulatedOutcome, ...]:
        """A recipient on the account-level suppression list: answered as the simulator's
        ``suppressionlist@`` is, with the account list's subtype and text; its bounce's DSN
        forwarded as any bounce's (DECIDED), nothing for a complaint (there is no report)."""
        complaint = reason is SuppressionReason.COMPLAINT
        facts = simulator.held_back_feedback(recipient, complaint)

        def forward() -> tuple[str, EmailMessage] | None:
            if complaint or not message.forwarding:
                return None
            sent = message.sent(recipient, raw)
            return "bounce", simulator.suppression_dsn(sent, simulator.ACCOUNT_SUPPRESSED)

        return await self._answered(journal, key, message, recipient, facts, forward)

    async def _answered(
        self,
        journal: _Journal,
        key: str,
        message: _Message,
        recipient: str,
        facts: simulator.RecipientFacts,
        forward: Callable[[], tuple[str, EmailMessage] | None],
    ) -> tuple[simulator.SimulatedOutcome, ...]:
        """SES's own answer for `recipient` (no delivery attempt leaves here): its outcomes
        published, then what `forward` says SES sends back by email, if anything."""
        found = self._outcomes(message, facts)
        for result in found:
            await self._feedback_of(journal, key, message, recipient, result)
        forwarded = f"{key}:forwarded"

        async def send_back() -> Step | None:
            answer = forward()
            return None if answer is None else await self._send_built(message, *answer, forwarded)

        await journal.once(forwarded, send_back)
        return found

    def _forward(
        self,
        message: _Message,
        outcome: simulator.SimulatorOutcome,
        recipient: str,
        raw: bytes,
    ) -> tuple[str, EmailMessage] | None:
        """The message SES sends back by email: the DSN or the complaint when feedback
        forwarding is on for the sending identity (SetIdentityFeedbackForwardingEnabled, on
        by default), the auto-reply always (it is the recipient's mail, not SES's feedback)."""
        sent = message.sent(recipient, raw)
        forwarding = message.forwarding
        built: EmailMessage | None
        if outcome in simulator.BOUNCES:
            kind, built = "bounce", simulator.build_bounce(sent) if forwarding else None
        elif outcome is simulator.SimulatorOutcome.COMPLAINT:
            kind, built = "complaint", simulator.build_complaint(sent) if forwarding else None
        elif outcome is simulator.SimulatorOutcome.OOTO:
            kind, built = "autoReply", simulator.build_auto_reply(sent)
        else:
            return None
        return None if built is None else (kind, built)

    async def _send_built(
        self, message: _Message, kind: str, built: EmailMessage, key: str
    ) -> Step:
        _, [to] = dsn.dsn_envelope(built)
        return await self._send_back(message, kind, to, dsn.as_bytes(built), key)

    async def _send_back(
        self, message: _Message, kind: str, to: str, body: bytes, key: str
    ) -> Step:
        """`body` to the feedback address `to`, with the null sender: received here when a
        rule matches it, else queued in the outbox."""
        if self._engine.receives_for(to):
            done = await self._receive(message, "", [to], body, key)
            assert done is not None
            route, ref = RECEIVING, done["receivedMessageId"]
        else:
            route, ref = OUTBOX, await self._mailer.send("", [to], body, message.record.id)
        return {"step": "forwarded", "kind": kind, "to": to, "route": route, "ref": ref}

    # ── mail returned to the envelope sender ────────────────────────────────────────────────
    async def _count(self, message: _Message, **counts: int) -> Step:
        """GetSendStatistics' `Bounces` (one per bounced recipient; the simulator's never come
        back this way, so they are not counted) and `Rejects`."""
        await self._sending.record_sending(message.region, counts)
        return {"step": "statistics", **counts}

    async def _returned(self, returned: ReturnedMail, raw: bytes) -> None:
        """A DSN that came back to the message's envelope sender (sending/returns.py): a Bounce
        naming its failed recipients (Permanent for 5.x.x statuses, else Transient; subtype
        General), published and notified as a simulator bounce is, and the DSN forwarded to
        the feedback address when forwarding is on. Other mail (not a DSN) is forwarded as it
        is, as the auto-reply is."""
        record = self._store.sent_message(returned.sent_id)
        if record is None:
            return
        message = self._message(record, self._store.sent_raw(record.id))
        journal = _Journal(self._store, record)
        key = f"return:{returned.id}"
        bounce = _bounce_of(raw)
        if bounce is not None:
            bounced = ", ".join(r.email_address for r in bounce.recipients)
            await self._feedback_of(journal, key, message, bounced, bounce)
            count = len(bounce.recipients)
            await journal.once(f"{key}:statistics", lambda: self._count(message, Bounces=count))
        if bounce is None or message.forwarding:
            kind = "bounce" if bounce is not None else "returned"
            forwarded = f"{key}:forwarded"
            await journal.once(
                forwarded,
                lambda: self._send_back(message, kind, record.return_path, raw, forwarded),
            )
        step = {"step": "returned", "returnId": returned.id, "bounce": bounce is not None}
        await self._store.add_sent_steps(record.id, [step], returned=returned.id)

    # ── the relay's outcomes ────────────────────────────────────────────────────────────────
    async def _relayed(self, outcome: RelayOutcome) -> None:
        """The events of one relay attempt for the recipients of the outbox entry it was for;
        the entries of forwarded feedback have none. Each is keyed in the sent message's trace
        (`<position>:<recipient>:event:...`), so an outcome resumed after a restart publishes
        nothing twice; the outcome is dropped once all are on record."""
        record = self._store.sent_message(outcome.sent_id)
        raw = self._store.sent_raw(outcome.sent_id)
        if record is not None and raw is not None:
            journal = _Journal(self._store, record)
            queued = journal.recorded("queued")
            if queued.get("outboxId") == outcome.outbox_id:
                message = self._message(record, raw)
                positions = {r: i for i, r in enumerate(dict.fromkeys(record.recipients))}
                for recipient in queued["recipients"]:
                    key = f"{positions[recipient]}:{recipient}"
                    await self._relay_events(journal, key, message, recipient, outcome, raw)
        await self._store.relay_outcome_published(outcome)

    async def _relay_events(
        self,
        journal: _Journal,
        key: str,
        message: _Message,
        recipient: str,
        outcome: RelayOutcome,
        raw: bytes,
    ) -> None:
        """Delivery for `sent`; one DeliveryDelay per recipient, at its first deferral (later
        deferrals of the same message add none); for `failed`, the Bounce, its count in the
        statistics and the DSN forwarded to the feedback address when forwarding is on."""
        assert self._relay is not None
        now, host = datetime.now(UTC), simulator.outbound_host(message.region)
        reply, error = outcome.remote_reply, outcome.last_error
        if outcome.status is OutboxStatus.SENT:
            response = relayed.smtp_response(reply or "")
            for found in self._delivered(message, recipient, response, OUTBOX):
                await self._feedback_of(journal, key, message, recipient, found)
        elif outcome.status is OutboxStatus.DEFERRED:
            expires = from_wire(outcome.queued) + timedelta(seconds=self._relay.max_age_seconds)
            delay = relayed.delay(
                recipient, reply, error, now=now, expires=expires, reporting_mta=host
            )
            await journal.once(
                f"{key}:event:{delay.TYPE}", lambda: self._publish(message, delay, recipient)
            )
        else:
            bounce = relayed.bounce(recipient, reply, error, now=now, reporting_mta=host)
            await self._feedback_of(journal, key, message, recipient, bounce)
            await journal.once(f"{key}:statistics", lambda: self._count(message, Bounces=1))
            if message.forwarding:
                [bounced] = bounce.recipients
                assert bounced.status is not None and bounced.diagnostic_code is not None
                built = simulator.failure_dsn(
                    message.sent(recipient, raw),
                    bounced.status,
                    bounced.diagnostic_code.removeprefix("smtp; "),
                    host,
                )
                forwarded = f"{key}:forwarded"
                await journal.once(
                    forwarded, lambda: self._send_built(message, "bounce", built, forwarded)
                )

    # ── events and notifications ────────────────────────────────────────────────────────────
    async def _feedback_of(
        self,
        journal: _Journal,
        key: str,
        message: _Message,
        recipient: str,
        outcome: NotificationOutcome,
        *,
        suppress: bool = True,
    ) -> None:
        """One recipient's Delivery, Bounce or Complaint: the configuration-set event, the
        identity notification, then the account-level suppression list for a hard bounce or a
        complaint when its reason is in force (not for the bounce of an unsubscribed contact,
        which says nothing about the address: `suppress` False)."""
        kind = str(outcome.TYPE)
        await journal.once(
            f"{key}:event:{kind}", lambda: self._publish(message, outcome, recipient)
        )
        await journal.once(
            f"{key}:notification:{kind}", lambda: self._notify(message, outcome, recipient)
        )
        if suppress and isinstance(outcome, Bounce | Complaint):
            await journal.once(
                f"{key}:suppression:{kind}", lambda: self._suppress(message, outcome)
            )

    async def _suppress(self, message: _Message, outcome: Bounce | Complaint) -> Step | None:
        region, record = message.region, message.record
        reasons = self._suppression.reasons(region, record.configuration_set)
        added = await self._suppression.add_feedback(region, outcome, record.id, reasons)
        return {"step": "suppressionList", "added": added} if added else None

    async def _publish(
        self, message: _Message, outcome: Outcome, recipient: str | None = None
    ) -> Step:
        return await self._feedback.event(message.region, message.mail, outcome, recipient)

    async def _notify(
        self, message: _Message, outcome: NotificationOutcome, recipient: str
    ) -> Step | None:
        if message.identity is None:
            return None
        done = await self._feedback.notify_identity(message.identity, message.mail, outcome)
        if done is None:
            return None
        return {
            "step": "notification",
            "notificationType": str(outcome.TYPE),
            "recipient": recipient,
            "identity": message.identity.name,
            "publication": done.step(),
        }


# a recipient's route; SUPPRESSED: held back by the account-level suppression list
SIMULATOR, RECEIVING, OUTBOX, SUPPRESSED = "simulator", "receiving", "outbox", "suppressed"
UNSUBSCRIBED = "unsubscribed"  # a contact unsubscribed from the send's list or topic


def _unsubscribed(recipient: str) -> simulator.RecipientFacts:
    """ "Amazon SES will bounce an email if it is sent to an unsubscribed contact on your
    contact list": a Permanent, General bounce without a DSN (no MTA was contacted; the type
    and subtype are UNCONFIRMED, docs/behaviour.md)."""
    bounce = simulator.BounceFacts("Permanent", "General", BouncedRecipient(recipient))
    return simulator.RecipientFacts(bounce=bounce)


@dataclasses.dataclass(frozen=True)
class _Message:
    """A sent message with what its events say about it: the Region it was sent in, its
    `mail` object's facts and the identity it was sent as (notification topics, forwarding)."""

    record: SentMessage
    region: str
    mail: SentMail
    identity: Identity | None

    @property
    def forwarding(self) -> bool:
        """Whether SES forwards bounces and complaints by email (SetIdentityFeedbackForwarding
        Enabled; on by default, so also for a sender that is no identity)."""
        return self.identity is None or self.identity.forwarding

    def sent(self, recipient: str, raw: bytes) -> simulator.Sent:
        """The message as `recipient` got it, for what SES sends back by email."""
        record = self.record
        return simulator.Sent(
            raw,
            record.id,
            record.mail_from,
            record.return_path,
            recipient,
            self.mail.timestamp,
            self.region,
        )


@dataclasses.dataclass(frozen=True)
class _Due:
    """A message for the worker: with its record and bytes when handed over as stored, by id
    when it was pending at start (or too big to hold, `Deliveries.hand`). `generation` is the
    store's when it was queued (Store.generation)."""

    id: str
    generation: int
    record: SentMessage | None = None
    raw: bytes | None = None
    size: int = 0  # of `raw`, counted in HELD_BYTES


class _Journal:
    """The steps of one message already on record, by key; new ones are recorded as made."""

    def __init__(self, store: Store, record: SentMessage) -> None:
        self._store = store
        self._record = record
        self._id = record.id
        self._started = time.perf_counter()
        self._done: dict[str, Step] = {s["key"]: s for s in record.trace if "key" in s}

    async def once(self, key: str, effect: Callable[[], Awaitable[Step | None]]) -> Step | None:
        """The step recorded under `key`, or `effect` run and recorded now. An effect that
        returns None did nothing (nothing to publish, no recipient): nothing is recorded."""
        found = self._done.get(key)
        if found is not None:
            return found
        step = await effect()
        if step is None:
            return None
        step = {"key": key, **step}
        self._store.record_sent_steps(self._id, [step])
        self._done[key] = step
        return step

    def recorded(self, key: str) -> Step:
        return self._done.get(key, {})

    def finish(self, status: SentStatus, step: Step) -> None:
        self._store.record_sent_steps(self._id, [step], finished=status)
        activity.sent(self._record, status, step, (time.perf_counter() - self._started) * 1000)


def _rendering_failure(record: SentMessage) -> RenderingFailure:
    """The failure as the Sender recorded it: the template from the `accepted` step, the
    error text from the `renderingFailure` step."""
    template = next((s["template"] for s in record.trace if "template" in s), "")
    error = next((s["error"] for s in record.trace if s.get("step") == "renderingFailure"), "")
    return RenderingFailure(template_name=template, error_message=error)


def _bounce_of(raw: bytes) -> Bounce | None:
    """The Bounce a returned DSN reports, None when it is not a DSN or fails no recipient."""
    try:
        report = dsn.parse_dsn(raw)
    except dsn.DsnError:
        return None
    failed = [r for r in report.recipients if r.action is dsn.Action.FAILED]
    if not failed:
        return None
    permanent = all(r.status.startswith("5") for r in failed)
    now = datetime.now(UTC)
    return Bounce(
        bounce_type="Permanent" if permanent else "Transient",
        bounce_sub_type="General",
        recipients=tuple(
            BouncedRecipient(
                r.final_recipient,
                str(r.action),
                r.status,
                f"{r.diagnostic_type}; {r.diagnostic_code}" if r.diagnostic_code else None,
            )
            for r in failed
        ),
        timestamp=now,
        feedback_id=mime.new_message_id(now),
        reporting_mta=report.per_message.reporting_mta,
    )
