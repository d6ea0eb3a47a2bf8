"""Reconciliation with Stripe: a webhook can be lost (an outage here, a
misconfigured endpoint) or come before the payment it is about is known, so every
15 minutes (in the worker, and on demand with `manage.py reconcile_payments`):

1. a webhook event stored but never processed (the queue refused its task) is
   processed;
2. the online payments still pending after a while are checked with Stripe itself
   and settled or closed, and the events waiting for them applied;
3. the events waiting for their payment, or failed, are tried again when due
   (payments/events.py), after asking Stripe which payment the payment intent they
   wait for pays;
4. the Stripe payments settled in the last PAYMENTS_RECONCILE_PAID_DAYS days are
   checked for refunds and disputes Stripe holds and the clinic has not recorded
   (made in Stripe's dashboard, their webhook lost).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from . import stripe_gateway
from .events import (
    RETRIED,
    WAITING,
    due_events,
    ignore_as_not_ours,
    process_event_reporting,
    process_stalled_events,
    retry_waiting_events,
)
from .exceptions import ProviderUnavailable
from .models import ZERO, Payment, PaymentStatus, StripeEvent
from .money import to_minor_units
from .services import close_online_payment, remember_payment_intent, settle_online_payment
from .stripe_objects import payment_of_intent, record_dispute, record_refunds, stripe_id

logger = logging.getLogger(__name__)


def reconcile_pending_payments(*, older_than_minutes: int | None = None) -> list[str]:
    """Process the webhook events stored more than `older_than_minutes` ago
    (PAYMENTS_RECONCILE_AFTER_MINUTES by default) and never processed; ask Stripe
    about every pending online payment whose checkout is that old (a paid one is
    settled, an expired one closed, an open one left alone); try the waiting events
    again; and look for refunds and disputes of recent Stripe payments not recorded
    here. Returns a line per change or error; an error with one payment does not
    stop the others."""
    if older_than_minutes is None:
        older_than_minutes = settings.PAYMENTS_RECONCILE_AFTER_MINUTES
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    report = process_stalled_events(received_before=cutoff)
    configured = stripe_gateway.is_configured()
    if configured:
        report += _reconcile_pending(cutoff)
    report += _retry_due_events(ask_stripe=configured)
    if configured:
        since = timezone.now() - timedelta(days=settings.PAYMENTS_RECONCILE_PAID_DAYS)
        report += _reconcile_paid(since=since, made_before=cutoff)
    for line in report:
        logger.info("Reconciliation: %s", line)
    return report


# --- Pending payments ------------------------------------------------------------


def _reconcile_pending(cutoff: datetime) -> list[str]:
    pending = (
        Payment.objects.filter(
            method="stripe", status=PaymentStatus.PENDING, created_at__lte=cutoff
        )
        .select_related("invoice")
        .order_by("created_at", "pk")
    )
    return [line for payment in pending for line in _reconcile(payment)]


def _reconcile(payment: Payment) -> list[str]:
    """What changed for one pending payment, as lines of the report."""
    if not payment.checkout_session_id:
        # Stripe refused or never answered the checkout's creation, so nobody has
        # its link and nobody can pay it.
        close_online_payment(
            payment=payment, status=PaymentStatus.EXPIRED, reason="No checkout was made."
        )
        return [_line(payment, "closed: no checkout was made")]
    try:
        checkout = stripe_gateway.retrieve_checkout_session(payment.checkout_session_id)
    except ProviderUnavailable as error:
        return [_line(payment, f"not checked: {error.message}")]
    intent_id = stripe_id(checkout.payment_intent)
    if checkout.status == "complete" and checkout.payment_status == "paid":
        if not settle_online_payment(payment=payment, payment_intent_id=intent_id):
            return []
        waiting = retry_waiting_events(stripe_ids=(payment.checkout_session_id, intent_id))
        return [_line(payment, "settled"), *waiting]
    if checkout.status == "complete" and remember_payment_intent(
        payment=payment, payment_intent_id=intent_id
    ):
        # A bank debit on its way, whose completion event was lost: the events of
        # its payment intent can find the payment now.
        return retry_waiting_events(stripe_ids=(payment.checkout_session_id, intent_id))
    if checkout.status == "expired":
        reason = "The checkout expired unpaid."
        closed = close_online_payment(payment=payment, status=PaymentStatus.EXPIRED, reason=reason)
        return [_line(payment, "expired")] if closed else []
    return []


# --- Events waiting for their payment ------------------------------------------------


def _retry_due_events(*, ask_stripe: bool) -> list[str]:
    """Try again the waiting and failed events whose time has come. With Stripe set
    up, the payment intent a waiting event names is looked up there first, once per
    round."""
    verdicts: dict[str, str] = {}
    lines = []
    for event in list(due_events(now=timezone.now())):
        if not StripeEvent.objects.filter(pk=event.pk, outcome__in=RETRIED).exists():
            continue  # Applied meanwhile, with an event tried before it.
        if ask_stripe and event.outcome in WAITING and event.waiting_for:
            if event.waiting_for not in verdicts:
                verdicts[event.waiting_for] = _ask_stripe_about(event.waiting_for)
            if reason := verdicts[event.waiting_for]:
                ignore_as_not_ours(event_pk=event.pk, reason=reason)
                lines.append(f"{_event(event)} ignored: not ours")
                continue
        outcome, applied_in_turn = process_event_reporting(event.pk)
        lines += [f"{_event(event)} tried again: {outcome}", *applied_in_turn]
    return lines


def _ask_stripe_about(intent_id: str) -> str:
    """Which payment a payment intent pays, as its metadata says: one of ours learns
    its intent (the events waiting for it then find it); for one that is not ours,
    the reason to ignore its events. "" when Stripe cannot say (it does not know
    the intent with this key, or cannot be reached): the events go on waiting."""
    try:
        intent = stripe_gateway.retrieve_payment_intent(intent_id)
    except ProviderUnavailable:
        return ""
    payment = payment_of_intent(intent)
    if isinstance(payment, Payment):
        remember_payment_intent(payment=payment, payment_intent_id=intent_id)
        return ""
    return _("Stripe says payment intent %(intent)s pays no payment here: not ours.") % {
        "intent": intent_id
    }


def _event(event: StripeEvent) -> str:
    return f"Stripe event {event.event_id} ({event.type})"


# --- Refunds and disputes made outside the clinic ---------------------------------


def _reconcile_paid(*, since: datetime, made_before: datetime) -> list[str]:
    """Refunds and disputes Stripe holds for the Stripe payments settled since
    `since`, recorded here if they are not yet and were made before `made_before`
    (their webhook has its turn first). Stops at Stripe's first error: the next
    round tries again, rather than this one waiting on every payment."""
    paid = (
        Payment.objects.filter(
            method="stripe", status=PaymentStatus.SUCCEEDED, settled_at__gte=since
        )
        .exclude(payment_intent_id="")
        .select_related("invoice")
        .prefetch_related("refunds", "disputes")
        .order_by("settled_at", "pk")
    )
    lines = []
    for payment in paid:
        try:
            lines += _check_paid(payment, made_before=made_before.timestamp())
        except ProviderUnavailable as error:
            lines.append(
                _("Stripe payments not checked for refunds: %(error)s") % {"error": error.message}
            )
            break
    return lines


def _check_paid(payment: Payment, *, made_before: float) -> list[str]:
    """One payment: its charges say how much Stripe refunded and whether it was
    disputed; the refunds and disputes themselves are asked for only if that
    differs from what is recorded here."""
    intent_id = payment.payment_intent_id
    charges = stripe_gateway.charges_of(intent_id)
    lines = []
    if _refunds_differ(payment, charges):
        refunds = _made_before(stripe_gateway.refunds_of(intent_id), made_before)
        for refund_id in record_refunds(payment, refunds):
            lines.append(_found_line(payment, _("refund %(id)s") % {"id": refund_id}))
    if _disputes_differ(payment, charges):
        for dispute in _made_before(stripe_gateway.disputes_of(intent_id), made_before):
            if record_dispute(payment, dispute):
                what = _("dispute %(id)s (%(status)s)") % {
                    "id": dispute["id"],
                    "status": dispute.get("status", ""),
                }
                lines.append(_found_line(payment, what))
    return lines


def _made_before(objects: list[dict], timestamp: float) -> list[dict]:
    return [obj for obj in objects if obj.get("created", 0) <= timestamp]


def _refunds_differ(payment: Payment, charges: list[dict]) -> bool:
    """Stripe refunded more than is recorded here, or some refunds here stand in for
    a charge's total and can be itemised."""
    refunds = payment.refunds.all()
    recorded = to_minor_units(
        sum((refund.amount for refund in refunds), ZERO), payment.invoice.currency
    )
    refunded = sum(int(charge.get("amount_refunded") or 0) for charge in charges)
    return refunded > recorded or any(refund.is_stand_in for refund in refunds)


def _disputes_differ(payment: Payment, charges: list[dict]) -> bool:
    """A charge was disputed, and no dispute is recorded here or one is still open."""
    if not any(charge.get("disputed") for charge in charges):
        return False
    disputes = payment.disputes.all()
    return not disputes or not all(dispute.is_final for dispute in disputes)


def _line(payment: Payment, what: str) -> str:
    invoice = payment.invoice
    return (
        f"Invoice {invoice.display_number}: online payment of {payment.amount} "
        f"{invoice.currency} {what}"
    )


def _found_line(payment: Payment, what: str) -> str:
    invoice = payment.invoice
    return _(
        "Invoice %(number)s: %(what)s of the online payment of %(amount)s %(currency)s "
        "found at Stripe and recorded"
    ) % {
        "number": invoice.display_number,
        "what": what,
        "amount": payment.amount,
        "currency": invoice.currency,
    }
