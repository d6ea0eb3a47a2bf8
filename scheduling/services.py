"""The appointment lifecycle. Every change of an appointment goes through these
functions: each runs in one transaction, refuses what the rules refuse with a
`SchedulingError` (changing nothing), writes the appointment's history, and sends
its domain signal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from clinic.kernel.users import User
from doctors.models import Doctor
from patients.models import Patient

from . import signals
from .availability import check_bookable, check_offered, end_of, require_aware
from .exceptions import InvalidTimes, InvalidTransition, Overlap, SchedulingError, Unavailable
from .lifecycle import lock_appointment, record_change, refusal, take_step
from .models import RESCHEDULABLE, Appointment, AppointmentChange, Service, same_clinic_day
from .overlaps import (
    check_no_overlap,
    day_of_booking,
    lock_calendars,
    overlap_from_race,
)
from .rebooking import clear_rebooking
from .selectors import NEXT_FREE_DAYS, Slot, known_history, next_free_slot, walk_in_slot

Action = AppointmentChange.Action


def book_appointment(
    *,
    patient: Patient,
    doctor: Doctor,
    service: Service,
    starts_at: datetime,
    booked_by: User | None,
    duration: timedelta | None = None,
    reason: str = "",
    via: str = "",
) -> Appointment:
    """Book `patient` with `doctor` for `service` at `starts_at`.

    The length is the service's unless reception overrides it with `duration`. The
    time must lie inside the doctor's working hours and outside their time off, not
    start in the past (a walk-in "now" is allowed), and overlap no active appointment
    of the doctor or of the patient. The database's exclusion constraints keep the
    last rule under any concurrency; a race lost there raises the same `Overlap`.
    `via` names who booked when it was not staff (AppointmentChange.Via).
    """
    starts_at = require_aware(starts_at)
    # `is None`, not `or`: an override of no length is refused, not ignored.
    ends_at = end_of(starts_at, service.duration if duration is None else duration)
    if not service.is_active:
        raise Unavailable(_("%(service)s is no longer offered.") % {"service": service.name})
    booking: dict[str, Any] = {
        "doctor": doctor,
        "patient": patient,
        "starts_at": starts_at,
        "ends_at": ends_at,
    }
    try:
        with transaction.atomic():
            return _insert_booking(service=service, by=booked_by, reason=reason, via=via, **booking)
    except (IntegrityError, OperationalError) as error:
        raise overlap_from_race(error, **booking) from error


def clear_to_book(
    *, service: Service, doctor: Doctor, patient: Patient, starts_at: datetime, ends_at: datetime
) -> None:
    """Inside the caller's transaction: lock the doctor's and the patient's calendars
    and refuse, with the reason, a time that any booking rule refuses. What a new
    booking and a waitlist hold (holds.hold_time) both pass."""
    lock_calendars(doctor=doctor, patient=patient)
    # After the locks, so that a rival booking of the doctor or patient has
    # committed and is seen. All clear is the usual answer, in one query; else each
    # check runs in turn and the first to fail says why.
    hours, clear = day_of_booking(
        service=service, doctor=doctor, patient=patient, starts_at=starts_at, ends_at=ends_at
    )
    if not clear:
        check_offered(service=service, doctor=doctor)
    if patient.merged_into_id is not None:
        # A registration merged into another (patients.services.merge_patients):
        # the kept patient is the one to book, or the history splits again.
        raise Unavailable(
            _("%(patient)s was merged into patient #%(kept)s; book that patient.")
            % {"patient": patient, "kept": patient.merged_into_id}
        )
    check_bookable(
        doctor=doctor, starts_at=starts_at, ends_at=ends_at, hours=hours, time_off_checked=clear
    )
    if not clear:
        check_no_overlap(doctor=doctor, patient=patient, starts_at=starts_at, ends_at=ends_at)


def _insert_booking(
    *,
    doctor: Doctor,
    patient: Patient,
    service: Service,
    starts_at: datetime,
    ends_at: datetime,
    by: User | None,
    reason: str = "",
    walk_in: bool = False,
    via: str = "",
) -> Appointment:
    """The booking itself, inside the caller's transaction: lock, check, insert, record
    and announce."""
    clear_to_book(
        service=service, doctor=doctor, patient=patient, starts_at=starts_at, ends_at=ends_at
    )
    appointment = Appointment.objects.create(
        patient=patient,
        doctor=doctor,
        service=service,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason.strip(),
        walk_in=walk_in,
        created_by=by,
    )
    action = Action.BOOKED_WALK_IN if walk_in else Action.BOOKED
    change = record_change(appointment, action, by=by, from_status="", via=via)
    # A new appointment's whole history is the entry just written: callers that
    # show it (the API's answer) need not read it back.
    known_history(appointment, [change])
    signals.appointment_booked.send(Appointment, appointment=appointment, by=by, via=via)
    return appointment


# A walk-in whose time is taken between the search and the booking looks again;
# this many times, then it refuses.
WALK_IN_ATTEMPTS = 3


def book_walk_in(
    *, patient: Patient, service: Service, doctor: Doctor | None = None, by: User | None
) -> Appointment:
    """Book the patient standing at the desk and check them in, in one step.

    The time is the earliest start today, to the minute, from now on, at which
    `doctor` (or, without one, the active doctor free soonest) can take the service's
    length: every booking rule holds (working hours, time off, the doctor's and the
    patient's other appointments). Booked, confirmed and checked in in one
    transaction, with the three history entries; the appointment is marked
    `walk_in`, so notifications sends the patient no booked or confirmed text and no
    reminders, and the doctor is alerted of the arrival as usual. A time taken by a
    rival meanwhile (seen under the calendar locks or, at last, refused by the
    database's exclusion constraint) sends the search on to the next free minute, up
    to WALK_IN_ATTEMPTS times. Nobody free today is refused with the next free time.
    """
    if not service.is_active:
        raise Unavailable(_("%(service)s is no longer offered.") % {"service": service.name})
    if doctor is not None and not doctor.is_active:
        raise Unavailable(_("%(doctor)s no longer takes appointments.") % {"doctor": doctor})
    for _attempt in range(WALK_IN_ATTEMPTS):
        slot = walk_in_slot(service=service, patient=patient, doctor=doctor)
        if slot is None:
            raise Unavailable(no_walk_in_today(service=service, patient=patient, doctor=doctor))
        try:
            return _admit_walk_in(slot, patient=patient, service=service, by=by)
        except Overlap:
            continue  # Taken meanwhile: look again from now.
    raise Overlap(_("The calendar kept changing while booking this walk-in; try again."))


def _admit_walk_in(
    slot: Slot, *, patient: Patient, service: Service, by: User | None
) -> Appointment:
    booking: dict[str, Any] = {
        "doctor": slot.doctor,
        "patient": patient,
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
    }
    try:
        with transaction.atomic():
            appointment = _insert_booking(service=service, by=by, walk_in=True, **booking)
            confirmed = confirm_appointment(appointment=appointment, by=by)
            return check_in(appointment=confirmed, by=by)
    except (IntegrityError, OperationalError) as error:
        raise overlap_from_race(error, **booking) from error


def no_walk_in_today(*, service: Service, patient: Patient, doctor: Doctor | None) -> str:
    """Why a walk-in cannot be seen today, and the next free time to offer instead."""
    names = {"patient": patient, "service": service.name, "doctor": doctor}
    if doctor is None:
        reason = _("No doctor is free for %(patient)s (%(service)s) today.") % names
    else:
        reason = _("%(doctor)s is not free for %(patient)s (%(service)s) today.") % names
    later = next_free_slot(
        service=service, patient=patient, doctor=doctor, after=timezone.localdate()
    )
    if later is None:
        offer = _("There is no free time in the next %(days)s days either.") % {
            "days": NEXT_FREE_DAYS
        }
    else:
        starts = timezone.localtime(later.starts_at)
        offer = _("The next free time is %(day)s at %(time)s with %(doctor)s.") % {
            "day": f"{starts:%a %d %b}",
            "time": f"{starts:%H:%M}",
            "doctor": later.doctor,
        }
    return f"{reason} {offer}"


def confirm_appointment(*, appointment: Appointment, by: User | None, via: str = "") -> Appointment:
    """The patient confirmed they will come (booked -> confirmed)."""
    with transaction.atomic():
        current, _change = take_step(
            appointment, step="confirm", action=Action.CONFIRMED, by=by, via=via
        )
        signals.appointment_confirmed.send(Appointment, appointment=current, by=by, via=via)
    return current


def cancel_appointment(
    *, appointment: Appointment, reason: str, by: User | None, via: str = ""
) -> Appointment:
    """Cancel a booked or confirmed appointment; the reason is required and kept.
    Its time is free again at once."""
    reason = reason.strip()
    if not reason:
        raise SchedulingError("Say why the appointment is cancelled.")
    with transaction.atomic():
        current, _change = take_step(
            appointment,
            step="cancel",
            action=Action.CANCELLED,
            by=by,
            note=reason,
            via=via,
            cancellation_reason=reason,
        )
        clear_rebooking(appointment=current, by=by)
        signals.appointment_cancelled.send(Appointment, appointment=current, by=by, via=via)
    return current


def check_in(*, appointment: Appointment, by: User | None) -> Appointment:
    """The patient has arrived at the desk (confirmed -> arrived); the time is kept.

    Only on the appointment's day in the clinic's zone (early or late that day is
    fine): checking in tomorrow's patient would alert the doctor and drop the
    patient's reminders for a visit that is not happening now."""
    with transaction.atomic():
        current, change = take_step(
            appointment,
            step="check-in",
            action=Action.CHECKED_IN,
            by=by,
            check=_on_its_day,
            arrived_at=timezone.now(),
        )
        signals.patient_arrived.send(Appointment, appointment=current, by=by, change=change)
    return current


def undo_check_in(*, appointment: Appointment, by: User | None) -> Appointment:
    """Take back a mistaken check-in (arrived -> confirmed), until the doctor starts
    the session: by then the appointment is in_session and this is refused. The
    history keeps both entries, the check-in and its undoing; `check_in_undone`
    lets notifications withdraw the doctor's alert and put the reminders back.

    A session the doctor has opened but not started (sessions_app.create_session)
    does not stop the undo: it holds at most the doctor's first notes, which are
    kept, and it cannot start while the appointment is not arrived
    (sessions_app.start_session refuses); checking the patient in again lets the
    same session start."""
    with transaction.atomic():
        current, change = take_step(
            appointment,
            step="undo-check-in",
            action=Action.CHECK_IN_UNDONE,
            by=by,
            arrived_at=None,
        )
        # None for an arrival written by other means than check_in (imported data).
        check_in_entry = (
            current.changes.filter(action=Action.CHECKED_IN).order_by("changed_at", "pk").last()
        )
        signals.check_in_undone.send(
            Appointment, appointment=current, by=by, change=change, check_in=check_in_entry
        )
    return current


def mark_no_show(*, appointment: Appointment, by: User | None) -> Appointment:
    """The patient did not come (booked or confirmed -> no_show); allowed only once
    the start time has passed. Its time is free again."""
    with transaction.atomic():
        current, _change = take_step(
            appointment, step="no-show", action=Action.NO_SHOW, by=by, check=_has_started
        )
        signals.appointment_no_show.send(Appointment, appointment=current, by=by)
    return current


def begin_visit(*, appointment: Appointment, by: User | None) -> Appointment:
    """The doctor has started the appointment's session (arrived -> in_session).
    Called by `sessions_app.services.start_session`, which sends its own signal."""
    current, _change = take_step(
        appointment, step="begin-visit", action=Action.SESSION_STARTED, by=by
    )
    return current


def complete_visit(*, appointment: Appointment, by: User | None) -> Appointment:
    """The appointment's session is completed (in_session -> completed). Called by
    `sessions_app.services.complete_session`, which sends its own signal."""
    current, _change = take_step(appointment, step="complete-visit", action=Action.COMPLETED, by=by)
    return current


def reschedule_appointment(
    *,
    appointment: Appointment,
    starts_at: datetime,
    by: User | None,
    duration: timedelta | None = None,
    doctor: Doctor | None = None,
    via: str = "",
) -> Appointment:
    """Move a booked or confirmed appointment to `starts_at`, keeping its length
    (unless `duration` is given), its status and its history; with `doctor`, to that
    doctor, who must offer the appointment's service. The new time obeys every
    booking rule; the appointment's own old time is no conflict. The history entry
    keeps the old time and, on a change of doctor, both doctors; the signal carries
    the previous doctor, so both doctors are told. Moved, it no longer needs
    rebooking (a cancelled one neither)."""
    starts_at = require_aware(starts_at)
    # What the lost-race handler needs, filled in once the move is known.
    move: dict = {}
    try:
        with transaction.atomic():
            current = lock_appointment(appointment)
            if current.status not in RESCHEDULABLE:
                raise InvalidTransition(refusal(current, "reschedule"))
            ends_at = end_of(starts_at, current.duration if duration is None else duration)
            previous_doctor = current.doctor
            to_doctor = previous_doctor if doctor is None else doctor
            if (starts_at, ends_at, to_doctor.pk) == (
                current.starts_at,
                current.ends_at,
                previous_doctor.pk,
            ):
                raise InvalidTimes("The appointment is already at that time.")
            move = {
                "doctor": to_doctor,
                "patient": current.patient,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "exclude": current,
            }
            lock_calendars(doctor=to_doctor, patient=current.patient)
            if to_doctor.pk != previous_doctor.pk:
                check_offered(service=current.service, doctor=to_doctor)
            check_bookable(doctor=to_doctor, starts_at=starts_at, ends_at=ends_at)
            check_no_overlap(**move)
            current = _move(
                current,
                to_doctor=to_doctor,
                starts_at=starts_at,
                ends_at=ends_at,
                by=by,
                via=via,
            )
    except (IntegrityError, OperationalError) as error:
        if not move:
            raise
        raise overlap_from_race(error, **move) from error
    return current


def _move(
    current: Appointment,
    *,
    to_doctor: Doctor,
    starts_at: datetime,
    ends_at: datetime,
    by: User | None,
    via: str = "",
) -> Appointment:
    """The move itself, once allowed: save, record and announce."""
    previous_doctor = current.doctor
    previous_starts_at, previous_ends_at = current.starts_at, current.ends_at
    other_doctor = to_doctor.pk != previous_doctor.pk
    current.doctor, current.starts_at, current.ends_at = to_doctor, starts_at, ends_at
    current.save(update_fields=["doctor", "starts_at", "ends_at", "updated_at"])
    change = record_change(
        current,
        Action.RESCHEDULED,
        by=by,
        from_status=current.status,
        from_starts_at=previous_starts_at,
        from_ends_at=previous_ends_at,
        from_doctor=previous_doctor if other_doctor else None,
        to_doctor=to_doctor if other_doctor else None,
        via=via,
    )
    clear_rebooking(appointment=current, by=by)
    signals.appointment_rescheduled.send(
        Appointment,
        appointment=current,
        by=by,
        previous_starts_at=previous_starts_at,
        previous_ends_at=previous_ends_at,
        previous_doctor=previous_doctor,
        change=change,
        via=via,
    )
    return current


def _on_its_day(appointment: Appointment) -> None:
    if not same_clinic_day(timezone.now(), appointment.starts_at):
        starts = timezone.localtime(appointment.starts_at)
        raise InvalidTransition(
            _("A patient can be checked in only on the day of their appointment (%(day)s).")
            % {"day": date_format(starts, "D d M")}
        )


def _has_started(appointment: Appointment) -> None:
    if timezone.now() < appointment.starts_at:
        starts = timezone.localtime(appointment.starts_at)
        raise InvalidTransition(
            _(
                "A patient can be marked as a no-show only after the start time "
                "(%(time)s on %(day)s)."
            )
            % {"time": f"{starts:%H:%M}", "day": date_format(starts, "D d M")}
        )
