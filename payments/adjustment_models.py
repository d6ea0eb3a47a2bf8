"""Discounts and write-offs of an invoice, and the limits the manager sets on them.

An adjustment is an audit row: who, when, why and how much. It is never changed or
deleted (the model refuses, and on PostgreSQL a trigger too); a mistake is undone
by a reversal, a row of its own that names the one it reverses. `refresh_totals`
counts the discounts and write-offs not reversed. Imported by payments.models.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import ZERO, Invoice, money_field

HUNDRED = Decimal("100")


class AdjustmentKind(models.TextChoices):
    # Taken off the bill: the total is the lines less the discounts.
    DISCOUNT = "discount", _("Discount")
    # What is left of the balance that the clinic will not collect.
    WRITE_OFF = "write_off", _("Write-off")


class InvoiceAdjustment(models.Model):
    """A discount or a write-off of an invoice, or the reversal of one."""

    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="adjustments", verbose_name=_("invoice")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AdjustmentKind.choices)
    amount = money_field(_("amount"), validators=[MinValueValidator(Decimal("0.01"))])
    # A discount given as a percentage of the lines keeps it, to show "10%".
    percent = models.DecimalField(
        _("percentage"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    reason = models.CharField(_("reason"), max_length=300)
    reverses = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
        verbose_name=_("reverses"),
    )
    # The form's one-time token: a double click adds one discount.
    idempotency_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(_("made at"), auto_now_add=True)
    # Kept: the audit says who did it, so their user cannot be deleted (deactivate it).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("made by"),
    )

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("discount or write-off")
        verbose_name_plural = _("discounts and write-offs")
        permissions = [
            ("adjust_beyond_limits", _("Can discount and write off beyond reception's limits")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="adjustment_amount_positive"),
            models.CheckConstraint(
                condition=Q(percent__isnull=True) | Q(percent__gt=0, percent__lte=100),
                name="adjustment_percent_range",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="adjustment_has_reason"),
            models.CheckConstraint(
                condition=Q(kind__in=AdjustmentKind.values), name="adjustment_kind_known"
            ),
            models.UniqueConstraint(
                fields=["reverses"],
                condition=Q(reverses__isnull=False),
                name="adjustment_reversed_once",
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="adjustment_idempotency_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} of {self.invoice}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValidationError(_("A discount or write-off is never changed; reverse it."))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValidationError(_("A discount or write-off is never deleted; reverse it."))

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None


class BillingLimits(models.Model):
    """How far reception may go without a manager: the manager edits it in admin
    (one row). Managers (the `adjust_beyond_limits` permission) have no limit.

    A row, not a setting: it is the manager's business rule, like prices, and
    changes with the clinic's policy without a deployment; admin's history keeps
    who changed it."""

    reception_max_discount_percent = models.DecimalField(
        _("most reception may discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("10.00"),
        validators=[MinValueValidator(ZERO), MaxValueValidator(HUNDRED)],
        help_text=_("Of an invoice's services, all its discounts together. 0 for none."),
    )
    reception_max_write_off = money_field(
        _("most reception may write off"),
        default=ZERO,
        validators=[MinValueValidator(ZERO)],
        help_text=_(
            "Of one invoice, all its write-offs together, in the clinic's currency. "
            "0: only managers write off."
        ),
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("discount and write-off limits")
        verbose_name_plural = _("discount and write-off limits")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="billing_limits_one_row"),
            models.CheckConstraint(
                condition=Q(reception_max_discount_percent__gte=0)
                & Q(reception_max_discount_percent__lte=100)
                & Q(reception_max_write_off__gte=0),
                name="billing_limits_in_range",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Discount and write-off limits"))

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> BillingLimits:
        """The manager's limits; the defaults until the row exists."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)
