"""The daily cash-up page (reception and managers): a day's takings by method for
one desk user, the cash counted, and closing the day; printable."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic.kernel.users import User, staff_user

from . import cashup
from .exceptions import PaymentError
from .methods import all_methods
from .models import ZERO


class CashUpDayForm(forms.Form):
    day = forms.DateField(
        label=gettext_lazy("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    user = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean_day(self) -> date:
        day = self.cleaned_data.get("day") or timezone.localdate()
        today = timezone.localdate()
        if day > today or day < today - timedelta(days=366 * 5):
            raise forms.ValidationError(_("Choose a day between five years ago and today."))
        return day


class CloseForm(forms.Form):
    counted_cash = forms.DecimalField(
        label=gettext_lazy("Cash counted"),
        min_value=ZERO,
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_counted_cash(self) -> Decimal:
        """Negative counts are refused (min_value); "-0" is a count of nothing and
        kept as 0.00, not as a negative zero printed "-0.00" on the cash-up."""
        value: Decimal = self.cleaned_data["counted_cash"]
        return ZERO if value == 0 else value


def _desk_user(request: HttpRequest, me: User, wanted: int | None) -> User:
    if wanted and wanted != me.pk and me.has_perm("payments.close_any_cash_up"):
        found = get_user_model().objects.filter(pk=wanted).first()
        if found is not None:
            return found
    return me


@permission_required("payments.view_cashup", raise_exception=True)
def cash_up(request: HttpRequest) -> HttpResponse:
    me = staff_user(request)
    picker = CashUpDayForm(request.GET or None)
    picked = picker.is_valid()
    day = picker.cleaned_data["day"] if picked else timezone.localdate()
    wanted = picker.cleaned_data.get("user") if picked else None
    desk_user = _desk_user(request, me, wanted)
    close_form = CloseForm(request.POST or None)
    confirming = False
    if request.method == "POST" and (
        (picker.is_bound and not picked) or (wanted and wanted != desk_user.pk)
    ):
        # The day or desk user in the address is not the one shown: closing
        # "today" or one's own instead would close the wrong cash-up.
        messages.error(
            request,
            _("Nothing was closed: choose a valid day and desk user, then close the day."),
        )
    elif request.method == "POST" and close_form.is_valid() and "confirm" not in request.POST:
        # A day closed is closed for good: first the count against what is
        # expected, then "Close the day" once more to close it.
        confirming = True
    elif request.method == "POST" and close_form.is_valid():
        try:
            cashup.close_cash_up(
                day=day,
                desk_user=desk_user,
                counted_cash=close_form.cleaned_data["counted_cash"],
                note=close_form.cleaned_data["note"],
                by=me,
            )
        except PaymentError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The cash-up is closed."))
            query = urlencode({"day": day.isoformat(), "user": desk_user.pk})
            return redirect(f"{reverse('payments:cash_up')}?{query}")
    row = cashup.cash_up_of(day=day, desk_user=desk_user)
    context: dict[str, Any] = {
        "confirming": confirming,
        "day": day,
        "picker": picker if picker.is_bound else CashUpDayForm(initial={"day": day}),
        "desk_user": desk_user,
        "row": row,
        "close_form": close_form,
        "others": [],
        # The desk user asked for, kept by the day picker even when it is refused.
        "picked_user": (picker.data.get("user") if picker.is_bound else None)
        or (desk_user.pk if desk_user.pk != me.pk else ""),
    }
    if row is not None and row.is_closed:
        methods = all_methods()
        context["taken"] = [
            (methods[key].label if key in methods else key, Decimal(amount))
            for key, amount in row.taken.items()
        ]
    else:
        taken = cashup.taken_on(day=day, desk_user=desk_user)
        context["taken"] = [(item.label, item.net) for item in taken]
        context["cash_expected"] = next(
            (item.net for item in taken if item.method == cashup.CASH), ZERO
        )
        if confirming:
            context["difference"] = (
                close_form.cleaned_data["counted_cash"] - context["cash_expected"]
            )
    if me.has_perm("payments.close_any_cash_up"):
        context["others"] = [user for user in cashup.desk_users_on(day) if user.pk != desk_user.pk]
    return render(request, "payments/cash_up.html", context)
