from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.kernel.dates import clinic_zone, validate_schedule_date
from doctors.models import Doctor
from patients.models import Patient

from .constraints import MAX_APPOINTMENT_MINUTES, MIN_APPOINTMENT_MINUTES
from .models import Service

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def schedule_date_field() -> forms.DateField:
    return forms.DateField(widget=DATE_INPUT, validators=[validate_schedule_date])


def slot_value(doctor_id: int, starts_at: datetime) -> str:
    """What a free-slot button submits: "<doctor id>@<ISO start with offset>"."""
    return f"{doctor_id}@{starts_at.isoformat()}"


def parse_slot(value: str) -> tuple[int, datetime]:
    doctor, _sep, iso_start = value.partition("@")
    try:
        starts_at = datetime.fromisoformat(iso_start)
        doctor_id = int(doctor)
    except ValueError:
        raise forms.ValidationError(_("That time is not one of the offered ones.")) from None
    if timezone.is_naive(starts_at):
        raise forms.ValidationError(_("That time is not one of the offered ones."))
    return doctor_id, starts_at


# How free times are shown: the chosen day's, or the first ones from it on.
SHOW_DAY, SHOW_NEXT = "day", "next"
SHOW_CHOICES = [(SHOW_DAY, _("That day")), (SHOW_NEXT, _("Next available"))]


def show_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Show"),
        choices=SHOW_CHOICES,
        required=False,
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),
    )


def with_show(data: Any) -> Any:
    """Form data that says how to show free times: that day's unless asked (older
    links and forms do not say), so one of the choices is always marked."""
    if data is None or data.get("show") in dict(SHOW_CHOICES):
        return data
    data = data.copy()
    data["show"] = SHOW_DAY
    return data


class SlotSearchForm(forms.Form):
    """What reception is looking for: a service, a doctor (or any), a day, and
    whether to see that day's free times or the next available from it on."""

    service = forms.ModelChoiceField(queryset=Service.objects.active(), empty_label=None)
    doctor = forms.ModelChoiceField(
        queryset=Doctor.objects.active(), required=False, empty_label="Any doctor"
    )
    date = schedule_date_field()
    show = show_field()

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(with_show(data), *args, **kwargs)


class ChosenTimeForm(forms.Form):
    """A start time: a free slot picked from the list, or a time typed by reception
    on the chosen date (in the clinic's zone)."""

    date = schedule_date_field()
    slot = forms.CharField(required=False, widget=forms.HiddenInput)
    time = forms.TimeField(
        label="Time",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M"),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        if data.get("slot"):
            data["slot_doctor_id"], data["starts_at"] = parse_slot(data["slot"])
        elif data.get("time"):
            data["starts_at"] = datetime.combine(data["date"], data["time"], clinic_zone())
        else:
            raise forms.ValidationError(_("Pick a free time, or type a time."))
        return data


class BookingForm(SlotSearchForm, ChosenTimeForm):
    patient = forms.ModelChoiceField(queryset=Patient.objects.all(), widget=forms.HiddenInput)
    reason = forms.CharField(label="Reason for visit", max_length=300, required=False)
    duration_minutes = forms.IntegerField(
        label="Length (minutes)",
        required=False,
        min_value=MIN_APPOINTMENT_MINUTES,
        max_value=MAX_APPOINTMENT_MINUTES,
        help_text="Leave empty for the service's usual length.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        if "slot_doctor_id" in data:
            data["doctor"] = Doctor.objects.filter(pk=data["slot_doctor_id"]).first()
            if data["doctor"] is None:
                raise forms.ValidationError(_("That time is not one of the offered ones."))
        elif data.get("doctor") is None:
            raise forms.ValidationError(_("Choose the doctor for a time of your choice."))
        minutes = data.get("duration_minutes")
        data["duration"] = timedelta(minutes=minutes) if minutes else None
        return data


class RescheduleForm(ChosenTimeForm):
    """A new time for an appointment, with its doctor or another one who offers its
    service (a slot names its doctor; a typed time is with the doctor chosen, or the
    appointment's own when "any")."""

    doctor = forms.ModelChoiceField(
        label=_("Doctor"),
        queryset=Doctor.objects.none(),
        required=False,
        empty_label=_("Any doctor"),
    )
    show = show_field()

    def __init__(self, data: Any = None, *args: Any, service: Service, **kwargs: Any) -> None:
        super().__init__(with_show(data), *args, **kwargs)
        doctor = self.fields["doctor"]
        assert isinstance(doctor, forms.ModelChoiceField)
        doctor.queryset = service.offering_doctors().active().order_by("family_name", "pk")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        if "slot_doctor_id" in data:
            data["doctor"] = Doctor.objects.filter(pk=data["slot_doctor_id"]).first()
            if data["doctor"] is None:
                raise forms.ValidationError(_("That time is not one of the offered ones."))
        return data


class WalkInForm(forms.Form):
    """The patient at the desk, what they need, and a doctor or whoever is free."""

    patient = forms.ModelChoiceField(queryset=Patient.objects.all(), widget=forms.HiddenInput)
    service = forms.ModelChoiceField(
        label=_("Service"), queryset=Service.objects.active(), empty_label=None
    )
    doctor = forms.ModelChoiceField(
        label=_("Doctor"),
        queryset=Doctor.objects.active(),
        required=False,
        empty_label=_("Any free doctor"),
    )


class CancelReasonForm(forms.Form):
    """Why an appointment is cancelled: a common reason picked, with details if
    wished, or another reason written out. The appointment page's short form sends
    only `reason`, which counts as another reason."""

    OTHER = "other"
    COMMON_REASONS = (
        ("patient_asked", _("The patient asked")),
        ("doctor_unavailable", _("The doctor is unavailable")),
        ("booked_in_error", _("Booked in error")),
        (OTHER, _("Another reason")),
    )

    common_reason = forms.ChoiceField(
        label=_("Why is it cancelled?"),
        choices=COMMON_REASONS,
        widget=forms.RadioSelect,
        required=False,
    )
    reason = forms.CharField(
        label=_("Details"),
        help_text=_("Required for another reason."),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        common = data.get("common_reason") or self.OTHER
        details = data.get("reason", "").strip()
        if common == self.OTHER:
            if not details:
                self.add_error("reason", _("Say why the appointment is cancelled."))
                return data
            data["full_reason"] = details
        else:
            label = str(dict(self.COMMON_REASONS)[common])
            data["full_reason"] = f"{label}: {details}" if details else label
        return data
