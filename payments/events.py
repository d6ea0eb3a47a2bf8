"""Apply the Stripe events the webhook stored: the worker runs `process_event` for
each one (payments.tasks.process_stripe_event).

Stripe may send an event twice, late, or before one that happened earlier. Every
change goes through a service that is idempotent and order-independent
(`settle_online_payment` credits once and wins over an expiry, `close_online_payment`
only closes a pending payment, the provider services record a refund or a dispute
once), and an event that was applied or ignored is never applied again.

An event about a payment not known here yet is never dropped. A refund or dispute
names only its charge's payment intent (charges carry no metadata), which a payment
learns when its checkout's completion is applied; processed before that, the event
WAITS for that intent. It is applied as soon as an event or the reconciliation makes
the payment known (`retry_waiting_events`), and otherwise tried again by the
reconciliation (`due_events`) after PAYMENTS_EVENT_RETRY_MINUTES, twice as long after
each try. After PAYMENTS_EVENT_ATTENTION_TRIES tries it NEEDS ATTENTION (the admin's
filter of Stripe events), and still unknown PAYMENTS_EVENT_GIVE_UP_DAYS after it came
it is IGNORED as not ours: another site on the same Stripe account. A FAILED event
(an error) is retried the same way, but never given up on: after those days it
stays failed, for someone to look at.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Payment, PaymentStatus, StripeEvent
from .services import (
    close_online_payment,
    note_online_payment_error,
    remember_payment_intent,
    settle_online_payment,
)
from .stripe_objects import (
    Match,
    Unmatched,
    payment_of_charge_object,
    payment_of_checkout,
    payment_of_intent,
    record_charge_refunds,
    record_dispute,
    stripe_id,
)

logger = logging.getLogger(__name__)

Outcome = StripeEvent.Outcome
DONE = (Outcome.APPLIED, Outcome.IGNORED)
WAITING = (Outcome.WAITING, Outcome.ATTENTION)
RETRIED = (*WAITING, Outcome.FAILED)
MAX_RETRY_DELAY = timedelta(days=1)


@dataclass(frozen=True)
class Result:
    outcome: str
    detail: str
    # The Stripe ids (checkout, payment intent) of the payment the event is about,
    # once found: the events waiting for one of them are tried again.
    found: tuple[str, ...] = ()
    # For a waiting event: the Stripe id no payment here knows yet.
    waiting_for: str = ""


def process_event(event_pk: int) -> str:
    """Apply one stored event and record its outcome; returns the outcome. Safe to
    run twice: an event applied or ignored before is left as it is; a waiting or
    failed one is tried again. Never raises, so a bad event cannot stop the worker.
    Once the event's payment is known, the events waiting for it are applied too."""
    return process_event_reporting(event_pk)[0]


def process_event_reporting(event_pk: int) -> tuple[str, list[str]]:
    """`process_event`, with a line for each waiting event it applied in turn."""
    result = _process(event_pk)
    if not result.found:
        return result.outcome, []
    return result.outcome, retry_waiting_events(stripe_ids=result.found, skip={event_pk})


def retry_waiting_events(*, stripe_ids: Iterable[str], skip: Iterable[int] = ()) -> list[str]:
    """Process the events waiting for one of a payment's Stripe ids (its checkout,
    its payment intent), and in turn those waiting for a payment one of them made
    known. Returns a line per event."""
    seen, known, lines = set(skip), [tuple(stripe_ids)], []
    while known:
        ids = [stripe_id for stripe_id in known.pop() if stripe_id]
        waiting = StripeEvent.objects.filter(outcome__in=WAITING, waiting_for__in=ids)
        for event in waiting.exclude(pk__in=seen).order_by("received_at", "pk"):
            seen.add(event.pk)
            result = _process(event.pk)
            lines.append(f"Stripe event {event.event_id} ({event.type}): {result.outcome}")
            if result.found:
                known.append(result.found)
    return lines


