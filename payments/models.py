from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from patients.models import Patient
from scheduling.models import Service
from sessions_app.models import Session

if TYPE_CHECKING:  # Type checking only: django-stubs is a development tool.
    from django_stubs_ext import StrOrPromise

ZERO = Decimal("0.00")


def money_field(verbose_name: StrOrPromise | None = None, **kwargs: Any) -> models.DecimalField:
    """An amount of the clinic's currency: up to 9,999,999,999.99."""
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


class InvoiceCounter(models.Model):
    """The last invoice number given. One row; the invoice service locks it, so
    numbers are sequential and, since a rolled-back invoice rolls back its number
    too, gap-free."""

    last_number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Last invoice number {self.last_number}"


class InvoiceStatus(models.TextChoices):
    # Something is due: nothing paid yet, paid in part, or billed again after a refund.
    OPEN = "open", _("Open")
    PAID = "paid", _("Paid")
    VOID = "void", _("Void")
    # Money was given back and is not owed again: some of it, or all that was paid.
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    # Some of the money is held or kept by Stripe in a card dispute (a chargeback).
    DISPUTED = "disputed", _("Disputed")
    # Nothing is due because the clinic wrote off what the patient did not pay.
    WRITTEN_OFF = "written_off", _("Written off")


class Invoice(models.Model):
    """The bill of one completed session. Its totals and status are derived from its
    lines, adjustments, payments, refunds and disputes by `refresh_totals`, the only
    place that sets them:

    - total: the lines less the discounts;
    - balance (what the patient still owes): the total, less what was written off,
      less the refunds that are not owed again (money returned, nothing more owed:
      the desk's default and every refund made in Stripe's dashboard), less what
      the clinic holds (paid, less every refund and what disputes took back).

    A refund of money nobody owed (an overpayment given back) lowers nothing: the
    refunds not owed again count only down to a balance of zero (`credit_for`)."""

    number = models.PositiveBigIntegerField(unique=True)
    session = models.OneToOneField(Session, on_delete=models.PROTECT, related_name="invoice")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="invoices")
    currency = models.CharField(max_length=3)
    issued_at = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN
    )
    total = money_field(default=ZERO)
    amount_discounted = money_field(
        _("amount discounted"), default=ZERO, help_text=_("Taken off the lines' sum by discounts.")
    )
    amount_paid = money_field(default=ZERO)
    amount_refunded = money_field(default=ZERO)
    amount_credited = money_field(
        _("refunded, not owed again"),
        default=ZERO,
        help_text=_("The refunds that lowered what the patient owes (money returned)."),
    )
    amount_written_off = money_field(
        _("amount written off"),
        default=ZERO,
        help_text=_("What the clinic will not collect: settled without money."),
    )
    amount_disputed = money_field(
        _("amount disputed"),
        default=ZERO,
        help_text=_("Taken back by Stripe for card disputes still open or lost."),
    )
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
            # Not bounded by what was paid: a cardholder may dispute a charge that was
            # partly refunded, and Stripe then holds both.
            models.CheckConstraint(
                condition=Q(amount_disputed__gte=0), name="invoice_disputed_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(amount_discounted__gte=0, amount_written_off__gte=0)
                & Q(amount_credited__gte=0, amount_credited__lte=models.F("amount_refunded")),
                name="invoice_adjustments_consistent",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "issued_at"], name="invoice_status_issued"),
            # The list of every status, newest first, and the search by date.
            models.Index(fields=["issued_at"], name="invoice_issued"),
        ]

    def __str__(self) -> str:
        return f"Invoice {self.display_number}"

    def get_absolute_url(self) -> str:
        return reverse("payments:invoice", args=[self.pk])

    @property
    def display_number(self) -> str:
        return f"{self.number:06d}"

    @property
    def subtotal(self) -> Decimal:
        """The lines' sum, before discounts."""
        return self.total + self.amount_discounted

    @property
    def net_paid(self) -> Decimal:
        """What the clinic holds: paid, less refunds and less what Stripe took back
        in disputes."""
        return self.amount_paid - self.amount_refunded - self.amount_disputed

    @property
    def amount_owed(self) -> Decimal:
        """What the patient is to pay in all: the total, less write-offs and less
        the refunds not owed again."""
        return self.total - self.amount_written_off - self.amount_credited

    @property
    def balance(self) -> Decimal:
        """What the patient still owes; negative when they paid too much."""
        if self.is_void:
            return ZERO
        return self.amount_owed - self.net_paid

    @property
    def overpaid(self) -> Decimal:
        """What the clinic holds beyond what is owed: to give back."""
        return max(-self.balance, ZERO)

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None

    @property
    def can_void(self) -> bool:
        """Only an invoice nobody has paid anything on can be void."""
        return not self.is_void and self.amount_paid == 0

    @property
    def can_adjust(self) -> bool:
        """A discount or write-off needs something still due (the services say what
        else stands in the way, such as an open card dispute)."""
        return not self.is_void and self.balance > 0

    def credit_for(self, *, not_owed_again: Decimal) -> Decimal:
        """How much of the refunds not owed again (`not_owed_again`) lowers what the
        patient owes: all of it, but never below a balance of zero, since money
        given back that nobody owed (an overpayment) forgives nothing. Reads the
        other amounts, so `refresh_totals` calls it after setting them."""
        owed_without = self.total - self.amount_written_off - self.net_paid
        return max(min(not_owed_again, owed_without, self.total - self.amount_written_off), ZERO)

    def derived_status(self) -> str:
        if self.is_void:
            return InvoiceStatus.VOID
        if self.amount_disputed > 0:
            return InvoiceStatus.DISPUTED
        if self.balance > 0:
            return InvoiceStatus.OPEN
        if self.amount_credited > 0:
            if self.net_paid > 0:
                return InvoiceStatus.PARTIALLY_REFUNDED
            return InvoiceStatus.REFUNDED
        if self.amount_written_off > 0:
            return InvoiceStatus.WRITTEN_OFF
        return InvoiceStatus.PAID


