"""Read queries of scheduling. Each one asks only for the range of time it shows, so
its cost does not grow with years of history, and runs a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import router
from django.db.models import FilteredRelation, Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.kernel.baked import Baked
from clinic.kernel.users import User
from doctors.models import Doctor, TimeOff, WorkingHours
from patients.models import Patient

from .availability import Window, day_bounds, earliest_start, local_day, working_windows
from .cards import Card, cards
from .exceptions import InvalidTimes
from .models import Appointment, AppointmentChange, Service, Status

MAX_SEARCH_DAYS = 31
# How far ahead a refused walk-in looks for the next free time to offer instead.
NEXT_FREE_DAYS = 14
MINUTE = timedelta(minutes=1)
# "Next available": how many slots it offers, how far ahead it looks, and the first
# stretch of days it reads (each next one three times as long: 2, 6, 18, 54 days).
# Short first: with any doctor, the first day or two usually has the ten.
NEXT_AVAILABLE_LIMIT = 10
NEXT_AVAILABLE_HORIZON_DAYS = 60
FIRST_STRETCH_DAYS = 2
STRETCH_GROWTH = 3


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
    online: bool = False,
) -> list[Slot]:
    """Start times, on the clinic's slot grid, at which `service` can be booked with
    `doctor` (or any active doctor who offers it) between two dates inclusive: inside
    working hours, outside time off and other active appointments (the patient's too,
    when given), and not in the past. Ordered by time, then doctor. When
    rescheduling, the appointment being moved is passed as `ignoring`: its own time
    is not taken. `online` keeps to the doctors patients may book online."""
    if date_to < date_from:
        raise InvalidTimes(_("The end date is before the start date."))
    if (date_to - date_from).days >= MAX_SEARCH_DAYS:
        raise InvalidTimes(_("Search at most %(days)s days at a time.") % {"days": MAX_SEARCH_DAYS})
    doctors = _bookable_doctors(service, doctor, online=online)
    calendar = _Calendar.read(doctors, date_from, date_to, patient=patient, ignoring=ignoring)
    earliest = earliest_start(now)
    slots: list[Slot] = []
    day = date_from
    while day <= date_to:
        slots.extend(calendar.day_slots(day, service.duration, earliest))
        day += timedelta(days=1)
    return slots


def next_free_slots(
    *,
    service: Service,
    from_date: date,
    doctor: Doctor | None = None,
    patient: Patient | None = None,
    ignoring: Appointment | None = None,
    limit: int = NEXT_AVAILABLE_LIMIT,
    horizon_days: int = NEXT_AVAILABLE_HORIZON_DAYS,
    now: datetime | None = None,
    online: bool = False,
) -> list[Slot]:
    """The first `limit` free slots from `from_date` on (never in the past), across
    days, with `doctor` or any active doctor who offers `service`: "next available".
    The same rules as `free_slots` (it is the same calendar, read in stretches).

    It reads the calendar two days first, then stretches three times as long each
    time, and stops at `limit` slots or after `horizon_days` days from the first one
    looked at, so "no free time" has an end: at most 2 + 3 x 4 queries for 60 days,
    whatever the history or the number of doctors."""
    if limit < 1 or horizon_days < 1:
        raise InvalidTimes(_("Ask for at least one slot within at least one day."))
    earliest = earliest_start(now)
    first_day = max(from_date, local_day(earliest))
    last_day = first_day + timedelta(days=horizon_days - 1)
    doctors = _bookable_doctors(service, doctor, online=online)
    slots: list[Slot] = []
    day, stretch = first_day, FIRST_STRETCH_DAYS
    while doctors and day <= last_day:
        until = min(day + timedelta(days=stretch - 1), last_day)
        calendar = _Calendar.read(doctors, day, until, patient=patient, ignoring=ignoring)
        while day <= until:
            slots.extend(calendar.day_slots(day, service.duration, earliest))
            if len(slots) >= limit:
                return slots[:limit]
            day += timedelta(days=1)
        stretch *= STRETCH_GROWTH
    return slots


def _bookable_doctors(
    service: Service, doctor: Doctor | None, *, online: bool = False
) -> list[Doctor]:
    """The active doctors (or `doctor`, if active) who offer `service`, with every
    range of their weekly hours: two queries. `online`: only those patients may
    book on the booking site."""
    doctors = service.offering_doctors().active().order_by("family_name", "pk")
    if online:
        doctors = doctors.filter(bookable_online=True)
    if doctor is not None:
        doctors = doctors.filter(pk=doctor.pk)
    return list(doctors.prefetch_related("working_hours"))


@dataclass
class _Calendar:
    """What takes the doctors' (and the patient's) time from one day to another,
    read in three queries and filed by the clinic day each piece touches."""

    doctors: list[Doctor]
    busy: dict[tuple[int, date], list[Window]]
    patient_busy: dict[date, list[Window]]

    @classmethod
    def read(
        cls,
        doctors: list[Doctor],
        date_from: date,
        date_to: date,
        *,
        patient: Patient | None,
        ignoring: Appointment | None,
    ) -> _Calendar:
        span = Window(day_bounds(date_from).starts_at, day_bounds(date_to).ends_at)
        appointments = Appointment.objects.overlapping(span.starts_at, span.ends_at)
        if ignoring is not None:
            appointments = appointments.exclude(pk=ignoring.pk)
        busy: dict[tuple[int, date], list[Window]] = defaultdict(list)
        for doctor_id, windows in _busy_windows(doctors, span, appointments).items():
            for window in windows:
                for day in _days_touched(window, date_from, date_to):
                    busy[doctor_id, day].append(window)
        patient_busy: dict[date, list[Window]] = defaultdict(list)
        for window in _patient_busy_windows(patient, appointments):
            for day in _days_touched(window, date_from, date_to):
                patient_busy[day].append(window)
        return cls(doctors, busy, patient_busy)

    def day_slots(self, day: date, length: timedelta, earliest: datetime) -> list[Slot]:
        """The day's free slots on the grid, ordered by time, then doctor."""
        grid = timedelta(minutes=settings.SCHEDULING_SLOT_MINUTES)
        slots = []
        for doctor in self.doctors:
            taken = [*self.busy.get((doctor.pk, day), ()), *self.patient_busy.get(day, ())]
            for window in working_windows(day, list(doctor.working_hours.all())):
                starts_at = window.starts_at
                while starts_at + length <= window.ends_at:
                    ends_at = starts_at + length
                    if starts_at >= earliest and not any(
                        other.overlaps(starts_at, ends_at) for other in taken
                    ):
                        slots.append(Slot(doctor, starts_at, ends_at))
                    starts_at += grid
        slots.sort(key=lambda slot: (slot.starts_at, slot.doctor.family_name, slot.doctor.pk))
        return slots


