"""Lays schedules out on a time grid: reception's day (a column per doctor) and a
doctor's week (a column per day). One grid row is one minute of the clinic's clock,
so cards of 5 or 10 minutes never share a row with their neighbours; for each column
it says where the working windows, breaks, time off, free spaces (links that book
them) and appointments start and how many rows they span, and where the current
time is."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from clinic.kernel.dates import format_time_of_day

from .availability import Window, clinic_zone
from .cards import Card
from .constraints import MIN_APPOINTMENT_LENGTH
from .selectors import DoctorDay

DEFAULT_OPENING, DEFAULT_CLOSING = 8, 18  # hours shown when nobody works that day
MINUTES_A_DAY = 24 * 60


@dataclass
class Placed:
    item: object
    row: int
    span: int


@dataclass(frozen=True)
class FreeSpace:
    """Free time in a working window: a link to the booking page for its start,
    which day-grid.js moves to the slot under the pointer."""

    is_free = True  # beside the cards on the grid (Card.is_free)

    starts_at: datetime
    ends_at: datetime
    url: str
    # Minutes since the column's midnight, and the length, for day-grid.js.
    start_minute: int
    minutes: int
    starts_label: str


@dataclass
class Column:
    number: int
    doctor_day: DoctorDay
    day: date
    windows: list[Placed]
    breaks: list[Placed]
    time_off: list[Placed]
    free: list[Placed]
    appointments: list[Placed]
    inactive: list[Card]
    is_today: bool

    @property
    def in_time_order(self) -> list[Placed]:
        """The free spaces and the cards together, in the order of their times: the
        order the keyboard goes through them."""
        return sorted([*self.free, *self.appointments], key=lambda placed: placed.row)


@dataclass
class DayGrid:
    day: date
    slot_minutes: int
    labels: list[Placed]
    columns: list[Column]
    rows: int
    # The current time's row, when it is on the grid, and the columns it crosses.
    now_row: int | None = None
    now_columns: str = ""
    # The instant of the grid's first row today, in ms since the epoch, for the JS
    # that moves the line of the current time.
    now_origin_ms: int = 0


def build_day_grid(day: date, schedule: list[DoctorDay], now: datetime | None = None) -> DayGrid:
    """Reception's day: a column per doctor."""
    return _build_grid(day, [(day, column) for column in schedule], now)


def build_week_grid(first_day: date, week: list[DoctorDay], now: datetime | None = None) -> DayGrid:
    """A doctor's week: a column per day (each DoctorDay carries its day)."""
    return _build_grid(first_day, [(column.day or first_day, column) for column in week], now)