def process_stalled_events(*, received_before: datetime) -> list[str]:
    """Process the events stored before `received_before` and never processed: the
    webhook answered Stripe 200 (so Stripe will not send them again) but the queue
    refused the task, or lost it. Oldest first; returns a line per event."""
    stalled = StripeEvent.objects.filter(
        outcome=Outcome.PENDING, received_at__lt=received_before
    ).order_by("received_at", "pk")
    return [
        f"Stripe event {event.event_id} ({event.type}) processed late: {process_event(event.pk)}"
        for event in stalled.only("pk", "event_id", "type")
    ]


def due_events(*, now: datetime) -> QuerySet[StripeEvent]:
    """The waiting and failed events whose next try is due, longest due first."""
    return StripeEvent.objects.filter(outcome__in=RETRIED, next_attempt_at__lte=now).order_by(
        "next_attempt_at", "pk"
    )


def ignore_as_not_ours(*, event_pk: int, reason: str) -> bool:
    """A waiting event Stripe itself says is not ours: done with, as ignored."""
    ignored = StripeEvent.objects.filter(pk=event_pk, outcome__in=WAITING).update(
        processed_at=timezone.now(),
        outcome=Outcome.IGNORED,
        detail=reason[:500],
        next_attempt_at=None,
        waiting_for="",
    )
    return bool(ignored)


def retry_delay(attempts: int) -> timedelta:
    """How long after its `attempts`-th try an event is tried again: the first delay,
    doubled after each try, a day at most."""
    delay = timedelta(minutes=settings.PAYMENTS_EVENT_RETRY_MINUTES * 2 ** min(attempts - 1, 16))
    return min(delay, MAX_RETRY_DELAY)


def _process(event_pk: int) -> Result:
    try:
        with transaction.atomic():
            # The lock makes a second worker with the same event wait, then skip it.
            event = StripeEvent.objects.select_for_update().filter(pk=event_pk).first()
            if event is None:
                logger.warning("Stripe event %s is not stored; nothing to process", event_pk)
                return Result(Outcome.IGNORED, "")
            if event.outcome in DONE:
                return Result(event.outcome, event.detail)
            result = _record(event, _apply(event))
    except Exception as error:
        # Whatever the event changed is rolled back with its transaction.
        logger.exception("Could not process Stripe event %s", event_pk)
        failed = Result(Outcome.FAILED, f"{type(error).__name__}: {error}")
        event = StripeEvent.objects.exclude(outcome__in=DONE).filter(pk=event_pk).first()
        return _record(event, failed) if event is not None else failed
    logger.info("Stripe event %s (%s): %s", event.event_id, event.type, result.detail)
    return result


def _record(event: StripeEvent, result: Result) -> Result:
    """Store the outcome of one try; a waiting or failed event's next try too."""
    now = timezone.now()
    attempts = event.attempts + 1
    outcome, detail, next_attempt_at = result.outcome, result.detail, None
    if outcome in RETRIED:
        outcome, detail, next_attempt_at = _next_try(event, result, attempts=attempts, now=now)
    StripeEvent.objects.filter(pk=event.pk).update(
        processed_at=now,
        outcome=outcome,
        detail=detail[:500],
        attempts=attempts,
        next_attempt_at=next_attempt_at,
        waiting_for=result.waiting_for if outcome in WAITING else "",
    )
    return Result(outcome, detail, result.found, result.waiting_for)


def _next_try(
    event: StripeEvent, result: Result, *, attempts: int, now: datetime
) -> tuple[str, str, datetime | None]:
    """The outcome, detail and time of the next try of a waiting or failed event. A
    waiting one needs attention after PAYMENTS_EVENT_ATTENTION_TRIES tries, and is
    ignored as not ours PAYMENTS_EVENT_GIVE_UP_DAYS after it came; a failed one is
    no longer retried then, and stays failed for someone to look at."""
    give_up_days = settings.PAYMENTS_EVENT_GIVE_UP_DAYS
    if now - event.received_at >= timedelta(days=give_up_days):
        if result.outcome == Outcome.FAILED:
            return Outcome.FAILED, result.detail, None
        logger.warning("Stripe event %s given up: %s", event.event_id, result.detail)
        detail = _(
            "Ignored as not ours (another site on this Stripe account?) after "
            "%(days)d days of waiting: %(detail)s"
        ) % {"days": give_up_days, "detail": result.detail}
        return Outcome.IGNORED, detail, None
    outcome = result.outcome
    if outcome == Outcome.WAITING and attempts >= settings.PAYMENTS_EVENT_ATTENTION_TRIES:
        outcome = Outcome.ATTENTION
        if event.outcome != Outcome.ATTENTION:
            logger.warning("Stripe event %s needs attention: %s", event.event_id, result.detail)
    return outcome, result.detail, now + retry_delay(attempts)