def _days_touched(window: Window, first: date, last: date) -> list[date]:
    """The clinic days from `first` to `last` that `window` has a part of."""
    day = max(local_day(window.starts_at), first)
    # The day of its last instant: a window ending at midnight does not touch the next day.
    until = min(local_day(window.ends_at - MINUTE / 60), last)
    days = []
    while day <= until:
        days.append(day)
        day += timedelta(days=1)
    return days


def walk_in_slot(
    *,
    service: Service,
    patient: Patient,
    doctor: Doctor | None = None,
    now: datetime | None = None,
) -> Slot | None:
    """When a walk-in is seen: the earliest start today, to the minute (not the slot
    grid), from now on, at which `doctor` (or, without one, the active doctor free
    soonest) can see `patient` for the service's length: inside working hours,
    outside time off and the active appointments of the doctor and the patient.
    None when nobody can take the patient today. Five queries, whatever the history."""
    now = now or timezone.now()
    earliest = _next_minute(now)
    day = local_day(now)
    rest_of_day = Window(earliest, day_bounds(day).ends_at)
    offering = service.offering_doctors().active()
    doctors = list(
        offering.filter(**({"pk": doctor.pk} if doctor else {}))
        .order_by("family_name", "pk")
        .prefetch_related(
            Prefetch("working_hours", queryset=WorkingHours.objects.filter(weekday=day.weekday()))
        )
    )
    appointments = Appointment.objects.overlapping(rest_of_day.starts_at, rest_of_day.ends_at)
    busy = _busy_windows(doctors, rest_of_day, appointments)
    patient_busy = _patient_busy_windows(patient, appointments)
    found = []
    for candidate in doctors:
        windows = working_windows(day, list(candidate.working_hours.all()))
        starts_at = _first_fit(
            windows, [*busy[candidate.pk], *patient_busy], earliest, service.duration
        )
        if starts_at is not None:
            found.append(Slot(candidate, starts_at, starts_at + service.duration))
    # The doctors are in name order and min() keeps the first of equals.
    return min(found, key=lambda slot: slot.starts_at, default=None)


