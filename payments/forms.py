"""Forms of the invoice pages. They parse what was typed; whether a payment, refund,
discount, write-off or void is allowed is for the payments services to say."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from .methods import desk_methods

if TYPE_CHECKING:  # Type checking only: django-stubs is a development tool.
    from django_stubs_ext import StrOrPromise
from .selectors import SHOW_CHOICES, SHOW_DEFAULT


def money_field(label: StrOrPromise) -> forms.DecimalField:
    """An amount of money: more than zero, with at most two decimal places."""
    return forms.DecimalField(
        label=label,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


def token_field() -> forms.CharField:
    """A form's one-time token: the same form sent twice acts once."""
    return forms.CharField(
        widget=forms.HiddenInput,
        validators=[
            RegexValidator(r"^desk-[0-9a-f-]{36}$", _("The form has expired; reload the page."))
        ],
    )


class InvoiceFilterForm(forms.Form):
    show = forms.ChoiceField(label=_("Show"), choices=SHOW_CHOICES, required=False)
    q = forms.CharField(label=_("Invoice number or patient"), required=False, max_length=100)
    issued = forms.DateField(
        label=_("Issued on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def filters(self) -> dict[str, Any]:
        """The filters for the invoices selector; an invalid value falls back to the
        default rather than failing the page."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "show": data.get("show") or SHOW_DEFAULT,
            "query": data.get("q") or "",
            "issued_on": data.get("issued"),
        }


class DeskPaymentForm(forms.Form):
    """Money taken at the desk. `token` is new each time the form is shown, so a
    double click (the same form sent twice) records one payment."""

    method = forms.ChoiceField(label=_("Method"))
    amount = money_field(_("Amount"))
    token = token_field()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["method"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(method.key, method.label) for method in desk_methods()]


class RefundForm(forms.Form):
    """A refund is money returned and nothing more owed unless staff choose to
    re-bill it."""

    RETURNED = "returned"
    REBILL = "rebill"

    amount = money_field(_("Amount to refund"))
    reason = forms.CharField(label=_("Reason"), max_length=300)
    token = token_field()
    meaning = forms.ChoiceField(
        label=_("After the refund"),
        choices=[
            (RETURNED, _("Money returned: nothing more is owed")),
            (REBILL, _("Refund and re-bill: the amount is owed again")),
        ],
        initial=RETURNED,
        widget=forms.RadioSelect,
        # Left out, it means the default: money returned.
        required=False,
    )

    @property
    def owed_again(self) -> bool:
        return self.cleaned_data.get("meaning") == self.REBILL


class DiscountForm(forms.Form):
    """A discount: a percentage of the services or an amount, and why. Prefixed: its
    fields share the invoice page with the other forms'."""

    prefix = "discount"

    PERCENT = "percent"
    AMOUNT = "amount"

    value = forms.DecimalField(
        label=_("Discount"),
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    unit = forms.ChoiceField(label=_("Given as"), choices=[])
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": _("Senior discount")}),
    )
    token = token_field()

    def __init__(self, *args: Any, currency: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit = self.fields["unit"]
        assert isinstance(unit, forms.ChoiceField)
        # xgettext:no-python-format
        percent = _("% of the services")
        unit.choices = [(self.PERCENT, percent), (self.AMOUNT, currency)]

    def amounts(self) -> dict[str, Decimal | None]:
        """The service's `amount` or `percent`."""
        value, unit = self.cleaned_data["value"], self.cleaned_data["unit"]
        if unit == self.PERCENT:
            return {"amount": None, "percent": value}
        return {"amount": value, "percent": None}


class WriteOffForm(forms.Form):
    """A write-off of the balance, or of part of it, and why."""

    prefix = "write-off"

    amount = money_field(_("Amount to write off"))
    reason = forms.CharField(label=_("Reason"), max_length=300)
    token = token_field()


class ReversalForm(forms.Form):
    reason = forms.CharField(label=_("Why is it reversed?"), max_length=300)


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Why is the invoice void?"), max_length=300)