class InvoiceLine(models.Model):
    """A performed service at the price of the day of the session."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = money_field(validators=[MinValueValidator(ZERO)])

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
    amount = money_field(validators=[MinValueValidator(Decimal("0.01"))])
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
            # The takings report and the cash-up: money settled by day.
            models.Index(
                fields=["settled_at"], condition=Q(status="succeeded"), name="payment_settled"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount} for {self.invoice}"

    @property
    def succeeded(self) -> bool:
        return self.status == PaymentStatus.SUCCEEDED

    @property
    def amount_refunded(self) -> Decimal:
        """Needs the refunds loaded (prefetch) to be cheap."""
        return sum((refund.amount for refund in self.refunds.all()), ZERO)

    @property
    def refundable(self) -> Decimal:
        if not self.succeeded:
            return ZERO
        return self.amount - self.amount_refunded


# The id of a refund recorded from a charge's `amount_refunded` total, when Stripe
# sent the charge without its list of refunds: "<charge id>:refunded:<total>". Real
# refund ids ("re_...") have no colon.
TOTAL_STAND_IN = ":refunded:"


class Refund(models.Model):
    """Money given back on a payment: through Stripe for a Stripe payment, recorded
    by staff for the others. It means money returned, nothing more owed (the bill is
    lowered by it), unless staff chose to re-bill it (`owed_again`).

    A refund recorded from a charge's refunded total (a stand-in) stands for refunds
    Stripe has not itemised yet: when one of them is reported with its own id, it
    takes its amount out of the stand-in rather than adding to it."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = money_field(validators=[MinValueValidator(Decimal("0.01"))])
    reason = models.CharField(max_length=300)
    # Stripe's refund id; several refunds of one charge each have their own.
    provider_refund_id = models.CharField(max_length=255, blank=True)
    # The refund form's one-time token: a double click or a resent form finds the
    # refund it already made (and Stripe is asked once, under the same key).
    idempotency_key = models.CharField(max_length=100, blank=True)
    owed_again = models.BooleanField(
        _("owed again"),
        default=False,
        help_text=_(
            "Refund and re-bill: the amount is owed again. Otherwise (the default, and "
            "every refund made in Stripe) the money is returned and nothing more is owed."
        ),
    )
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
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="refund_idempotency_key_unique",
            ),
        ]
        # The takings report and the cash-up: refunds by day.
        indexes = [models.Index(fields=["created_at"], name="refund_created")]

    def __str__(self) -> str:
        return f"Refund {self.amount} of {self.payment}"

    @property
    def is_stand_in(self) -> bool:
        return TOTAL_STAND_IN in self.provider_refund_id