def _first_fit(
    windows: list[Window], taken: list[Window], earliest: datetime, length: timedelta
) -> datetime | None:
    """The earliest whole minute from `earliest` at which `length` fits inside one of
    `windows` and overlaps none of `taken`."""
    for window in sorted(windows, key=lambda window: window.starts_at):
        starts_at = _next_minute(max(earliest, window.starts_at))
        while starts_at + length <= window.ends_at:
            clashes = [other for other in taken if other.overlaps(starts_at, starts_at + length)]
            if not clashes:
                return starts_at
            # Past the last of what is in the way (each step moves forward).
            starts_at = _next_minute(max(other.ends_at for other in clashes))
    return None


def _next_minute(moment: datetime) -> datetime:
    """`moment` if it is a whole minute, else the next whole minute."""
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + MINUTE


def next_free_slot(
    *, service: Service, patient: Patient, doctor: Doctor | None, after: date
) -> Slot | None:
    """The first free slot (on the slot grid) on the days after `after`, up to
    NEXT_FREE_DAYS of them: what reception can offer a walk-in nobody can see today."""
    slots = next_free_slots(
        service=service,
        doctor=doctor,
        patient=patient,
        from_date=after + timedelta(days=1),
        limit=1,
        horizon_days=NEXT_FREE_DAYS,
    )
    return slots[0] if slots else None


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


@dataclass(frozen=True)
class Away:
    """A doctor's time off, as much of it as falls in the span a page shows."""

    starts_at: datetime
    ends_at: datetime
    reason: str


@dataclass
class DoctorDay:
    doctor: Doctor
    windows: list[Window]
    appointments: list[Card] = field(default_factory=list)
    time_off: list[Away] = field(default_factory=list)
    # The calendar day of this column (the week view has one doctor on seven).
    day: date | None = None


def _time_off_within(span: Window) -> QuerySet[TimeOff]:
    return TimeOff.objects.filter(starts_at__lt=span.ends_at, ends_at__gt=span.starts_at)


def _away(leave: TimeOff) -> Away:
    return Away(leave.starts_at, leave.ends_at, leave.reason)


def day_schedule(*, day: date) -> list[DoctorDay]:
    """The clinic's day, a column per doctor: their working windows and the card of
    every appointment starting that day (cancelled ones included, for the record;
    a lapsed waitlist hold, which never was anyone's appointment, left out)."""
    bounds = day_bounds(day)
    appointments = (
        Appointment.objects.filter(starts_at__gte=bounds.starts_at, starts_at__lt=bounds.ends_at)
        .exclude(status=Status.RELEASED)
        .order_by("starts_at", "pk")
    )
    # Active doctors, and any other with an appointment that day. A subquery on
    # the day's appointments, not a join: the join walked every appointment ever made.
    doctors = (
        Doctor.objects.filter(Q(is_active=True) | Q(pk__in=appointments.values("doctor_id")))
        .order_by("family_name", "given_name", "pk")
        .prefetch_related(
            Prefetch("working_hours", queryset=WorkingHours.objects.filter(weekday=day.weekday())),
            Prefetch("time_off", queryset=_time_off_within(bounds), to_attr="time_off_that_day"),
        )
    )
    columns = {
        doctor.pk: DoctorDay(
            doctor,
            working_windows(day, list(doctor.working_hours.all())),
            time_off=[_away(leave) for leave in doctor.time_off_that_day],
            day=day,
        )
        for doctor in doctors
    }
    for card in cards(appointments):
        columns[card.doctor_id].appointments.append(card)
    return list(columns.values())


def week_schedule(*, doctor: Doctor, first_day: date, days: int = 7) -> list[DoctorDay]:
    """One doctor's `days` days from `first_day`, a column each: working windows,
    time off and the card of every appointment starting that day. Three queries,
    whatever the number of appointments."""
    span = Window(
        day_bounds(first_day).starts_at, day_bounds(first_day + timedelta(days=days - 1)).ends_at
    )
    hours = list(doctor.working_hours.all())
    leave = [_away(item) for item in _time_off_within(span).filter(doctor=doctor)]
    columns = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        bounds = day_bounds(day)
        columns.append(
            DoctorDay(
                doctor,
                working_windows(day, hours),
                time_off=[a for a in leave if bounds.overlaps(a.starts_at, a.ends_at)],
                day=day,
            )
        )
    appointments = (
        doctor.appointments.filter(starts_at__gte=span.starts_at, starts_at__lt=span.ends_at)
        .exclude(status=Status.RELEASED)
        .order_by("starts_at", "pk")
    )
    for card in cards(appointments):
        columns[(local_day(card.starts_at) - first_day).days].appointments.append(card)
    return columns


