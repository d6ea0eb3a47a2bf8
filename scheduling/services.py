"""The appointment lifecycle. Every change of an appointment goes through these
functions: each runs in one transaction, refuses what the rules refuse with a
`SchedulingError` (changing nothing), writes the appointment's history, and sends
its domain signal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from clinic.kernel.users import User
from doctors.models import Doctor
from patients.models import Patient

from . import signals
from .availability import check_bookable, end_of, require_aware
from .exceptions import InvalidTimes, InvalidTransition, Overlap, SchedulingError, Unavailable
from .models import (
    RESCHEDULABLE,
    Appointment,
    AppointmentChange,
    Service,
    Status,
    statuses_leading_to,
)

Action = AppointmentChange.Action
OVERLAP_CONSTRAINTS = {"appointment_no_doctor_overlap", "appointment_no_patient_overlap"}
# PostgreSQL's SQLSTATE for a deadlock. Two bookings that each wait at an exclusion
# constraint for the other's uncommitted row (one patient with two doctors at once)
# deadlock, and PostgreSQL aborts one of them: that one has lost the race.
DEADLOCK_DETECTED = "40P01"


def book_appointment(
    *,
    patient: Patient,
    doctor: Doctor,
    service: Service,
    starts_at: datetime,
    booked_by: User | None,
    duration: timedelta | None = None,
    reason: str = "",
) -> Appointment:
    """Book `patient` with `doctor` for `service` at `starts_at`.

    The length is the service's unless reception overrides it with `duration`. The
    time must lie inside the doctor's working hours and outside their time off, not
    start in the past (a walk-in "now" is allowed), and overlap no active appointment
    of the doctor or of the patient. The database's exclusion constraints keep the
    last rule under any concurrency; a race lost there raises the same `Overlap`.
    """
    starts_at = require_aware(starts_at)
    # `is None`, not `or`: an override of no length is refused, not ignored.
    ends_at = end_of(starts_at, service.duration if duration is None else duration)
    if not service.is_active:
        raise Unavailable(f"{service.name} is no longer offered.")
    try:
        with transaction.atomic():
            _lock_calendars(doctor=doctor, patient=patient)
            check_bookable(doctor=doctor, starts_at=starts_at, ends_at=ends_at)
            check_no_overlap(doctor=doctor, patient=patient, starts_at=starts_at, ends_at=ends_at)
            appointment = Appointment.objects.create(
                patient=patient,
                doctor=doctor,
                service=service,
                starts_at=starts_at,
                ends_at=ends_at,
                reason=reason.strip(),
                created_by=booked_by,
            )
            _record(appointment, Action.BOOKED, by=booked_by, from_status="")
            signals.appointment_booked.send(Appointment, appointment=appointment, by=booked_by)
    except (IntegrityError, OperationalError) as error:
        raise _overlap_from_race(
            error, doctor=doctor, patient=patient, starts_at=starts_at, ends_at=ends_at
        ) from error
    return appointment


def confirm_appointment(*, appointment: Appointment, by: User | None) -> Appointment:
    """The patient confirmed they will come (booked -> confirmed)."""
    return _transition(
        appointment,
        to=Status.CONFIRMED,
        action=Action.CONFIRMED,
        by=by,
        signal=signals.appointment_confirmed,
    )


def cancel_appointment(*, appointment: Appointment, reason: str, by: User | None) -> Appointment:
    """Cancel a booked or confirmed appointment; the reason is required and kept.
    Its time is free again at once."""
    reason = reason.strip()
    if not reason:
        raise SchedulingError("Say why the appointment is cancelled.")
    return _transition(
        appointment,
        to=Status.CANCELLED,
        action=Action.CANCELLED,
        by=by,
        signal=signals.appointment_cancelled,
        note=reason,
        cancellation_reason=reason,
    )


def check_in(*, appointment: Appointment, by: User | None) -> Appointment:
    """The patient has arrived at the desk (confirmed -> arrived); the time is kept."""
    return _transition(
        appointment,
        to=Status.ARRIVED,
        action=Action.CHECKED_IN,
        by=by,
        signal=signals.patient_arrived,
        arrived_at=timezone.now(),
    )


def mark_no_show(*, appointment: Appointment, by: User | None) -> Appointment:
    """The patient did not come (confirmed -> no_show); allowed only once the start
    time has passed. Its time is free again."""
    return _transition(
        appointment,
        to=Status.NO_SHOW,
        action=Action.NO_SHOW,
        by=by,
        signal=signals.appointment_no_show,
        only_after_start=True,
    )


def begin_visit(*, appointment: Appointment, by: User | None) -> Appointment:
    """The doctor has started the appointment's session (arrived -> in_session).
    Called by `sessions_app.services.start_session`, which sends its own signal."""
    return _transition(
        appointment, to=Status.IN_SESSION, action=Action.SESSION_STARTED, by=by, signal=None
    )


def complete_visit(*, appointment: Appointment, by: User | None) -> Appointment:
    """The appointment's session is completed (in_session -> completed). Called by
    `sessions_app.services.complete_session`, which sends its own signal."""
    return _transition(
        appointment, to=Status.COMPLETED, action=Action.COMPLETED, by=by, signal=None
    )


def reschedule_appointment(
    *,
    appointment: Appointment,
    starts_at: datetime,
    by: User | None,
    duration: timedelta | None = None,
) -> Appointment:
    """Move a booked or confirmed appointment to `starts_at`, keeping its length
    (unless `duration` is given), its status and its history. The new time obeys
    every booking rule; the appointment's own old time is no conflict."""
    starts_at = require_aware(starts_at)
    # What the lost-race handler needs, filled in once the move is known.
    move: dict = {}
    try:
        with transaction.atomic():
            current = _lock(appointment)
            if current.status not in RESCHEDULABLE:
                raise InvalidTransition(_refusal(current, "rescheduled", RESCHEDULABLE))
            ends_at = end_of(starts_at, current.duration if duration is None else duration)
            if (starts_at, ends_at) == (current.starts_at, current.ends_at):
                raise InvalidTimes("The appointment is already at that time.")
            move = {
                "doctor": current.doctor,
                "patient": current.patient,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "exclude": current,
            }
            _lock_calendars(doctor=current.doctor, patient=current.patient)
            check_bookable(doctor=current.doctor, starts_at=starts_at, ends_at=ends_at)
            check_no_overlap(**move)
            previous_starts_at, previous_ends_at = current.starts_at, current.ends_at
            current.starts_at, current.ends_at = starts_at, ends_at
            current.save(update_fields=["starts_at", "ends_at", "updated_at"])
            change = _record(
                current,
                Action.RESCHEDULED,
                by=by,
                from_status=current.status,
                from_starts_at=previous_starts_at,
                from_ends_at=previous_ends_at,
            )
            signals.appointment_rescheduled.send(
                Appointment,
                appointment=current,
                by=by,
                previous_starts_at=previous_starts_at,
                previous_ends_at=previous_ends_at,
                change=change,
            )
    except (IntegrityError, OperationalError) as error:
        if not move:
            raise
        raise _overlap_from_race(error, **move) from error
    return current


