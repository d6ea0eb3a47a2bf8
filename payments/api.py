"""The invoices of the JSON API (mounted by clinic/api.py), read-only: what
reception's invoice pages show, through the same selectors and permission. Money is
a decimal string ("80.00") in the invoice's currency, never a float."""

# No `from __future__ import annotations`: ninja reads a paginated view's parameter
# types through its wrapper, whose module cannot resolve this module's names.
from decimal import Decimal
from typing import Annotated

from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import PlainSerializer, WithJsonSchema

from clinic.kernel.api import ERRORS, require
from clinic.kernel.api_types import (
    ClinicTime,
    OptionalId,
    Page,
    id_or_404,
    narrowed,
    path_id,
)
from patients.api import PatientRef

from . import selectors
from .models import (
    AdjustmentKind,
    Invoice,
    InvoiceAdjustment,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentStatus,
)

router = Router(tags=["invoices"])

Money = Annotated[
    Decimal,
    PlainSerializer(lambda amount: f"{amount:.2f}", return_type=str),
    WithJsonSchema({"type": "string", "format": "decimal", "examples": ["80.00"]}),
]


class RefundOut(Schema):
    id: int
    amount: Money
    reason: str
    owed_again: bool = Field(
        ...,
        description="Refund and re-bill: the amount is owed again. False: money returned, "
        "nothing more owed.",
    )
    created_at: ClinicTime


class AdjustmentOut(Schema):
    id: int
    kind: AdjustmentKind
    amount: Money
    percent: Decimal | None = Field(..., description="A discount given as a percentage.")
    reason: str
    reverses: int | None = Field(..., description="The adjustment this one reverses.")
    created_at: ClinicTime

    @staticmethod
    def resolve_reverses(adjustment: InvoiceAdjustment) -> int | None:
        return adjustment.reverses_id


class PaymentOut(Schema):
    id: int
    method: str
    amount: Money
    status: PaymentStatus
    created_at: ClinicTime
    settled_at: ClinicTime | None
    refunds: list[RefundOut]


class LineOut(Schema):
    service: int
    description: str
    quantity: int
    unit_price: Money
    amount: Money

    @staticmethod
    def resolve_service(line: InvoiceLine) -> int:
        return line.service_id


class InvoiceOut(Schema):
    id: int
    number: int
    patient: PatientRef
    session: int
    currency: str
    issued_at: ClinicTime
    status: InvoiceStatus
    subtotal: Money = Field(..., description="The lines' sum, before discounts.")
    amount_discounted: Money
    total: Money = Field(..., description="The lines less the discounts.")
    amount_written_off: Money
    amount_paid: Money
    amount_refunded: Money
    amount_credited: Money = Field(
        ..., description="Refunds not owed again: they lower what the patient owes."
    )
    amount_disputed: Money = Field(
        ..., description="Taken back by Stripe for card disputes still open or lost."
    )
    balance: Money = Field(..., description="What the patient still owes.")

    @staticmethod
    def resolve_session(invoice: Invoice) -> int:
        return invoice.session_id


class InvoiceDetail(InvoiceOut):
    lines: list[LineOut]
    adjustments: list[AdjustmentOut] = Field(
        ..., description="Discounts and write-offs, and the reversals of some of them."
    )
    payments: list[PaymentOut]

    @staticmethod
    def resolve_adjustments(invoice: Invoice) -> list[InvoiceAdjustment]:
        return list(invoice.adjustments.all())

    @staticmethod
    def resolve_payments(invoice: Invoice) -> list[Payment]:
        return list(invoice.payments.all())


class InvoiceFilters(Schema):
    patient: OptionalId = None
    status: InvoiceStatus | None = None


@router.get("/invoices", response={200: list[InvoiceOut], **ERRORS}, summary="List invoices")
@paginate(Page)
def list_invoices(request, filters: Query[InvoiceFilters]):
    """Invoices newest first, of one patient or one status if asked."""
    require(request, "payments.view_invoice")
    return narrowed(
        selectors.invoices(show="all"), patient_id=filters.patient, status=filters.status
    )


@router.get(
    "/invoices/{invoice_id}",
    response={200: InvoiceDetail, **ERRORS},
    summary="One invoice with its lines, adjustments and payments",
)
def get_invoice(request, invoice_id: int = path_id("The invoice's id.")):
    """The invoice's lines, discounts and write-offs, payments with their refunds,
    totals and balance."""
    require(request, "payments.view_invoice")
    return selectors.invoice_page(pk=id_or_404(invoice_id))
