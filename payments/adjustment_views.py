"""The invoice page's discounts, write-offs and reversals: each a POST that calls one
adjustment service, back to the invoice with a message, or the page again with the
refusal on the form."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _

from clinic.kernel.users import staff_user

from . import adjustment_services
from .exceptions import PaymentError
from .forms import DiscountForm, ReversalForm, WriteOffForm
from .models import Invoice, InvoiceAdjustment
from .views import InvoiceActionView, Refused, render_invoice, reversal_prefix

ADJUST = ("payments.view_invoice", "payments.add_invoiceadjustment")


def _money(invoice: Invoice, adjustment: InvoiceAdjustment) -> str:
    return f"{adjustment.amount} {invoice.currency}"


class DiscountView(InvoiceActionView):
    permission_required = ADJUST

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self.invoice(pk)
        form = DiscountForm(request.POST, currency=invoice.currency)
        if form.is_valid():
            try:
                discount = adjustment_services.give_discount(
                    invoice=invoice,
                    reason=form.cleaned_data["reason"],
                    by=staff_user(request),
                    idempotency_key=form.cleaned_data["token"],
                    **form.amounts(),
                )
            except PaymentError as refusal:
                form.add_error(None, refusal.message)
            else:
                message = _("Discount of %(amount)s given: %(reason)s.") % {
                    "amount": _money(invoice, discount),
                    "reason": discount.reason,
                }
                return self.done(request, invoice, message)
        return render_invoice(request, pk, Refused(discount_form=form))


class WriteOffView(InvoiceActionView):
    permission_required = ADJUST

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self.invoice(pk)
        form = WriteOffForm(request.POST)
        if form.is_valid():
            try:
                written_off = adjustment_services.write_off(
                    invoice=invoice,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    by=staff_user(request),
                    idempotency_key=form.cleaned_data["token"],
                )
            except PaymentError as refusal:
                form.add_error(None, refusal.message)
            else:
                message = _("%(amount)s written off: %(reason)s.") % {
                    "amount": _money(invoice, written_off),
                    "reason": written_off.reason,
                }
                return self.done(request, invoice, message)
        return render_invoice(request, pk, Refused(write_off_form=form))


class ReversalView(InvoiceActionView):
    permission_required = ADJUST

    def post(self, request: HttpRequest, pk: int, adjustment_pk: int) -> HttpResponse:
        adjustment = get_object_or_404(
            InvoiceAdjustment.objects.select_related("invoice"), pk=adjustment_pk, invoice_id=pk
        )
        form = ReversalForm(request.POST, prefix=reversal_prefix(adjustment))
        if form.is_valid():
            try:
                adjustment_services.reverse_adjustment(
                    adjustment=adjustment,
                    reason=form.cleaned_data["reason"],
                    by=staff_user(request),
                )
            except PaymentError as refusal:
                # Reversed meanwhile, or the invoice void: its form is gone from the page.
                messages.error(request, refusal.message)
                return redirect(adjustment.invoice)
            else:
                message = _("%(kind)s of %(amount)s reversed: it is owed again.") % {
                    "kind": adjustment.get_kind_display(),
                    "amount": _money(adjustment.invoice, adjustment),
                }
                return self.done(request, adjustment.invoice, message)
        return render_invoice(request, pk, Refused(reversal_form=(adjustment.pk, form)))