def _build_grid(day: date, schedule: list[tuple[date, DoctorDay]], now: datetime | None) -> DayGrid:
    zone = clinic_zone()
    now = now or timezone.now()
    today = now.astimezone(zone).date()
    slot = settings.SCHEDULING_SLOT_MINUTES

    def minute_of(column_day: date, moment: datetime) -> int:
        """Minutes from the column's midnight to `moment` on the clinic's clock."""
        local = moment.astimezone(zone)
        return (local.date() - column_day).days * MINUTES_A_DAY + local.hour * 60 + local.minute

    starts, ends = [], []
    for column_day, column in schedule:
        spans = [(w.starts_at, w.ends_at) for w in column.windows]
        spans += [(c.starts_at, c.ends_at) for c in column.appointments if c.is_active]
        for starts_at, ends_at in spans:
            starts.append(minute_of(column_day, starts_at))
            ends.append(minute_of(column_day, ends_at))
    opening = max(0, min(starts) // 60 * 60) if starts else DEFAULT_OPENING * 60
    closing = min(MINUTES_A_DAY, math.ceil(max(ends) / 60) * 60) if ends else DEFAULT_CLOSING * 60
    closing = max(closing, opening + 60)
    rows = closing - opening

    def place(item, column_day: date, starts_at: datetime, ends_at: datetime) -> Placed | None:
        """Rows of [starts_at, ends_at) on the column of `column_day`, clipped to the
        grid; None when nothing of it is on the grid. Row 1 holds the headings."""
        first = max(opening, minute_of(column_day, starts_at))
        last = min(closing, minute_of(column_day, ends_at))
        if last <= first:
            return None
        return Placed(item, 2 + first - opening, last - first)

    def placed(items) -> list[Placed]:
        return [p for p in items if p is not None]

    book_url = reverse("scheduling:book")
    columns = []
    for index, (column_day, column) in enumerate(schedule):
        active = [card for card in column.appointments if card.is_active]
        windows = sorted(column.windows, key=lambda window: window.starts_at)
        breaks = [
            Window(before.ends_at, after.starts_at)
            for before, after in pairwise(windows)
            if before.ends_at < after.starts_at
        ]
        free = (
            _free_spaces(column, windows, active, column_day, now, book_url, minute_of)
            if column_day >= today
            else []
        )
        columns.append(
            Column(
                number=index + 2,  # column 1 holds the times
                doctor_day=column,
                day=column_day,
                windows=placed(place(w, column_day, w.starts_at, w.ends_at) for w in windows),
                breaks=placed(place(b, column_day, b.starts_at, b.ends_at) for b in breaks),
                time_off=placed(
                    place(a, column_day, a.starts_at, a.ends_at) for a in column.time_off
                ),
                free=placed(place(f, column_day, f.starts_at, f.ends_at) for f in free),
                appointments=placed(
                    place(card, column_day, card.starts_at, card.ends_at) for card in active
                ),
                inactive=[card for card in column.appointments if not card.is_active],
                is_today=column_day == today,
            )
        )
    labels = [
        Placed(time(minute // 60, minute % 60), 2 + minute - opening, min(slot, closing - minute))
        for minute in range(opening, closing, slot)
    ]
    grid = DayGrid(day, slot, labels, columns, rows)
    today_columns = [column.number for column in columns if column.is_today]
    now_minute = minute_of(today, now)
    if today_columns and opening <= now_minute < closing:
        grid.now_row = 2 + now_minute - opening
        grid.now_columns = (
            f"{today_columns[0]} / span {len(today_columns)}"
            if len(today_columns) < len(columns)
            else f"2 / span {len(columns)}"
        )
        origin = datetime.combine(today, time(), zone) + timedelta(minutes=opening)
        grid.now_origin_ms = int(origin.timestamp() * 1000)
    return grid


def _free_spaces(
    column: DoctorDay,
    windows: list[Window],
    active: list[Card],
    column_day: date,
    now: datetime,
    book_url: str,
    minute_of,
) -> list[FreeSpace]:
    """The stretches of the working windows that no active appointment or time off
    takes and that have not passed, long enough for the shortest appointment."""
    zone = clinic_zone()
    taken = sorted(
        [(card.starts_at, card.ends_at) for card in active]
        + [(away.starts_at, away.ends_at) for away in column.time_off],
    )
    # From the next whole minute: a free space offers a time the booking page still
    # takes when the person gets there (a walk-in's grace is for walk-ins).
    whole = now.replace(second=0, microsecond=0)
    earliest = whole if whole == now else whole + timedelta(minutes=1)
    free = []
    for window in windows:
        cursor = max(window.starts_at, earliest)
        for starts_at, ends_at in [*taken, (window.ends_at, window.ends_at)]:
            if ends_at <= cursor:
                continue
            gap_end = min(starts_at, window.ends_at)
            if gap_end - cursor >= MIN_APPOINTMENT_LENGTH:
                local = cursor.astimezone(zone)
                free.append(
                    FreeSpace(
                        starts_at=cursor,
                        ends_at=gap_end,
                        url=f"{book_url}?doctor={column.doctor.pk}"
                        f"&date={column_day.isoformat()}&time={local:%H:%M}",
                        start_minute=minute_of(column_day, cursor),
                        minutes=int((gap_end - cursor).total_seconds() // 60),
                        starts_label=format_time_of_day(local),
                    )
                )
            cursor = max(cursor, ends_at)
            if cursor >= window.ends_at:
                break
    return free
