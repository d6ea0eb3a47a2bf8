from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from patients.models import Patient
from scheduling.models import Service
from sessions_app.models import Session

ZERO = Decimal("0.00")
MONEY = {"max_digits": 12, "decimal_places": 2}


class InvoiceCounter(models.Model):
    """The last invoice number given. One row; the invoice service locks it, so
    numbers are sequential and, since a rolled-back invoice rolls back its number
    too, gap-free."""

    last_number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Last invoice number {self.last_number}"


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


class Invoice(models.Model):
    """The bill of one completed session. Its totals and status are derived from its
    lines, payments and refunds by `refresh_totals`, the only place that sets them."""

    number = models.PositiveBigIntegerField(unique=True)
    session = models.OneToOneField(Session, on_delete=models.PROTECT, related_name="invoice")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="invoices")
    currency = models.CharField(max_length=3)
    issued_at = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN
    )
    total = models.DecimalField(**MONEY, default=ZERO)
    amount_paid = models.DecimalField(**MONEY, default=ZERO)
    amount_refunded = models.DecimalField(**MONEY, default=ZERO)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    void_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(total__gte=0, amount_paid__gte=0, amount_refunded__gte=0)
                & Q(amount_refunded__lte=models.F("amount_paid")),
                name="invoice_amounts_consistent",
            ),
        ]
        indexes = [models.Index(fields=["status", "issued_at"], name="invoice_status_issued")]

    def __str__(self) -> str:
        return f"Invoice {self.display_number}"

    def get_absolute_url(self) -> str:
        return reverse("payments:invoice", args=[self.pk])

    @property
    def display_number(self) -> str:
        return f"{self.number:06d}"

    @property
    def net_paid(self) -> Decimal:
        return self.amount_paid - self.amount_refunded

    @property
    def balance(self) -> Decimal:
        """What the patient still owes; negative when they paid too much."""
        if self.status == InvoiceStatus.VOID:
            return ZERO
        return self.total - self.net_paid

    @property
    def can_void(self) -> bool:
        """Only an invoice nobody has paid anything on can be void."""
        return self.status != InvoiceStatus.VOID and self.amount_paid == 0

    def derived_status(self) -> str:
        if self.voided_at is not None:
            return InvoiceStatus.VOID
        if self.amount_refunded > 0:
            if self.net_paid > 0:
                return InvoiceStatus.PARTIALLY_REFUNDED
            return InvoiceStatus.REFUNDED
        return InvoiceStatus.PAID if self.net_paid >= self.total else InvoiceStatus.OPEN


class InvoiceLine(models.Model):
    """A performed service at the price of the day of the session."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(**MONEY, validators=[MinValueValidator(ZERO)])

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description}"

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


class Payment(models.Model):
    """Money for an invoice by one method. Desk payments succeed when recorded;
    an online (Stripe) payment is pending until Stripe says it is paid."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=30)
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    # The form's one-time token (desk) or the checkout's own key (Stripe): a double
    # click or a retried request finds the payment it already made.
    idempotency_key = models.CharField(max_length=100, unique=True)
    checkout_session_id = models.CharField(max_length=255, blank=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    payment_intent_id = models.CharField(max_length=255, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.UniqueConstraint(
                fields=["checkout_session_id"],
                condition=~Q(checkout_session_id=""),
                name="payment_checkout_session_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["method", "created_at"],
                condition=Q(status="pending"),
                name="payment_pending",
            ),
            models.Index(
                fields=["payment_intent_id"],
                condition=~Q(payment_intent_id=""),
                name="payment_intent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount} for {self.invoice}"

    @property
    def amount_refunded(self) -> Decimal:
        """Needs the refunds loaded (prefetch) to be cheap."""
        return sum((refund.amount for refund in self.refunds.all()), ZERO)

    @property
    def refundable(self) -> Decimal:
        if self.status != PaymentStatus.SUCCEEDED:
            return ZERO
        return self.amount - self.amount_refunded


class Refund(models.Model):
    """Money given back on a payment: through Stripe for a Stripe payment, recorded
    by staff for the others."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    reason = models.CharField(max_length=300)
    # Stripe's refund id; several refunds of one charge each have their own.
    provider_refund_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(
                fields=["provider_refund_id"],
                condition=~Q(provider_refund_id=""),
                name="refund_provider_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} of {self.payment}"


class StripeEvent(models.Model):
    """A webhook event from Stripe, stored once (by its id) when it arrives and
    processed by the worker."""

    class Outcome(models.TextChoices):
        PENDING = "", "Not processed yet"
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Nothing to do"
        FAILED = "failed", "Failed"

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.TextField(help_text="The body exactly as Stripe sent it.")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
