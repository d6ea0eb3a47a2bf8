"""The generated calendar: the services and the slots of the grid each takes, the
doctors' weekly hours and leave, and the plan of every appointment, made by walking
each doctor's working windows day by day on the slot grid."""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import count

from bench.generator.catalogue import SERVICES
from bench.generator.context import (
    Context,
    PlannedDoctor,
    PlannedPatient,
    PlannedService,
    Progress,
    Visit,
)
from bench.generator.seeded import at, between
from bench.generator.sizes import APPOINTMENTS_PER_DOCTOR_YEAR
from bench.generator.visits import booked_at, cancelled, completed, future, no_show
from bench.generator.writing import next_id
from doctors.models import Doctor, TimeOff, WorkingHours
from scheduling.models import Appointment, Service, Status


def _hours(spec: str) -> list[tuple[time, time]]:
    """ "09:00-12:30 13:30-17:00" as ranges."""
    ranges = []
    for part in spec.split():
        starts, ends = part.split("-")
        ranges.append((time.fromisoformat(starts), time.fromisoformat(ends)))
    return ranges


# (weight, {weekday: ranges}): most doctors full time with a lunch break, some part
# time, a few with a late clinic or Saturday mornings.
WEEKDAYS = range(5)
TIMETABLES: list[tuple[int, dict[int, list[tuple[time, time]]]]] = [
    (40, {day: _hours("09:00-12:30 13:30-17:00") for day in WEEKDAYS}),
    (15, {day: _hours("08:00-12:00 13:00-16:00") for day in WEEKDAYS}),
    (10, {day: _hours("10:00-13:00 14:00-18:30") for day in WEEKDAYS}),
    (5, {**{day: _hours("12:00-20:00") for day in range(4)}, 4: _hours("09:00-13:00")}),
    (15, {day: _hours("09:00-13:00 14:00-17:00") for day in (0, 2, 3)}),
    (10, {day: _hours("08:30-12:30") for day in WEEKDAYS}),
]
SATURDAY_MORNINGS = _hours("09:00-12:00")
# Fixed-date public holidays: every doctor has them off.
HOLIDAYS = [(1, 1, "New Year's Day"), (7, 4, "Independence Day"), (12, 25, "Christmas Day")]


# --- Services and timetables -----------------------------------------------------------


def make_services(ctx: Context) -> None:
    """The catalogue's services (kept if they exist), with the grid steps each takes."""
    for code, (name, minutes, price) in SERVICES.items():
        service, _ = Service.objects.get_or_create(
            code=code,
            defaults={"name": name, "duration_minutes": minutes, "price": Decimal(price)},
        )
        steps = math.ceil(service.duration_minutes * 60 / ctx.grid.total_seconds())
        ctx.services[code] = PlannedService(service, steps)


def weekly_hours(rng: random.Random) -> dict[int, list[tuple[time, time]]]:
    """One of the TIMETABLES, sometimes with Saturday mornings."""
    (_, hours), *_ = rng.choices(TIMETABLES, weights=[weight for weight, _ in TIMETABLES])
    hours = dict(hours)
    if rng.random() < 0.2 and 5 not in hours:
        hours[5] = SATURDAY_MORNINGS
    return hours


def write_working_hours(doctor: Doctor, hours: dict[int, list[tuple[time, time]]]) -> None:
    WorkingHours.objects.bulk_create(
        WorkingHours(doctor=doctor, weekday=weekday, starts=starts, ends=ends)
        for weekday, ranges in sorted(hours.items())
        for starts, ends in ranges
    )


def plan_services(ctx: Context, doctor: PlannedDoctor) -> None:
    """The doctor's mix of visits (cumulative weights) and extras, from the profile."""
    total = 0
    for code, weight in doctor.profile.visits:
        total += weight
        doctor.visits.append((ctx.services[code], total))
    doctor.extras = [ctx.services[code] for code in doctor.profile.extras]