def check_no_overlap(
    *,
    doctor: Doctor,
    patient: Patient,
    starts_at: datetime,
    ends_at: datetime,
    exclude: Appointment | None = None,
) -> None:
    """Refuse a time that overlaps an active appointment of the doctor or of the
    patient, naming the appointment in the way."""
    clashes = Appointment.objects.overlapping(starts_at, ends_at).filter(
        Q(doctor=doctor) | Q(patient=patient)
    )
    if exclude is not None:
        clashes = clashes.exclude(pk=exclude.pk)
    clash = clashes.select_related("doctor", "patient").order_by("starts_at", "pk").first()
    if clash is not None:
        raise Overlap(_overlap_message(clash, doctor=doctor), conflict=clash)


def _overlap_message(clash: Appointment, *, doctor: Doctor) -> str:
    starts, ends = timezone.localtime(clash.starts_at), timezone.localtime(clash.ends_at)
    when = f"{starts:%H:%M}–{ends:%H:%M} on {starts:%a %d %b}"
    if clash.doctor_id == doctor.pk:
        return f"{clash.doctor} already has an appointment {when}."
    return f"{clash.patient} already has an appointment {when} with {clash.doctor}."


def _overlap_from_race(error: DatabaseError, **booking: Any) -> Overlap:
    """The friendly `Overlap` for a race lost at the database: its exclusion
    constraint refused the row after our own check had passed, or aborted it in a
    deadlock with a rival booking. Any other database error is a bug and goes up as
    it is."""
    diagnostics = getattr(error.__cause__, "diag", None)
    refused = getattr(diagnostics, "constraint_name", None) in OVERLAP_CONSTRAINTS
    deadlocked = getattr(diagnostics, "sqlstate", None) == DEADLOCK_DETECTED
    if not (refused or deadlocked):
        raise error
    try:
        # A rival that the constraint saw has committed by now, so the check can
        # name it; after a deadlock the rival may still be committing.
        check_no_overlap(**booking)
    except Overlap as overlap:
        return overlap
    return Overlap("This time was just taken by another booking; choose another.")


