"""Read queries of scheduling. Each one asks only for the range of time it shows, so
its cost does not grow with years of history, and runs a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects

from clinic.kernel.users import User
from doctors.models import Doctor, TimeOff, WorkingHours
from patients.models import Patient

from .availability import Window, day_bounds, earliest_start, working_windows
from .cards import Card, cards
from .exceptions import InvalidTimes
from .models import Appointment, AppointmentChange, Service

MAX_SEARCH_DAYS = 31


@dataclass(frozen=True)
class Slot:
    doctor: Doctor
    starts_at: datetime
    ends_at: datetime


def free_slots(
    *,
    service: Service,
    date_from: date,
    date_to: date,
    doctor: Doctor | None = None,
    patient: Patient | None = None,
    ignoring: Appointment | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """Start times, on the clinic's slot grid, at which `service` can be booked with
    `doctor` (or any active doctor) between two dates inclusive: inside working hours,
    outside time off and other active appointments (the patient's too, when given),
    and not in the past. Ordered by time, then doctor. When rescheduling, the
    appointment being moved is passed as `ignoring`: its own time is not taken."""
    if date_to < date_from:
        raise InvalidTimes("The end date is before the start date.")
    if (date_to - date_from).days >= MAX_SEARCH_DAYS:
        raise InvalidTimes(f"Search at most {MAX_SEARCH_DAYS} days at a time.")
    span = Window(day_bounds(date_from).starts_at, day_bounds(date_to).ends_at)
    doctors = list(
        Doctor.objects.active()
        .filter(**({"pk": doctor.pk} if doctor else {}))
        .prefetch_related("working_hours")
    )
    appointments = Appointment.objects.overlapping(span.starts_at, span.ends_at)
    if ignoring is not None:
        appointments = appointments.exclude(pk=ignoring.pk)
    busy = _busy_windows(doctors, span, appointments)
    patient_busy = _patient_busy_windows(patient, appointments)
    earliest = earliest_start(now)
    grid = timedelta(minutes=settings.SCHEDULING_SLOT_MINUTES)
    slots = []
    day = date_from
    while day <= date_to:
        bounds = day_bounds(day)
        for candidate in doctors:
            # Only what touches this day can take one of its slots.
            taken = [
                other
                for other in (*busy[candidate.pk], *patient_busy)
                if other.overlaps(bounds.starts_at, bounds.ends_at)
            ]
            for window in working_windows(day, list(candidate.working_hours.all())):
                starts_at = window.starts_at
                while starts_at + service.duration <= window.ends_at:
                    ends_at = starts_at + service.duration
                    if starts_at >= earliest and not any(
                        other.overlaps(starts_at, ends_at) for other in taken
                    ):
                        slots.append(Slot(candidate, starts_at, ends_at))
                    starts_at += grid
        day += timedelta(days=1)
    slots.sort(key=lambda slot: (slot.starts_at, slot.doctor.family_name, slot.doctor.pk))
    return slots


def _busy_windows(
    doctors: list[Doctor], span: Window, appointments: QuerySet[Appointment]
) -> dict[int, list[Window]]:
    """Each doctor's active appointments and time off within `span`."""
    busy: dict[int, list[Window]] = defaultdict(list)
    doctor_ids = [doctor.pk for doctor in doctors]
    booked = appointments.filter(doctor_id__in=doctor_ids).values_list(
        "doctor_id", "starts_at", "ends_at"
    )
    time_off = TimeOff.objects.filter(
        doctor_id__in=doctor_ids, starts_at__lt=span.ends_at, ends_at__gt=span.starts_at
    ).values_list("doctor_id", "starts_at", "ends_at")
    for doctor_id, starts_at, ends_at in [*booked, *time_off]:
        busy[doctor_id].append(Window(starts_at, ends_at))
    return busy


def _patient_busy_windows(
    patient: Patient | None, appointments: QuerySet[Appointment]
) -> list[Window]:
    if patient is None:
        return []
    return [
        Window(starts_at, ends_at)
        for starts_at, ends_at in appointments.filter(patient=patient).values_list(
            "starts_at", "ends_at"
        )
    ]


@dataclass
class DoctorDay:
    doctor: Doctor
    windows: list[Window]
    appointments: list[Card] = field(default_factory=list)


def day_schedule(*, day: date) -> list[DoctorDay]:
    """The clinic's day, a column per doctor: their working windows and the card of
    every appointment starting that day (cancelled ones included, for the record)."""
    bounds = day_bounds(day)
    appointments = Appointment.objects.filter(
        starts_at__gte=bounds.starts_at, starts_at__lt=bounds.ends_at
    ).order_by("starts_at", "pk")
    # Active doctors, and any other with an appointment that day. A subquery on
    # the day's appointments, not a join: the join walked every appointment ever made.
    doctors = (
        Doctor.objects.filter(Q(is_active=True) | Q(pk__in=appointments.values("doctor_id")))
        .order_by("family_name", "given_name", "pk")
        .prefetch_related(
            Prefetch("working_hours", queryset=WorkingHours.objects.filter(weekday=day.weekday()))
        )
    )
    columns = {
        doctor.pk: DoctorDay(doctor, working_windows(day, list(doctor.working_hours.all())))
        for doctor in doctors
    }
    for card in cards(appointments):
        columns[card.doctor_id].appointments.append(card)
    return list(columns.values())


def doctor_day(*, doctor: Doctor, day: date) -> list[Appointment]:
    """One doctor's appointments starting on `day`, in order."""
    bounds = day_bounds(day)
    return list(
        doctor.appointments.filter(starts_at__gte=bounds.starts_at, starts_at__lt=bounds.ends_at)
        .select_related("patient", "service")
        .order_by("starts_at", "pk")
    )


def appointment_detail(*, pk: int) -> Appointment:
    """One appointment with its people, service and history (raises DoesNotExist)."""
    return (
        Appointment.objects.select_related("doctor", "patient", "service", "created_by")
        .prefetch_related(_history())
        .get(pk=pk)
    )


def with_history(appointment: Appointment) -> Appointment:
    """`appointment`, as the caller already holds it with its people and service,
    with its history read in (one query)."""
    prefetch_related_objects([appointment], _history())
    return appointment


def _history() -> Prefetch:
    return Prefetch("changes", queryset=AppointmentChange.objects.select_related("changed_by"))


def patient_appointments(
    *, patient: Patient, within: QuerySet[Appointment] | None = None, limit: int = 50
) -> list[Appointment]:
    """The patient's latest appointments (of `within`, when given), newest first."""
    appointments = Appointment.objects.all() if within is None else within
    return list(
        appointments.filter(patient=patient)
        .select_related("doctor", "service")
        .order_by("-starts_at", "-pk")[:limit]
    )


def appointments_visible_to(user: User) -> QuerySet[Appointment]:
    """The appointments a user may open: reception and managers see the clinic's,
    a doctor sees their own, anyone else none. Pages look appointments up here, so
    guessing another id finds nothing."""
    if user.has_perm("scheduling.change_appointment"):
        return Appointment.objects.all()
    if user.has_perm("scheduling.view_appointment"):
        return Appointment.objects.filter(doctor__user=user)
    return Appointment.objects.none()
