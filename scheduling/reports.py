"""The manager's reports on appointments: attendance and utilisation.

Each is one selector that aggregates in the database (a handful of grouped queries
whatever the period's length) and returns a `Table`. Days are days of the clinic's
zone: rows are grouped with the zone's tzinfo and periods are bounded by the instants
their days start (`clinic.kernel.periods`), so a daylight-saving day counts its own
23 or 25 hours."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, ExtractHour, ExtractIsoWeekDay, TruncDate
from django.utils.dateformat import format as date_format
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from clinic.kernel.dates import clinic_zone
from clinic.kernel.periods import Period
from clinic.kernel.tables import Column, Table, rate
from doctors.models import Doctor, TimeOff, WorkingHours

from .availability import Window, working_windows
from .models import Appointment, AppointmentChange, Service, Status

# A cancellation this close to the start is a late one, unless the caller says
# otherwise (the manager's cutoff of the online rules, read by the report page).
LATE_CANCEL_HOURS = 24

ATTENDANCE_GROUPS = {
    "doctor": _("Doctor"),
    "service": _("Service"),
    "weekday": _("Weekday"),
    "hour": _("Hour"),
    "channel": _("How it was booked"),
}
# How an appointment was booked, by its first history entry's `via`: at the desk,
# online by the patient, or held for the waitlist and taken.
CHANNEL_LABELS = {
    AppointmentChange.Via.STAFF: _("At the desk"),
    AppointmentChange.Via.ONLINE: _("Online, by the patient"),
    AppointmentChange.Via.WAITLIST: _("From the waitlist"),
}
# A waitlist hold is no booking: a held time is kept for an offer (and becomes a
# booking when taken), a released one was never anyone's appointment. No report
# counts them.
NOT_BOOKINGS = (Status.HELD, Status.RELEASED)
BOOKING_STATUSES = tuple(status for status in Status.values if status not in NOT_BOOKINGS)
ATTENDED = (Status.ARRIVED, Status.IN_SESSION, Status.COMPLETED)
STILL_AHEAD = (Status.BOOKED, Status.CONFIRMED)

ATTENDANCE_COLUMNS = [
    Column("label", _("Group"), "text"),
    Column("appointments", _("Appointments")),
    Column("attended", _("Attended")),
    Column("still_ahead", _("Booked or confirmed")),
    Column("no_shows", _("No-shows")),
    Column("cancelled", _("Cancelled")),
    Column("late_cancelled", _("Late cancellations")),
    Column("no_show_rate", _("No-show rate %"), "percent"),
    Column("late_cancel_rate", _("Late-cancellation rate %"), "percent"),
    Column("ahead_same_day", _("Booked the same day")),
    Column("ahead_week", _("Booked 1–7 days ahead")),
    Column("ahead_month", _("Booked 8–30 days ahead")),
    Column("ahead_more", _("Booked over 30 days ahead")),
]


def _in_period(period: Period, doctor: int | None, service: int | None) -> QuerySet[Appointment]:
    """The bookings that start in `period` (waitlist holds are none)."""
    found = Appointment.objects.filter(
        starts_at__gte=period.starts_at, starts_at__lt=period.ends_at
    ).exclude(status__in=NOT_BOOKINGS)
    if doctor is not None:
        found = found.filter(doctor_id=doctor)
    if service is not None:
        found = found.filter(service_id=service)
    return found


def attendance(
    *,
    period: Period,
    group: str = "doctor",
    doctor: int | None = None,
    service: int | None = None,
    late_cancel_hours: int = LATE_CANCEL_HOURS,
) -> Table:
    """Appointments that start in `period`, grouped by doctor, service, weekday or
    hour (clinic time), or by how they were booked (at the desk, online, from the
    waitlist): how many came, did not come, cancelled, and cancelled late (less than
    `late_cancel_hours` before the start, by the cancellation's time in the
    history), and how far ahead they were booked.

    The no-show rate is the no-shows of the appointments not cancelled; the
    late-cancellation rate is the late cancellations of all appointments."""
    if group not in ATTENDANCE_GROUPS:
        raise ValueError(f"Unknown group {group!r}.")
    ahead = F("starts_at") - timedelta(days=1)
    rows = (
        _in_period(period, doctor, service)
        .annotate(key=_group_key(group, ""))
        .values("key")
        .annotate(
            appointments=Count("pk"),
            attended=Count("pk", filter=Q(status__in=ATTENDED)),
            still_ahead=Count("pk", filter=Q(status__in=STILL_AHEAD)),
            no_shows=Count("pk", filter=Q(status=Status.NO_SHOW)),
            cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
            ahead_same_day=Count("pk", filter=Q(created_at__gt=ahead)),
            ahead_week=Count(
                "pk",
                filter=Q(
                    created_at__lte=ahead,
                    created_at__gt=F("starts_at") - timedelta(days=7),
                ),
            ),
            ahead_month=Count(
                "pk",
                filter=Q(
                    created_at__lte=F("starts_at") - timedelta(days=7),
                    created_at__gt=F("starts_at") - timedelta(days=30),
                ),
            ),
            ahead_more=Count("pk", filter=Q(created_at__lte=F("starts_at") - timedelta(days=30))),
        )
        .order_by("key")
    )
    # The late cancellations from the history's side: one pass over the
    # cancellations of the period, not a look-up per appointment.
    cancellations = AppointmentChange.objects.filter(
        action=AppointmentChange.Action.CANCELLED,
        appointment__status=Status.CANCELLED,
        appointment__starts_at__gte=period.starts_at,
        appointment__starts_at__lt=period.ends_at,
        changed_at__gt=F("appointment__starts_at") - timedelta(hours=late_cancel_hours),
    )
    if doctor is not None:
        cancellations = cancellations.filter(appointment__doctor_id=doctor)
    if service is not None:
        cancellations = cancellations.filter(appointment__service_id=service)
    late = dict(
        cancellations.annotate(key=_group_key(group, "appointment__"))
        .values("key")
        .annotate(n=Count("appointment", distinct=True))
        .values_list("key", "n")
    )
    found: list[dict[str, Any]] = [dict(row) for row in rows]
    labels = _labels(group, [row["key"] for row in found])
    for row in found:
        row["label"] = labels.get(row["key"], str(row["key"]))
        row["late_cancelled"] = late.get(row["key"], 0)
        row["no_show_rate"] = rate(row["no_shows"], row["appointments"] - row["cancelled"])
        row["late_cancel_rate"] = rate(row["late_cancelled"], row["appointments"])
    if group in ("doctor", "service"):
        found.sort(key=lambda row: str(row["label"]))
    return Table(
        columns=[Column("label", ATTENDANCE_GROUPS[group], "text"), *ATTENDANCE_COLUMNS[1:]],
        rows=found,
        chart_value="no_show_rate",
        chart_label="label",
    )


def _group_key(group: str, prefix: str) -> Any:
    zone = clinic_zone()
    if group == "doctor":
        return F(f"{prefix}doctor_id")
    if group == "service":
        return F(f"{prefix}service_id")
    if group == "weekday":
        return ExtractIsoWeekDay(f"{prefix}starts_at", tzinfo=zone)
    if group == "channel":
        first_entry = AppointmentChange.objects.filter(
            appointment=OuterRef("appointment" if prefix else "pk")
        ).order_by("changed_at", "pk")
        # An appointment with no history (imported) was booked at the desk.
        return Coalesce(Subquery(first_entry.values("via")[:1]), Value(""))
    return ExtractHour(f"{prefix}starts_at", tzinfo=zone)


def _labels(group: str, keys: list[Any]) -> dict[Any, str]:
    if group == "doctor":
        return {d.pk: d.full_name for d in Doctor.objects.filter(pk__in=keys)}
    if group == "service":
        return {s.pk: s.name for s in Service.objects.filter(pk__in=keys)}
    if group == "weekday":
        return {key: str(WEEKDAYS[key - 1]) for key in keys if key}
    if group == "channel":
        return {key: str(CHANNEL_LABELS.get(key, key)) for key in keys if key is not None}
    return {key: f"{key:02d}:00" for key in keys if key is not None}


# --- Utilisation ------------------------------------------------------------------

UTILISATION_COLUMNS = [
    Column("doctor", _("Doctor"), "text"),
    Column("day", _("Day"), "text"),
    Column("working_minutes", _("Working minutes"), "minutes"),
    Column("booked_minutes", _("Booked minutes"), "minutes"),
    Column("free_minutes", _("Free minutes"), "minutes"),
    Column("utilisation", _("Utilisation %"), "percent"),
]


def utilisation(*, period: Period, by: str = "day", doctor: int | None = None) -> Table:
    """Per doctor and per day (or ISO week, labelled by its Monday): the minutes
    they work (weekly hours on each clinic day, less time off), the minutes booked
    (appointments that start that day and were not cancelled: a no-show held its
    time) and the free minutes left (working less booked, never below zero).

    Three queries: the booked minutes summed by doctor and day in the database, the
    weekly hours, and the time off that touches the period."""
    if by not in ("day", "week"):
        raise ValueError(f"Unknown grouping {by!r}.")
    zone = clinic_zone()
    booked_rows = (
        _in_period(period, doctor, None)
        .exclude(status=Status.CANCELLED)
        .annotate(day=TruncDate("starts_at", tzinfo=zone))
        .values("doctor_id", "day")
        .annotate(
            booked=Sum(
                ExpressionWrapper(F("ends_at") - F("starts_at"), output_field=DurationField())
            )
        )
    )
    booked: dict[tuple[int, date], float] = {
        (row["doctor_id"], row["day"]): row["booked"].total_seconds() / 60 for row in booked_rows
    }
    doctors = Doctor.objects.all() if doctor is None else Doctor.objects.filter(pk=doctor)
    hours: dict[int, list[WorkingHours]] = defaultdict(list)
    for item in WorkingHours.objects.filter(doctor__in=doctors):
        hours[item.doctor_id].append(item)
    # Each time off under every clinic day it touches, so a day looks only at its own.
    away: dict[tuple[int, date], list[Window]] = defaultdict(list)
    for off in TimeOff.objects.filter(
        doctor__in=doctors, starts_at__lt=period.ends_at, ends_at__gt=period.starts_at
    ):
        first = max(off.starts_at.astimezone(zone).date(), period.first)
        last = min(off.ends_at.astimezone(zone).date(), period.last)
        for n in range((last - first).days + 1):
            away[(off.doctor_id, first + timedelta(days=n))].append(
                Window(off.starts_at, off.ends_at)
            )
    names = {d.pk: d.full_name for d in doctors}
    family_names = {d.pk: d.family_name for d in doctors}
    totals: dict[tuple[int, date], list[float]] = {}
    for doctor_id in sorted(names, key=lambda pk: names[pk]):
        for day in period.days:
            working = _working_minutes(day, hours[doctor_id], away.get((doctor_id, day), []))
            minutes = booked.get((doctor_id, day), 0.0)
            if not working and not minutes:
                continue
            key = (doctor_id, day if by == "day" else day - timedelta(days=day.weekday()))
            entry = totals.setdefault(key, [0.0, 0.0])
            entry[0] += working
            entry[1] += minutes
    rows = []
    for (doctor_id, day), (working, minutes) in totals.items():
        rows.append(
            {
                "doctor": names[doctor_id],
                "day": day.isoformat(),
                # The chart's bar: which doctor's day (not a column of the table),
                # short enough to read whole under its bar ("Smith 2 Nov").
                "bar": f"{family_names[doctor_id]} {date_format(day, 'j M')}",
                "working_minutes": round(working),
                "booked_minutes": round(minutes),
                "free_minutes": max(round(working - minutes), 0),
                "utilisation": rate(round(minutes), round(working)),
            }
        )
    return Table(
        columns=UTILISATION_COLUMNS, rows=rows, chart_value="utilisation", chart_label="bar"
    )


def _working_minutes(day: date, hours: list[WorkingHours], away: list[Window]) -> float:
    """The minutes of `day`'s working windows not covered by time off."""
    total = 0.0
    for window in working_windows(day, hours):
        free = [(window.starts_at, window.ends_at)]
        for off in away:
            free = [part for span in free for part in _minus(span, off)]
        total += sum((end - start).total_seconds() for start, end in free) / 60
    return total


def _minus(span: tuple[datetime, datetime], off: Window) -> list[tuple[datetime, datetime]]:
    start, end = span
    if off.ends_at <= start or end <= off.starts_at:
        return [span]
    parts = []
    if start < off.starts_at:
        parts.append((start, off.starts_at.astimezone(UTC)))
    if off.ends_at < end:
        parts.append((off.ends_at.astimezone(UTC), end))
    return parts


# --- The dashboard ----------------------------------------------------------------


def appointments_by_status(*, period: Period) -> dict[str, int]:
    """How many appointments start in `period`, by status (every status of a
    booking, zeros included; waitlist holds are no bookings). One query."""
    counts = dict(
        _in_period(period, None, None)
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in BOOKING_STATUSES}
