"""The generated appointments: what became of each one planned on the calendar
(when it was booked, confirmed, cancelled, marked a no-show or seen), and its rows
with their history."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from bench.generator.context import Context, Progress, Visit
from bench.generator.seeded import between, local_date, office_time
from bench.generator.sizes import BATCH_SIZE
from bench.generator.words import CANCELLATION_REASONS
from bench.generator.writing import Writer
from clinic.kernel.dates import clinic_zone
from scheduling.models import Appointment, AppointmentChange, Status

# --- What became of each appointment ---------------------------------------------------


def booked_at(ctx: Context, rng: random.Random, starts_at: datetime) -> datetime:
    """When the appointment was made: same or next day for some, within two weeks for
    most, up to two months ahead for the rest; never after now."""
    r = rng.random()
    lead_days = (
        rng.randint(0, 1) if r < 0.2 else rng.randint(2, 14) if r < 0.7 else rng.randint(15, 60)
    )
    day = local_date(starts_at) - timedelta(days=lead_days)
    booked = office_time(rng, day)
    latest = min(starts_at - timedelta(minutes=30), ctx.now - timedelta(minutes=1))
    if booked > ctx.now:  # booked in the last two weeks, not in the future
        day = ctx.today - timedelta(days=rng.randint(0, 14))
        booked = office_time(rng, day)
        if booked > latest:
            booked = office_time(rng, day - timedelta(days=1))
    if booked > latest:  # on the day: shortly before
        booked = between(rng, latest - timedelta(hours=3), latest)
    return booked


def _confirm_time(rng: random.Random, visit: Visit, latest: datetime) -> datetime:
    """When the patient confirmed: at the desk or by SMS, mostly in the daytime."""
    latest = max(visit.created_at, latest)
    confirmed = between(rng, visit.created_at, latest)
    if not time(8) <= confirmed.astimezone(clinic_zone()).time() < time(20):
        daytime = office_time(rng, local_date(confirmed))
        if visit.created_at <= daytime <= latest:
            confirmed = daytime
    return confirmed


def future(ctx: Context, rng: random.Random, visit: Visit) -> None:
    """Still to come: confirmed by some, more of those coming soon."""
    days_ahead = (visit.starts_at - ctx.now) / timedelta(days=1)
    confirmed = rng.random() < (0.8 if days_ahead < 2 else 0.55 if days_ahead < 7 else 0.25)
    if confirmed:
        visit.status = Status.CONFIRMED
        visit.confirmed_at = _confirm_time(rng, visit, ctx.now - timedelta(seconds=1))


def cancelled(ctx: Context, rng: random.Random, visit: Visit) -> None:
    """Cancelled by the desk before it began, half of them after confirming."""
    visit.status = Status.CANCELLED
    latest = visit.starts_at - timedelta(minutes=15)
    visit.cancelled_at = between(rng, visit.created_at, max(visit.created_at, latest))
    if rng.random() < 0.5:
        visit.confirmed_at = _confirm_time(rng, visit, visit.cancelled_at)
    visit.cancelled_by = rng.choice(ctx.reception_ids)
    visit.cancellation_reason = rng.choice(CANCELLATION_REASONS)


def no_show(ctx: Context, rng: random.Random, visit: Visit) -> None:
    """Confirmed, then not there: marked a no-show after its start."""
    visit.status = Status.NO_SHOW
    visit.confirmed_at = _confirm_time(rng, visit, visit.starts_at - timedelta(minutes=20))
    marked = visit.starts_at + timedelta(minutes=rng.randint(15, 90))
    visit.no_show_at = min(marked, ctx.now)


def completed(ctx: Context, rng: random.Random, visit: Visit) -> None:
    """Confirmed, arrived, seen: the session runs inside the appointment's time, so
    a doctor never had two sessions in progress at once."""
    visit.status = Status.COMPLETED
    visit.confirmed_at = _confirm_time(rng, visit, visit.starts_at - timedelta(minutes=20))
    visit.arrived_at = max(
        visit.confirmed_at, visit.starts_at - timedelta(seconds=rng.randint(0, 20 * 60))
    )
    length = visit.ends_at - visit.starts_at
    late = timedelta(seconds=rng.randint(0, int(length.total_seconds() // 6)))
    visit.started_at = visit.starts_at + late
    took = (visit.ends_at - visit.started_at) * rng.uniform(0.6, 1)
    visit.completed_at = (visit.started_at + took).replace(microsecond=0)


# --- Appointments and their history ----------------------------------------------------


def write_appointments(ctx: Context, progress: Progress) -> None:
    """Every planned visit as an Appointment with its history."""
    writer = Writer(ctx)
    total = len(ctx.visits)
    for number, visit in enumerate(ctx.visits, 1):
        writer.add(
            Appointment(
                id=visit.id,
                doctor_id=visit.doctor.model.pk,
                patient_id=visit.patient.id,
                service_id=visit.service.model.pk,
                starts_at=visit.starts_at,
                ends_at=visit.ends_at,
                status=visit.status,
                reason=visit.reason,
                cancellation_reason=visit.cancellation_reason,
                arrived_at=visit.arrived_at,
                created_by_id=visit.created_by,
                created_at=visit.created_at,
                updated_at=visit.updated_at,
            )
        )
        for change in _history(visit):
            writer.add(change)
        if number % BATCH_SIZE == 0 or number == total:
            progress("appointments", number, total)
    writer.flush()


def _history(visit: Visit) -> list[AppointmentChange]:
    """The booking and the change that decided the appointment's fate: enough history
    for the pages, without the five rows a completed visit really has."""
    times = {"to_starts_at": visit.starts_at, "to_ends_at": visit.ends_at}
    changes = [
        AppointmentChange(
            appointment_id=visit.id,
            action=AppointmentChange.Action.BOOKED,
            changed_by_id=visit.created_by,
            changed_at=visit.created_at,
            from_status="",
            to_status=Status.BOOKED,
            **times,
        )
    ]
    last = _deciding_change(visit)
    if last:
        action, from_status, changed_at, by, note = last
        changes.append(
            AppointmentChange(
                appointment_id=visit.id,
                action=action,
                changed_by_id=by,
                changed_at=changed_at,
                from_status=from_status,
                to_status=visit.status,
                note=note,
                **times,
            )
        )
    return changes


def _deciding_change(visit: Visit) -> tuple | None:
    """(action, from status, when, by whom, note) of the change that left the
    appointment in its status; None for one still booked."""
    return {
        Status.CONFIRMED: (
            AppointmentChange.Action.CONFIRMED, Status.BOOKED, visit.confirmed_at,
            visit.created_by, "",
        ),
        Status.COMPLETED: (
            AppointmentChange.Action.COMPLETED, Status.IN_SESSION, visit.completed_at,
            visit.doctor.user_id, "",
        ),
        Status.NO_SHOW: (
            AppointmentChange.Action.NO_SHOW, Status.CONFIRMED, visit.no_show_at,
            visit.created_by, "",
        ),
        Status.CANCELLED: (
            AppointmentChange.Action.CANCELLED,
            Status.CONFIRMED if visit.confirmed_at else Status.BOOKED,
            visit.cancelled_at, visit.cancelled_by, visit.cancellation_reason,
        ),
    }.get(visit.status)  # fmt: skip
