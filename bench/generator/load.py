"""A realistic clinic, generated: years of appointments for load tests and benchmarks.

`generate(doctors=20, years=5)` fills an empty database with what a clinic of that
size would hold after that long: doctors with specialties, weekly hours and leave,
a catalogue of services, tens of thousands of patients, about 2,500 appointments per
doctor and year in every status, and for each completed visit its session, signed
clinical note, sometimes a prescription, and an invoice with its payments. The
outbox holds what the purge (`purge_old_notifications`) would have left: the SMS of
the last NOTIFICATIONS_RETENTION_DAYS and the reminders still to go.

Every row obeys the rules the services keep (no overlaps for a doctor or a patient,
inside working hours and on the slot grid, statuses and sessions that agree, invoice
totals exactly as `refresh_totals` derives them, numbers without gaps), but it is
written with `bulk_create` rather than through the services: the services send
signals, render messages and lock rows one appointment at a time, which would take
hours. The same arguments (and the same `now`) give the same data: each step draws
from a seeded stream of its own (seeded.py).

This module runs the steps in order, inside one transaction, so a failure leaves
nothing: people.py (staff and patients), calendar.py (services, hours, leave and the
plan of the appointments), visits.py (the appointments), clinical.py (sessions,
notes, prescriptions), money.py (invoices and payments), outbox.py (notifications).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from bench.generator.calendar import make_services, plan_visits
from bench.generator.clinical import write_sessions
from bench.generator.context import Context, Progress
from bench.generator.money import write_invoices
from bench.generator.outbox import write_notifications
from bench.generator.people import (
    USERNAME_PREFIX,
    fictional_area_codes,
    make_patients,
    make_staff,
)
from bench.generator.seeded import local_date
from bench.generator.sizes import PATIENTS_PER_DOCTOR
from bench.generator.visits import write_appointments
from bench.generator.writing import (
    analyze,
    foreign_keys_checked_at_once,
    given_timestamps,
    reset_sequences,
)
from patients.models import Patient
from scheduling.models import Appointment


class NotEmpty(Exception):
    """The database already holds a clinic; the generator only fills an empty one."""


def generate(
    *,
    doctors: int = 20,
    years: float = 5,
    seed: int = 1,
    until: date | None = None,
    patients: int | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Fill an empty database with a clinic of `doctors` doctors over `years` years
    ending on `until` (default: 30 days from today, so there is a future too), and
    return how many rows of each kind it wrote.

    Refuses (NotEmpty) when the database already has patients or appointments. The
    same arguments and `now` (default: the current time) give the same data."""
    if doctors < 1 or years <= 0:
        raise ValueError("Give at least one doctor and a positive number of years.")
    patients = patients if patients is not None else PATIENTS_PER_DOCTOR * doctors
    if patients < 1:
        raise ValueError("Give at least one patient.")
    progress = progress or (lambda step, done, total: None)
    ctx = _context(seed=seed, years=years, until=until, now=now)
    with transaction.atomic(), given_timestamps(), foreign_keys_checked_at_once():
        _refuse_unless_empty()
        make_services(ctx)
        make_staff(ctx, doctors, progress)
        make_patients(ctx, patients, progress)
        plan_visits(ctx, progress)
        write_appointments(ctx, progress)
        write_sessions(ctx, progress)
        write_invoices(ctx, progress)
        write_notifications(ctx, progress)
        reset_sequences()
    analyze(progress)
    return {str(name): ctx.counts[name] for name in sorted(ctx.counts)}


def _context(*, seed: int, years: float, until: date | None, now: datetime | None) -> Context:
    """The days to fill and the moment that is "now", to the second."""
    now = (now or timezone.now()).astimezone(UTC).replace(microsecond=0)
    until = until or local_date(now) + timedelta(days=30)
    return Context(
        seed=seed,
        now=now,
        first_day=until - timedelta(days=max(1, round(years * 365.25)) - 1),
        until=until,
        grid=timedelta(minutes=settings.SCHEDULING_SLOT_MINUTES),
        area_codes=fictional_area_codes(),
    )


def _refuse_unless_empty() -> None:
    found = {
        "patients": Patient.objects.count(),
        "appointments": Appointment.objects.count(),
        f"logins named {USERNAME_PREFIX}*": User.objects.filter(
            username__startswith=USERNAME_PREFIX
        ).count(),
    }
    if any(found.values()):
        held = ", ".join(f"{count} {what}" for what, count in found.items() if count)
        raise NotEmpty(
            f"The database already holds a clinic ({held}). Load data goes into an empty "
            "database only: create a new one and run `manage.py migrate` first."
        )
