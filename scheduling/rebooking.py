"""Appointments stranded by a change of the doctor's timetable (issue 16, point 5).

When the manager adds time off or shortens working hours over appointments that
patients still expect, admin first lists them (`displaced_appointments`, asked with
the timetable as it would be) and, once the manager saves anyway, flags each one
"needs rebooking" (`flag_for_rebooking`). Reception works the open flags from the
rebooking list: texting the patient that the clinic will call (`promise_call`) or
moving the appointment. Rescheduling or cancelling it clears its flag
(`clear_rebooking`, called by those services), and so does giving the doctor the
time back (`release_restored`, after any save of the timetable in admin)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.kernel.dates import format_day, format_time_of_day
from clinic.kernel.users import User
from doctors.models import Doctor, TimeOff, Weekday, WorkingHours

from . import signals
from .availability import Window, local_day, working_windows
from .exceptions import SchedulingError
from .lifecycle import record_change
from .models import NEEDS_CARE, Appointment, AppointmentChange, RebookingFlag

Action = AppointmentChange.Action


@dataclass(frozen=True)
class Leave(Window):
    """A period of time off, with the doctor's reason for it."""

    reason: str = ""


@dataclass(frozen=True)
class Timetable:
    """When a doctor works: the weekly ranges and the periods of time off."""

    hours: list[WorkingHours]
    time_off: list[Leave]

    def refusal(self, appointment: Appointment) -> str | None:
        """Why the appointment's time is not the doctor's, in the clinic's words, or
        None when it lies inside the hours of its day and outside all time off (the
        rules of availability.check_bookable without the clock: an appointment
        already booked is judged by its own time)."""
        starts_at, ends_at = appointment.starts_at, appointment.ends_at
        leave = next((item for item in self.time_off if item.overlaps(starts_at, ends_at)), None)
        if leave is not None:
            return leave_words(leave)
        windows = working_windows(local_day(starts_at), self.hours)
        if any(window.contains(starts_at, ends_at) for window in windows):
            return None
        weekday = timezone.localtime(starts_at).weekday()
        ranges = sorted((item.starts, item.ends) for item in self.hours if item.weekday == weekday)
        names = {"weekday": str(Weekday(weekday).label)}
        if not ranges:
            return _("No working hours on %(weekday)s any more.") % names
        names["hours"] = ", ".join(
            f"{format_time_of_day(starts)}–{format_time_of_day(ends)}" for starts, ends in ranges
        )
        return _("Working hours on %(weekday)s are now %(hours)s.") % names


def leave_words(leave: Leave) -> str:
    starts, ends = timezone.localtime(leave.starts_at), timezone.localtime(leave.ends_at)
    words = _("Time off %(starts)s – %(ends)s") % {
        "starts": f"{format_day(starts)} {format_time_of_day(starts)}",
        "ends": f"{format_day(ends)} {format_time_of_day(ends)}",
    }
    return f"{words} ({leave.reason})." if leave.reason else f"{words}."


def leave_of(leave: TimeOff) -> Leave:
    return Leave(leave.starts_at, leave.ends_at, leave.reason)


def timetable_of(doctor: Doctor) -> Timetable:
    """The doctor's timetable as saved."""
    return Timetable(
        hours=list(WorkingHours.objects.filter(doctor=doctor)),
        time_off=[leave_of(leave) for leave in TimeOff.objects.filter(doctor=doctor)],
    )


@dataclass(frozen=True)
class Displaced:
    """An appointment a timetable change would strand, and why."""

    appointment: Appointment
    reason: str


def displaced_appointments(
    *,
    doctor: Doctor,
    hours: list[WorkingHours] | None = None,
    time_off: list[Leave] | None = None,
    now: datetime | None = None,
) -> list[Displaced]:
    """The doctor's appointments still to come (booked, confirmed or arrived, and
    not flagged yet) that fit the timetable as saved but would not fit it with
    `hours` and/or `time_off` instead (None keeps the saved ones), each with why.
    An appointment that already lay outside the timetable is not this change's
    doing. Three queries, whatever the change."""
    now = now or timezone.now()
    saved = timetable_of(doctor)
    proposed = Timetable(
        hours=saved.hours if hours is None else hours,
        time_off=saved.time_off if time_off is None else time_off,
    )
    upcoming = (
        Appointment.objects.filter(doctor=doctor, status__in=NEEDS_CARE, ends_at__gt=now)
        .exclude(pk__in=RebookingFlag.objects.filter(cleared_at=None).values("appointment_id"))
        .select_related("patient", "service", "doctor")
        .order_by("starts_at", "pk")
    )
    displaced = []
    for appointment in upcoming:
        if saved.refusal(appointment) is not None:
            continue
        reason = proposed.refusal(appointment)
        if reason is not None:
            displaced.append(Displaced(appointment, reason))
    return displaced


