from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.conf import settings

from .models import Channel, Status

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# The outbox starts with the clinic's software; a year outside this is a typing
# mistake (and a day near year 9999 has no next day to bound the search with).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


def validate_outbox_date(value: date) -> None:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise forms.ValidationError(f"Choose a date between {FIRST_DAY.year} and {LAST_DAY.year}.")


def channel_choices() -> list[tuple[str, str]]:
    """The configured channels, read when the form is built (settings may change)."""
    labels = dict(Channel.choices)
    return [("", "Any channel")] + [
        (name, labels.get(name, name)) for name in settings.NOTIFICATION_CHANNELS
    ]


class OutboxFilterForm(forms.Form):
    """What reception is looking for in the outbox. Days are the clinic's days of
    when the message was due to go (`send_after`), both ends included."""

    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    channel = forms.ChoiceField(choices=channel_choices, required=False)
    date_from = forms.DateField(
        label="From", required=False, widget=DATE_INPUT, validators=[validate_outbox_date]
    )
    date_to = forms.DateField(
        label="To", required=False, widget=DATE_INPUT, validators=[validate_outbox_date]
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", "The last day comes before the first.")
        return data

    def filters(self) -> dict:
        """The valid filters, for the outbox selector; an invalid one is left out
        (and shown as an error) rather than failing the page."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value not in ("", None)}