class DisputeStatus(models.TextChoices):
    """Stripe's statuses of a dispute; "warning_" ones are inquiries, which take no
    money."""

    WARNING_NEEDS_RESPONSE = "warning_needs_response", _("Inquiry: needs a response")
    WARNING_UNDER_REVIEW = "warning_under_review", _("Inquiry: under review")
    WARNING_CLOSED = "warning_closed", _("Inquiry closed")
    NEEDS_RESPONSE = "needs_response", _("Needs a response")
    UNDER_REVIEW = "under_review", _("Under review")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    PREVENTED = "prevented", _("Prevented")


# How far along a dispute is. Its status here only moves forward, so the events of
# a dispute end in the same status whatever order they come in. An inquiry the bank
# escalates becomes a dispute (needs_response); the last four are final.
DISPUTE_PROGRESS: dict[str, int] = {
    DisputeStatus.WARNING_NEEDS_RESPONSE: 1,
    DisputeStatus.WARNING_UNDER_REVIEW: 2,
    DisputeStatus.NEEDS_RESPONSE: 3,
    DisputeStatus.UNDER_REVIEW: 4,
    DisputeStatus.WARNING_CLOSED: 5,
    DisputeStatus.WON: 5,
    DisputeStatus.LOST: 5,
    DisputeStatus.PREVENTED: 5,
}
FINAL_PROGRESS = 5
# Stripe takes the disputed amount from the clinic's balance when the dispute opens,
# gives it back if the clinic wins, and keeps it if the clinic loses.
DISPUTE_TAKES_MONEY = (
    DisputeStatus.NEEDS_RESPONSE,
    DisputeStatus.UNDER_REVIEW,
    DisputeStatus.LOST,
)


class Dispute(models.Model):
    """A card dispute (chargeback) on a Stripe payment, as Stripe reports it. While
    it is open or once lost its amount is not the clinic's: `refresh_totals` counts
    it in the invoice's `amount_disputed`."""

    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="disputes", verbose_name=_("payment")
    )
    provider_dispute_id = models.CharField(_("Stripe dispute id"), max_length=255, unique=True)
    amount = money_field(_("amount"), validators=[MinValueValidator(Decimal("0.01"))])
    status = models.CharField(_("status"), max_length=30, choices=DisputeStatus.choices)
    # Stripe's reason code: "fraudulent", "product_not_received", ...
    reason = models.CharField(_("reason"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="dispute_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Dispute {self.amount} of {self.payment}"

    @property
    def takes_money(self) -> bool:
        return self.status in DISPUTE_TAKES_MONEY

    @property
    def is_final(self) -> bool:
        return DISPUTE_PROGRESS.get(self.status, 0) == FINAL_PROGRESS


class StripeEvent(models.Model):
    """A webhook event from Stripe, stored once (by its id) when it arrives and
    processed by the worker.

    An event about a payment not known here yet waits (see payments/events.py): it
    is tried again when its payment becomes known and by the reconciliation, needs
    attention after PAYMENTS_EVENT_ATTENTION_TRIES tries, and is ignored as not ours
    after PAYMENTS_EVENT_GIVE_UP_DAYS."""

    class Outcome(models.TextChoices):
        PENDING = "", "Not processed yet"
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Nothing to do"
        WAITING = "waiting", _("Waiting for its payment")
        ATTENTION = "attention", _("Needs attention")
        FAILED = "failed", "Failed"

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.TextField(help_text="The body exactly as Stripe sent it.")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(
        _("attempts"), default=0, help_text=_("How many times the worker has processed it.")
    )
    next_attempt_at = models.DateTimeField(
        _("next attempt"),
        null=True,
        blank=True,
        help_text=_("When the reconciliation tries a waiting or failed event again."),
    )
    waiting_for = models.CharField(
        _("waiting for"),
        max_length=255,
        blank=True,
        help_text=_("The Stripe payment intent (or other object) no payment here knows yet."),
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(
                fields=["waiting_for"],
                condition=Q(outcome__in=["waiting", "attention"]),
                name="stripe_event_waiting",
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(next_attempt_at__isnull=False),
                name="stripe_event_retry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


# The discounts and write-offs of an invoice, and their limits (a module of their own).
from .adjustment_models import AdjustmentKind as AdjustmentKind  # noqa: E402
from .adjustment_models import BillingLimits as BillingLimits  # noqa: E402
from .adjustment_models import InvoiceAdjustment as InvoiceAdjustment  # noqa: E402
from .cashup_models import CashUp as CashUp  # noqa: E402
