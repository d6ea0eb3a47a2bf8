"""The week strip of free times that the booking and the reschedule pages show, and
the check of a time a visitor sends back (which may have been tampered with)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.utils.translation import gettext_lazy as _

from doctors.models import Doctor, WorkingHours
from scheduling.availability import local_day
from scheduling.models import Appointment, Service
from scheduling.selectors import Slot

from ..models import OnlineRules
from ..services import (
    OnlineError,
    bookable_window,
    check_online_time,
    online_doctors,
    week_of_free_times,
)

WEEK = 7


@dataclass(frozen=True)
class Time:
    """One free time as a button: its value (doctor and start) and what it shows."""

    value: str
    starts_at: datetime
    doctor: Doctor


@dataclass
class Day:
    day: date
    times: list[Time] = field(default_factory=list)


@dataclass(frozen=True)
class Week:
    first_day: date
    days: list[Day]
    earlier: date | None
    later: date | None

    @property
    def has_times(self) -> bool:
        return any(day.times for day in self.days)

    @property
    def last_day(self) -> date:
        return self.days[-1].day if self.days else self.first_day

    @property
    def first_free_day(self) -> date | None:
        """The day shown open; the others open on a tap (a phone's screen holds one)."""
        return next((day.day for day in self.days if day.times), None)


def value_of(slot: Slot) -> str:
    return f"{slot.doctor.pk}|{int(slot.starts_at.timestamp())}"


def parse_value(raw: str) -> tuple[int, datetime] | None:
    """The doctor's id and the start a time's button sent, or None if it is not one."""
    doctor, _, seconds = (raw or "").partition("|")
    try:
        return int(doctor), datetime.fromtimestamp(int(seconds), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def first_day_from(raw: str | None, rules: OnlineRules) -> date:
    """The week's first day from the page's `from`, kept within what patients may
    book; the first bookable day when it is missing or no date."""
    earliest, last_day = bookable_window(rules)
    first_bookable = local_day(earliest)
    try:
        asked = date.fromisoformat(raw or "")
    except ValueError:
        return first_bookable
    return min(max(asked, first_bookable), max(last_day, first_bookable))


def week(
    *,
    service: Service,
    doctor: Doctor | None,
    first_day: date,
    rules: OnlineRules,
    ignoring: Appointment | None = None,
) -> Week:
    """The free times of a week from `first_day`, by day, each time once (with the
    first doctor free then, when any doctor will do)."""
    earliest, last_day = bookable_window(rules)
    slots = week_of_free_times(
        service=service, doctor=doctor, first_day=first_day, rules=rules, ignoring=ignoring
    )
    # Days nobody who could see the patient works (a weekend) are left out.
    doctors = online_doctors(service) if doctor is None else Doctor.objects.filter(pk=doctor.pk)
    working = set(WorkingHours.objects.filter(doctor__in=doctors).values_list("weekday", flat=True))
    days = [
        Day(first_day + timedelta(days=n))
        for n in range(WEEK)
        if first_day + timedelta(days=n) <= last_day
        and (first_day + timedelta(days=n)).weekday() in working
    ]
    by_day = {day.day: day for day in days}
    seen: set[datetime] = set()
    for slot in slots:
        if slot.starts_at in seen:
            continue
        if ignoring is not None and slot.starts_at == ignoring.starts_at:
            continue  # Where the appointment is now: no move.
        seen.add(slot.starts_at)
        day = by_day.get(local_day(slot.starts_at))
        if day is not None:
            day.times.append(Time(value_of(slot), slot.starts_at, slot.doctor))
    first_bookable = local_day(earliest)
    earlier = max(first_day - timedelta(days=WEEK), first_bookable)
    later = first_day + timedelta(days=WEEK)
    return Week(
        first_day=first_day,
        days=days,
        earlier=earlier if first_day > first_bookable else None,
        later=later if later <= last_day else None,
    )


def refusal(
    *,
    service: Service,
    doctor: Doctor,
    starts_at: datetime,
    rules: OnlineRules,
    ignoring: Appointment | None = None,
) -> str:
    """Why the time sent back cannot be booked online ("" when it can): too soon,
    too far ahead, or not one of the free times (taken, or never offered)."""
    try:
        check_online_time(starts_at, rules)
    except OnlineError as error:
        return error.message
    free = week_of_free_times(
        service=service,
        doctor=doctor,
        first_day=local_day(starts_at),
        rules=rules,
        ignoring=ignoring,
        days=1,
    )
    if not any(slot.starts_at == starts_at and slot.doctor.pk == doctor.pk for slot in free):
        return str(NOT_FREE)
    if ignoring is not None and starts_at == ignoring.starts_at:
        return str(SAME_TIME)
    return ""


NOT_FREE = _("This time is not free any more. Please choose another.")
SAME_TIME = _("Your appointment is at this time already. Please choose another.")
