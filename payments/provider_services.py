"""What Stripe reports about money it took for an online payment: refunds (made here
or in Stripe's dashboard), a charge's refunded total when Stripe leaves the refunds
out, and card disputes. The webhook events and the reconciliation record them here.

Each is recorded once, whatever the order and however often Stripe reports it: a
refund by its id, a refunded total by the charge and the total, a dispute by its id
with a status that only moves forward. The invoice follows through `refresh_totals`.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from .models import (
    DISPUTE_PROGRESS,
    TOTAL_STAND_IN,
    ZERO,
    Dispute,
    Invoice,
    Payment,
    PaymentStatus,
    Refund,
)
from .money import from_minor_units
from .services import refresh_totals, settle_online_payment

logger = logging.getLogger(__name__)

REFUNDED_IN_STRIPE = "Refunded in Stripe"


def record_provider_refund(*, payment: Payment, provider_refund_id: str, amount: Decimal) -> bool:
    """A refund Stripe reports with its own id, recorded once by that id. Returns
    whether it was new.

    A refund reported only as part of a charge's total before (a stand-in, see
    `record_provider_refunded_total`) is counted there already: its amount comes out
    of the stand-ins first, so the same money is never refunded twice here."""
    with transaction.atomic():
        invoice = _lock(payment)
        if Refund.objects.filter(provider_refund_id=provider_refund_id).exists():
            return False
        current = _paid(payment)
        _take_from_stand_ins(current, amount)
        amount = _at_most_refundable(current, amount)
        if amount <= 0:
            return False
        Refund.objects.create(
            payment=current,
            amount=amount,
            reason=REFUNDED_IN_STRIPE,
            provider_refund_id=provider_refund_id,
        )
        refresh_totals(invoice)
    return True


def record_provider_refunded_total(*, payment: Payment, charge_id: str, refunded: int) -> str:
    """Stripe says a charge has `refunded` (minor units) refunded in all, without
    listing the refunds (newer API versions leave them out of `charge.refunded`).
    Whatever is not recorded yet is recorded as one stand-in refund, named after the
    charge and the total so that the same total is recorded once. Returns the
    stand-in's id, or "" when nothing was missing."""
    with transaction.atomic():
        # The invoice lock keeps a refund being made here from being counted twice.
        invoice = _lock(payment)
        missing = from_minor_units(refunded, invoice.currency) - _refunded(payment)
        if missing <= 0:
            return ""
        current = _paid(payment)
        missing = _at_most_refundable(current, missing)
        refund_id = f"{charge_id}{TOTAL_STAND_IN}{refunded}"
        Refund.objects.create(
            payment=current, amount=missing, reason=REFUNDED_IN_STRIPE, provider_refund_id=refund_id
        )
        refresh_totals(invoice)
    return refund_id


def record_provider_dispute(
    *, payment: Payment, provider_dispute_id: str, amount: Decimal, status: str, reason: str
) -> bool:
    """A card dispute Stripe reports, recorded once by its id. A later report moves
    its status forward (DISPUTE_PROGRESS), never back, so the events of a dispute end
    the same in any order. Returns whether anything changed."""
    with transaction.atomic():
        invoice = _lock(payment)
        current = _paid(payment)
        dispute = Dispute.objects.filter(provider_dispute_id=provider_dispute_id).first()
        if dispute is None:
            Dispute.objects.create(
                payment=current,
                provider_dispute_id=provider_dispute_id,
                amount=amount,
                status=status[:30],
                reason=reason[:100],
            )
            logger.warning(
                "Stripe reports dispute %s on payment %s", provider_dispute_id, current.pk
            )
        elif dispute.payment_id == current.pk and _progress(status) > _progress(dispute.status):
            dispute.status, dispute.amount = status[:30], amount
            dispute.save(update_fields=["status", "amount", "updated_at"])
        else:
            return False
        refresh_totals(invoice)
    return True


def _lock(payment: Payment) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=payment.invoice_id)


def _paid(payment: Payment) -> Payment:
    """The payment, settled if it was not: Stripe refunds and disputes only money it
    took, so a success reported late (or lost) is taken as read."""
    current = Payment.objects.get(pk=payment.pk)
    if current.status != PaymentStatus.SUCCEEDED:
        settle_online_payment(payment=current)
        current.refresh_from_db()
    return current


def _refunded(payment: Payment) -> Decimal:
    return Refund.objects.filter(payment=payment).aggregate(total=Sum("amount"))["total"] or ZERO


def _at_most_refundable(payment: Payment, amount: Decimal) -> Decimal:
    refundable = payment.amount - _refunded(payment)
    if amount > refundable:
        logger.warning(
            "Stripe refunded %s on payment %s, more than the %s left here",
            amount,
            payment.pk,
            refundable,
        )
        return refundable
    return amount


def _take_from_stand_ins(payment: Payment, amount: Decimal) -> None:
    """Take `amount` out of the payment's stand-in refunds, newest first: they stand
    for refunds not itemised yet, and this is one of those if any are left."""
    stand_ins = Refund.objects.filter(
        payment=payment, provider_refund_id__contains=TOTAL_STAND_IN
    ).order_by("-pk")
    left = amount
    for stand_in in stand_ins:
        if left <= 0:
            break
        taken = min(left, stand_in.amount)
        left -= taken
        if taken == stand_in.amount:
            stand_in.delete()
        else:
            stand_in.amount -= taken
            stand_in.save(update_fields=["amount"])


def _progress(status: str) -> int:
    # A status this code does not know yet never replaces a known one.
    return DISPUTE_PROGRESS.get(status, 0)
