"""How the invoice pages show an invoice's status."""

from __future__ import annotations

from django import template

from payments.models import InvoiceStatus, PaymentStatus

register = template.Library()

# Bootstrap's colour classes, each with a text colour that keeps AA contrast.
INVOICE_BADGES: dict[str, str] = {
    InvoiceStatus.OPEN: "text-bg-warning",
    InvoiceStatus.PAID: "text-bg-success",
    InvoiceStatus.VOID: "text-bg-dark",
    InvoiceStatus.PARTIALLY_REFUNDED: "text-bg-info",
    InvoiceStatus.REFUNDED: "text-bg-secondary",
    InvoiceStatus.DISPUTED: "text-bg-danger",
    InvoiceStatus.WRITTEN_OFF: "text-bg-light border",
}
PAYMENT_BADGES: dict[str, str] = {
    PaymentStatus.SUCCEEDED: "text-bg-success",
    PaymentStatus.PENDING: "text-bg-warning",
    PaymentStatus.FAILED: "text-bg-danger",
}


@register.filter
def invoice_badge(status: str) -> str:
    return INVOICE_BADGES.get(status, "text-bg-secondary")


@register.filter
def payment_badge(status: str) -> str:
    return PAYMENT_BADGES.get(status, "text-bg-secondary")