def doctor_day(*, doctor: Doctor, day: date) -> list[Appointment]:
    """One doctor's appointments starting on `day`, in order (not a lapsed waitlist
    hold, which never was anyone's appointment)."""
    bounds = day_bounds(day)
    return list(
        doctor.appointments.filter(starts_at__gte=bounds.starts_at, starts_at__lt=bounds.ends_at)
        .exclude(status=Status.RELEASED)
        .select_related("patient", "service")
        .order_by("starts_at", "pk")
    )


def doctor_day_marker(*, user: User, day: date) -> tuple[object, ...]:
    """What the doctor's day fragment (scheduling/partials/my_day_list.html) shows of
    `user`'s day, column by column, for its poll's ETag (clinic.kernel.polls): the
    doctor linked to the login, and each appointment's shown columns. One small
    query, no model built: from the doctor, the day's appointments joined on (a
    day without any is one row of the doctor alone; a login no longer linked to a
    doctor, none, so it does not keep its empty day)."""
    bounds = day_bounds(day)
    return tuple(
        _DOCTOR_DAY_MARKER.run(
            user_id=user.pk,
            starts=bounds.starts_at,
            ends=bounds.ends_at,
            using=router.db_for_read(Appointment),
        )
    )


def _doctor_day_marker_rows(*, user_id: int, starts: datetime, ends: datetime) -> QuerySet[Any]:
    # A waitlist hold that lapsed was never on the doctor's day.
    on_the_day = Q(appointments__starts_at__gte=starts, appointments__starts_at__lt=ends) & ~Q(
        appointments__status=Status.RELEASED
    )
    return (
        Doctor.objects.filter(user_id=user_id)
        .annotate(visit=FilteredRelation("appointments", condition=on_the_day))
        .order_by("visit__starts_at", "visit__pk")
        .values_list(
            "pk",
            "visit__pk",
            "visit__status",
            "visit__starts_at",
            "visit__ends_at",
            "visit__arrived_at",
            "visit__reason",
            "visit__patient_id",
            "visit__patient__given_name",
            "visit__patient__family_name",
            "visit__service__name",
        )
    )


# Baked (clinic/kernel/baked.py): every doctor's open screen asks every 20 seconds.
_DOCTOR_DAY_MARKER = Baked(_doctor_day_marker_rows, user_id=int, starts=datetime, ends=datetime)


def patient_day(*, patient: Patient, day: date) -> list[Appointment]:
    """The patient's active appointments starting on `day`, in order, with their
    doctors: what reception checks before booking a walk-in (one query)."""
    bounds = day_bounds(day)
    return list(
        Appointment.objects.active()
        .filter(patient=patient, starts_at__gte=bounds.starts_at, starts_at__lt=bounds.ends_at)
        .select_related("doctor", "service")
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


def known_history(appointment: Appointment, changes: list[AppointmentChange]) -> Appointment:
    """`appointment` with `changes` as its whole history, as if read in (no query):
    for a service that has just written every entry there is. Filled in as
    Django's own prefetch fills it, so `appointment.changes.all()` reads it."""
    history = appointment.changes.all()  # Lazy: no query.
    history._result_cache = list(changes)
    history._prefetch_done = True  # type: ignore[attr-defined]
    if not hasattr(appointment, "_prefetched_objects_cache"):
        appointment._prefetched_objects_cache = {}  # type: ignore[attr-defined]
    appointment._prefetched_objects_cache["changes"] = history  # type: ignore[attr-defined]
    return appointment


def _history() -> Prefetch:
    return Prefetch(
        "changes",
        queryset=AppointmentChange.objects.select_related("changed_by", "from_doctor", "to_doctor"),
    )


def patient_appointments(
    *, patient: Patient, within: QuerySet[Appointment] | None = None, limit: int = 50
) -> list[Appointment]:
    """The patient's latest appointments (of `within`, when given), newest first;
    a waitlist hold that lapsed was never theirs."""
    appointments = Appointment.objects.all() if within is None else within
    return list(
        appointments.filter(patient=patient)
        .exclude(status=Status.RELEASED)
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