def _lock_calendars(*, doctor: Doctor, patient: Patient) -> None:
    """Lock the doctor's row, then the patient's, until the transaction ends.

    Bookings that touch the same doctor or patient then take turns: the overlap
    check runs after the other booking has committed, so it sees that booking and
    names it. Taking the doctor before the patient, always, means two bookings can
    never wait for each other in a circle (a deadlock). The exclusion constraints
    stay the final guard for any writer that does not come through here.
    """
    list(Doctor.objects.select_for_update(no_key=True).filter(pk=doctor.pk).values_list("pk"))
    list(Patient.objects.select_for_update(no_key=True).filter(pk=patient.pk).values_list("pk"))


def _lock(appointment: Appointment) -> Appointment:
    """The appointment's row, locked until the transaction ends, so two clerks acting
    on it at once take turns and the second sees the first one's change."""
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("doctor", "patient", "service")
        .get(pk=appointment.pk)
    )


STATUS_VERBS = {
    Status.CONFIRMED: "confirmed",
    Status.ARRIVED: "checked in",
    Status.CANCELLED: "cancelled",
    Status.NO_SHOW: "marked as a no-show",
    Status.IN_SESSION: "started",
    Status.COMPLETED: "completed",
}


def _refusal(appointment: Appointment, verb: str, allowed_from: frozenset[str]) -> str:
    allowed = " or ".join(
        Status(status).label.lower() for status in Status if status in allowed_from
    )
    article = "an" if allowed[0] in "aeiou" else "a"
    current = appointment.get_status_display().lower()
    return f"Only {article} {allowed} appointment can be {verb}; this one is {current}."


def _transition(
    appointment: Appointment,
    *,
    to: Status,
    action: Action,
    by: User | None,
    signal: Signal | None,
    note: str = "",
    only_after_start: bool = False,
    **fields: Any,
) -> Appointment:
    """Move the appointment to status `to` under a row lock, or refuse."""
    with transaction.atomic():
        current = _lock(appointment)
        if not current.can_move_to(to):
            raise InvalidTransition(_refusal(current, STATUS_VERBS[to], statuses_leading_to(to)))
        if only_after_start and timezone.now() < current.starts_at:
            starts = timezone.localtime(current.starts_at)
            raise InvalidTransition(
                f"A patient can be marked as a no-show only after the start time "
                f"({starts:%H:%M} on {starts:%a %d %b})."
            )
        from_status = current.status
        current.status = to
        for name, value in fields.items():
            setattr(current, name, value)
        current.save(update_fields=["status", *fields, "updated_at"])
        _record(current, action, by=by, from_status=from_status, note=note)
        if signal is not None:
            signal.send(Appointment, appointment=current, by=by)
    return current


def _record(
    appointment: Appointment,
    action: Action,
    *,
    by: User | None,
    from_status: str,
    note: str = "",
    from_starts_at: datetime | None = None,
    from_ends_at: datetime | None = None,
) -> AppointmentChange:
    return AppointmentChange.objects.create(
        appointment=appointment,
        action=action,
        changed_by=by,
        from_status=from_status,
        to_status=appointment.status,
        from_starts_at=from_starts_at,
        from_ends_at=from_ends_at,
        to_starts_at=appointment.starts_at,
        to_ends_at=appointment.ends_at,
        note=note,
    )