def _apply(event: StripeEvent) -> Result:
    handler = HANDLERS.get(event.type)
    if handler is None:
        return Result(Outcome.IGNORED, f"Nothing to do for {event.type}.")
    return handler(json.loads(event.payload)["data"]["object"])


def _unmatched(found: Unmatched, what: str, object_id: str, *, intent_id: str = "") -> Result:
    if found is Unmatched.UNKNOWN and intent_id:
        detail = _("No payment here knows payment intent %(intent)s (%(what)s %(id)s) yet.") % {
            "intent": intent_id,
            "what": what,
            "id": object_id,
        }
        return Result(Outcome.WAITING, detail, waiting_for=intent_id)
    return Result(Outcome.IGNORED, f"No payment here for {what} {object_id}.")


# --- Checkout Sessions ------------------------------------------------------------


def checkout_completed(checkout: dict[str, Any]) -> Result:
    """Paid by card: settle. A delayed method (bank debit) completes the checkout
    unpaid: the payment stays pending until async_payment_succeeded or _failed."""
    payment = payment_of_checkout(checkout)
    if isinstance(payment, Unmatched):
        return _unmatched(payment, "checkout", checkout["id"])
    intent_id = stripe_id(checkout.get("payment_intent"))
    if checkout.get("payment_status") == "paid":
        return _settle(payment, intent_id)
    if checkout.get("payment_status") == "unpaid" and intent_id:
        # Remembered so that the payment intent's own events find the payment.
        remembered = remember_payment_intent(payment=payment, payment_intent_id=intent_id)
        if remembered and payment.status == PaymentStatus.PENDING:
            detail = f"Payment {payment.pk} awaits a delayed payment."
            return _found(payment, detail, intent_id=intent_id)
        detail = f"Payment {payment.pk} was updated already."
        return _found(payment, detail, Outcome.IGNORED, intent_id=intent_id)
    return Result(Outcome.IGNORED, f"Payment {payment.pk}: checkout completed without money.")


def checkout_paid_later(checkout: dict[str, Any]) -> Result:
    payment = payment_of_checkout(checkout)
    if isinstance(payment, Unmatched):
        return _unmatched(payment, "checkout", checkout["id"])
    return _settle(payment, stripe_id(checkout.get("payment_intent")))


def checkout_failed(checkout: dict[str, Any]) -> Result:
    return _close(checkout, PaymentStatus.FAILED, "The delayed payment failed.")


def checkout_expired(checkout: dict[str, Any]) -> Result:
    return _close(checkout, PaymentStatus.EXPIRED, "The checkout expired unpaid.")


def _settle(payment: Payment, intent_id: str) -> Result:
    if settle_online_payment(payment=payment, payment_intent_id=intent_id):
        return _found(payment, f"Payment {payment.pk} settled.", intent_id=intent_id)
    if not payment.payment_intent_id:
        # Settled by a refund or dispute reported first, which knew no intent.
        remember_payment_intent(payment=payment, payment_intent_id=intent_id)
    detail = f"Payment {payment.pk} was settled already."
    return _found(payment, detail, Outcome.IGNORED, intent_id=intent_id)


def _close(checkout: dict[str, Any], status: str, reason: str) -> Result:
    payment = payment_of_checkout(checkout)
    if isinstance(payment, Unmatched):
        return _unmatched(payment, "checkout", checkout["id"])
    if close_online_payment(payment=payment, status=status, reason=reason):
        return Result(Outcome.APPLIED, f"Payment {payment.pk} {status}.")
    return Result(Outcome.IGNORED, f"Payment {payment.pk} was no longer pending.")


