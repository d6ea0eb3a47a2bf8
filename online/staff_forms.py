"""Reception's forms for the waitlist: a patient added at the desk, a new priority."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doctors.models import Doctor
from patients.models import Patient
from scheduling.models import Service

from .models import TimesOfDay
from .waitlist import PRIORITY_LIMIT

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def priority_field() -> forms.IntegerField:
    return forms.IntegerField(
        label=_("Priority"),
        initial=0,
        min_value=-PRIORITY_LIMIT,
        max_value=PRIORITY_LIMIT,
        help_text=_("Higher is offered first; then who joined first."),
    )


class AddWaiterForm(forms.Form):
    """A patient put on the waitlist by reception (the patient is picked first, as
    on the booking page)."""

    patient = forms.ModelChoiceField(
        queryset=Patient.objects.filter(merged_into__isnull=True),
        widget=forms.HiddenInput,
        error_messages={"required": _("Find and choose the patient first.")},
    )
    service = forms.ModelChoiceField(
        label=_("Service"), queryset=Service.objects.active(), empty_label=None
    )
    doctor = forms.ModelChoiceField(
        label=_("Doctor"),
        queryset=Doctor.objects.active(),
        required=False,
        empty_label=_("Any doctor"),
    )
    date_from = forms.DateField(label=_("From"), widget=DATE_INPUT)
    date_to = forms.DateField(label=_("Until"), widget=DATE_INPUT)
    times_of_day = forms.ChoiceField(
        label=_("Times of day"), choices=TimesOfDay.choices, initial=TimesOfDay.ANY
    )
    priority = priority_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["date_from"].initial = timezone.localdate()


class PriorityForm(forms.Form):
    priority = priority_field()
