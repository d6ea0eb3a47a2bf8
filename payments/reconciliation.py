"""Reconciliation with Stripe: a webhook can be lost (an outage here, a
misconfigured endpoint), so the online payments still pending after a while are
checked with Stripe itself and settled or closed; and a webhook event stored but
never processed (the queue refused its task) is processed. Runs every 15 minutes
in the worker and on demand with `manage.py reconcile_payments`."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from . import stripe_gateway
from .events import process_stalled_events
from .exceptions import ProviderUnavailable
from .models import Payment, PaymentStatus
from .services import close_online_payment, settle_online_payment

logger = logging.getLogger(__name__)


def reconcile_pending_payments(*, older_than_minutes: int | None = None) -> list[str]:
    """Process the webhook events stored more than `older_than_minutes` ago
    (PAYMENTS_RECONCILE_AFTER_MINUTES by default) and never processed; then ask
    Stripe about every pending online payment whose checkout is that old: a paid one
    is settled, an expired one closed, an open one left alone. Returns a line per
    change or error; an error with one payment does not stop the others."""
    if older_than_minutes is None:
        older_than_minutes = settings.PAYMENTS_RECONCILE_AFTER_MINUTES
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    report = process_stalled_events(received_before=cutoff)
    if not stripe_gateway.is_configured():
        return report
    pending = (
        Payment.objects.filter(
            method="stripe", status=PaymentStatus.PENDING, created_at__lte=cutoff
        )
        .select_related("invoice")
        .order_by("created_at", "pk")
    )
    for payment in pending:
        if line := _reconcile(payment):
            report.append(line)
            logger.info("Reconciliation: %s", line)
    return report


def _reconcile(payment: Payment) -> str:
    """What changed for one payment, as a line of the report ("" for nothing)."""
    if not payment.checkout_session_id:
        # Stripe refused or never answered the checkout's creation, so nobody has
        # its link and nobody can pay it.
        close_online_payment(
            payment=payment, status=PaymentStatus.EXPIRED, reason="No checkout was made."
        )
        return _line(payment, "closed: no checkout was made")
    try:
        checkout = stripe_gateway.retrieve_checkout_session(payment.checkout_session_id)
    except ProviderUnavailable as error:
        return _line(payment, f"not checked: {error.message}")
    if checkout.status == "complete" and checkout.payment_status == "paid":
        intent_id = _id(checkout.payment_intent)
        settled = settle_online_payment(payment=payment, payment_intent_id=intent_id)
        return _line(payment, "settled") if settled else ""
    if checkout.status == "expired":
        reason = "The checkout expired unpaid."
        closed = close_online_payment(payment=payment, status=PaymentStatus.EXPIRED, reason=reason)
        return _line(payment, "expired") if closed else ""
    return ""


def _line(payment: Payment, what: str) -> str:
    invoice = payment.invoice
    return (
        f"Invoice {invoice.display_number}: online payment of {payment.amount} "
        f"{invoice.currency} {what}"
    )


def _id(value) -> str:
    """An object's id, whether Stripe sent the id or the expanded object."""
    return str(getattr(value, "id", value) or "")
