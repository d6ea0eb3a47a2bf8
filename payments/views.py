"""Reception's invoice pages (the list, one invoice with its payments and actions,
the printable receipt) and the patient's pages to pay online. Views parse the
forms and call one payments service, which owns the rules; a refusal is shown on
the page, never a server error."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django.views.generic import ListView

from clinic.kernel.languages import use_patient_language
from clinic.kernel.users import staff_user

from . import adjustment_services, selectors, services
from .exceptions import PaymentError
from .forms import (
    DeskPaymentForm,
    DiscountForm,
    InvoiceFilterForm,
    RefundForm,
    ReversalForm,
    VoidForm,
    WriteOffForm,
)
from .methods import StripeCheckout, all_methods
from .models import Invoice, InvoiceAdjustment, Payment, Refund

logger = logging.getLogger(__name__)


def site_address(request: HttpRequest) -> str:
    """Where Stripe sends the patient back: the public address when one is set (the
    patient's phone may not reach the address reception uses), else this request's."""
    return settings.PUBLIC_BASE_URL or request.build_absolute_uri("/")[:-1]


# --- Reception --------------------------------------------------------------------


class InvoiceListView(PermissionRequiredMixin, ListView):
    """Invoices with a balance due, newest first; other statuses through the filter,
    every status when searching by number, patient or date."""

    permission_required = "payments.view_invoice"
    template_name = "payments/invoice_list.html"
    context_object_name = "invoices"
    paginate_by = 25

    def get_queryset(self):
        self.form = InvoiceFilterForm(self.request.GET)
        return selectors.invoices(**self.form.filters())

    def get_context_data(self, **kwargs):
        return super().get_context_data(form=self.form, **kwargs)


@dataclass
class PaymentRow:
    payment: Payment
    method_label: str
    refund_form: RefundForm | None


def method_labels() -> dict[str, str]:
    """Each method's label by its key; a payment by a method since removed from
    settings shows its key."""
    return {key: str(method.label) for key, method in all_methods().items()}


def refund_prefix(payment: Payment) -> str:
    # Each payment's refund form on the page has its own field names and ids.
    return f"refund-{payment.pk}"


@dataclass
class AdjustmentRow:
    entry: selectors.AdjustmentEntry
    reversal_form: ReversalForm | None


def reversal_prefix(adjustment: InvoiceAdjustment) -> str:
    return f"reverse-{adjustment.pk}"


@dataclass
class Refused:
    """The forms of the invoice page that were sent and refused: shown with their
    errors in place of fresh ones."""

    payment_form: DeskPaymentForm | None = None
    refund_form: tuple[int, RefundForm] | None = None
    void_form: VoidForm | None = None
    discount_form: DiscountForm | None = None
    write_off_form: WriteOffForm | None = None
    reversal_form: tuple[int, ReversalForm] | None = None


def render_invoice(request: HttpRequest, pk: int, refused: Refused | None = None) -> HttpResponse:
    """The invoice page; a form that was sent and refused is shown with its errors
    in place of the fresh one."""
    try:
        invoice = selectors.invoice_page(pk=pk)
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None
    refused = refused or Refused()
    payment_form = refused.payment_form
    if payment_form is None and invoice.balance > 0:
        payment_form = DeskPaymentForm(
            initial={"amount": invoice.balance, "token": services.new_payment_token()}
        )
    online = all_methods().get(StripeCheckout.key)
    return render(
        request,
        "payments/invoice.html",
        {
            "invoice": invoice,
            "payments": payment_rows(request, invoice, refused),
            "payment_form": payment_form,
            "void_form": refused.void_form or VoidForm(),
            "online": online,
            "online_available": services.online_payment_available(),
            "checkouts": selectors.open_checkouts(invoice),
            **adjustment_context(request, invoice, refused),
        },
    )


def payment_rows(request: HttpRequest, invoice: Invoice, refused: Refused) -> list[PaymentRow]:
    """Each payment with its method's label and, if it can be refunded, its form."""
    labels = method_labels()
    refused_payment, refused_refund = refused.refund_form or (None, None)
    may_refund = request.user.has_perm("payments.add_refund")
    rows = []
    for payment in invoice.payments.all():
        form = None
        if payment.pk == refused_payment:
            form = refused_refund
        elif may_refund and payment.refundable > 0:
            form = RefundForm(
                prefix=refund_prefix(payment),
                initial={"amount": payment.refundable, "token": services.new_payment_token()},
            )
        rows.append(PaymentRow(payment, labels.get(payment.method, payment.method), form))
    return rows


def adjustment_context(request: HttpRequest, invoice: Invoice, refused: Refused) -> dict:
    """The discounts and write-offs with their reversal forms, and the forms to make
    new ones, for those who may."""
    may_adjust = request.user.has_perm("payments.add_invoiceadjustment")
    refused_pk, refused_reversal = refused.reversal_form or (None, None)
    rows = []
    for entry in selectors.adjustment_entries(invoice):
        form = None
        if entry.adjustment.pk == refused_pk:
            form = refused_reversal
        elif may_adjust and entry.reversal is None and not invoice.is_void:
            form = ReversalForm(prefix=reversal_prefix(entry.adjustment))
        rows.append(AdjustmentRow(entry, form))
    context: dict[str, object] = {"adjustments": rows}
    if may_adjust and (invoice.can_adjust or refused.discount_form or refused.write_off_form):
        token = services.new_payment_token
        context |= {
            "limits": adjustment_services.limits_for(staff_user(request)),
            "discount_form": refused.discount_form
            or DiscountForm(currency=invoice.currency, initial={"token": token()}),
            "write_off_form": refused.write_off_form
            or WriteOffForm(initial={"amount": invoice.balance, "token": token()}),
        }
    return context


class InvoiceView(PermissionRequiredMixin, View):
    permission_required = "payments.view_invoice"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render_invoice(request, pk)


class InvoiceActionView(PermissionRequiredMixin, View):
    """A POST from the invoice page: on success back to the invoice with a message."""

    def invoice(self, pk: int) -> Invoice:
        return get_object_or_404(Invoice, pk=pk)

    def done(self, request: HttpRequest, invoice: Invoice, message: str) -> HttpResponse:
        messages.success(request, message)
        return redirect(invoice)


class DeskPaymentView(InvoiceActionView):
    """Cash or card terminal at the desk."""

    permission_required = ("payments.view_invoice", "payments.add_payment")

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self.invoice(pk)
        form = DeskPaymentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                payment = services.record_desk_payment(
                    invoice=invoice,
                    method=data["method"],
                    amount=data["amount"],
                    idempotency_key=data["token"],
                    by=staff_user(request),
                )
            except PaymentError as refusal:
                form.add_error(None, refusal.message)
            else:
                label = method_labels().get(payment.method, payment.method)
                amount = f"{payment.amount} {invoice.currency}"
                return self.done(
                    request,
                    invoice,
                    _("%(method)s payment of %(amount)s recorded.")
                    % {"method": label, "amount": amount},
                )
        return render_invoice(request, invoice.pk, Refused(payment_form=form))


class OnlinePaymentView(InvoiceActionView):
    """A Stripe Checkout for the balance; its link is shown on the invoice page."""

    permission_required = ("payments.view_invoice", "payments.add_payment")

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self.invoice(pk)
        try:
            payment = services.start_online_payment(
                invoice=invoice, by=staff_user(request), base_url=site_address(request)
            )
        except PaymentError as refusal:
            messages.error(request, refusal.message)
            return redirect(invoice)
        return self.done(
            request,
            invoice,
            _("Online checkout ready for %(amount)s: open the link or give it to the patient.")
            % {"amount": f"{payment.amount} {invoice.currency}"},
        )


class SendPayLinkView(InvoiceActionView):
    """Text the patient a link to pay the balance online."""

    permission_required = ("payments.view_invoice", "payments.add_payment")

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = get_object_or_404(Invoice.objects.select_related("patient", "session"), pk=pk)
        try:
            services.send_payment_link(invoice=invoice, by=staff_user(request))
        except PaymentError as refusal:
            messages.error(request, refusal.message)
            return redirect(invoice)
        return self.done(
            request,
            invoice,
            _("A link to pay online is on its way to %(name)s.")
            % {"name": invoice.patient.full_name},
        )


class RefundView(InvoiceActionView):
    permission_required = ("payments.view_invoice", "payments.add_refund")

    def post(self, request: HttpRequest, pk: int, payment_pk: int) -> HttpResponse:
        payment = get_object_or_404(
            Payment.objects.select_related("invoice"), pk=payment_pk, invoice_id=pk
        )
        form = RefundForm(request.POST, prefix=refund_prefix(payment))
        if form.is_valid():
            try:
                refund = services.refund_payment(
                    payment=payment,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    by=staff_user(request),
                    owed_again=form.owed_again,
                    idempotency_key=form.cleaned_data["token"],
                )
            except PaymentError as refusal:
                form.add_error(None, refusal.message)
            else:
                return self.done(request, payment.invoice, refund_message(refund))
        return render_invoice(request, pk, Refused(refund_form=(payment.pk, form)))


def refund_message(refund: Refund) -> str:
    amount = f"{refund.amount} {refund.payment.invoice.currency}"
    if refund.owed_again:
        return _("Refund of %(amount)s recorded; it is owed again.") % {"amount": amount}
    return _("Refund of %(amount)s recorded: money returned, nothing more owed.") % {
        "amount": amount
    }


class VoidView(InvoiceActionView):
    permission_required = ("payments.view_invoice", "payments.change_invoice")

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        invoice = self.invoice(pk)
        form = VoidForm(request.POST)
        if form.is_valid():
            try:
                services.void_invoice(
                    invoice=invoice, reason=form.cleaned_data["reason"], by=staff_user(request)
                )
            except PaymentError as refusal:
                form.add_error(None, refusal.message)
            else:
                return self.done(
                    request,
                    invoice,
                    _("Invoice %(number)s is void.") % {"number": invoice.display_number},
                )
        return render_invoice(request, pk, Refused(void_form=form))


class ReceiptView(PermissionRequiredMixin, View):
    """The printable receipt: what was billed, discounted and written off, what was
    paid and refunded, the balance."""

    permission_required = "payments.view_invoice"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            invoice = selectors.invoice_page(pk=pk)
        except Invoice.DoesNotExist:
            raise Http404("No such invoice.") from None
        labels = method_labels()
        payments = [
            PaymentRow(payment, labels.get(payment.method, payment.method), None)
            for payment in invoice.payments.all()
        ]
        context = {
            "invoice": invoice,
            "payments": payments,
            "adjustments": [
                AdjustmentRow(entry, None) for entry in selectors.adjustment_entries(invoice)
            ],
        }
        return render(request, "payments/receipt.html", context)


# --- The patient (no sign-in: the link texted to them) ----------------------------


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def pay(request: HttpRequest, token: str) -> HttpResponse:
    """The patient's page to pay the balance online. It shows only the clinic, the
    invoice number and the amount: the link may be forwarded to whoever pays."""
    invoice = services.invoice_from_pay_link(token)
    if invoice is None:
        raise Http404("This link is not valid any more.")
    use_patient_language(request, invoice.patient.preferred_language)
    context: dict[str, object] = {"invoice": invoice}
    if invoice.balance <= 0:
        return render(request, "payments/pay_nothing_due.html", context)
    if not services.online_payment_available():
        return render(request, "payments/pay_unavailable.html", context)
    if request.method == "POST":
        try:
            payment = services.start_online_payment(
                invoice=invoice, by=None, base_url=site_address(request)
            )
        except PaymentError as refusal:
            # Staff wording ("reload the invoice…") is not for the patient.
            logger.warning("Pay link of invoice %s refused: %s", invoice.pk, refusal.message)
            context["error"] = True
        else:
            return redirect(payment.checkout_url)
    return render(request, "payments/pay.html", context)


@login_not_required
@require_GET
def checkout_done(request: HttpRequest) -> HttpResponse:
    """Where Stripe sends the patient after paying. The query string proves nothing:
    the invoice is marked paid when Stripe's webhook (or the reconciliation) says so."""
    return render(request, "payments/checkout_done.html")
