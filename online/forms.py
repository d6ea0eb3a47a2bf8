"""The booking site's forms: who is booking, the texted code, and a waitlist wish.

They check what was typed; the rules (who may book, which times, how long a wait)
stay in online.services and online.waitlist, which the views call."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doctors.models import Doctor
from patients.models import validate_date_of_birth

from .models import OnlineRules, TimesOfDay
from .services import normalised_phone
from .waitlist import WaitlistError, check_dates, times_of_day_worked

# The field a person never sees (hidden by online.css and out of the tab order);
# a robot that fills every field fills it.
HONEYPOT = "website"


class DetailsForm(forms.Form):
    """Name, date of birth, phone and an optional email, with the honeypot."""

    given_name = forms.CharField(
        label=_("First name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    family_name = forms.CharField(
        label=_("Last name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter your date of birth, for example 1984-03-12.")},
    )
    phone = forms.CharField(
        label=_("Mobile phone"),
        max_length=30,
        help_text=_("We text a 6-digit code to this phone."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )
    email = forms.EmailField(
        label=_("Email (optional)"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def clean_given_name(self) -> str:
        return self.cleaned_data["given_name"].strip()

    def clean_family_name(self) -> str:
        return self.cleaned_data["family_name"].strip()

    def clean_phone(self) -> str:
        phone = normalised_phone(self.cleaned_data["phone"])
        if not phone:
            raise ValidationError(
                _("This is not a phone number we can text. Check it, with the area code.")
            )
        return phone

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        born = cleaned.get("date_of_birth")
        if born is not None:
            try:
                validate_date_of_birth(born)
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned

    @property
    def is_robot(self) -> bool:
        return bool(self.data.get(HONEYPOT, "").strip())


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9 ]*",
            }
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].replace(" ", "")
        if not (len(code) == 6 and code.isdigit()):
            raise ValidationError(_("The code is the 6 digits in the text we sent."))
        return code


class DoctorField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Doctor) -> str:
        return obj.display_name


class WaitlistForm(forms.Form):
    """When the patient could come: dates, a time of day, a doctor or any."""

    date_from = forms.DateField(
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("Until"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    times_of_day = forms.ChoiceField(
        label=_("Times of day"),
        choices=TimesOfDay.choices,
        initial=TimesOfDay.ANY,
        widget=forms.RadioSelect,
    )
    doctor = DoctorField(
        label=_("Doctor"),
        queryset=Doctor.objects.none(),
        required=False,
        empty_label=_("Any doctor"),
    )

    def __init__(self, *args, doctors, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        doctor_field = self.fields["doctor"]
        assert isinstance(doctor_field, DoctorField)
        doctor_field.queryset = doctors
        times = self.fields["times_of_day"]
        assert isinstance(times, forms.ChoiceField)
        times.choices = times_of_day_worked(doctors)
        today = timezone.localdate()
        self.fields["date_from"].initial = today
        self.fields["date_to"].initial = today + timedelta(days=14)

    def clean(self) -> dict:
        # join_waitlist's own check of the dates, said now rather than after the code.
        cleaned = super().clean() or {}
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if isinstance(first, date) and isinstance(last, date):
            try:
                check_dates(first, last)
            except WaitlistError as error:
                self.add_error("date_to", error.message)
            else:
                horizon = OnlineRules.current().horizon_days
                if last > timezone.localdate() + timedelta(days=horizon):
                    self.add_error(
                        "date_to",
                        _("We book online at most %(days)s days ahead.") % {"days": horizon},
                    )
        return cleaned
