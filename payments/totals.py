"""The invoice's totals and status, derived from its rows: the one place that sets
them. Every payments service calls `refresh_totals` after changing an invoice's
lines, adjustments, payments, refunds or disputes."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q, Sum

from .models import (
    DISPUTE_TAKES_MONEY,
    ZERO,
    AdjustmentKind,
    Dispute,
    Invoice,
    InvoiceAdjustment,
    Payment,
    PaymentStatus,
    Refund,
)


def refresh_totals(invoice: Invoice) -> Invoice:
    """Derive the invoice's total, amounts discounted, written off, paid, refunded
    (and of that, not owed again) and disputed, and its status, from its lines,
    adjustments, payments, refunds and disputes. The one place these are set; call
    it inside the transaction that changed them, with the invoice locked.

    The total is the lines less the discounts not reversed (never below zero); what
    is written off counts as settled without money; a refund not owed again lowers
    what is owed, down to nothing (see `Invoice.credit_for`)."""
    lines = sum((line.amount for line in invoice.lines.all()), ZERO)
    adjusted = _adjusted(invoice)
    invoice.amount_discounted = min(adjusted[AdjustmentKind.DISCOUNT], lines)
    invoice.total = lines - invoice.amount_discounted
    invoice.amount_written_off = adjusted[AdjustmentKind.WRITE_OFF]
    succeeded = Payment.objects.filter(invoice=invoice, status=PaymentStatus.SUCCEEDED)
    invoice.amount_paid = succeeded.aggregate(total=Sum("amount"))["total"] or ZERO
    refunds = Refund.objects.filter(payment__invoice=invoice).aggregate(
        total=Sum("amount"), not_owed_again=Sum("amount", filter=Q(owed_again=False))
    )
    invoice.amount_refunded = refunds["total"] or ZERO
    # Money Stripe took back for a dispute still open, or lost.
    disputes = Dispute.objects.filter(payment__invoice=invoice, status__in=DISPUTE_TAKES_MONEY)
    invoice.amount_disputed = disputes.aggregate(total=Sum("amount"))["total"] or ZERO
    invoice.amount_credited = invoice.credit_for(not_owed_again=refunds["not_owed_again"] or ZERO)
    invoice.status = invoice.derived_status()
    invoice.save(update_fields=TOTALS)
    return invoice


TOTALS = [
    "total",
    "amount_discounted",
    "amount_written_off",
    "amount_paid",
    "amount_refunded",
    "amount_credited",
    "amount_disputed",
    "status",
]


def _adjusted(invoice: Invoice) -> dict[str, Decimal]:
    """The discounts and the write-offs of the invoice, less their reversals."""
    sums = {}
    for kind in AdjustmentKind.values:
        of_kind = Q(kind=kind)
        sums[f"{kind}_made"] = Sum("amount", filter=of_kind & Q(reverses__isnull=True))
        sums[f"{kind}_reversed"] = Sum("amount", filter=of_kind & Q(reverses__isnull=False))
    found = InvoiceAdjustment.objects.filter(invoice=invoice).aggregate(**sums)
    return {
        kind: (found[f"{kind}_made"] or ZERO) - (found[f"{kind}_reversed"] or ZERO)
        for kind in AdjustmentKind.values
    }
