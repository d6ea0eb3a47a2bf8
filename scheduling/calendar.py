"""Lays a day's schedule out on a time grid for the reception day view: which grid
row each working window and appointment starts on, and how many rows it spans."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings

from .availability import clinic_zone
from .cards import Card
from .selectors import DoctorDay

DEFAULT_OPENING, DEFAULT_CLOSING = 8, 18  # hours shown when nobody works that day


@dataclass
class Placed:
    item: object
    row: int
    span: int


@dataclass
class Column:
    number: int
    doctor_day: DoctorDay
    windows: list[Placed]
    appointments: list[Placed]
    inactive: list[Card]


@dataclass
class DayGrid:
    day: date
    slot_minutes: int
    labels: list[Placed]
    columns: list[Column]
    rows: int


def build_day_grid(day: date, schedule: list[DoctorDay]) -> DayGrid:
    zone = clinic_zone()
    slot = timedelta(minutes=settings.SCHEDULING_SLOT_MINUTES)
    active = [card for column in schedule for card in column.appointments if card.is_active]
    starts = [w.starts_at for c in schedule for w in c.windows] + [a.starts_at for a in active]
    ends = [w.ends_at for c in schedule for w in c.windows] + [a.ends_at for a in active]
    first = min(starts).astimezone(zone) if starts else None
    last = max(ends).astimezone(zone) if ends else None
    opening = datetime.combine(
        day, datetime.min.time().replace(hour=first.hour if first else DEFAULT_OPENING), zone
    )
    closing_hour = min(24, math.ceil(last.hour + last.minute / 60) if last else DEFAULT_CLOSING)
    closing = datetime.combine(day, datetime.min.time(), zone) + timedelta(hours=closing_hour)
    rows = max(1, math.ceil((closing - opening) / slot))

    def place(item, starts_at: datetime, ends_at: datetime) -> Placed:
        # Row 1 holds the doctors' names; the first slot is row 2.
        row = 2 + max(0, math.floor((starts_at - opening) / slot))
        span = max(1, math.ceil((ends_at - starts_at) / slot))
        return Placed(item, row, min(span, rows + 2 - row))

    labels = [
        Placed((opening + index * slot).astimezone(zone), 2 + index, 1) for index in range(rows)
    ]
    columns = [
        Column(
            number=index + 2,  # column 1 holds the times
            doctor_day=column,
            windows=[place(w, w.starts_at, w.ends_at) for w in column.windows],
            appointments=[
                place(card, card.starts_at, card.ends_at)
                for card in column.appointments
                if card.is_active
            ],
            inactive=[card for card in column.appointments if not card.is_active],
        )
        for index, column in enumerate(schedule)
    ]
    return DayGrid(day, settings.SCHEDULING_SLOT_MINUTES, labels, columns, rows)
