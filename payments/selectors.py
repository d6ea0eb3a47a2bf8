"""Reads of invoices, shaped for reception's pages: the list of invoices and one
invoice with everything its page and receipt show."""

from __future__ import annotations

from django.db.models import F, Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from .methods import StripeCheckout
from .models import Invoice, InvoiceStatus, Payment, PaymentStatus, Refund

# What the invoice list can show; "due" (a balance is left to pay) is reception's
# everyday list and the default.
SHOW_DUE = "due"
SHOW_CHOICES = [
    (SHOW_DUE, "Balance due"),
    ("paid", "Paid"),
    ("refunded", "Refunded"),
    (InvoiceStatus.DISPUTED, _("Disputed")),
    ("void", "Void"),
    ("all", "All"),
]


def invoices(*, show: str = SHOW_DUE, query: str = "") -> QuerySet[Invoice]:
    """Invoices newest first, with their patients: those with a balance due, or
    those of one status, or all; narrowed by invoice number or patient name."""
    found = Invoice.objects.select_related("patient").order_by("-issued_at", "-number")
    if show == SHOW_DUE:
        # The `balance` property, in SQL: the total less what was paid and kept. A
        # dispute's money is not kept: the patient owes it again.
        found = found.filter(
            status__in=[
                InvoiceStatus.OPEN,
                InvoiceStatus.PARTIALLY_REFUNDED,
                InvoiceStatus.DISPUTED,
            ],
            total__gt=F("amount_paid") - F("amount_refunded") - F("amount_disputed"),
        )
    elif show == "refunded":
        found = found.filter(status__in=[InvoiceStatus.PARTIALLY_REFUNDED, InvoiceStatus.REFUNDED])
    elif show in (InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.DISPUTED):
        found = found.filter(status=show)
    return _matching(found, query.strip())


def _matching(found: QuerySet[Invoice], query: str) -> QuerySet[Invoice]:
    if not query:
        return found
    # "000123" or "123" is an invoice number; anything else a patient's name.
    if query.isdigit() and len(query) <= 18:
        return found.filter(number=int(query))
    for word in query.split():
        found = found.filter(
            Q(patient__given_name__icontains=word) | Q(patient__family_name__icontains=word)
        )
    return found


def invoice_page(*, pk: int) -> Invoice:
    """One invoice with its patient, session, lines, and payments with their
    refunds (and who took them) and disputes: what the invoice page and the receipt
    show, in a fixed number of queries. Raises Invoice.DoesNotExist."""
    refunds = Refund.objects.select_related("created_by")
    payments = Payment.objects.select_related("created_by").prefetch_related(
        Prefetch("refunds", queryset=refunds), "disputes"
    )
    return (
        Invoice.objects.select_related("patient", "session__doctor", "voided_by")
        .prefetch_related("lines", Prefetch("payments", queryset=payments))
        .get(pk=pk)
    )


def open_checkouts(invoice: Invoice) -> list[Payment]:
    """The invoice's online checkouts still waiting for the patient, with their
    links; reads the payments `invoice_page` loaded."""
    return [
        payment
        for payment in invoice.payments.all()
        if payment.method == StripeCheckout.key
        and payment.status == PaymentStatus.PENDING
        and payment.checkout_url
    ]
