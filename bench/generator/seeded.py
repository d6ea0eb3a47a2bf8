"""The seeded random source: one stream per step of the generator, and the moments
drawn from it, in the clinic's time zone and stored in UTC."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from clinic.kernel.dates import clinic_zone


def stream(seed: int, step: str) -> random.Random:
    """A random stream of its own for each step, so a change to one step's draws
    leaves every other step's data as it was."""
    return random.Random(f"clinic-load:{seed}:{step}")


def at(day: date, clock: time) -> datetime:
    """A wall-clock time of the clinic on `day`, in UTC."""
    return datetime.combine(day, clock, tzinfo=clinic_zone()).astimezone(UTC)


def between(rng: random.Random, earliest: datetime, latest: datetime) -> datetime:
    """A whole second in [earliest, latest] (earliest when the range is empty)."""
    span = int((latest - earliest).total_seconds())
    return earliest + timedelta(seconds=rng.randint(0, span)) if span > 0 else earliest


def office_time(rng: random.Random, day: date) -> datetime:
    """A moment of `day` in office hours (08:00-18:00 clinic time)."""
    return at(day, time(8)) + timedelta(minutes=rng.randrange(600), seconds=rng.randrange(60))


def local_date(moment: datetime) -> date:
    """The clinic's calendar day of a moment."""
    return moment.astimezone(clinic_zone()).date()
