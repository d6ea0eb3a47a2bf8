"""The manager's read-only view of invoices, payments, refunds, disputes and Stripe's
events (those that need attention under their own filter).
Every change goes through the payments services (the invoice page), which keep an
invoice's totals and status derived from its lines, payments and refunds."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from clinic.kernel.admin import ReadOnlyAdminMixin

from .models import (
    BillingLimits,
    CashUp,
    Dispute,
    Invoice,
    InvoiceAdjustment,
    InvoiceLine,
    Payment,
    Refund,
    StripeEvent,
)


class InvoiceLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = InvoiceLine
    fields = readonly_fields = ("description", "quantity", "unit_price", "amount")
    extra = 0


class AdjustmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = InvoiceAdjustment
    fk_name = "invoice"
    fields = readonly_fields = (
        "created_at",
        "kind",
        "amount",
        "percent",
        "reason",
        "reverses",
        "created_by",
    )
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by", "reverses")


class PaymentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Payment
    fields = readonly_fields = (
        "created_at",
        "method",
        "amount",
        "status",
        "created_by",
        "settled_at",
        "last_error",
    )
    extra = 0
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["display_number", "patient", "issued_at", "status", "total", "balance"]
    list_filter = ["status"]
    # "=number" finds "000123" and "123" alike.
    search_fields = ["=number", "patient__given_name", "patient__family_name"]
    date_hierarchy = "issued_at"
    list_select_related = ["patient"]
    inlines = [InvoiceLineInline, AdjustmentInline, PaymentInline]

    @admin.display(description="Number", ordering="number")
    def display_number(self, invoice: Invoice) -> str:
        return invoice.display_number

    @admin.display(description="Balance")
    def balance(self, invoice: Invoice) -> Decimal:
        return invoice.balance


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "invoice", "method", "amount", "status", "created_by"]
    list_filter = ["status", "method"]
    search_fields = ["=invoice__number", "checkout_session_id", "payment_intent_id"]
    date_hierarchy = "created_at"
    list_select_related = ["invoice", "created_by"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "payment", "amount", "owed_again", "reason", "created_by"]
    list_filter = ["owed_again"]
    search_fields = ["=payment__invoice__number", "provider_refund_id"]
    date_hierarchy = "created_at"
    list_select_related = ["payment__invoice", "created_by"]


@admin.register(InvoiceAdjustment)
class InvoiceAdjustmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who discounted or wrote off what, when and why: never changed here either."""

    list_display = ["created_at", "invoice", "kind", "amount", "percent", "reason", "created_by"]
    list_filter = ["kind", ("reverses", admin.EmptyFieldListFilter)]
    search_fields = ["=invoice__number", "reason"]
    date_hierarchy = "created_at"
    list_select_related = ["invoice", "created_by"]


@admin.register(BillingLimits)
class BillingLimitsAdmin(admin.ModelAdmin):
    """The manager's one row of limits: edited, never added twice or deleted."""

    fields = ["reception_max_discount_percent", "reception_max_write_off", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        """Straight to the one row (made by the migration, or now)."""
        limits, _ = BillingLimits.objects.get_or_create(pk=1)
        return redirect("admin:payments_billinglimits_change", limits.pk)


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "payment", "amount", "status", "reason", "updated_at"]
    list_filter = ["status"]
    search_fields = ["=payment__invoice__number", "provider_dispute_id"]
    date_hierarchy = "created_at"
    list_select_related = ["payment__invoice"]


class NeedsAttentionFilter(admin.SimpleListFilter):
    """The events someone should look at: still waiting for their payment after
    many tries, or failing."""

    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple]:
        return [("yes", _("Needs attention"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            outcomes = [StripeEvent.Outcome.ATTENTION, StripeEvent.Outcome.FAILED]
            return queryset.filter(outcome__in=outcomes)
        return queryset


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "received_at",
        "type",
        "event_id",
        "outcome",
        "detail",
        "attempts",
        "next_attempt_at",
    ]
    list_filter = [NeedsAttentionFilter, "outcome", "type"]
    search_fields = ["=event_id", "=waiting_for"]
    date_hierarchy = "received_at"


@admin.register(CashUp)
class CashUpAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The desk's cash-ups, as closed on the cash-up page (never changed here)."""

    list_display = [
        "day",
        "desk_user",
        "cash_expected",
        "counted_cash",
        "difference",
        "closed_by",
        "closed_at",
    ]
    list_filter = ["day", "closed_at"]
    list_select_related = ["desk_user", "closed_by"]
    search_fields = ["desk_user__username", "note"]
