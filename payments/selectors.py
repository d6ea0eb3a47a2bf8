"""Reads of invoices, shaped for reception's pages: the list of invoices and one
invoice with everything its page and receipt show, and what reception may discount
or write off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.expressions import CombinedExpression
from django.utils.translation import gettext_lazy as _

from clinic.kernel.dates import clinic_zone

from .methods import StripeCheckout
from .models import (
    AdjustmentKind,
    Invoice,
    InvoiceAdjustment,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Refund,
)

# What the invoice list can show. The default ("") is reception's everyday list, the
# invoices with a balance due, until something is searched for: a search looks at
# invoices of every status unless one is chosen.
SHOW_DEFAULT = ""
SHOW_DUE = "due"
SHOW_ALL = "all"
SHOW_REFUNDED = "refunded"
SHOW_CHOICES = [
    (SHOW_DEFAULT, _("Balance due (every status when searching)")),
    (SHOW_DUE, _("Balance due")),
    (InvoiceStatus.PAID, _("Paid")),
    (SHOW_REFUNDED, _("Refunded")),
    (InvoiceStatus.WRITTEN_OFF, _("Written off")),
    (InvoiceStatus.DISPUTED, _("Disputed")),
    (InvoiceStatus.VOID, _("Void")),
    (SHOW_ALL, _("Every status")),
]
ONE_STATUS = (
    InvoiceStatus.PAID,
    InvoiceStatus.WRITTEN_OFF,
    InvoiceStatus.DISPUTED,
    InvoiceStatus.VOID,
)


def invoices(
    *, show: str = SHOW_DEFAULT, query: str = "", issued_on: date | None = None
) -> QuerySet[Invoice]:
    """Invoices newest first, with their patients: those with a balance due, those
    of one status, or all; narrowed by invoice number or patient name, and by the
    day (in the clinic's zone) they were issued. Searching by either with the
    default `show` looks at every status."""
    query = query.replace("\x00", "").strip()
    if show == SHOW_DEFAULT:
        show = SHOW_ALL if query or issued_on else SHOW_DUE
    found = Invoice.objects.select_related("patient").order_by("-issued_at", "-number")
    if show == SHOW_DUE:
        found = (
            found.filter(status__in=[InvoiceStatus.OPEN, InvoiceStatus.DISPUTED])
            .alias(due=balance_expression())
            .filter(due__gt=0)
        )
    elif show == SHOW_REFUNDED:
        found = found.filter(status__in=[InvoiceStatus.PARTIALLY_REFUNDED, InvoiceStatus.REFUNDED])
    elif show in ONE_STATUS:
        found = found.filter(status=show)
    if issued_on is not None:
        found = found.filter(
            issued_at__gte=day_start(issued_on),
            issued_at__lt=day_start(issued_on + timedelta(days=1)),
        )
    return _matching(found, query)


def balance_expression() -> CombinedExpression:
    """The `Invoice.balance` property, in SQL (for an invoice that is not void): what
    is owed (the total, less write-offs and refunds not owed again) less what the
    clinic holds. A dispute's money is not held: the patient owes it again."""
    owed = F("total") - F("amount_written_off") - F("amount_credited")
    return owed - (F("amount_paid") - F("amount_refunded") - F("amount_disputed"))


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=clinic_zone())


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
    """One invoice with its patient, session, lines, discounts and write-offs (and
    who made them), and payments with their refunds (and who took them) and
    disputes: what the invoice page and the receipt show, in a fixed number of
    queries. Raises Invoice.DoesNotExist."""
    refunds = Refund.objects.select_related("created_by")
    payments = Payment.objects.select_related("created_by").prefetch_related(
        Prefetch("refunds", queryset=refunds), "disputes"
    )
    adjustments = InvoiceAdjustment.objects.select_related("created_by")
    return (
        Invoice.objects.select_related("patient", "session__doctor", "voided_by")
        .prefetch_related(
            "lines",
            Prefetch("adjustments", queryset=adjustments),
            Prefetch("payments", queryset=payments),
        )
        .get(pk=pk)
    )


@dataclass(frozen=True)
class AdjustmentEntry:
    """A discount or write-off as the invoice shows it: with its reversal, if any."""

    adjustment: InvoiceAdjustment
    reversal: InvoiceAdjustment | None

    @property
    def is_discount(self) -> bool:
        return self.adjustment.kind == AdjustmentKind.DISCOUNT

    @property
    def percent(self) -> str:
        percent = self.adjustment.percent
        return "" if percent is None else f"{percent.normalize():f}"


def adjustment_entries(invoice: Invoice) -> list[AdjustmentEntry]:
    """The invoice's discounts and write-offs in the order they were made, each with
    its reversal; reads the adjustments `invoice_page` loaded."""
    made = list(invoice.adjustments.all())
    reversals = {row.reverses_id: row for row in made if row.reverses_id is not None}
    return [AdjustmentEntry(row, reversals.get(row.pk)) for row in made if row.reverses_id is None]


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
