"""The doctors endpoints of the JSON API (mounted by clinic/api.py): the staff
directory of the doctors page, one doctor, and when a doctor works."""

from __future__ import annotations

from typing import Annotated

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema

from clinic.kernel.api import ERRORS, require
from clinic.kernel.api_types import ClinicTime, get_or_404, path_id

from .models import Doctor, TimeOff, WorkingHours
from .selectors import doctor_directory

router = Router(tags=["doctors"])


class DoctorRef(Schema):
    """A doctor named inside another resource: their id and how the pages name them."""

    id: int
    name: str

    @staticmethod
    def resolve_name(doctor: Doctor) -> str:
        return doctor.display_name


# Time off is listed ahead of today, a bounded number of periods at a time.
UPCOMING_TIME_OFF = 50


class SpecialtyOut(Schema):
    id: int
    name: str


# A wall-clock time in the clinic, "09:00": the same every week, so it has no offset
# (which changes with daylight saving time). JSON Schema's "time" format requires one.
WallClock = Annotated[str, Field(pattern=r"^\d{2}:\d{2}$", description="Clinic local time, HH:MM.")]


class HoursOut(Schema):
    """One range of the weekly timetable; weekday 0 is Monday."""

    weekday: int = Field(ge=0, le=6)
    weekday_name: str
    starts: WallClock
    ends: WallClock

    @staticmethod
    def resolve_weekday_name(hours: WorkingHours) -> str:
        return hours.get_weekday_display()

    @staticmethod
    def resolve_starts(hours: WorkingHours) -> str:
        return f"{hours.starts:%H:%M}"

    @staticmethod
    def resolve_ends(hours: WorkingHours) -> str:
        return f"{hours.ends:%H:%M}"


class DoctorOut(Schema):
    id: int
    given_name: str
    family_name: str
    display_name: str
    specialty: SpecialtyOut | None
    phone: str
    email: str
    is_active: bool
    working_hours: list[HoursOut]

    @staticmethod
    def resolve_phone(doctor: Doctor) -> str:
        return doctor.phone.as_e164 if doctor.phone else ""

    @staticmethod
    def resolve_working_hours(doctor: Doctor) -> list[WorkingHours]:
        return list(doctor.working_hours.all())


class TimeOffOut(Schema):
    starts_at: ClinicTime
    ends_at: ClinicTime
    reason: str


class AvailabilityOut(Schema):
    doctor: int
    working_hours: list[HoursOut]
    time_off: list[TimeOffOut]


def _doctors() -> QuerySet[Doctor]:
    """Every doctor, active or not, with what DoctorOut shows: an appointment may
    name a doctor who has since left the directory."""
    return Doctor.objects.select_related("specialty").prefetch_related(
        Prefetch("working_hours", queryset=WorkingHours.objects.order_by("weekday", "starts"))
    )


@router.get("/doctors", response={200: list[DoctorOut], **ERRORS})
def list_doctors(request: HttpRequest) -> list[Doctor]:
    """The active doctors with their specialty and weekly hours, as on the doctors page."""
    require(request, "doctors.view_doctor")
    return list(doctor_directory())


@router.get("/doctors/{id}", response={200: DoctorOut, **ERRORS})
def get_doctor(request: HttpRequest, id: int = path_id("The doctor's id.")) -> Doctor:
    """One doctor, active or not."""
    require(request, "doctors.view_doctor")
    return get_or_404(_doctors(), id)


@router.get("/doctors/{id}/working-hours", response={200: AvailabilityOut, **ERRORS})
def doctor_working_hours(request: HttpRequest, id: int = path_id("The doctor's id.")) -> dict:
    """The doctor's weekly hours (clinic local times) and the time off not yet over,
    soonest first (at most 50 periods)."""
    require(request, "doctors.view_doctor", "doctors.view_workinghours", "doctors.view_timeoff")
    doctor = get_or_404(_doctors(), id)
    time_off = TimeOff.objects.filter(doctor=doctor, ends_at__gt=timezone.now()).order_by(
        "starts_at"
    )[:UPCOMING_TIME_OFF]
    return {
        "doctor": doctor.pk,
        "working_hours": list(doctor.working_hours.all()),
        "time_off": list(time_off),
    }