def plan_time_off(ctx: Context, doctor: PlannedDoctor, rng: random.Random) -> None:
    """Two weeks of leave a year, a conference now and then, and public holidays;
    written as TimeOff rows and kept as days without appointments."""
    rows = []
    for first, last, reason in sorted(_leave(ctx, rng)):
        if last < ctx.first_day or first > ctx.until:
            continue
        rows.append(
            TimeOff(
                doctor=doctor.model,
                starts_at=at(first, time(0)),
                ends_at=at(last + timedelta(days=1), time(0)),
                reason=reason,
            )
        )
        day = first
        while day <= last:
            doctor.days_off.add(day)
            day += timedelta(days=1)
    TimeOff.objects.bulk_create(rows)


def _leave(ctx: Context, rng: random.Random) -> list[tuple[date, date, str]]:
    """Each year's periods away: [first, last] days and why."""
    periods: list[tuple[date, date, str]] = []
    for year in range(ctx.first_day.year, ctx.until.year + 1):
        for week in rng.sample(range(2, 51), 2):
            monday = date.fromisocalendar(year, week, 1)
            periods.append((monday, monday + timedelta(days=6), "Annual leave"))
        if rng.random() < 0.5:
            day = date(year, rng.randint(2, 11), rng.randint(1, 28))
            periods.append((day, day + timedelta(days=1), "Conference"))
        for month, day_of_month, name in HOLIDAYS:
            day = date(year, month, day_of_month)
            periods.append((day, day, name))
    return periods


# --- The plan of the appointments --------------------------------------------------------


def fill_rate(ctx: Context) -> float:
    """The chance that a free slot starts an appointment, chosen so that the clinic
    books about APPOINTMENTS_PER_DOCTOR_YEAR per doctor and year: each appointment
    uses its service's steps, each skipped slot one step."""
    slots = 0
    for doctor in ctx.doctors:
        for day in ctx.days:
            if day in doctor.days_off:
                continue
            for starts, ends in doctor.hours.get(day.weekday(), ()):
                minutes = (ends.hour * 60 + ends.minute) - (starts.hour * 60 + starts.minute)
                slots += minutes * 60 // int(ctx.grid.total_seconds())
    years = ((ctx.until - ctx.first_day).days + 1) / 365.25
    target = APPOINTMENTS_PER_DOCTOR_YEAR * len(ctx.doctors) * years
    steps = [
        (service.steps, weight)
        for doctor in ctx.doctors
        for (service, _), (_, weight) in zip(doctor.visits, doctor.profile.visits, strict=True)
    ]
    mean_steps = sum(s * w for s, w in steps) / sum(w for _, w in steps)
    skipped_per_visit = slots / max(target, 1) - mean_steps
    return 1.0 if skipped_per_visit <= 0 else 1 / (1 + skipped_per_visit)


def plan_visits(ctx: Context, progress: Progress) -> None:
    """Walk each doctor's working windows day by day on the slot grid, starting an
    appointment at a slot with the fill rate's chance, so a doctor's appointments
    never overlap; a patient has at most one appointment a day, so theirs never do."""
    rng = ctx.rng("visits")
    fill = fill_rate(ctx)
    ids = count(next_id(Appointment))
    days = list(ctx.days)
    for number, day in enumerate(days, 1):
        _plan_day(ctx, rng, ids, day, fill)
        progress("calendar days", number, len(days))


def _plan_day(ctx: Context, rng: random.Random, ids: Iterator[int], day: date, fill: float) -> None:
    ahead = (day - ctx.today).days
    # Bookings thin out further ahead: the future is not booked yet.
    day_fill = fill if ahead <= 0 else fill * max(0.2, 1 - ahead / 40)
    # Patients registered before the day can be booked on it.
    eligible = bisect_right(ctx.patient_joined, min(at(day, time(0)), ctx.now))
    bookings = Bookings(ctx, rng, ids, eligible)
    for doctor in ctx.doctors:
        if day in doctor.days_off:
            continue
        for starts, ends in doctor.hours.get(day.weekday(), ()):
            _fill_window(bookings, doctor, at(day, starts), at(day, ends), day_fill)


