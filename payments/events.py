"""Apply the Stripe events the webhook stored: the worker runs `process_event` for
each one (payments.tasks.process_stripe_event).

Stripe may send an event twice, late, or before one that happened earlier. Every
change goes through a service that is idempotent and order-independent
(`settle_online_payment` credits once and wins over an expiry, `close_online_payment`
only closes a pending payment, `record_provider_refund` records a refund id once),
and an event that was applied or ignored is never applied again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from .models import ZERO, Invoice, Payment, PaymentStatus, Refund, StripeEvent
from .money import from_minor_units, to_minor_units
from .services import (
    close_online_payment,
    note_online_payment_error,
    record_provider_refund,
    settle_online_payment,
)

logger = logging.getLogger(__name__)

Outcome = StripeEvent.Outcome
DONE = (Outcome.APPLIED, Outcome.IGNORED)


@dataclass(frozen=True)
class Result:
    outcome: str
    detail: str


def process_event(event_pk: int) -> str:
    """Apply one stored event and record its outcome; returns the outcome. Safe to
    run twice: an event applied or ignored before is left as it is. A failed one
    can be run again. Never raises, so a bad event cannot stop the worker."""
    try:
        with transaction.atomic():
            # The lock makes a second worker with the same event wait, then skip it.
            event = StripeEvent.objects.select_for_update().filter(pk=event_pk).first()
            if event is None:
                logger.warning("Stripe event %s is not stored; nothing to process", event_pk)
                return Outcome.IGNORED
            if event.outcome in DONE:
                return event.outcome
            result = _apply(event)
            _finish(StripeEvent.objects.filter(pk=event.pk), result)
    except Exception as error:
        # Whatever the event changed is rolled back with its transaction.
        logger.exception("Could not process Stripe event %s", event_pk)
        result = Result(Outcome.FAILED, f"{type(error).__name__}: {error}")
        _finish(StripeEvent.objects.filter(pk=event_pk).exclude(outcome__in=DONE), result)
        return Outcome.FAILED
    logger.info("Stripe event %s (%s): %s", event.event_id, event.type, result.detail)
    return result.outcome


def process_stalled_events(*, received_before) -> list[str]:
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


def _finish(events, result: Result) -> None:
    events.update(processed_at=timezone.now(), outcome=result.outcome, detail=result.detail[:500])


def _apply(event: StripeEvent) -> Result:
    handler = HANDLERS.get(event.type)
    if handler is None:
        return Result(Outcome.IGNORED, f"Nothing to do for {event.type}.")
    return handler(json.loads(event.payload)["data"]["object"])


# --- Checkout Sessions ------------------------------------------------------------


def checkout_completed(checkout: dict[str, Any]) -> Result:
    """Paid by card: settle. A delayed method (bank debit) completes the checkout
    unpaid: the payment stays pending until async_payment_succeeded or _failed."""
    payment = _payment_of_checkout(checkout)
    if payment is None:
        return _unknown("checkout", checkout["id"])
    intent_id = _id(checkout.get("payment_intent"))
    if checkout.get("payment_status") == "paid":
        return _settle(payment, intent_id)
    if checkout.get("payment_status") == "unpaid" and intent_id:
        # Remembered so that the payment intent's own events find the payment.
        remembered = Payment.objects.filter(
            pk=payment.pk, status=PaymentStatus.PENDING, payment_intent_id=""
        ).update(payment_intent_id=intent_id)
        if remembered:
            return Result(Outcome.APPLIED, f"Payment {payment.pk} awaits a delayed payment.")
        return Result(Outcome.IGNORED, f"Payment {payment.pk} was updated already.")
    return Result(Outcome.IGNORED, f"Payment {payment.pk}: checkout completed without money.")


def checkout_paid_later(checkout: dict[str, Any]) -> Result:
    payment = _payment_of_checkout(checkout)
    if payment is None:
        return _unknown("checkout", checkout["id"])
    return _settle(payment, _id(checkout.get("payment_intent")))


def checkout_failed(checkout: dict[str, Any]) -> Result:
    return _close(checkout, PaymentStatus.FAILED, "The delayed payment failed.")


def checkout_expired(checkout: dict[str, Any]) -> Result:
    return _close(checkout, PaymentStatus.EXPIRED, "The checkout expired unpaid.")


def _settle(payment: Payment, intent_id: str) -> Result:
    if settle_online_payment(payment=payment, payment_intent_id=intent_id):
        return Result(Outcome.APPLIED, f"Payment {payment.pk} settled.")
    return Result(Outcome.IGNORED, f"Payment {payment.pk} was settled already.")


def _close(checkout: dict[str, Any], status: str, reason: str) -> Result:
    payment = _payment_of_checkout(checkout)
    if payment is None:
        return _unknown("checkout", checkout["id"])
    if close_online_payment(payment=payment, status=status, reason=reason):
        return Result(Outcome.APPLIED, f"Payment {payment.pk} {status}.")
    return Result(Outcome.IGNORED, f"Payment {payment.pk} was no longer pending.")


# --- Payment intents and charges ---------------------------------------------------


def payment_intent_failed(intent: dict[str, Any]) -> Result:
    """A declined card: the checkout stays open for another try."""
    payment = _payment_of_intent(intent["id"], intent, amount=intent.get("amount"))
    if payment is None:
        return _unknown("payment intent", intent["id"])
    error = intent.get("last_payment_error") or {}
    reason = error.get("message") or "The payment failed."
    note_online_payment_error(payment=payment, reason=reason)
    return Result(Outcome.APPLIED, f"Payment {payment.pk}: {reason}")


def charge_refunded(charge: dict[str, Any]) -> Result:
    """Refunds of a charge, made here or in Stripe's dashboard, each recorded once.
    Newer API versions leave the refunds out of the charge: then the part of
    `amount_refunded` not recorded yet is recorded as one refund."""
    intent_id = _id(charge.get("payment_intent"))
    payment = _payment_of_intent(intent_id, charge, amount=charge.get("amount"))
    if payment is None:
        return _unknown("charge", charge["id"])
    currency = payment.invoice.currency
    refunds = charge.get("refunds")
    if refunds is None:
        new = _record_refunded_amount(payment, charge)
    else:
        new = []
        for refund in refunds.get("data", []):
            if refund.get("status") in ("failed", "canceled"):
                continue
            amount = from_minor_units(refund["amount"], currency)
            if record_provider_refund(
                payment=payment, provider_refund_id=refund["id"], amount=amount
            ):
                new.append(refund["id"])
    if not new:
        return Result(Outcome.IGNORED, f"Payment {payment.pk}: its refunds are recorded already.")
    return Result(Outcome.APPLIED, f"Payment {payment.pk}: recorded refund {', '.join(new)}.")


def _record_refunded_amount(payment: Payment, charge: dict[str, Any]) -> list[str]:
    with transaction.atomic():
        # The invoice lock keeps a refund being made here from being counted twice.
        Invoice.objects.select_for_update().get(pk=payment.invoice_id)
        recorded = Refund.objects.filter(payment=payment).aggregate(total=Sum("amount"))
        refunded = from_minor_units(charge["amount_refunded"], payment.invoice.currency)
        missing = refunded - (recorded["total"] or ZERO)
        if missing <= 0:
            return []
        # Named after the charge's total, so this total is recorded once.
        refund_id = f"{charge['id']}:refunded:{charge['amount_refunded']}"
        record_provider_refund(payment=payment, provider_refund_id=refund_id, amount=missing)
    return [refund_id]


# --- Which payment an event is about ----------------------------------------------


def _payment_of_checkout(checkout: dict[str, Any]) -> Payment | None:
    payment = Payment.objects.filter(method="stripe", checkout_session_id=checkout["id"]).first()
    # Stripe may report a checkout before its id is saved here (a very fast patient).
    return payment or _payment_from_metadata(
        checkout, amount=checkout.get("amount_total"), checkout_id=checkout["id"]
    )


def _payment_of_intent(intent_id: str, obj: dict[str, Any], *, amount: Any) -> Payment | None:
    payment = None
    if intent_id:
        payment = Payment.objects.filter(method="stripe", payment_intent_id=intent_id).first()
    # Checkout creates the payment intent when the patient pays, so its first events
    # name the payment only in the metadata given to Stripe.
    return payment or _payment_from_metadata(obj, amount=amount)


def _payment_from_metadata(obj: dict[str, Any], *, amount: Any, checkout_id: str = ""):
    """The payment the metadata names, if everything else agrees: another copy of
    the clinic on the same Stripe account (staging) numbers its payments too."""
    metadata = obj.get("metadata") or {}
    payment_id, invoice_id = str(metadata.get("payment_id", "")), str(metadata.get("invoice_id"))
    if not (payment_id.isdigit() and invoice_id.isdigit()):
        return None
    payment = (
        Payment.objects.select_related("invoice")
        .filter(pk=payment_id, invoice_id=invoice_id, method="stripe")
        .first()
    )
    if payment is None:
        return None
    if checkout_id and payment.checkout_session_id not in ("", checkout_id):
        return None
    currency = payment.invoice.currency
    if str(obj.get("currency", "")).upper() != currency:
        return None
    if amount != to_minor_units(payment.amount, currency):
        return None
    return payment


def _unknown(what: str, object_id: str) -> Result:
    return Result(Outcome.IGNORED, f"No payment here for {what} {object_id}.")


def _id(value: Any) -> str:
    """An object's id, whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


HANDLERS: dict[str, Callable[[dict[str, Any]], Result]] = {
    "checkout.session.completed": checkout_completed,
    "checkout.session.async_payment_succeeded": checkout_paid_later,
    "checkout.session.async_payment_failed": checkout_failed,
    "checkout.session.expired": checkout_expired,
    "payment_intent.payment_failed": payment_intent_failed,
    "charge.refunded": charge_refunded,
}