def flag_for_rebooking(*, displaced: Iterable[Displaced], by: User | None) -> list[RebookingFlag]:
    """Flag each displaced appointment "needs rebooking", with why, when and by whom,
    and a history entry. One already flagged keeps its flag (one open flag per
    appointment, held by a partial unique constraint)."""
    flags = []
    with transaction.atomic():
        for appointment, reason in ((item.appointment, item.reason) for item in displaced):
            if RebookingFlag.objects.filter(appointment=appointment, cleared_at=None).exists():
                continue
            flags.append(
                RebookingFlag.objects.create(appointment=appointment, reason=reason, flagged_by=by)
            )
            record_change(
                appointment,
                Action.NEEDS_REBOOKING,
                by=by,
                from_status=appointment.status,
                note=reason[:300],
            )
    return flags


def clear_rebooking(*, appointment: Appointment, by: User | None) -> int:
    """The appointment has been dealt with (moved or cancelled): its open flag, if
    any, is cleared. Called inside the transaction of that change; returns how many
    flags it cleared (0 or 1)."""
    return RebookingFlag.objects.filter(appointment=appointment, cleared_at=None).update(
        cleared_at=timezone.now(), cleared_by=by
    )


def release_restored(*, doctor: Doctor, by: User | None) -> int:
    """Clear the open flags of the doctor's appointments whose time the doctor has
    again (the time off taken back, the hours given back): they need no rebooking
    any more. Returns how many."""
    timetable = timetable_of(doctor)
    flags = RebookingFlag.objects.filter(cleared_at=None, appointment__doctor=doctor)
    restored = [
        flag.pk
        for flag in flags.select_related("appointment")
        if timetable.refusal(flag.appointment) is None
    ]
    return RebookingFlag.objects.filter(pk__in=restored).update(
        cleared_at=timezone.now(), cleared_by=by
    )


def promise_call(*, flag: RebookingFlag, by: User | None) -> tuple[RebookingFlag, bool]:
    """Text the patient that the clinic will call them to rebook, once per flag:
    returns the flag and whether this call sent it (False when it had been sent
    already, by a second click or a colleague). Refused with a clear message when
    the flag is no longer open, or the patient has no phone or takes no texts.
    `rebooking_call_promised` lets notifications queue the text in the same
    transaction."""
    with transaction.atomic():
        current = (
            RebookingFlag.objects.select_for_update(of=("self",))
            .select_related("appointment__patient", "appointment__doctor")
            .get(pk=flag.pk)
        )
        appointment, patient = current.appointment, current.appointment.patient
        if not current.is_open or appointment.status not in NEEDS_CARE:
            raise SchedulingError(_("This appointment no longer needs rebooking."))
        if current.patient_told_at is not None:
            return current, False
        if not patient.phone:
            raise SchedulingError(
                _("%(patient)s has no phone number on file: no text was sent. Call them instead.")
                % {"patient": patient.full_name}
            )
        if patient.sms_opt_out:
            raise SchedulingError(
                _("%(patient)s has opted out of texts: no text was sent. Call them instead.")
                % {"patient": patient.full_name}
            )
        current.patient_told_at = timezone.now()
        current.save(update_fields=["patient_told_at"])
        record_change(
            appointment,
            Action.REBOOKING_CALL,
            by=by,
            from_status=appointment.status,
            note=_("Texted that the clinic will call to rebook."),
        )
        signals.rebooking_call_promised.send(
            Appointment, appointment=appointment, flag=current, by=by
        )
    return current, True


def open_flags() -> QuerySet[RebookingFlag]:
    """The rebooking list: open flags, soonest appointment first, with what the page
    shows of each appointment, in one query."""
    return (
        RebookingFlag.objects.open()
        .select_related(
            "appointment__patient", "appointment__doctor", "appointment__service", "flagged_by"
        )
        .order_by("appointment__starts_at", "pk")
    )


def open_flag_count() -> int:
    return RebookingFlag.objects.open().count()
