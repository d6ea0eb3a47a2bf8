"""Forms of the invoice pages. They parse what was typed; whether a payment, refund
or void is allowed is for the payments services to say."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.validators import RegexValidator

from .methods import desk_methods
from .selectors import SHOW_CHOICES, SHOW_DUE


def money_field(label: str) -> forms.DecimalField:
    """An amount of money: more than zero, with at most two decimal places."""
    return forms.DecimalField(
        label=label,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


class InvoiceFilterForm(forms.Form):
    show = forms.ChoiceField(choices=SHOW_CHOICES, required=False)
    q = forms.CharField(label="Invoice number or patient", required=False, max_length=100)

    def filters(self) -> dict[str, str]:
        """The filters for the invoices selector; an invalid value falls back to the
        default rather than failing the page."""
        self.is_valid()
        return {
            "show": self.cleaned_data.get("show") or SHOW_DUE,
            "query": self.cleaned_data.get("q") or "",
        }


class DeskPaymentForm(forms.Form):
    """Money taken at the desk. `token` is new each time the form is shown, so a
    double click (the same form sent twice) records one payment."""

    method = forms.ChoiceField(label="Method")
    amount = money_field("Amount")
    token = forms.CharField(
        widget=forms.HiddenInput,
        validators=[
            RegexValidator(r"^desk-[0-9a-f-]{36}$", "The form has expired; reload the page.")
        ],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["method"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(method.key, method.label) for method in desk_methods()]


class RefundForm(forms.Form):
    amount = money_field("Amount to refund")
    reason = forms.CharField(label="Reason", max_length=300)


class VoidForm(forms.Form):
    reason = forms.CharField(label="Why is the invoice void?", max_length=300)
