"""Periods of the manager's reports: whole days of the clinic's calendar.

A period is a first and a last day (both included). Its bounds are the instants its
first day starts and the day after its last starts, in the clinic's zone, so a
period holding a daylight-saving change is 23 or 25 hours longer or shorter than
the days times 24: every report counts by these bounds, never by hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.utils.translation import gettext_lazy as _

from .dates import clinic_zone

# The longest period a report is asked for: more than this is a typing mistake.
MAX_DAYS = 366 * 5 + 2

PRESETS = [
    ("today", _("Today")),
    ("this_week", _("This week")),
    ("last_week", _("Last week")),
    ("this_month", _("This month")),
    ("last_month", _("Last month")),
    ("this_year", _("This year")),
    ("custom", _("Custom")),
]


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("A period ends on or after its first day.")

    @property
    def starts_at(self) -> datetime:
        """The instant the first day starts in the clinic's zone (aware, UTC)."""
        return day_start(self.first)

    @property
    def ends_at(self) -> datetime:
        """The instant after the last day ends: the next day's start (exclusive)."""
        return day_start(self.last + timedelta(days=1))

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def __str__(self) -> str:
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()} – {self.last.isoformat()}"


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=clinic_zone()).astimezone(UTC)


def preset_period(name: str, today: date) -> Period:
    """The period a preset names, seen from `today` (a clinic day); weeks start on
    Monday."""
    if name == "today":
        return Period(today, today)
    monday = today - timedelta(days=today.weekday())
    if name == "this_week":
        return Period(monday, monday + timedelta(days=6))
    if name == "last_week":
        return Period(monday - timedelta(days=7), monday - timedelta(days=1))
    first_of_month = today.replace(day=1)
    if name == "this_month":
        next_month = (first_of_month + timedelta(days=32)).replace(day=1)
        return Period(first_of_month, next_month - timedelta(days=1))
    if name == "last_month":
        last = first_of_month - timedelta(days=1)
        return Period(last.replace(day=1), last)
    if name == "this_year":
        return Period(today.replace(month=1, day=1), today.replace(month=12, day=31))
    raise ValueError(f"Unknown period {name!r}.")
