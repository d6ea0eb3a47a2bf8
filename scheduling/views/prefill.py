"""What the day and week views' free time asks the booking page to fill in: the
doctor, the date and the time (?doctor=<id>&date=YYYY-MM-DD&time=HH:MM). Each is
read on its own and one that cannot be read is left out: the page then asks as it
always does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _

from clinic.kernel.dates import validate_schedule_date
from doctors.models import Doctor


@dataclass(frozen=True)
class BookingPrefill:
    doctor: Doctor | None = None
    day: date | None = None
    time: time | None = None

    def fields(self) -> list[tuple[str, str]]:
        """The parameters to carry through the patient search, as (name, value)."""
        values = [
            ("doctor", str(self.doctor.pk) if self.doctor else ""),
            ("date", self.day.isoformat() if self.day else ""),
            ("time", f"{self.time:%H:%M}" if self.time else ""),
        ]
        return [(name, value) for name, value in values if value]

    @property
    def query(self) -> str:
        """`&doctor=…&date=…&time=…` to add to a link of the booking page."""
        fields = self.fields()
        return f"&{urlencode(fields)}" if fields else ""

    def search_initial(self) -> dict[str, object]:
        return {
            key: value
            for key, value in (("doctor", self.doctor), ("date", self.day))
            if value is not None
        }

    def booking_initial(self) -> dict[str, object]:
        return {"time": self.time} if self.time else {}


def booking_prefill(request: HttpRequest) -> BookingPrefill:
    params = request.POST if request.method == "POST" else request.GET
    doctor_id = params.get("doctor", "").strip()
    doctor = (
        Doctor.objects.active().filter(pk=int(doctor_id)).first()
        if doctor_id.isdigit() and len(doctor_id) < 19
        else None
    )
    prefill = BookingPrefill(doctor, _day(params.get("date", "")), _time(params.get("time", "")))
    # The search form, once submitted, reports its own errors.
    if request.method == "GET" and "service" not in params:
        _say_what_was_left_out(request, params, prefill, doctor_id)
    return prefill


def _say_what_was_left_out(request, params, prefill: BookingPrefill, doctor_id: str) -> None:
    """A link (or a person editing it) asked for what cannot be read: the page says
    so instead of silently showing something else."""
    unread = [
        asked[:40]
        for asked, read in (
            (doctor_id, prefill.doctor),
            (params.get("date", "").strip(), prefill.day),
            (params.get("time", "").strip(), prefill.time),
        )
        if asked and read is None
    ]
    if unread:
        messages.warning(
            request,
            _("Left out what could not be read: %(values)s. Choose them below.")
            % {"values": ", ".join(f"“{value}”" for value in unread)},
        )


def _day(value: str) -> date | None:
    try:
        day = date.fromisoformat(value.strip())
        validate_schedule_date(day)
    except (ValueError, ValidationError):
        return None
    return day


def _time(value: str) -> time | None:
    try:
        return time.fromisoformat(value.strip()).replace(second=0, microsecond=0)
    except ValueError:
        return None
