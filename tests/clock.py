"""The clinic's clock in tests: its zone, and moments on it.

Each module keeps the dates of its own scene; most of them happen on MONDAY."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

# The clinic's zone (settings.CLINIC_TIME_ZONE, unless a test changes it).
NEW_YORK = ZoneInfo("America/New_York")

# The Monday most scenes happen on: 30 November 2026, in standard time.
MONDAY = date(2026, 11, 30)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """`hour:minute` on `day`, on the clinic's clock: at(MONDAY, 9, 30)."""
    return datetime.combine(day, time(hour, minute), tzinfo=NEW_YORK)
