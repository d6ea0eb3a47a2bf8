"""The no-double-booking rule as the booking services apply it (DESIGN.md section
2): the check that names the appointment in the way, the row locks that make
bookings of one doctor or patient take turns, and the friendly `Overlap` for a race
lost at the database, whose exclusion constraints stay the final guard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connections, router
from django.db.models import Exists, Q, QuerySet
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from clinic.kernel.baked import Baked
from clinic.kernel.db import prepared_cursor
from doctors.models import Doctor, TimeOff, WorkingHours
from patients.models import Patient

from .availability import local_day
from .constraints import MAX_APPOINTMENT_LENGTH
from .exceptions import Overlap
from .models import Appointment, Service, Status

OVERLAP_CONSTRAINTS = {"appointment_no_doctor_overlap", "appointment_no_patient_overlap"}
# PostgreSQL's SQLSTATE for a deadlock. Two bookings that each wait at an exclusion
# constraint for the other's uncommitted row (one patient with two doctors at once)
# deadlock, and PostgreSQL aborts one of them: that one has lost the race.
DEADLOCK_DETECTED = "40P01"


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
        raise Overlap(overlap_message(clash, doctor=doctor), conflict=clash)


def day_of_booking(
    *, service: Service, doctor: Doctor, patient: Patient, starts_at: datetime, ends_at: datetime
) -> tuple[list[WorkingHours], bool]:
    """In one query: the doctor's working hours on the clinic day of `starts_at`,
    and whether nothing is in the way (the doctor offers the service, has no time
    off during [starts_at, ends_at), and neither the doctor nor the patient has an
    active appointment overlapping it). Not clear says only that something may be in
    the way, as when the doctor has no hours that day: the checks of each rule
    (check_offered, check_bookable, check_no_overlap) say what."""
    values = _booking_day_values(service, doctor, patient, starts_at, ends_at)
    hours: list[WorkingHours] = BOOKING_DAY.run(using=router.db_for_read(WorkingHours), **values)
    return hours, bool(hours) and hours[0].clear  # type: ignore[attr-defined]


def booking_day_query(
    *, service: Service, doctor: Doctor, patient: Patient, starts_at: datetime, ends_at: datetime
) -> QuerySet[WorkingHours]:
    """day_of_booking's query, unevaluated (the benchmark replays it)."""
    return _booking_day(**_booking_day_values(service, doctor, patient, starts_at, ends_at))


def _booking_day_values(
    service: Service, doctor: Doctor, patient: Patient, starts_at: datetime, ends_at: datetime
) -> dict[str, Any]:
    return {
        "service_id": service.pk,
        "doctor_id": doctor.pk,
        "patient_id": patient.pk,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "started_after": starts_at - MAX_APPOINTMENT_LENGTH,
        "weekday": local_day(starts_at).weekday(),
    }


def _booking_day(
    *,
    service_id: int,
    doctor_id: int,
    patient_id: int,
    starts_at: datetime,
    ends_at: datetime,
    started_after: datetime,
    weekday: int,
) -> QuerySet[WorkingHours]:
    time_off = TimeOff.objects.filter(
        doctor_id=doctor_id, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    clashes = Appointment.objects.overlapping(
        starts_at, ends_at, started_after=started_after
    ).filter(Q(doctor_id=doctor_id) | Q(patient_id=patient_id))
    offered_and_free = (
        Service.doctors_offering(service_id)
        .filter(pk=doctor_id)
        .filter(~Exists(time_off), ~Exists(clashes))
    )
    return (
        WorkingHours.objects.filter(doctor_id=doctor_id, weekday=weekday)
        .annotate(clear=Exists(offered_and_free))
        .order_by("starts")
    )


# Baked (clinic/kernel/baked.py): every booking, move and walk-in asks it.
BOOKING_DAY: Baked[WorkingHours] = Baked(
    _booking_day,
    service_id=int,
    doctor_id=int,
    patient_id=int,
    starts_at=datetime,
    ends_at=datetime,
    started_after=datetime,
    weekday=int,
)


def overlap_message(clash: Appointment, *, doctor: Doctor) -> str:
    starts, ends = timezone.localtime(clash.starts_at), timezone.localtime(clash.ends_at)
    when = {"start": f"{starts:%H:%M}", "end": f"{ends:%H:%M}", "day": date_format(starts, "D d M")}
    if clash.status == Status.HELD and clash.held_until is not None:
        until = timezone.localtime(clash.held_until)
        return _(
            "%(start)s–%(end)s on %(day)s with %(doctor)s is held for a patient on the "
            "waitlist until %(until)s."
        ) % {**when, "doctor": clash.doctor, "until": f"{until:%H:%M}"}
    if clash.doctor_id == doctor.pk:
        return _("%(doctor)s already has an appointment %(start)s–%(end)s on %(day)s.") % {
            "doctor": clash.doctor,
            **when,
        }
    return _(
        "%(patient)s already has an appointment %(start)s–%(end)s on %(day)s with %(doctor)s."
    ) % {"patient": clash.patient, "doctor": clash.doctor, **when}


def overlap_from_race(error: DatabaseError, **booking: Any) -> Overlap:
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
    return Overlap(_("This time was just taken by another booking; choose another."))


def lock_calendars(*, doctor: Doctor, patient: Patient) -> None:
    """Lock the doctor's row, then the patient's, until the transaction ends, in
    one statement.

    Bookings that touch the same doctor or patient then take turns: the overlap
    check runs after the other booking has committed, so it sees that booking and
    names it. Taking the doctor before the patient, always, means two bookings can
    never wait for each other in a circle (a deadlock). The exclusion constraints
    stay the final guard for any writer that does not come through here.

    The statement keeps that order by its shape: the patient's row is locked only
    once it has passed the filter that the doctor's locked row answers (an
    uncorrelated EXISTS over a materialized CTE, which PostgreSQL runs first, as an
    init plan). On SQLite, which has no row locks, the IMMEDIATE transaction has
    taken the database's one write lock already, so bookings take turns anyway.
    """
    connection = connections[router.db_for_write(Appointment)]
    if not connection.features.has_select_for_update:
        return
    with prepared_cursor(connection) as cursor:
        cursor.execute(calendar_locks_sql(connection.ops.quote_name), [doctor.pk, patient.pk])


def calendar_locks_sql(quote: Callable[[str], str]) -> str:
    """The one statement of lock_calendars, with the doctor's and the patient's id to
    bind (the benchmark replays it)."""
    doctors, patients, pk = quote(Doctor._meta.db_table), quote(Patient._meta.db_table), quote("id")
    return (
        f"WITH locked_doctor AS MATERIALIZED ("
        f"SELECT {pk} FROM {doctors} WHERE {pk} = %s FOR NO KEY UPDATE) "
        f"SELECT {pk} FROM {patients} WHERE {pk} = %s "
        f"AND EXISTS (SELECT 1 FROM locked_doctor) FOR NO KEY UPDATE"
    )
