"""The daily cash-up: for one clinic day and one desk user, what they took by
method, the cash they counted, the difference and a note. Closing it records who
closed it and when; a closed day never changes (see payments/cashup.py).
Imported by payments.models."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import money_field


class CashUp(models.Model):
    """Made when the desk user first takes or refunds money that day (the row the
    payments lock, so a payment and the close never cross) or when they close it."""

    day = models.DateField(_("day"))
    desk_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("desk user"),
    )
    # What the payments said at the close: {"cash": "72.00", ...} (net of refunds).
    taken = models.JSONField(_("taken by method"), default=dict, blank=True)
    cash_expected = money_field(_("cash expected"), null=True, blank=True)
    counted_cash = money_field(_("cash counted"), null=True, blank=True)
    difference = money_field(_("difference"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )

    class Meta:
        ordering = ["-day", "desk_user"]
        verbose_name = _("cash-up")
        verbose_name_plural = _("cash-ups")
        permissions = [("close_any_cash_up", _("Can close any desk user's cash-up"))]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "desk_user"], name="cash_up_one_per_day_and_user"
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True)
                | Q(closed_by__isnull=False, counted_cash__isnull=False),
                name="cash_up_closed_has_count",
            ),
        ]

    def __str__(self) -> str:
        return f"Cash-up {self.day} {self.desk_user}"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None