def _found(
    payment: Payment, detail: str, outcome: str = Outcome.APPLIED, *, intent_id: str = ""
) -> Result:
    """The outcome of an event whose payment was found, with the ids it is known by
    now (`intent_id` may have just been saved on it)."""
    found = (payment.checkout_session_id, payment.payment_intent_id, intent_id)
    return Result(outcome, detail, found=found)


# --- Payment intents, charges and disputes ---------------------------------------


def payment_intent_failed(intent: dict[str, Any]) -> Result:
    """A declined card: the checkout stays open for another try."""
    payment = payment_of_intent(intent)
    if isinstance(payment, Unmatched):
        return _unmatched(payment, "payment intent", intent["id"])
    error = intent.get("last_payment_error") or {}
    reason = error.get("message") or "The payment failed."
    note_online_payment_error(payment=payment, reason=reason)
    return Result(Outcome.APPLIED, f"Payment {payment.pk}: {reason}")


def charge_refunded(charge: dict[str, Any]) -> Result:
    """Refunds of a charge, made here or in Stripe's dashboard, each recorded once."""
    payment = _payment_of_charge_object(charge, amount=charge.get("amount"))
    if isinstance(payment, Unmatched):
        return _unmatched_charge_object(payment, "charge", charge)
    intent_id = stripe_id(charge.get("payment_intent"))
    new = record_charge_refunds(payment, charge)
    if not new:
        detail = f"Payment {payment.pk}: its refunds are recorded already."
        return _found(payment, detail, Outcome.IGNORED, intent_id=intent_id)
    detail = f"Payment {payment.pk}: recorded refund {', '.join(new)}."
    return _found(payment, detail, intent_id=intent_id)


def dispute_changed(dispute: dict[str, Any]) -> Result:
    """A card dispute opened, moved on, or closed (won or lost): recorded once, its
    status only ever moving forward."""
    payment = _payment_of_charge_object(dispute, amount=None)
    if isinstance(payment, Unmatched):
        return _unmatched_charge_object(payment, "dispute", dispute)
    status, intent_id = dispute.get("status", ""), stripe_id(dispute.get("payment_intent"))
    if record_dispute(payment, dispute):
        detail = _("Payment %(payment)s: dispute %(dispute)s %(status)s.") % {
            "payment": payment.pk,
            "dispute": dispute["id"],
            "status": status,
        }
        return _found(payment, detail, intent_id=intent_id)
    detail = _("Payment %(payment)s: dispute %(dispute)s is recorded already.") % {
        "payment": payment.pk,
        "dispute": dispute["id"],
    }
    return _found(payment, detail, Outcome.IGNORED, intent_id=intent_id)


def _payment_of_charge_object(obj: dict[str, Any], *, amount: Any) -> Match:
    payment = payment_of_charge_object(obj, amount=amount)
    if isinstance(payment, Payment) and not payment.payment_intent_id:
        # Found by metadata, the payment learns its intent for the later events.
        remember_payment_intent(
            payment=payment, payment_intent_id=stripe_id(obj.get("payment_intent"))
        )
    return payment


def _unmatched_charge_object(found: Unmatched, what: str, obj: dict[str, Any]) -> Result:
    intent_id = stripe_id(obj.get("payment_intent"))
    return _unmatched(found, what, obj["id"], intent_id=intent_id)


HANDLERS: dict[str, Callable[[dict[str, Any]], Result]] = {
    "checkout.session.completed": checkout_completed,
    "checkout.session.async_payment_succeeded": checkout_paid_later,
    "checkout.session.async_payment_failed": checkout_failed,
    "checkout.session.expired": checkout_expired,
    "payment_intent.payment_failed": payment_intent_failed,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": dispute_changed,
    "charge.dispute.updated": dispute_changed,
    "charge.dispute.closed": dispute_changed,
    "charge.dispute.funds_withdrawn": dispute_changed,
    "charge.dispute.funds_reinstated": dispute_changed,
}