def _fill_window(
    bookings: Bookings, doctor: PlannedDoctor, starts_at: datetime, ends_at: datetime, fill: float
) -> None:
    """One working window, slot by slot: an appointment at a slot with the chance
    `fill`, the next one after it ends; none that would run past the window."""
    ctx, rng = bookings.ctx, bookings.rng
    slot = starts_at
    while slot < ends_at:
        if rng.random() >= fill:
            slot += ctx.grid
            continue
        service = pick_service(rng, doctor)
        slot_ends = slot + timedelta(minutes=service.minutes)
        if slot_ends > ends_at:
            slot += ctx.grid
            continue
        if not slot < ctx.now < slot_ends:  # none in progress right now
            bookings.book(doctor, service, slot, slot_ends)
        slot += ctx.grid * service.steps


def pick_service(rng: random.Random, doctor: PlannedDoctor) -> PlannedService:
    r = rng.random() * doctor.visits[-1][1]
    for service, cumulative in doctor.visits:
        if r < cumulative:
            return service
    return doctor.visits[-1][0]


@dataclass
class Bookings:
    """One calendar day's bookings: the first `eligible` patients (registered by
    then) can be booked, each at most once that day; appointments take the next ids."""

    ctx: Context
    rng: random.Random
    ids: Iterator[int]
    eligible: int
    used: set[int] = field(default_factory=set)  # patient indexes booked that day

    def book(
        self,
        doctor: PlannedDoctor,
        service: PlannedService,
        starts_at: datetime,
        ends_at: datetime,
        *,
        replacing: Visit | None = None,
    ) -> None:
        """Plan one appointment (and, for some cancellations, the one that took its
        place), unless no patient can come."""
        ctx, rng = self.ctx, self.rng
        patient = self._patient_for(doctor)
        if patient is None:
            return
        if replacing is not None:
            created_at = between(rng, replacing.cancelled_at, starts_at - timedelta(minutes=30))
        else:
            created_at = booked_at(ctx, rng, starts_at)
        visit = Visit(
            id=next(self.ids),
            doctor=doctor,
            patient=patient,
            service=service,
            starts_at=starts_at,
            ends_at=ends_at,
            status=Status.BOOKED,
            created_at=max(created_at, patient.created_at),
            created_by=rng.choice(ctx.reception_ids) if rng.random() < 0.85 else None,
            reason=rng.choice(doctor.profile.reasons) if rng.random() < 0.8 else "",
        )
        ctx.visits.append(visit)
        self._decide(visit, replacing)

    def _decide(self, visit: Visit, replacing: Visit | None) -> None:
        """What became of it: still to come, cancelled (and sometimes booked again by
        someone else), a no-show or seen."""
        ctx, rng = self.ctx, self.rng
        if visit.starts_at >= ctx.now:
            future(ctx, rng, visit)
            return
        r = rng.random()
        if replacing is None and r > 0.89:
            cancelled(ctx, rng, visit)
            if rng.random() < 0.35 and visit.starts_at - visit.cancelled_at > timedelta(hours=2):
                self.book(
                    visit.doctor, visit.service, visit.starts_at, visit.ends_at, replacing=visit
                )
        elif r > 0.84:
            no_show(ctx, rng, visit)
        else:
            completed(ctx, rng, visit)

    def _patient_for(self, doctor: PlannedDoctor) -> PlannedPatient | None:
        """A patient registered by then, not yet seen that day: usually one of the
        doctor's own, the frequent visitors more often."""
        ctx, rng, eligible = self.ctx, self.rng, self.eligible
        for _ in range(20):
            if rng.random() < 0.75:
                known = bisect_left(doctor.panel, eligible)
                if not known:
                    continue
                r = rng.random() * doctor.panel_weights[known - 1]
                index = doctor.panel[bisect_right(doctor.panel_weights, r, 0, known - 1)]
            else:
                if not eligible:
                    return None
                r = rng.random() * ctx.patient_weights[eligible - 1]
                index = bisect_right(ctx.patient_weights, r, 0, eligible - 1)
            if index not in self.used:
                self.used.add(index)
                return ctx.patients[index]
        return None
